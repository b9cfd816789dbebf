"""Backordered replacements: filled by every move that frees stock, in the same transaction,
in promise order; and dated from open purchase orders and lead times."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from carriers.services import CarrierService
from core.mail import SmtpMailer, SmtpSettings
from core.outbox import OutboxWorker
from inventory import ledger
from inventory.catalog import supplier_by_code
from inventory.commands import AdjustStock, ReceiveStock, ReserveStock, TransferStock
from inventory.services import InventoryService
from inventory.status import LocationKind
from purchasing import orders as po
from purchasing.commands import ReceiptLine, ReceivePurchaseOrder
from purchasing.services import PurchasingService
from returns.messages import Messages
from returns.models import OutgoingEmail
from returns.policy import ReturnPolicy
from returns.queries import RmaQueries
from returns.refund_provider import StripeRefunds
from returns.status import (
    Channel,
    Disposition,
    Priority,
    Reason,
    ReplacementStatus,
    Resolution,
)
from returns.status_links import StatusLinks
from tests.conftest import RETURN_ADDRESS
from tests.support import desk as builders
from web.api.returns import PickQueueItemSchema, ReplacementOutSchema

BIN, OTHER_BIN, QUARANTINE = "MAIN/A-01-01", "MAIN/A-01-02", "MAIN/QUARANTINE"
PART = "PSU-65"
TODAY = date(2026, 11, 23)


@pytest.fixture
def desk(
    stocked: InventoryService,
    session_factory: Any,
    clock: Any,
    refunds_sandbox: Any,
    carrier_sandbox: str,
    refunds_made: Any,
    smtp_sink: Any,
) -> Iterator[dict[str, Any]]:
    """Returns wired as the app wires them (e-mail on), PSU-65 with no stock, 7 days' lead."""
    stocked.create_location(code="MAIN/RETURNS", kind=LocationKind.RETURNS)
    stocked.create_part(sku=PART, name="Power supply 65W", supplier="ACME", lead_time_days=7)
    with httpx.Client(timeout=10) as http:
        carriers = CarrierService(
            session_factory, clock, {"sandbox": builders_sandbox(carrier_sandbox, http)}
        )
        mailer = SmtpMailer(
            SmtpSettings(host="127.0.0.1", port=smtp_sink.port, sender="r@shop.example")
        )
        messages = Messages(
            clock, mailer, StatusLinks("https://returns.example.com"), carriers.get_label
        )
        policy = ReturnPolicy()
        returns = builders.wire_returns(
            session_factory,
            clock,
            policy,
            carriers,
            StripeRefunds(refunds_sandbox[0], "sk_test_returns", http),
            return_address=RETURN_ADDRESS,
            messages=messages,
        )
        yield {
            "returns": returns,
            "queries": RmaQueries(session_factory, clock, policy),
            "inventory": stocked,
            "purchasing": PurchasingService(session_factory, clock),
            "worker": OutboxWorker(session_factory, clock, returns.outbox_handlers()),
        }


def builders_sandbox(url: str, http: httpx.Client) -> Any:
    from tests.support.sandbox_webhooks import sandbox_adapter

    adapter = sandbox_adapter(url)
    adapter.http = http
    return adapter


_tracking = iter(range(1000, 100000))


def backorder(
    desk: dict[str, Any],
    qty: int = 1,
    priority: Priority = Priority.MEDIUM,
    sku: str = PART,
    email: str = "mia@example.com",
) -> tuple[str, int]:
    """An authorised advance replacement of ``qty`` x ``sku``: (RMA number, replacement id)."""
    number = builders.open_rma(
        desk["returns"],
        "desk@x.example",
        customer={"name": "Mia Chen", "email": email},
        channel=Channel.EMAIL,
        reason=Reason.DEFECTIVE,
        resolution=Resolution.REPLACEMENT,
        priority=priority,
        purchase_date=TODAY - timedelta(days=10),
        lines=[{"sku": sku, "qty": qty, "unit_price": Decimal("40")}],
    ).number
    view = builders.authorise(
        desk["returns"],
        "desk@x.example",
        number,
        carrier="sandbox",
        tracking_number=f"SBX{next(_tracking)}",
    )
    [replacement] = view.replacements
    return number, replacement.id


