"""What the desk, the warehouse and the API ask the returns stages to do.

Each use case takes one of these instead of a bag of keyword arguments: the fields say what
a request holds. They are built at the edge (a marshmallow schema or a page form, which
validate their shape); the stages check the rules that need the database or the policy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from core.addresses import PostalAddress
from returns.status import Channel, Disposition, Priority, Reason, Resolution

#: Where the customer is (the rules and fields: core/addresses.py).
CustomerAddress = PostalAddress


@dataclass(frozen=True)
class Customer:
    name: str
    email: str
    phone: str | None = None
    vip: bool = False
    #: A Babel locale id ("en", "zh_Hans"); None: the default language.
    language: str | None = None
    #: Needed for a prepaid label; optional at intake (the customer may ship it themselves).
    address: CustomerAddress | None = None


@dataclass(frozen=True)
class ReturnLine:
    sku: str
    qty: int
    unit_price: Decimal
    serial: str | None = None
    #: The quantity on the order line, when the desk knows it (no more can come back).
    ordered_qty: int | None = None


@dataclass(frozen=True)
class OpenRma:
    customer: Customer
    channel: Channel
    lines: tuple[ReturnLine, ...]
    reason: Reason
    resolution: Resolution
    priority: Priority = Priority.MEDIUM
    order_number: str | None = None
    payment_reference: str | None = None
    purchase_date: date | None = None
    description: str = ""
    #: A supervisor's reason to accept a return outside the window or the warranty.
    override_reason: str | None = None


@dataclass(frozen=True)
class AuthoriseRma:
    """Authorise; with the customer's own parcel (both fields), or a prepaid label (neither)."""

    carrier: str | None = None
    tracking_number: str | None = None
    reason: str = ""


@dataclass(frozen=True)
class ReceivedLine:
    sku: str
    qty: int
    condition: str | None = None
    serial: str | None = None


@dataclass(frozen=True)
class ReceiveParcel:
    lines: tuple[ReceivedLine, ...] = ()
    #: The parcel came with nothing in it.
    empty: bool = False
    note: str = ""


@dataclass(frozen=True)
class InspectedLine:
    sku: str
    disposition: Disposition
    #: The bin to restock into, or another quarantine than the policy's.
    location: str | None = None


@dataclass(frozen=True)
class InspectParcel:
    lines: tuple[InspectedLine, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class ShipReplacement:
    carrier: str
    tracking_number: str
    #: The serials shipped, for a serialised part (one per unit).
    serials: tuple[str, ...] = ()


@dataclass(frozen=True)
class RecordFollowup:
    satisfaction: int
    comment: str = ""
    confirmed_fixed: bool | None = None


@dataclass(frozen=True)
class RetryRefund:
    reason: str
    #: A corrected payment to refund instead (only after the provider refused the last one).
    payment_reference: str | None = None


@dataclass(frozen=True)
class ApproveDearerLabel:
    """A supervisor lets a refused return label cost up to ``ceiling_minor`` (minor units of
    the RMA's currency, at least the provider's cheapest quote)."""

    ceiling_minor: int
    reason: str


@dataclass(frozen=True)
class BookPickup:
    """The window in which the carrier collects the return parcel (aware datetimes)."""

    starts_at: datetime
    ends_at: datetime
