"""RMAs through the returns service, against real databases and the real HTTP sandboxes."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from carriers.services import CarrierService
from core.audit import AuditEntry
from core.errors import Conflict, InvalidInput
from core.outbox import MAX_ATTEMPTS, OUTAGE_GIVE_UP, OutboxMessage, OutboxStatus, OutboxWorker
from inventory.services import InventoryService
from inventory.status import LocationKind
from returns.commands import CustomerAddress
from returns.errors import IllegalTransition
from returns.models import Notification
from returns.policy import ReturnPolicy
from returns.queries import RmaQueries
from returns.refund_provider import StripeRefunds
from returns.refunds import REFUND_TOPIC
from returns.status import (
    Channel,
    Disposition,
    Priority,
    Reason,
    RefundStatus,
    ReplacementStatus,
    Resolution,
    RmaStatus,
)
from tests.conftest import RETURN_ADDRESS
from tests.support import desk as builders
from tests.support.sandbox_webhooks import sandbox_adapter, sandbox_payload, signed_request

CUSTOMER = {
    "name": "Mia Chen",
    "email": "Mia@Example.com",
    "phone": "+44 20 7946 0000",
    "vip": False,
}
TODAY = date(2026, 11, 23)


@pytest.fixture
def desk(
    stocked: InventoryService,
    session_factory: Any,
    clock: Any,
    refunds_sandbox: Any,
    carrier_sandbox: str,
    refunds_made: Any,
) -> Iterator[dict[str, Any]]:
    """The returns service wired as the app wires it, with its outbox worker."""
    stocked.create_location(code="MAIN/RETURNS", kind=LocationKind.RETURNS)
    stocked.create_part(sku="PSU-65", name="Power supply 65W")
    with httpx.Client(timeout=10) as http:
        carriers = CarrierService(
            session_factory, clock, {"sandbox": sandbox_adapter(carrier_sandbox)}
        )
        carriers.adapters["sandbox"].http = http
        policy = ReturnPolicy(auto_refund_limit_minor=20_000, customer_refund_limit_minor=30_000)
        returns = builders.wire_returns(
            session_factory,
            clock,
            policy,
            carriers,
            StripeRefunds(refunds_sandbox[0], "sk_test_returns", http),
            return_address=RETURN_ADDRESS,
        )
        worker = OutboxWorker(session_factory, clock, returns.outbox_handlers())
        yield {
            "returns": returns,
            "queries": RmaQueries(session_factory, clock, policy),
            "carriers": carriers,
            "worker": worker,
            "inventory": stocked,
        }


def open_rma(
    desk: dict[str, Any],
    *,
    resolution: Resolution = Resolution.REFUND,
    lines: list[dict[str, Any]] | None = None,
    **fields: Any,
) -> Any:
    defaults = {
        "customer": CUSTOMER,
        "channel": Channel.EMAIL,
        "reason": Reason.DEFECTIVE,
        "payment_reference": "pi_3OrderPaid",
        "purchase_date": TODAY - timedelta(days=10),
        "order_number": "SO-1001",
        "description": "Fan rattles",
    }
    lines = lines or [{"sku": "ABC-1", "qty": 2, "unit_price": Decimal("24.99")}]
    return builders.open_rma(
        desk["returns"],
        "desk@x.example",
        resolution=resolution,
        lines=lines,
        **{**defaults, **fields},
    )


def pickup(
    desk: dict[str, Any], clock: Any, tracking: str, status: str = "picked_up", minutes_ago: int = 0
) -> None:
    body = sandbox_payload(tracking, status, clock.now() - timedelta(minutes=minutes_ago))
    desk["carriers"].receive_webhook("sandbox", signed_request(body, clock.now()))


def level(inventory: InventoryService, sku: str, location: str) -> tuple[int, int]:
    for row in inventory.stock_report(sku).levels:
        if row.location.code == location:
            return row.on_hand, row.reserved
    return 0, 0


# --- intake ----------------------------------------------------------------------------------


def test_intake_numbers_the_rma_at_once_and_records_what_the_customer_said(desk, clock) -> None:
    rma = open_rma(desk, priority=Priority.HIGH, customer={**CUSTOMER, "vip": True})
    assert rma.number == "RMA-20261123-0001"
    assert (rma.status, rma.priority, rma.customer_email) == (
        RmaStatus.REQUESTED,
        Priority.URGENT,
        "mia@example.com",
    )
    assert rma.refund_amount_minor == 4998
    assert [(t.from_status, t.to_status, t.actor) for t in rma.timeline] == [
        (None, RmaStatus.REQUESTED, "desk@x.example")
    ]
    assert open_rma(desk).number == "RMA-20261123-0002"


@pytest.mark.parametrize(
    ("fields", "field", "code"),
    [
        (
            {"lines": [{"sku": "NOPE", "qty": 1, "unit_price": Decimal(1)}]},
            "lines.0.sku",
            "unknown_sku",
        ),
        (
            {"lines": [{"sku": "ABC-1", "qty": 3, "ordered_qty": 2, "unit_price": Decimal(1)}]},
            "lines.0.qty",
            "qty_above_order",
        ),
        ({"purchase_date": TODAY + timedelta(days=1)}, "purchase_date", "invalid_input"),
        ({"purchase_date": TODAY - timedelta(days=400)}, "purchase_date", "warranty_expired"),
        (
            {"purchase_date": TODAY - timedelta(days=31), "reason": Reason.NO_LONGER_NEEDED},
            "purchase_date",
            "return_window_expired",
        ),
        ({"payment_reference": None}, "payment_reference", "invalid_input"),
        ({"override_reason": "Goodwill"}, "override_reason", "override_not_allowed"),
    ],
)
def test_intake_refuses_what_policy_does_not_allow_naming_the_field(
    desk, fields, field, code
) -> None:
    with pytest.raises(InvalidInput) as refused:
        open_rma(desk, **fields)
    assert (refused.value.field, refused.value.code) == (field, code)
    assert desk["queries"].matching() == []


def test_a_supervisor_can_accept_a_return_outside_the_window_with_a_reason(desk) -> None:
    rma = builders.open_rma(
        desk["returns"],
        "boss@x.example",
        supervisor=True,
        override_reason="Long-standing key account",
        customer=CUSTOMER,
        channel=Channel.PHONE,
        reason=Reason.DEFECTIVE,
        resolution=Resolution.REFUND,
        payment_reference="pi_1",
        purchase_date=TODAY - timedelta(days=900),
        lines=[{"sku": "ABC-1", "qty": 1, "unit_price": Decimal("10")}],
    )
    assert (rma.policy_override_reason, rma.policy_override_by) == (
        "Long-standing key account",
        "boss@x.example",
    )
    assert "policy overridden" in rma.timeline[0].reason


# --- authorisation and the advance replacement -----------------------------------------------


def test_authorising_an_exchange_reserves_and_queues_the_replacement_at_once(desk) -> None:
    number = open_rma(desk, resolution=Resolution.REPLACEMENT).number
    view = builders.authorise(
        desk["returns"], "desk@x.example", number, carrier="sandbox", tracking_number="SBX900"
    )
    rma = view
    assert rma.status is RmaStatus.AWAITING_PICKUP
    assert [t.to_status for t in rma.timeline if t.kind == "status"] == [
        RmaStatus.REQUESTED,
        RmaStatus.AUTHORISED,
        RmaStatus.AWAITING_PICKUP,
    ]
    [replacement] = rma.replacements
    assert (replacement.status, replacement.qty) == (ReplacementStatus.QUEUED, 2)
    assert level(desk["inventory"], "ABC-1", "MAIN/A-01-01") == (10, 2)
    assert [r.rma_number for r in desk["queries"].pick_queue()] == [number]
    assert [(s.tracking_number, s.reference) for s in view.shipments] == [("SBX900", number)]
    assert (
        rma.refund_status is RefundStatus.AWAITING_PICKUP
    )  # an exchange: the original is refunded


def test_a_replacement_without_stock_is_backordered_and_shown(desk) -> None:
    number = open_rma(
        desk,
        resolution=Resolution.REPLACEMENT,
        payment_reference=None,
        lines=[{"sku": "PSU-65", "qty": 1, "unit_price": Decimal("40")}],
    ).number
    rma = builders.authorise(
        desk["returns"], "desk@x.example", number, carrier="sandbox", tracking_number="SBX901"
    )
    assert rma.replacements[0].status is ReplacementStatus.BACKORDERED
    assert rma.refund_status is RefundStatus.NONE  # free warranty replacement
    [note] = [t for t in rma.timeline if t.kind == "replacement"]
    assert "backordered" in note.reason


def test_the_warehouse_ships_the_replacement_from_its_reservation(desk) -> None:
    number = open_rma(desk, resolution=Resolution.REPLACEMENT).number
    rma = builders.authorise(
        desk["returns"], "desk@x.example", number, carrier="sandbox", tracking_number="SBX902"
    )
    view = builders.ship(
        desk["returns"],
        "ann@x.example",
        rma.replacements[0].id,
        carrier="sandbox",
        tracking_number="SBXOUT1",
    )
    assert view.replacements[0].status is ReplacementStatus.SHIPPED
    assert level(desk["inventory"], "ABC-1", "MAIN/A-01-01") == (8, 0)
    assert {s.tracking_number for s in view.shipments} == {"SBX902", "SBXOUT1"}
    with pytest.raises(Conflict):
        builders.ship(
            desk["returns"],
            "ann@x.example",
            rma.replacements[0].id,
            carrier="sandbox",
            tracking_number="SBXOUT2",
        )


# --- the refund on pickup, exactly once ------------------------------------------------------


def test_the_refund_is_released_on_pickup_exactly_once_whatever_the_carrier_sends(
    desk,
    clock,
    refunds_made,
) -> None:
    number = open_rma(desk).number
    builders.authorise(
        desk["returns"], "desk@x.example", number, carrier="sandbox", tracking_number="SBX910"
    )
    pickup(desk, clock, "SBX910", minutes_ago=5)
    pickup(desk, clock, "SBX910", minutes_ago=5)  # duplicate
    pickup(desk, clock, "SBX910", "in_transit", minutes_ago=1)
    pickup(desk, clock, "SBX910", "picked_up", minutes_ago=5)  # late replay
    rma = desk["returns"].get(number)
    assert (rma.status, rma.refund_status) == (RmaStatus.IN_TRANSIT, RefundStatus.PENDING)
    assert desk["worker"].drain() == 1
    assert desk["worker"].drain() == 0
    rma = desk["returns"].get(number)
    assert rma.refund_status is RefundStatus.RELEASED
    assert [(r["amount"], r["payment_intent"], r["metadata"]) for r in refunds_made] == [
        (4998, "pi_3OrderPaid", {"rma": number})
    ]
    assert rma.refund_reference == refunds_made[0]["id"]


def test_in_worker_mode_the_refund_waits_for_the_applier_and_is_queued_once(
    desk, clock, session_factory, refunds_made
) -> None:
    number = open_rma(desk).number
    builders.authorise(
        desk["returns"], "desk@x.example", number, carrier="sandbox", tracking_number="SBX915"
    )
    desk["carriers"].apply_on_receipt = False  # CARRIER_EVENTS_APPLY = "worker"

    def refunds_queued() -> list[str]:
        with session_factory() as session:
            return session.scalars(
                select(OutboxMessage.key).where(OutboxMessage.topic == REFUND_TOPIC)
            ).all()

    pickup(desk, clock, "SBX915", minutes_ago=5)
    rma = desk["returns"].get(number)
    assert (rma.status, rma.refund_status) == (
        RmaStatus.AWAITING_PICKUP,
        RefundStatus.AWAITING_PICKUP,
    )
    assert refunds_queued() == []
    assert desk["carriers"].apply_pending() == 1
    rma = desk["returns"].get(number)
    assert (rma.status, rma.refund_status) == (RmaStatus.PICKED_UP, RefundStatus.PENDING)
    assert refunds_queued() == [f"refund:{number}"]
    pickup(desk, clock, "SBX915", minutes_ago=5)  # the carrier sends it again
    assert desk["carriers"].apply_pending() == 0
    assert refunds_queued() == [f"refund:{number}"]
    assert desk["worker"].drain() == 1
    assert [(r["amount"], r["metadata"]) for r in refunds_made] == [(4998, {"rma": number})]


def test_a_crash_between_the_provider_call_and_the_commit_neither_loses_nor_doubles(
    desk,
    clock,
    session_factory,
    refunds_made,
) -> None:
    number = open_rma(desk).number
    builders.authorise(
        desk["returns"], "desk@x.example", number, carrier="sandbox", tracking_number="SBX911"
    )
    pickup(desk, clock, "SBX911")
    worker = desk["worker"]
    # A worker claims the message ...
    [(message_id, topic, key, payload, _request_id)] = worker._claim(10)
    worker.handlers[topic].perform(
        payload, key
    )  # ... the provider refunds ... and the worker dies.
    assert len(refunds_made) == 1
    assert desk["returns"].get(number).refund_status is RefundStatus.PENDING
    assert worker.drain() == 0  # leased: nobody retries while the lease runs
    clock.advance(timedelta(minutes=3))
    assert worker.drain() == 1  # the retry carries the same idempotency key
    assert len(refunds_made) == 1
    assert desk["returns"].get(number).refund_status is RefundStatus.RELEASED
    with session_factory() as session:
        message = session.get(OutboxMessage, message_id)
    assert (message.status, message.attempts) == (OutboxStatus.DONE, 2)


def test_a_provider_outage_is_retried_with_backoff_until_it_works(
    desk, clock, refunds_sandbox, refunds_made
) -> None:
    number = open_rma(desk).number
    builders.authorise(
        desk["returns"], "desk@x.example", number, carrier="sandbox", tracking_number="SBX912"
    )
    pickup(desk, clock, "SBX912")
    refunds_sandbox[1].fail_next = 2
    assert desk["worker"].drain() == 1
    assert desk["worker"].drain() == 0  # backing off
    clock.advance(timedelta(seconds=6))
    desk["worker"].drain()
    clock.advance(timedelta(seconds=11))
    desk["worker"].drain()
    rma = desk["returns"].get(number)
    assert rma.refund_status is RefundStatus.RELEASED
    assert len(refunds_made) == 1


def test_a_refund_the_provider_refuses_fails_visibly(desk, clock, refunds_made) -> None:
    number = open_rma(desk, payment_reference="ch_not_a_payment_intent").number
    builders.authorise(
        desk["returns"], "desk@x.example", number, carrier="sandbox", tracking_number="SBX913"
    )
    pickup(desk, clock, "SBX913")
    desk["worker"].drain()
    rma = desk["returns"].get(number)
    assert rma.refund_status is RefundStatus.FAILED
    assert "No such payment_intent" in rma.refund_error
    assert refunds_made == []


def test_two_workers_draining_at_once_refund_once(desk, clock, refunds_made) -> None:
    numbers = []
    for index in range(6):
        number = open_rma(desk, customer={**CUSTOMER, "email": f"c{index}@example.com"}).number
        builders.authorise(
            desk["returns"],
            "desk@x.example",
            number,
            carrier="sandbox",
            tracking_number=f"SBX92{index}",
        )
        pickup(desk, clock, f"SBX92{index}")
        numbers.append(number)
    barrier = threading.Barrier(2)

    def drain() -> None:
        barrier.wait()
        desk["worker"].drain()

    threads = [threading.Thread(target=drain) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r["metadata"]["rma"] for r in refunds_made) == sorted(numbers)


def test_a_refund_above_the_automatic_limit_waits_for_a_supervisor(
    desk, clock, refunds_made
) -> None:
    number = open_rma(desk, lines=[{"sku": "ABC-1", "qty": 5, "unit_price": Decimal("99")}]).number
    builders.authorise(
        desk["returns"], "desk@x.example", number, carrier="sandbox", tracking_number="SBX930"
    )
    pickup(desk, clock, "SBX930")
    rma = desk["returns"].get(number)
    assert (rma.status, rma.refund_status) == (RmaStatus.PICKED_UP, RefundStatus.HELD)
    assert "above the automatic limit" in rma.refund_hold_reason
    desk["worker"].drain()
    assert refunds_made == []
    with pytest.raises(Conflict):
        desk["returns"].refunds.release_by_supervisor(
            "desk@x.example", number, "please", supervisor=False
        )
    desk["returns"].refunds.release_by_supervisor(
        "boss@x.example", number, "Checked the order", supervisor=True
    )
    desk["worker"].drain()
    assert desk["returns"].get(number).refund_status is RefundStatus.RELEASED
    assert len(refunds_made) == 1


def test_a_supervisor_releases_a_refund_whose_pickup_scan_never_came(
    desk, clock, refunds_made
) -> None:
    number = open_rma(desk).number
    builders.authorise(
        desk["returns"], "desk@x.example", number, carrier="sandbox", tracking_number="SBX931"
    )
    desk["returns"].refunds.release_by_supervisor(
        "boss@x.example", number, "Courier confirmed by phone", supervisor=True
    )
    desk["worker"].drain()
    assert len(refunds_made) == 1
    pickup(desk, clock, "SBX931")  # the scan turns up late: nothing is refunded again
    desk["worker"].drain()
    assert len(refunds_made) == 1


def test_a_refunded_parcel_returned_to_sender_is_flagged_for_recovery(desk, clock) -> None:
    number = open_rma(desk).number
    builders.authorise(
        desk["returns"], "desk@x.example", number, carrier="sandbox", tracking_number="SBX932"
    )
    pickup(desk, clock, "SBX932", minutes_ago=10)
    pickup(desk, clock, "SBX932", "returned")
    assert "returned to sender" in desk["returns"].get(number).needs_recovery


# --- label, receipt, inspection, closing -----------------------------------------------------


def test_without_a_tracking_number_a_prepaid_label_is_bought_through_the_outbox(desk) -> None:
    number = open_rma(desk).number
    rma = builders.authorise(desk["returns"], "desk@x.example", number)
    assert rma.status is RmaStatus.AUTHORISED
    desk["worker"].drain()
    view = desk["returns"].get(number)
    assert view.status is RmaStatus.AWAITING_PICKUP
    assert view.return_tracking_number.startswith("SBX")
    assert [s.tracking_number for s in view.shipments] == [view.return_tracking_number]


def test_the_returned_part_is_received_inspected_restocked_and_the_rma_closed(desk, clock) -> None:
    number = open_rma(
        desk, lines=[{"sku": "ABC-1", "qty": 2, "unit_price": Decimal("24.99"), "serial": "SN-1"}]
    ).number
    builders.authorise(
        desk["returns"], "desk@x.example", number, carrier="sandbox", tracking_number="SBX940"
    )
    pickup(desk, clock, "SBX940")
    desk["worker"].drain()
    view = builders.receive(
        desk["returns"],
        "ann@x.example",
        number,
        lines=[{"sku": "abc-1", "qty": 2, "condition": "scuffed", "serial": "SN-1"}],
    )
    assert view.status is RmaStatus.RECEIVED
    assert (view.lines[0].received_qty, view.lines[0].serial_matches) == (2, True)
    assert level(desk["inventory"], "ABC-1", "MAIN/RETURNS") == (2, 0)
    view = builders.inspect(
        desk["returns"],
        "ann@x.example",
        number,
        lines=[{"sku": "ABC-1", "disposition": Disposition.RESTOCK, "location": "MAIN/A-01-02"}],
    )
    assert view.status is RmaStatus.INSPECTED
    assert level(desk["inventory"], "ABC-1", "MAIN/A-01-02") == (2, 0)
    assert level(desk["inventory"], "ABC-1", "MAIN/RETURNS") == (0, 0)
    closed = desk["returns"].closing.close("desk@x.example", number)
    assert closed.status is RmaStatus.CLOSED
    assert closed.followup_due_at == clock.now() + timedelta(days=3)
    followed = builders.record_followup(
        desk["returns"],
        "desk@x.example",
        number,
        satisfaction=5,
        comment="Quick",
        confirmed_fixed=True,
    )
    assert (followed.satisfaction, followed.followup_due_at) == (5, None)
    assert desk["inventory"].verify_levels() == []
    moves = desk["inventory"].list_moves("ABC-1")
    assert {m.reference for m in moves[:2]} == {number}


def test_a_refunded_parcel_that_arrives_empty_is_disputed(desk, clock) -> None:
    number = open_rma(desk).number
    builders.authorise(
        desk["returns"], "desk@x.example", number, carrier="sandbox", tracking_number="SBX941"
    )
    pickup(desk, clock, "SBX941")
    desk["worker"].drain()
    rma = builders.receive(desk["returns"], "ann@x.example", number, lines=[], empty=True)
    assert rma.status is RmaStatus.DISPUTED


def test_a_scrapped_part_leaves_stock_and_quarantine_keeps_it_on_hand(desk, clock) -> None:
    number = open_rma(
        desk,
        lines=[
            {"sku": "ABC-1", "qty": 1, "unit_price": Decimal("5")},
            {"sku": "PSU-65", "qty": 1, "unit_price": Decimal("5")},
        ],
    ).number
    builders.authorise(
        desk["returns"], "desk@x.example", number, carrier="sandbox", tracking_number="SBX942"
    )
    builders.receive(
        desk["returns"],
        "ann@x.example",
        number,
        lines=[{"sku": "ABC-1", "qty": 1}, {"sku": "PSU-65", "qty": 1}],
    )
    builders.inspect(
        desk["returns"],
        "ann@x.example",
        number,
        lines=[
            {"sku": "ABC-1", "disposition": Disposition.SCRAP},
            {"sku": "PSU-65", "disposition": Disposition.QUARANTINE},
        ],
    )
    assert level(desk["inventory"], "ABC-1", "MAIN/RETURNS") == (0, 0)
    assert level(desk["inventory"], "PSU-65", "MAIN/QUARANTINE") == (1, 0)
    assert desk["inventory"].get_part("PSU-65").available == 0


def test_illegal_moves_are_refused_with_the_current_state(desk) -> None:
    number = open_rma(desk).number
    with pytest.raises(IllegalTransition) as refused:
        desk["returns"].closing.close("desk@x.example", number)
    assert refused.value.details["status"] == "requested"
    desk["returns"].authorisation.reject("desk@x.example", number, "Not bought from us")
    with pytest.raises(IllegalTransition):
        builders.authorise(desk["returns"], "desk@x.example", number)


def test_an_authorisation_without_pickup_expires_and_frees_its_replacement(desk, clock) -> None:
    number = open_rma(desk, resolution=Resolution.REPLACEMENT).number
    builders.authorise(
        desk["returns"], "desk@x.example", number, carrier="sandbox", tracking_number="SBX950"
    )
    clock.advance(timedelta(days=15))
    assert desk["returns"].authorisation.expire_overdue() == 1
    rma = desk["returns"].get(number)
    assert (rma.status, rma.replacements[0].status) == (
        RmaStatus.EXPIRED,
        ReplacementStatus.CANCELLED,
    )
    assert level(desk["inventory"], "ABC-1", "MAIN/A-01-01") == (10, 0)


def test_an_expired_advance_replacement_that_already_shipped_is_flagged_to_chase(
    desk, clock
) -> None:
    number = open_rma(desk, resolution=Resolution.REPLACEMENT).number
    rma = builders.authorise(
        desk["returns"], "desk@x.example", number, carrier="sandbox", tracking_number="SBX951"
    )
    builders.ship(
        desk["returns"],
        "ann@x.example",
        rma.replacements[0].id,
        carrier="sandbox",
        tracking_number="SBXOUT9",
    )
    clock.advance(timedelta(days=15))
    desk["returns"].authorisation.expire_overdue()
    assert "chase" in desk["returns"].get(number).needs_chase


def test_the_refund_message_is_keyed_per_rma(desk, clock, session_factory) -> None:
    number = open_rma(desk).number
    builders.authorise(
        desk["returns"], "desk@x.example", number, carrier="sandbox", tracking_number="SBX960"
    )
    pickup(desk, clock, "SBX960")
    with session_factory() as session:
        keys = session.scalars(
            select(OutboxMessage.key).where(OutboxMessage.topic == REFUND_TOPIC)
        ).all()
    assert keys == [f"refund:{number}"]


def test_a_parcel_booked_in_by_staff_before_any_pickup_scan_holds_its_refund(
    desk, clock, refunds_made, session_factory
) -> None:
    # The attack: a warehouse account books in "a parcel" for an RMA no carrier ever saw.
    number = open_rma(desk).number
    builders.authorise(
        desk["returns"], "desk@x.example", number, carrier="sandbox", tracking_number="SBX970"
    )
    rma = builders.receive(
        desk["returns"], "ann@x.example", number, lines=[{"sku": "ABC-1", "qty": 2}]
    )
    assert rma.refund_status is RefundStatus.HELD
    assert rma.refund_held_by == "ann@x.example"
    assert "booked in by ann@x.example" in rma.refund_hold_reason
    desk["worker"].drain()
    assert refunds_made == []
    with session_factory() as session:
        held = session.scalars(select(AuditEntry).where(AuditEntry.action == "refund.held")).one()
    assert (held.actor, held.target) == ("ann@x.example", number)
    # The carrier's own scan, when it comes, is the word that releases it.
    pickup(desk, clock, "SBX970", status="delivered")
    desk["worker"].drain()
    assert len(refunds_made) == 1


def test_a_parcel_a_supervisor_books_in_without_a_pickup_scan_releases_its_refund(
    desk, refunds_made
) -> None:
    number = open_rma(desk).number
    builders.authorise(
        desk["returns"], "desk@x.example", number, carrier="sandbox", tracking_number="SBX971"
    )
    rma = builders.receive(
        desk["returns"],
        "boss@x.example",
        number,
        lines=[{"sku": "ABC-1", "qty": 2}],
        supervisor=True,
    )
    assert rma.refund_status is RefundStatus.PENDING
    assert rma.refund_released_by == "boss@x.example"
    desk["worker"].drain()
    assert len(refunds_made) == 1


def test_a_label_the_carrier_cannot_sell_fails_at_once_and_visibly(desk, session_factory) -> None:
    desk["returns"].ctx.default_return_carrier = "pigeon-post"
    # With the customer's address: a provider other than the sandbox refuses a label without.
    address = CustomerAddress("Mia Chen", "1 Long Acre", "London", "GB", postcode="WC2E 9LH")
    number = open_rma(desk, customer={**CUSTOMER, "address": address}).number
    builders.authorise(desk["returns"], "desk@x.example", number)
    desk["worker"].drain()
    with session_factory() as session:
        message = session.scalars(
            select(OutboxMessage).where(OutboxMessage.key == f"return-label:{number}")
        ).one()
    assert (message.status, message.attempts) == (OutboxStatus.FAILED, 1)
    notes = [t.reason for t in desk["returns"].get(number).timeline if t.kind == "return_label"]
    assert "Return label failed" in notes[-1]
    with session_factory() as session:
        [alert] = session.scalars(select(Notification)).all()
    assert (alert.kind, alert.audience) == ("label_failed", "desk")
    assert "no return instructions yet" in alert.message


def test_a_refund_released_by_hand_whose_parcel_never_moves_is_flagged_at_expiry(
    desk, clock
) -> None:
    number = open_rma(desk).number
    builders.authorise(
        desk["returns"], "desk@x.example", number, carrier="sandbox", tracking_number="SBX971"
    )
    desk["returns"].refunds.release_by_supervisor(
        "boss@x.example", number, "Customer is a key account", supervisor=True
    )
    clock.advance(timedelta(days=15))
    desk["returns"].authorisation.expire_overdue()
    rma = desk["returns"].get(number)
    assert rma.status is RmaStatus.EXPIRED
    assert "never reached the carrier" in rma.needs_recovery


def test_a_flagged_customer_is_neither_authorised_nor_refunded_automatically(
    desk, clock, refunds_made
) -> None:
    desk["returns"].ctx.policy = ReturnPolicy(
        auto_authorise_limit_minor=100_000, flagged_customers=frozenset({"mia@example.com"})
    )
    flagged = open_rma(desk)
    assert flagged.status is RmaStatus.REQUESTED  # left for a person to decide
    other = open_rma(desk, customer={**CUSTOMER, "email": "li@example.com"})
    assert other.status is RmaStatus.AUTHORISED  # in policy and under the limit: authorised at once
    builders.authorise(
        desk["returns"],
        "desk@x.example",
        flagged.number,
        carrier="sandbox",
        tracking_number="SBX980",
    )
    pickup(desk, clock, "SBX980")
    rma = desk["returns"].get(flagged.number)
    assert (rma.refund_status, rma.refund_hold_reason) == (
        RefundStatus.HELD,
        "the customer is flagged for review",
    )


def test_a_carrier_exception_after_the_refund_is_flagged_for_the_desk(desk, clock) -> None:
    number = open_rma(desk).number
    builders.authorise(
        desk["returns"], "desk@x.example", number, carrier="sandbox", tracking_number="SBX981"
    )
    pickup(desk, clock, "SBX981", minutes_ago=30)
    body = sandbox_payload(
        "SBX981", "exception", clock.now(), description="Parcel lost in the depot"
    )
    desk["carriers"].receive_webhook("sandbox", signed_request(body, clock.now()))
    assert "Parcel lost in the depot" in desk["returns"].get(number).needs_recovery


def test_reorder_suggestions_count_returns_on_the_way_and_backordered_replacements(
    desk, clock, session_factory
) -> None:
    from bootstrap.buying import reorder_settings, upload_limits
    from purchasing.services import ReorderService
    from returns.supply import RmaReturnSupply

    inventory = desk["inventory"]
    inventory.update_part("ABC-1", {"reorder_point": 20, "reorder_qty": 10})
    inventory.update_part("PSU-65", {"reorder_point": 1, "reorder_qty": 5})
    settings = reorder_settings({})
    service = ReorderService(
        session_factory, clock, settings, upload_limits({}), returns=RmaReturnSupply()
    )

    def suggestion(sku: str) -> Any:
        return next((s for s in service.suggestions(limit=100) if s.stock.sku == sku), None)

    before = suggestion("ABC-1")  # 10 available, point 20
    assert (before.position, before.expected_returns) == (10, 0)
    # 4 units come back, the carrier has them; this part has no history: half expected sellable.
    number = open_rma(desk, lines=[{"sku": "ABC-1", "qty": 4, "unit_price": Decimal("5")}]).number
    builders.authorise(
        desk["returns"], "desk@x.example", number, carrier="sandbox", tracking_number="SBX990"
    )
    pickup(desk, clock, "SBX990")
    after = suggestion("ABC-1")
    assert (after.position, after.expected_returns) == (12, 2)
    assert after.qty == before.qty - 2  # the buyer orders less: some of it is coming back
    assert any("expected from returns" in reason for reason in after.reasons)
    # A replacement owed with no stock: PSU-65 (0 on hand, point 1) now needs one more.
    owed = open_rma(
        desk,
        resolution=Resolution.REPLACEMENT,
        payment_reference=None,
        lines=[{"sku": "PSU-65", "qty": 3, "unit_price": Decimal("40")}],
    ).number
    plain = suggestion("PSU-65")
    builders.authorise(
        desk["returns"], "desk@x.example", owed, carrier="sandbox", tracking_number="SBX991"
    )
    short = suggestion("PSU-65")
    assert short.position == plain.position - 3
    assert short.qty == plain.qty + 3  # the order grows by what is owed
    assert any(
        "owed to customers as backordered replacements" in reason for reason in short.reasons
    )


def test_a_part_returned_to_its_vendor_opens_a_supplier_claim(desk) -> None:
    number = open_rma(desk, description="Bearing seized after a week").number
    builders.authorise(
        desk["returns"], "desk@x.example", number, carrier="sandbox", tracking_number="SBX995"
    )
    builders.receive(desk["returns"], "ann@x.example", number, lines=[{"sku": "ABC-1", "qty": 2}])
    rma = builders.inspect(
        desk["returns"],
        "ann@x.example",
        number,
        lines=[{"sku": "ABC-1", "disposition": Disposition.RETURN_TO_VENDOR}],
    )
    [claim] = rma.claims
    assert (claim.sku, claim.qty, claim.fault, claim.status) == (
        "ABC-1",
        2,
        "Bearing seized after a week",
        "open",
    )
    supplier_id = desk["inventory"].get_part("ABC-1").part.supplier_id
    assert claim.supplier_id == supplier_id is not None
    assert level(desk["inventory"], "ABC-1", "MAIN/RETURNS") == (0, 0)  # gone out to the supplier


def test_a_supervisor_sends_a_refused_refund_again_to_the_corrected_payment(
    desk, clock, refunds_made
) -> None:
    number = open_rma(desk, payment_reference="ch_not_a_payment_intent").number
    builders.authorise(
        desk["returns"], "desk@x.example", number, carrier="sandbox", tracking_number="SBX931"
    )
    pickup(desk, clock, "SBX931")
    desk["worker"].drain()
    assert desk["returns"].get(number).refund_status is RefundStatus.FAILED
    with pytest.raises(Conflict) as refused:
        builders.retry_refund(desk["returns"], "desk@x.example", number, "try", supervisor=False)
    assert refused.value.code == "supervisor_required"

    view = builders.retry_refund(
        desk["returns"],
        "boss@x.example",
        number,
        "customer gave the right payment",
        supervisor=True,
        payment_reference="pi_3Corrected",
    )
    assert (view.refund_status, view.refund_error) == (RefundStatus.PENDING, None)
    desk["worker"].drain()
    rma = desk["returns"].get(number)
    assert rma.refund_status is RefundStatus.RELEASED
    assert [(r["payment_intent"], r["amount"]) for r in refunds_made] == [("pi_3Corrected", 4998)]
    with pytest.raises(Conflict) as again:
        builders.retry_refund(desk["returns"], "boss@x.example", number, "twice?", supervisor=True)
    assert again.value.code == "refund_not_failed"


def test_a_refund_that_gave_up_on_outages_is_retried_under_its_own_key(
    desk, clock, refunds_made, refunds_sandbox, session_factory
) -> None:
    number = open_rma(desk).number
    builders.authorise(
        desk["returns"], "desk@x.example", number, carrier="sandbox", tracking_number="SBX932"
    )
    pickup(desk, clock, "SBX932")
    refunds_sandbox[1].fail_next = 1000  # the provider is down for good
    for _ in range(MAX_ATTEMPTS):
        desk["worker"].drain()
        clock.advance(timedelta(hours=2))
    # An outage does not use up the attempts: the refund waits, for days if need be...
    assert desk["returns"].get(number).refund_status is RefundStatus.PENDING
    for _ in range(OUTAGE_GIVE_UP // timedelta(hours=2)):
        desk["worker"].drain()
        clock.advance(timedelta(hours=2))
    # ... and is given up (the desk told) once the outage has lasted OUTAGE_GIVE_UP.
    assert desk["returns"].get(number).refund_status is RefundStatus.FAILED
    # A new payment cannot be tried while the old request may have reached the provider.
    with pytest.raises(Conflict) as unknown:
        builders.retry_refund(
            desk["returns"],
            "boss@x.example",
            number,
            "x",
            supervisor=True,
            payment_reference="pi_other",
        )
    assert unknown.value.code == "refund_outcome_unknown"
    refunds_sandbox[1].fail_next = 0
    builders.retry_refund(
        desk["returns"], "boss@x.example", number, "provider is back", supervisor=True
    )
    desk["worker"].drain()
    assert desk["returns"].get(number).refund_status is RefundStatus.RELEASED
    assert len(refunds_made) == 1
    with session_factory() as session:
        keys = session.scalars(
            select(OutboxMessage.key).where(OutboxMessage.topic == REFUND_TOPIC)
        ).all()
    assert keys == [f"refund:{number}"]