def status_of(desk: dict[str, Any], number: str) -> ReplacementStatus:
    [replacement] = desk["queries"].get(number).replacements
    return replacement.status


def receive(desk: dict[str, Any], qty: int, location: str = BIN) -> None:
    desk["inventory"].receive("goods-in", ReceiveStock(sku=PART, location=location, qty=qty))


def sent_order(desk: dict[str, Any], qty: int) -> str:
    service: PurchasingService = desk["purchasing"]
    with service.session_factory() as session, session.begin():
        part = ledger.find_part(session, PART)
        assert part is not None
        order = po.create_draft(
            session,
            ledger.Who("buyer@x.example", service.clock),
            supplier_by_code(session, "ACME"),
            [po.DraftLine(part, qty, Decimal("12"))],
            "by hand",
        )
        number = order.number
    service.send("buyer@x.example", number)
    return number


# --- every move that frees stock fills the backorder -----------------------------------------


def test_a_receipt_reserves_the_backorder_at_once(desk) -> None:
    number, replacement_id = backorder(desk)
    assert status_of(desk, number) is ReplacementStatus.BACKORDERED
    assert desk["queries"].pick_queue()[0].location_code is None

    receive(desk, 1)

    rma = desk["queries"].get(number)
    [replacement] = rma.replacements
    assert (replacement.status, replacement.location_code) == (ReplacementStatus.QUEUED, BIN)
    assert replacement.expected_on is None
    [item] = [i for i in desk["queries"].pick_queue() if i.id == replacement_id]
    assert (item.status, item.location_code) == (ReplacementStatus.QUEUED, BIN)
    assert any("Backordered replacement 1 x PSU-65 reserved" in t.reason for t in rma.timeline)
    report = desk["inventory"].stock_report(PART)
    assert [(lv.location.code, lv.on_hand, lv.reserved) for lv in report.levels] == [(BIN, 1, 1)]


def test_the_receipt_and_the_filling_commit_together_or_not_at_all(desk, monkeypatch) -> None:
    number, _ = backorder(desk)

    def mail_down(*args: Any, **kwargs: Any) -> bool:
        raise RuntimeError("mail queue unavailable")

    monkeypatch.setattr(desk["returns"].ctx.messages, "to_customer", mail_down)
    with pytest.raises(RuntimeError):
        receive(desk, 1)
    assert status_of(desk, number) is ReplacementStatus.BACKORDERED
    assert desk["inventory"].get_part(PART).on_hand == 0  # the receipt went with it


def test_a_receipt_rolled_back_reserves_nothing(desk, session_factory, clock) -> None:
    number, _ = backorder(desk)
    with session_factory() as session:
        ledger.receive(session, ledger.Who("x", clock), sku=PART, location=BIN, qty=1)
        session.rollback()
    assert status_of(desk, number) is ReplacementStatus.BACKORDERED


def test_a_purchase_order_receipt_fills_the_backorder(desk) -> None:
    number, _ = backorder(desk, qty=2)
    order = sent_order(desk, 5)
    desk["purchasing"].receive(
        "goods-in",
        ReceivePurchaseOrder(number=order, lines=(ReceiptLine(sku=PART, qty=2),), location=BIN),
    )
    assert status_of(desk, number) is ReplacementStatus.QUEUED


def test_a_transfer_out_of_quarantine_fills_the_backorder(desk) -> None:
    receive(desk, 1, QUARANTINE)  # not promisable there
    number, _ = backorder(desk)
    assert status_of(desk, number) is ReplacementStatus.BACKORDERED
    desk["inventory"].transfer(
        "ann", TransferStock(sku=PART, from_location=QUARANTINE, to_location=BIN, qty=1)
    )
    assert status_of(desk, number) is ReplacementStatus.QUEUED


