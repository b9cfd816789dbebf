"""A shop with sales orders for the returns portal's tests (API, page and browser)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from core.addresses import PostalAddress
from inventory.commands import ReceiveStock
from sales.commands import OrderCustomer, OrderLineInput, UpsertOrder

ADDRESS = PostalAddress(
    name="Mia Chen", street="1 High Street", city="London", postcode="SW1A 1AA", country="GB"
)
#: Settings for an app whose portal authorises small returns at once.
PORTAL_CONFIG = {
    "PORTAL_RATE_LIMIT": "1000 per minute",
    "PORTAL_ORDER_RATE_LIMIT": "1000 per minute",
    "RETURNS_AUTO_AUTHORISE_LIMIT_MINOR": 20_000,
    "RETURNS_CARRIER": "sandbox",
}


def stock_shop(services: Any) -> None:
    inventory = services.inventory
    inventory.create_location(code="MAIN/A-01-01")
    inventory.create_location(code="MAIN/RETURNS")
    inventory.create_part(sku="FAN-80", name="Cooling fan 80mm")
    inventory.create_part(sku="PSU-65", name="Power supply 65W")
    inventory.receive("setup", ReceiveStock(sku="FAN-80", location="MAIN/A-01-01", qty=4))


def place_order(
    services: Any,
    number: str,
    shipped: datetime,
    *,
    email: str = "Mia@Example.com",
    payment: str | None = "pi_portal",
) -> str:
    services.orders.upsert(
        UpsertOrder(
            number=number,
            channel="web",
            customer=OrderCustomer("Mia Chen", email, "+44 20 7946 0000", ADDRESS),
            ordered_at=shipped,
            shipped_at=shipped,
            payment_reference=payment,
            currency="USD",
            lines=(
                OrderLineInput("FAN-80", 2, Decimal("19.90")),
                OrderLineInput("PSU-65", 1, Decimal("45.00")),
            ),
        )
    )
    return number


def recent(clock: Any) -> datetime:
    """Two weeks before the clock's today: inside the 30-day window."""
    now = clock.now()
    return datetime(now.year, now.month, now.day, tzinfo=UTC) - timedelta(days=14)
