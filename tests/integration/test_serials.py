"""Serialised units through every path: receipt, moves, scrap, a replacement shipped, the
unit returned and inspected, the order feed, warranty by unit, and the look-ups."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from core.errors import Conflict, InvalidInput
from inventory.commands import IssueStock, ReceiveStock, ScrapStock, TransferStock
from inventory.errors import SerialNotFound, SerialProblem
from inventory.services import InventoryService
from returns.shipped_units import link_shipped_serials
from returns.status import Channel, Disposition, Reason, ReplacementStatus, Resolution
from sales.commands import OrderCustomer, OrderLineInput, UpsertOrder
from sales.orders import Orders
from tests.integration.test_returns import CUSTOMER, TODAY, desk  # noqa: F401 (the fixture)
from tests.support import desk as builders

CAM = "CAM-1"
BIN, OTHER = "MAIN/A-01-01", "MAIN/A-01-02"


@pytest.fixture
def cameras(stocked: InventoryService) -> InventoryService:
    stocked.create_part(sku=CAM, name="Camera", serialised=True)
    return stocked


def where(inventory: InventoryService, serial: str) -> tuple[str, str | None, str | None]:
    [unit] = inventory.serial(serial)
    return unit.state, unit.location, unit.customer_email


@pytest.mark.parametrize(
    ("serials", "qty", "code"),
    [
        ((), 1, "serials_required"),
        (("SN1",), 2, "serials_required"),
        (("SN1", "SN1"), 2, "serial_duplicated"),
    ],
)
def test_a_serialised_receipt_names_one_distinct_serial_per_unit(
    cameras: InventoryService, serials: tuple[str, ...], qty: int, code: str
) -> None:
    with pytest.raises(SerialProblem) as refused:
        cameras.receive("ann", ReceiveStock(CAM, BIN, qty, serials=serials))
    assert (refused.value.code, refused.value.field) == (code, "serials")
    assert cameras.stock_report(CAM).totals.on_hand == 0


def test_moves_refuse_units_unknown_elsewhere_or_already_in_stock(
    cameras: InventoryService,
) -> None:
    cameras.receive("ann", ReceiveStock(CAM, BIN, 2, serials=("SN1", "SN2")))
    cameras.receive("ann", ReceiveStock(CAM, OTHER, 1, serials=("SN3",)))
    cases = [
        (lambda: cameras.transfer("ann", TransferStock(CAM, BIN, OTHER, 1, serials=("SN9",))),
         "serial_unknown"),
        (lambda: cameras.transfer("ann", TransferStock(CAM, BIN, OTHER, 1, serials=("SN3",))),
         "serial_not_here"),
        (lambda: cameras.receive("ann", ReceiveStock(CAM, OTHER, 1, serials=("SN1",))),
         "serial_in_stock"),
        (lambda: cameras.receive("ann", ReceiveStock("ABC-1", BIN, 1, serials=("X1",))),
         "part_not_serialised"),
    ]  # fmt: skip
    for attempt, code in cases:
        with pytest.raises(SerialProblem) as refused:
            attempt()
        assert refused.value.code == code
    assert where(cameras, "SN1") == ("in_stock", BIN, None)
    assert where(cameras, "SN3") == ("in_stock", OTHER, None)


def test_each_move_is_on_the_ledger_with_its_serial_and_the_unit_follows(
    cameras: InventoryService,
) -> None:
    move = cameras.receive("ann", ReceiveStock(CAM, BIN, 2, serials=("SN1", "SN2")))
    assert move.serial_list == ["SN1", "SN2"]
    cameras.transfer("ann", TransferStock(CAM, BIN, OTHER, 1, serials=("SN2",)))
    cameras.issue("ann", IssueStock(CAM, BIN, 1, serials=("SN1",), reason="repair bench"))
    cameras.scrap("ann", ScrapStock(CAM, OTHER, 1, serials=("SN2",)))
    assert where(cameras, "SN1") == ("issued", None, None)
    assert where(cameras, "SN2") == ("scrapped", None, None)
    [unit] = cameras.serial("SN2")
    assert [(m.kind, m.from_location, m.to_location) for m in unit.history] == [
        ("receipt", None, BIN),
        ("transfer", BIN, OTHER),
        ("issue", OTHER, None),
    ]
    with pytest.raises(SerialNotFound):
        cameras.serial("NOPE")


def test_serialisation_changes_only_while_nothing_is_in_stock(cameras: InventoryService) -> None:
    with pytest.raises(Conflict) as refused:
        cameras.update_part("ABC-1", {"serialised": True})
    assert refused.value.code == "part_has_stock"
    cameras.update_part(CAM, {"serialised": False})
    cameras.update_part(CAM, {"serialised": True})


def test_a_replacement_ships_by_serial_and_comes_back_by_serial(desk: dict[str, Any]) -> None:  # noqa: F811
    inventory = desk["inventory"]
    inventory.create_part(sku=CAM, name="Camera", serialised=True)
    inventory.receive("ann", ReceiveStock(CAM, BIN, 2, serials=("CAM-100", "CAM-101")))
    number = builders.open_rma(
        desk["returns"],
        customer=CUSTOMER,
        channel=Channel.EMAIL,
        reason=Reason.DEFECTIVE,
        resolution=Resolution.REPLACEMENT,
        purchase_date=TODAY - timedelta(days=10),
        lines=[{"sku": CAM, "qty": 1, "unit_price": "99", "serial": "CAM-007"}],
    ).number
    rma = builders.authorise(
        desk["returns"], "desk@x.example", number, carrier="sandbox", tracking_number="SBX1"
    )
    replacement = rma.replacements[0].id
    with pytest.raises(SerialProblem) as refused:
        builders.ship(desk["returns"], "ann", replacement, carrier="sandbox", tracking_number="O1")
    assert refused.value.code == "serials_required"
    view = builders.ship(
        desk["returns"],
        "ann",
        replacement,
        carrier="sandbox",
        tracking_number="O1",
        serials=("CAM-101",),
    )
    assert view.replacements[0].status is ReplacementStatus.SHIPPED
    assert where(inventory, "CAM-101") == ("with_customer", None, "mia@example.com")
    [unit] = inventory.serial("CAM-101")
    assert unit.order_number == number and unit.shipped_at is not None

    # The faulty unit comes back: known now, in the returns location; then scrapped.
    builders.receive(
        desk["returns"], "ann", number, lines=[{"sku": CAM, "qty": 1, "serial": "CAM-007"}]
    )
    assert where(inventory, "CAM-007") == ("in_stock", "MAIN/RETURNS", None)
    builders.inspect(
        desk["returns"], "ann", number, lines=[{"sku": CAM, "disposition": Disposition.SCRAP}]
    )
    assert where(inventory, "CAM-007")[0] == "scrapped"
    assert where(inventory, "CAM-100") == ("in_stock", BIN, None)


def _order(number: str, serials: tuple[str, ...], shipped: datetime) -> UpsertOrder:
    return UpsertOrder(
        number=number,
        channel="web",
        customer=OrderCustomer(name="Lee Park", email="Lee@Example.com"),
        ordered_at=shipped - timedelta(days=1),
        shipped_at=shipped,
        currency="EUR",
        lines=(OrderLineInput(CAM, len(serials), Decimal("99"), serials=serials),),
    )


def test_the_order_feed_gives_shipped_serials_to_the_customer(
    cameras: InventoryService, session_factory: Any, clock: Any
) -> None:
    cameras.receive("ann", ReceiveStock(CAM, BIN, 1, serials=("SN5",)))
    cameras.receive("ann", ReceiveStock(CAM, BIN, 1, serials=("SN6",)))
    cameras.issue("ann", IssueStock(CAM, BIN, 1, serials=("SN6",), reason="sold"))
    orders = Orders(session_factory, clock, link_shipped_serials)
    shipped = datetime(2026, 11, 1, 12, tzinfo=UTC)
    orders.upsert(_order("SO-9", ("SN6", "SN7", "SN5"), shipped))
    # Issued by the ledger, then named by the order: the customer's.
    assert where(cameras, "SN6") == ("with_customer", None, "lee@example.com")
    # Not known before: created as with the customer.
    [unknown] = cameras.serial("SN7")
    assert (unknown.state, unknown.order_number, unknown.shipped_at) == (
        "with_customer",
        "SO-9",
        shipped,
    )
    # Still in stock by the ledger: it keeps its place (stock leaves by a move only).
    assert where(cameras, "SN5") == ("in_stock", BIN, None)


def test_warranty_counts_from_the_units_ship_date(
    desk: dict[str, Any],  # noqa: F811
    session_factory: Any,
    clock: Any,
) -> None:
    desk["inventory"].create_part(sku=CAM, name="Camera", serialised=True)
    Orders(session_factory, clock, link_shipped_serials).upsert(
        _order("SO-OLD", ("OLD-1",), datetime(2024, 6, 1, tzinfo=UTC))
    )
    fields = {
        "customer": CUSTOMER,
        "channel": Channel.EMAIL,
        "reason": Reason.DEFECTIVE,
        "resolution": Resolution.REPLACEMENT,
        # The customer says last month; the unit shipped in 2024 (12-month warranty).
        "purchase_date": TODAY - timedelta(days=30),
    }
    line = {"sku": CAM, "qty": 1, "unit_price": "99"}
    with pytest.raises(InvalidInput) as refused:
        builders.open_rma(desk["returns"], lines=[{**line, "serial": "OLD-1"}], **fields)
    assert (refused.value.code, refused.value.field) == ("warranty_expired", "serial")
    assert "2025-06-01" in refused.value.message
    # A unit without a known ship date: the purchase date decides, as before.
    opened = builders.open_rma(desk["returns"], lines=[{**line, "serial": "NEW-1"}], **fields)
    assert opened.number


def test_the_recall_list_names_customers_with_serials_in_the_range(
    cameras: InventoryService, session_factory: Any, clock: Any
) -> None:
    orders = Orders(session_factory, clock, link_shipped_serials)
    shipped = datetime(2026, 10, 1, tzinfo=UTC)
    orders.upsert(_order("SO-1", ("SN98", "SN99"), shipped))
    orders.upsert(_order("SO-2", ("SN100", "SN250"), shipped))
    rows = cameras.recall(CAM, "SN99", "SN200")
    assert [(row.serial, row.order_number) for row in rows] == [("SN99", "SO-1"), ("SN100", "SO-2")]
    assert date(2026, 10, 1) == rows[0].shipped_at.date()  # type: ignore[union-attr]


def test_a_bought_outbound_label_ships_the_serials_scanned_when_it_was_ordered(
    desk: dict[str, Any],  # noqa: F811
    session_factory: Any,
) -> None:
    from sqlalchemy import func, select

    from core.outbox import OutboxMessage
    from returns.context import LabelSettings

    returns, inventory = desk["returns"], desk["inventory"]
    returns.ctx.labels = LabelSettings(outbound_carrier="sandbox")
    inventory.create_part(sku=CAM, name="Camera", serialised=True)
    inventory.receive("ann", ReceiveStock(CAM, BIN, 2, serials=("CAM-100", "CAM-101")))
    inventory.receive("ann", ReceiveStock(CAM, OTHER, 1, serials=("CAM-200",)))
    number = builders.open_rma(
        returns,
        customer=CUSTOMER,
        channel=Channel.EMAIL,
        reason=Reason.DEFECTIVE,
        resolution=Resolution.REPLACEMENT,
        purchase_date=TODAY - timedelta(days=10),
        lines=[{"sku": CAM, "qty": 1, "unit_price": "99", "serial": "CAM-007"}],
    ).number
    rma = builders.authorise(
        returns, "desk@x.example", number, carrier="sandbox", tracking_number="SBX1"
    )
    replacement = rma.replacements[0].id

    def labels_queued() -> int:
        with session_factory() as session:
            return session.scalar(
                select(func.count()).where(OutboxMessage.topic == "replacement_label.buy")
            )

    # Refused up front, nothing queued: no serials, too many, or a unit not at the bin.
    refusals = [
        ((), "serials_required"),
        (("CAM-100", "CAM-101"), "serials_required"),
        (("CAM-200",), "serial_not_here"),
        (("CAM-999",), "serial_unknown"),
    ]
    for scanned, code in refusals:
        with pytest.raises(SerialProblem) as refused:
            returns.outbound_labels.order("ann", replacement, scanned)
        assert (refused.value.code, refused.value.field) == (code, "serials")
    assert labels_queued() == 0

    returns.outbound_labels.order("ann", replacement, (" CAM-101 ",))
    assert where(inventory, "CAM-101") == ("in_stock", BIN, None)  # moves once it is bought
    desk["worker"].drain()

    view = returns.get(number)
    assert view.replacements[0].status is ReplacementStatus.SHIPPED
    assert view.replacements[0].tracking_number  # the bought label's parcel
    assert where(inventory, "CAM-101") == ("with_customer", None, "mia@example.com")
    [unit] = inventory.serial("CAM-101")
    assert unit.order_number == number
    assert unit.history[-1].kind == "reserved_issue"
    assert where(inventory, "CAM-100") == ("in_stock", BIN, None)


def test_a_unit_moved_before_its_label_is_bought_alerts_the_desk(
    desk: dict[str, Any],  # noqa: F811
    session_factory: Any,
) -> None:
    from sqlalchemy import select

    from returns.context import LabelSettings
    from returns.models import Notification

    returns, inventory = desk["returns"], desk["inventory"]
    returns.ctx.labels = LabelSettings(outbound_carrier="sandbox")
    inventory.create_part(sku=CAM, name="Camera", serialised=True)
    inventory.receive("ann", ReceiveStock(CAM, BIN, 2, serials=("CAM-100", "CAM-101")))
    number = builders.open_rma(
        returns,
        customer=CUSTOMER,
        channel=Channel.EMAIL,
        reason=Reason.DEFECTIVE,
        resolution=Resolution.REPLACEMENT,
        purchase_date=TODAY - timedelta(days=10),
        lines=[{"sku": CAM, "qty": 1, "unit_price": "99", "serial": "CAM-007"}],
    ).number
    rma = builders.authorise(
        returns, "desk@x.example", number, carrier="sandbox", tracking_number="SBX1"
    )
    returns.outbound_labels.order("ann", rma.replacements[0].id, ("CAM-100",))
    inventory.transfer("ann", TransferStock(CAM, BIN, OTHER, 1, serials=("CAM-100",)))
    desk["worker"].drain()

    assert returns.get(number).replacements[0].status is ReplacementStatus.QUEUED
    assert where(inventory, "CAM-100") == ("in_stock", OTHER, None)
    with session_factory() as session:
        kinds = session.scalars(select(Notification.kind).where(Notification.audience == "desk"))
        assert "label_failed" in list(kinds)