def test_a_transfer_that_gathers_units_into_one_bin_fills_the_backorder(desk) -> None:
    receive(desk, 1, BIN)
    receive(desk, 1, OTHER_BIN)
    number, _ = backorder(desk, qty=2)  # 2 free in all, but a reservation takes one bin
    assert status_of(desk, number) is ReplacementStatus.BACKORDERED
    desk["inventory"].transfer(
        "ann", TransferStock(sku=PART, from_location=OTHER_BIN, to_location=BIN, qty=1)
    )
    assert status_of(desk, number) is ReplacementStatus.QUEUED


def test_a_count_that_finds_stock_fills_the_backorder(desk) -> None:
    number, _ = backorder(desk)
    desk["inventory"].adjust("ann", AdjustStock(sku=PART, location=BIN, counted_qty=1))
    assert status_of(desk, number) is ReplacementStatus.QUEUED


def test_a_released_reservation_fills_the_backorder(desk) -> None:
    receive(desk, 1)
    held = desk["inventory"].reserve("ann", ReserveStock(sku=PART, qty=1, reference="HOLD"))
    number, _ = backorder(desk)
    assert status_of(desk, number) is ReplacementStatus.BACKORDERED
    desk["inventory"].release("ann", held.id, "not needed")
    assert status_of(desk, number) is ReplacementStatus.QUEUED


def test_a_cancelled_replacement_frees_its_units_for_the_next_backorder(desk) -> None:
    receive(desk, 1)
    first, _ = backorder(desk)
    second, _ = backorder(desk)
    assert (status_of(desk, first), status_of(desk, second)) == (
        ReplacementStatus.QUEUED,
        ReplacementStatus.BACKORDERED,
    )
    desk["returns"].authorisation.cancel("desk@x.example", first, "customer withdrew")
    assert status_of(desk, second) is ReplacementStatus.QUEUED


def test_a_returned_unit_restocked_after_inspection_fills_the_backorder(desk, clock) -> None:
    waiting, _ = backorder(desk)
    # Another customer's refund return of the same part comes back sellable.
    returned = builders.open_rma(
        desk["returns"],
        "desk@x.example",
        customer={"name": "Lee", "email": "lee@example.com"},
        channel=Channel.EMAIL,
        reason=Reason.DEFECTIVE,
        resolution=Resolution.REFUND,
        payment_reference="pi_3OrderPaid",
        purchase_date=TODAY - timedelta(days=10),
        lines=[{"sku": PART, "qty": 1, "unit_price": Decimal("40")}],
    ).number
    builders.authorise(
        desk["returns"], "desk@x.example", returned, carrier="sandbox", tracking_number="SBXR1"
    )
    builders.receive(
        desk["returns"],
        "ann@x.example",
        returned,
        lines=[{"sku": PART, "qty": 1, "condition": "good"}],
        supervisor=True,
    )
    assert status_of(desk, waiting) is ReplacementStatus.BACKORDERED  # returns bin: not pickable
    builders.inspect(
        desk["returns"],
        "ann@x.example",
        returned,
        lines=[{"sku": PART, "disposition": Disposition.RESTOCK, "location": BIN}],
    )
    assert status_of(desk, waiting) is ReplacementStatus.QUEUED


# --- promise order ---------------------------------------------------------------------------


def test_backorders_are_filled_by_priority_then_age(desk, clock) -> None:
    old_low, _ = backorder(desk, priority=Priority.LOW)
    clock.advance(timedelta(minutes=1))
    first_medium, _ = backorder(desk)
    clock.advance(timedelta(minutes=1))
    second_medium, _ = backorder(desk)
    clock.advance(timedelta(minutes=1))
    urgent, _ = backorder(desk, priority=Priority.URGENT)

    receive(desk, 2)
    assert [status_of(desk, n) for n in (urgent, first_medium, second_medium, old_low)] == [
        ReplacementStatus.QUEUED,
        ReplacementStatus.QUEUED,
    ] + [ReplacementStatus.BACKORDERED] * 2
    receive(desk, 1)
    assert status_of(desk, second_medium) is ReplacementStatus.QUEUED
    assert status_of(desk, old_low) is ReplacementStatus.BACKORDERED


