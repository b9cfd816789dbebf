"""Returns opened from a sales order: lines, prices, serials, dates and payment come from the
order; what is already on its way back cannot be returned twice (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from carriers.services import CarrierService
from core.addresses import PostalAddress
from core.errors import InvalidInput, NotFound
from inventory.services import InventoryService
from inventory.status import LocationKind
from returns.from_orders import OpenRmaFromOrder, OrderReturnLine
from returns.policy import ReturnPolicy
from returns.stages import Returns
from returns.status import Channel, Reason, Resolution, RmaStatus
from sales.commands import OrderCustomer, OrderLineInput, UpsertOrder
from sales.orders import Orders
from tests.conftest import RETURN_ADDRESS
from tests.support import desk as builders

ADDRESS = PostalAddress(
    name="Mia Chen", street="1 High Street", city="London", postcode="SW1A 1AA", country="GB"
)


@pytest.fixture
def returns(stocked: InventoryService, session_factory: Any, clock: Any) -> Returns:
    stocked.create_location(code="MAIN/RETURNS", kind=LocationKind.RETURNS)
    stocked.create_part(sku="PSU-65", name="Power supply 65W")
    return builders.wire_returns(
        session_factory,
        clock,
        ReturnPolicy(return_window_days=30, default_warranty_months=12),
        CarrierService(session_factory, clock, {}),
        None,
        return_address=RETURN_ADDRESS,
    )


@pytest.fixture
def order(session_factory: Any, clock: Any) -> str:
    """#1001: two fans with serials, then one more fan at a lower price, and a power supply."""
    Orders(session_factory, clock).upsert(
        UpsertOrder(
            number="#1001",
            channel="shopify",
            customer=OrderCustomer("Mia Chen", "Mia@Example.com", "+44 20 7946 0000", ADDRESS),
            ordered_at=datetime(2026, 11, 1, 10, tzinfo=UTC),
            shipped_at=datetime(2026, 11, 3, 16, tzinfo=UTC),
            payment_reference="pi_1001",
            currency="USD",
            lines=(
                OrderLineInput("ABC-1", 2, Decimal("19.90"), ("FAN-A", "FAN-B")),
                OrderLineInput("PSU-65", 1, Decimal("45.00")),
                OrderLineInput("ABC-1", 1, Decimal("15.00")),
            ),
        )
    )
    return "#1001"


def from_order(lines: tuple[OrderReturnLine, ...], **overrides: Any) -> OpenRmaFromOrder:
    values: dict[str, Any] = {
        "order_number": "#1001",
        "lines": lines,
        "reason": Reason.NO_LONGER_NEEDED,
        "resolution": Resolution.REFUND,
        "channel": Channel.PORTAL,
    }
    values.update(overrides)
    return OpenRmaFromOrder(**values)


def test_an_rma_from_an_order_takes_its_prices_serials_dates_payment_and_customer(
    returns: Returns, order: str
) -> None:
    rma = returns.from_orders.open(
        "portal",
        from_order((OrderReturnLine("ABC-1", 2, ("FAN-B",)), OrderReturnLine("PSU-65", 1))),
    )
    assert rma.order_number == "#1001"
    assert rma.payment_reference == "pi_1001"
    assert rma.purchase_date == date(2026, 11, 3)  # the window counts from shipping
    assert rma.customer_email == "mia@example.com"
    assert rma.channel is Channel.PORTAL
    lines = sorted((line.sku, line.qty, line.unit_price, line.serial) for line in rma.lines)
    # FAN-B by name; the second fan is the first one still free: FAN-A, at its own price.
    assert lines == [
        ("ABC-1", 1, Decimal("19.90"), "FAN-A"),
        ("ABC-1", 1, Decimal("19.90"), "FAN-B"),
        ("PSU-65", 1, Decimal("45.00"), None),
    ]


def test_what_is_on_its_way_back_cannot_be_returned_again(returns: Returns, order: str) -> None:
    returns.from_orders.open("portal", from_order((OrderReturnLine("ABC-1", 2),)))
    left = {line.sku: line for line in returns.from_orders.returnable(order).lines}
    assert (left["ABC-1"].returned_qty, left["ABC-1"].returnable_qty) == (2, 1)
    assert left["ABC-1"].unit_price == Decimal("15.00")  # the cheaper unit is what is left
    assert left["ABC-1"].serials == ()
    with pytest.raises(InvalidInput) as refused:
        returns.from_orders.open("portal", from_order((OrderReturnLine("ABC-1", 2),)))
    assert refused.value.code == "qty_above_returnable"
    assert refused.value.field == "lines.0.qty"
    assert refused.value.details["returnable"] == 1


def test_a_rejected_return_frees_its_units(returns: Returns, order: str) -> None:
    first = returns.from_orders.open("portal", from_order((OrderReturnLine("PSU-65", 1),)))
    returns.authorisation.reject(builders.DESK, first.number, "Not ours")
    assert returns.get(first.number).status is RmaStatus.REJECTED
    again = returns.from_orders.open("portal", from_order((OrderReturnLine("PSU-65", 1),)))
    assert again.number != first.number


def test_refusals_name_the_line(returns: Returns, order: str) -> None:
    with pytest.raises(InvalidInput) as not_on_order:
        returns.from_orders.open("portal", from_order((OrderReturnLine("XYZ-9", 1),)))
    assert (not_on_order.value.field, not_on_order.value.code) == ("lines.0.sku", "not_on_order")
    with pytest.raises(InvalidInput) as wrong_serial:
        returns.from_orders.open("portal", from_order((OrderReturnLine("ABC-1", 1, ("FAN-Z",)),)))
    assert wrong_serial.value.code == "serial_not_on_order"
    with pytest.raises(NotFound):
        returns.from_orders.open("portal", from_order((), order_number="#9999"))


def test_the_window_and_the_warranty_are_judged_per_line(
    returns: Returns, order: str, clock: Any
) -> None:
    view = returns.from_orders.returnable(order)
    fan = next(line for line in view.lines if line.sku == "ABC-1")
    assert fan.window_ends == date(2026, 12, 3)
    assert fan.warranty_ends == date(2027, 11, 3)
    assert view.accepts(fan, Reason.NO_LONGER_NEEDED, date(2026, 12, 3))
    assert not view.accepts(fan, Reason.NO_LONGER_NEEDED, date(2026, 12, 4))
    assert view.accepts(fan, Reason.DEFECTIVE, date(2026, 12, 4))
    clock.advance(timedelta(days=40))
    with pytest.raises(InvalidInput) as late:
        returns.from_orders.open("portal", from_order((OrderReturnLine("ABC-1", 1),)))
    assert late.value.code == "return_window_expired"


def test_two_returns_racing_for_the_last_unit_cannot_both_have_it(
    returns: Returns, order: str
) -> None:
    outcomes: list[str] = []
    start = threading.Barrier(2)

    def claim() -> None:
        start.wait()
        try:
            returns.from_orders.open("portal", from_order((OrderReturnLine("PSU-65", 1),)))
            outcomes.append("opened")
        except InvalidInput as refused:
            outcomes.append(refused.code)

    threads = [threading.Thread(target=claim) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["opened", "qty_above_returnable"]
