"""What the order feeds ask of the sales service: one order to create or update.

Built at the edge (the API's marshmallow schema, a workbook's rows, Shopify's order JSON); the
service checks the rules that need the database. The field names are the API's
(``POST /api/v1/orders``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from core.addresses import PostalAddress
from sales.models import OrderSource


@dataclass(frozen=True)
class OrderCustomer:
    name: str
    email: str
    phone: str | None = None
    address: PostalAddress | None = None


@dataclass(frozen=True)
class OrderLineInput:
    sku: str
    qty: int
    unit_price: Decimal
    serials: tuple[str, ...] = ()
    #: The provider's id for the line (Shopify ``line_items[].id``).
    external_id: str | None = None


@dataclass(frozen=True)
class UpsertOrder:
    """Create the order, or bring the stored one with this number up to date."""

    number: str
    channel: str
    customer: OrderCustomer
    ordered_at: datetime
    currency: str
    lines: tuple[OrderLineInput, ...]
    shipped_at: datetime | None = None
    payment_reference: str | None = None
    source: OrderSource = OrderSource.API
    #: The provider's own id for the order (Shopify's numeric id).
    external_id: str | None = None
    #: The provider's last-change time: a copy older than the stored one changes nothing.
    provider_updated_at: datetime | None = None