def test_one_that_does_not_fit_is_passed_over_and_keeps_its_place(desk, clock) -> None:
    big, _ = backorder(desk, qty=3)
    clock.advance(timedelta(minutes=1))
    small, _ = backorder(desk, qty=1)
    receive(desk, 1)
    assert (status_of(desk, big), status_of(desk, small)) == (
        ReplacementStatus.BACKORDERED,
        ReplacementStatus.QUEUED,
    )
    receive(desk, 3)
    assert status_of(desk, big) is ReplacementStatus.QUEUED
    report = desk["inventory"].stock_report(PART)
    assert sum(level.on_hand - level.reserved for level in report.levels) == 0


# --- the customer is told once -----------------------------------------------------------------


def test_the_customer_is_told_once_that_the_replacement_is_reserved(
    desk, session_factory, smtp_sink, clock
) -> None:
    number, _ = backorder(desk)
    receive(desk, 1)
    receive(desk, 1)  # more stock later: no second message for the same replacement
    with session_factory() as session:
        kinds = session.scalars(
            select(OutgoingEmail.kind).where(OutgoingEmail.kind == "replacement_reserved")
        ).all()
    assert kinds == ["replacement_reserved"]
    for _ in range(3):
        desk["worker"].drain()
        clock.advance(timedelta(seconds=1))
    [message] = [m for m in smtp_sink.messages if "is in stock" in str(m["Subject"])]
    assert number in str(message["Subject"])
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert "1 x PSU-65" in body and "on its way to being shipped" in body


# --- expected dates --------------------------------------------------------------------------


def test_backorders_are_dated_by_open_orders_in_promise_order_then_estimated(desk, clock) -> None:
    first, _ = backorder(desk, qty=2)
    clock.advance(timedelta(minutes=1))
    second, _ = backorder(desk, qty=1)
    clock.advance(timedelta(minutes=1))
    third, _ = backorder(desk, qty=1)
    order = sent_order(desk, 3)  # ACME: PSU-65's own lead time, 7 days
    expected_on = TODAY + timedelta(days=7)

    dated = {n: desk["queries"].get(n).replacements[0] for n in (first, second, third)}
    assert [(r.expected_on, r.expected_estimated) for r in dated.values()] == [
        (expected_on, False),
        (expected_on, False),
        (TODAY + timedelta(days=7), True),  # the order's 3 units go to the first two
    ]
    desk["inventory"].update_part(PART, {"lead_time_days": 21})
    assert desk["queries"].get(third).replacements[0].expected_on == TODAY + timedelta(days=21)
    # The pick queue and the API show the same.
    items = {i.rma_number: i for i in desk["queries"].pick_queue()}
    assert items[second].expected_on == expected_on
    dumped = PickQueueItemSchema().dump(items[third])
    assert (dumped["expected_on"], dumped["expected_estimated"]) == (
        (TODAY + timedelta(days=21)).isoformat(),
        True,
    )
    assert ReplacementOutSchema().dump(dated[first])["expected_on"] == expected_on.isoformat()
    # Received in part: the first backorder is filled, the rest of the order covers the next.
    desk["purchasing"].receive(
        "goods-in",
        ReceivePurchaseOrder(number=order, lines=(ReceiptLine(sku=PART, qty=2),), location=BIN),
    )
    assert status_of(desk, first) is ReplacementStatus.QUEUED
    assert desk["queries"].get(first).replacements[0].expected_on is None
    assert desk["queries"].get(second).replacements[0].expected_on == expected_on
    assert desk["queries"].get(third).replacements[0].expected_estimated
