"""Carrier events stored once and applied forward-only, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text

from carriers.errors import ShipmentNotFound
from carriers.events import MalformedWebhook, WebhookRejected
from carriers.models import (
    CarrierEventRecord,
    DeliveryStatus,
    Direction,
    EventOutcome,
    WebhookDelivery,
)
from carriers.services import CarrierService
from carriers.status import TrackingStatus
from carriers.tracking import Listener, ShipmentChange
from core.outbox import OutboxMessage, enqueue
from tests.support.sandbox_webhooks import sandbox_adapter, sandbox_payload, signed_request

S = TrackingStatus


@pytest.fixture
def changes() -> list[ShipmentChange]:
    return []


@pytest.fixture
def carriers(session_factory: Any, clock: Any, changes: list[ShipmentChange]) -> CarrierService:
    def remember(_session: Any, change: ShipmentChange) -> None:
        changes.append(change)

    return CarrierService(
        session_factory, clock, {"sandbox": sandbox_adapter()}, listeners=[remember]
    )


def deliver(
    carriers: CarrierService,
    clock: Any,
    number: str,
    status: str,
    minutes_ago: int = 0,
    **extra: Any,
) -> None:
    body = sandbox_payload(number, status, clock.now() - timedelta(minutes=minutes_ago), **extra)
    carriers.receive_webhook("sandbox", signed_request(body, clock.now()))


def all_at_once(threads: int, work: Callable[[], object]) -> list[BaseException]:
    """Run ``work`` in ``threads`` threads released together; the errors they raised."""
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def run() -> None:
        barrier.wait(timeout=30)
        try:
            work()
        except BaseException as error:
            errors.append(error)

    running = [threading.Thread(target=run) for _ in range(threads)]
    for thread in running:
        thread.start()
    for thread in running:
        thread.join()
    return errors


def count(session_factory: Any, model: Any) -> int:
    with session_factory() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_a_pickup_event_moves_the_shipment_and_tells_listeners_once(
    carriers, clock, changes, session_factory
) -> None:
    carriers.register_shipment(
        direction=Direction.INBOUND, carrier="sandbox", tracking_number="sbx 001", reference="RMA-1"
    )
    deliver(carriers, clock, "SBX001", "picked_up", minutes_ago=5, location="Drop-off point")
    deliver(
        carriers, clock, "SBX001", "picked_up", minutes_ago=5, location="Drop-off point"
    )  # duplicate
    shipment = carriers.get_shipment("sbx001")
    assert shipment.status is S.PICKED_UP
    assert shipment.picked_up_at == clock.now() - timedelta(minutes=5)
    assert [(c.picked_up_now, c.previous_status) for c in changes] == [(True, S.PRE_TRANSIT)]
    assert count(session_factory, CarrierEventRecord) == 1
    assert count(session_factory, WebhookDelivery) == 2  # both deliveries kept, one event


def test_out_of_order_events_never_move_a_shipment_back(carriers, clock, changes) -> None:
    carriers.register_shipment(
        direction=Direction.INBOUND, carrier="sandbox", tracking_number="SBX002"
    )
    deliver(carriers, clock, "SBX002", "delivered", minutes_ago=1)
    deliver(carriers, clock, "SBX002", "in_transit", minutes_ago=30)
    deliver(carriers, clock, "SBX002", "picked_up", minutes_ago=60)
    shipment = carriers.get_shipment("SBX002")
    assert shipment.status is S.DELIVERED
    assert shipment.picked_up_at == clock.now() - timedelta(minutes=60)  # the true pickup time
    assert [c.picked_up_now for c in changes] == [
        True,
        False,
        False,
    ]  # fired once, by the first proof
    assert [e.outcome for e in shipment.events] == [
        EventOutcome.RECORDED,
        EventOutcome.RECORDED,
        EventOutcome.APPLIED,
    ]
    assert [e.status for e in shipment.events] == [S.PICKED_UP, S.IN_TRANSIT, S.DELIVERED]


def test_a_lost_pickup_scan_is_implied_by_the_first_transit_scan(carriers, clock, changes) -> None:
    carriers.register_shipment(
        direction=Direction.INBOUND, carrier="sandbox", tracking_number="SBX003"
    )
    deliver(carriers, clock, "SBX003", "in_transit", minutes_ago=3)
    assert carriers.get_shipment("SBX003").picked_up_at == clock.now() - timedelta(minutes=3)
    assert [c.picked_up_now for c in changes] == [True]


def test_events_for_an_unknown_parcel_wait_and_apply_when_its_shipment_appears(
    carriers,
    clock,
    changes,
    session_factory,
) -> None:
    deliver(carriers, clock, "SBX004", "in_transit", minutes_ago=10)
    deliver(carriers, clock, "SBX004", "picked_up", minutes_ago=20)
    with session_factory() as session:
        outcomes = session.scalars(select(CarrierEventRecord.outcome)).all()
    assert outcomes == [EventOutcome.UNMATCHED, EventOutcome.UNMATCHED]
    assert changes == []
    shipment = carriers.register_shipment(
        direction=Direction.INBOUND, carrier="sandbox", tracking_number="SBX004", reference="RMA-4"
    )
    assert shipment.status is S.IN_TRANSIT
    assert shipment.picked_up_at == clock.now() - timedelta(minutes=20)
    assert [(c.event.status, c.picked_up_now) for c in changes] == [
        (S.PICKED_UP, True),
        (S.IN_TRANSIT, False),
    ]


def test_an_unknown_provider_status_is_kept_raw_and_changes_nothing(carriers, clock) -> None:
    carriers.register_shipment(
        direction=Direction.INBOUND, carrier="sandbox", tracking_number="SBX005"
    )
    deliver(carriers, clock, "SBX005", "teleported")
    shipment = carriers.get_shipment("SBX005")
    assert shipment.status is S.PRE_TRANSIT
    [event] = shipment.events
    assert (event.status, event.raw_status, event.outcome) == (
        S.UNKNOWN,
        "teleported",
        EventOutcome.RECORDED,
    )


def test_an_exception_is_shown_on_the_shipment_without_moving_it(carriers, clock, changes) -> None:
    carriers.register_shipment(
        direction=Direction.OUTBOUND, carrier="sandbox", tracking_number="SBX006"
    )
    deliver(carriers, clock, "SBX006", "picked_up", minutes_ago=9)
    deliver(carriers, clock, "SBX006", "exception", minutes_ago=2, description="Parcel damaged")
    shipment = carriers.get_shipment("SBX006")
    assert (shipment.status, shipment.last_exception) == (S.PICKED_UP, "Parcel damaged")
    assert changes[-1].exception is True


def test_a_webhook_with_a_bad_signature_writes_nothing(carriers, clock, session_factory) -> None:
    body = sandbox_payload("SBX007", "picked_up", clock.now())
    with pytest.raises(WebhookRejected):
        carriers.receive_webhook(
            "sandbox", signed_request(body, clock.now(), secret="not-the-secret")
        )
    tampered = signed_request(body, clock.now())
    tampered = type(tampered)(
        body=body.replace(b"picked_up", b"delivered"),
        headers=tampered.headers,
        content_type=tampered.content_type,
    )
    with pytest.raises(WebhookRejected):
        carriers.receive_webhook("sandbox", tampered)
    replayed = signed_request(body, clock.now() - timedelta(hours=1))
    with pytest.raises(WebhookRejected):
        carriers.receive_webhook("sandbox", replayed)
    assert count(session_factory, WebhookDelivery) == 0
    assert count(session_factory, CarrierEventRecord) == 0


def test_an_authentic_but_unreadable_webhook_is_kept_for_review(
    carriers, clock, session_factory
) -> None:
    body = b'{"type": "tracking.updated", "data": {"status": "picked_up"}}'
    with pytest.raises(MalformedWebhook):
        carriers.receive_webhook("sandbox", signed_request(body, clock.now()))
    with session_factory() as session:
        delivery = session.scalars(select(WebhookDelivery)).one()
    assert (delivery.status, delivery.body) == (DeliveryStatus.MALFORMED, body)
    assert count(session_factory, CarrierEventRecord) == 0


def test_staff_can_record_a_pickup_by_hand_with_their_name_and_reason(
    carriers, clock, changes
) -> None:
    carriers.register_shipment(
        direction=Direction.INBOUND, carrier="sandbox", tracking_number="SBX008"
    )
    shipment = carriers.record_event(
        "desk@x.example",
        tracking_number="SBX008",
        status=S.PICKED_UP,
        occurred_at=None,
        reason="Courier confirmed by phone",
    )
    assert shipment.status is S.PICKED_UP
    [event] = shipment.events
    assert event.recorded_by == "desk@x.example"
    assert "Courier confirmed by phone" in event.description
    assert changes[0].picked_up_now
    with pytest.raises(ShipmentNotFound):
        carriers.record_event(
            "desk@x.example",
            tracking_number="NOPE",
            status=S.PICKED_UP,
            occurred_at=None,
            reason="x",
        )


def test_concurrent_deliveries_of_one_event_store_and_apply_it_once(
    carriers, clock, changes, session_factory
) -> None:
    carriers.register_shipment(
        direction=Direction.INBOUND, carrier="sandbox", tracking_number="SBX009"
    )
    body = sandbox_payload("SBX009", "picked_up", clock.now())
    errors = all_at_once(
        8, lambda: carriers.receive_webhook("sandbox", signed_request(body, clock.now()))
    )
    assert errors == []
    assert count(session_factory, CarrierEventRecord) == 1
    assert count(session_factory, WebhookDelivery) == 8
    assert [c.picked_up_now for c in changes] == [True]


# --- stored first, applied by apply_pending (worker mode, failures, concurrent appliers) ----


def worker_mode(
    session_factory: Any, clock: Any, *listeners: Listener, adapter: Any = None
) -> CarrierService:
    """A carriers service that only stores webhooks; ``apply_pending`` applies them."""
    return CarrierService(
        session_factory,
        clock,
        {"sandbox": adapter or sandbox_adapter()},
        listeners=listeners,
        apply_on_receipt=False,
    )


def remembering(changes: list[ShipmentChange]) -> Listener:
    lock = threading.Lock()

    def remember(_session: Any, change: ShipmentChange) -> None:
        with lock:
            changes.append(change)

    return remember


def noting_in_the_outbox(clock: Any) -> Listener:
    """A listener with effects in the database, as returns has (an outbox row per change)."""

    def note(session: Any, change: ShipmentChange) -> None:
        enqueue(
            session,
            topic="test.carrier_change",
            key=f"change:{change.event.id}",
            payload={"tracking_number": change.shipment.tracking_number},
            now=clock.now(),
        )

    return note


def stored_events(session_factory: Any) -> list[tuple[str, TrackingStatus, EventOutcome]]:
    with session_factory() as session:
        return [
            tuple(row)
            for row in session.execute(
                select(
                    CarrierEventRecord.tracking_number,
                    CarrierEventRecord.status,
                    CarrierEventRecord.outcome,
                ).order_by(CarrierEventRecord.id)
            )
        ]


def noted(session_factory: Any) -> list[str]:
    """The tracking numbers of the changes the outbox listener committed, sorted."""
    with session_factory() as session:
        payloads = session.scalars(
            select(OutboxMessage.payload).where(OutboxMessage.topic == "test.carrier_change")
        ).all()
    return sorted(payload["tracking_number"] for payload in payloads)


def test_in_worker_mode_a_webhook_is_only_stored_until_the_applier_applies_it_once(
    clock, changes, session_factory
) -> None:
    carriers = worker_mode(session_factory, clock, remembering(changes))
    carriers.register_shipment(
        direction=Direction.INBOUND, carrier="sandbox", tracking_number="SBX101", reference="RMA-1"
    )
    body = sandbox_payload("SBX101", "picked_up", clock.now() - timedelta(minutes=5))
    acknowledgement = carriers.receive_webhook("sandbox", signed_request(body, clock.now()))
    assert (acknowledgement.status, acknowledgement.body) == (200, b'{"received": true}')
    assert stored_events(session_factory) == [("SBX101", S.PICKED_UP, EventOutcome.PENDING)]
    assert carriers.pending_events() == 1
    shipment = carriers.get_shipment("SBX101")
    assert (shipment.status, shipment.picked_up_at, shipment.events) == (S.PRE_TRANSIT, None, [])
    assert changes == []

    assert carriers.apply_pending() == 1
    shipment = carriers.get_shipment("SBX101")
    assert shipment.status is S.PICKED_UP
    assert shipment.picked_up_at == clock.now() - timedelta(minutes=5)
    assert [(c.event.status, c.previous_status, c.picked_up_now) for c in changes] == [
        (S.PICKED_UP, S.PRE_TRANSIT, True)
    ]
    assert stored_events(session_factory) == [("SBX101", S.PICKED_UP, EventOutcome.APPLIED)]
    assert carriers.pending_events() == 0

    assert carriers.apply_pending() == 0
    assert len(changes) == 1

    carriers.receive_webhook("sandbox", signed_request(body, clock.now()))  # the carrier retries
    assert count(session_factory, WebhookDelivery) == 2
    assert count(session_factory, CarrierEventRecord) == 1
    assert carriers.pending_events() == 0
    assert carriers.apply_pending() == 0
    assert len(changes) == 1


def test_in_worker_mode_late_scans_applied_in_a_later_run_never_move_a_shipment_back(
    clock, changes, session_factory
) -> None:
    carriers = worker_mode(session_factory, clock, remembering(changes))
    carriers.register_shipment(
        direction=Direction.INBOUND, carrier="sandbox", tracking_number="SBX102"
    )
    deliver(carriers, clock, "SBX102", "delivered", minutes_ago=1)
    assert carriers.apply_pending() == 1
    assert carriers.get_shipment("SBX102").status is S.DELIVERED
    deliver(carriers, clock, "SBX102", "in_transit", minutes_ago=30)
    deliver(carriers, clock, "SBX102", "picked_up", minutes_ago=60)
    assert carriers.get_shipment("SBX102").picked_up_at == clock.now() - timedelta(minutes=1)
    assert carriers.apply_pending() == 2
    shipment = carriers.get_shipment("SBX102")
    assert shipment.status is S.DELIVERED
    assert shipment.delivered_at == clock.now() - timedelta(minutes=1)
    assert shipment.picked_up_at == clock.now() - timedelta(minutes=60)  # the true pickup time
    assert [(c.event.status, c.picked_up_now) for c in changes] == [
        (S.DELIVERED, True),  # the first proof of pickup
        (S.PICKED_UP, False),  # the later run: oldest first, and neither fires again
        (S.IN_TRANSIT, False),
    ]
    assert [(e.status, e.outcome) for e in shipment.events] == [
        (S.PICKED_UP, EventOutcome.RECORDED),
        (S.IN_TRANSIT, EventOutcome.RECORDED),
        (S.DELIVERED, EventOutcome.APPLIED),
    ]


def test_an_event_whose_listener_raises_is_set_aside_as_failed_and_the_others_are_applied(
    clock, session_factory
) -> None:
    def refuse_sbx112(_session: Any, change: ShipmentChange) -> None:
        if change.shipment.tracking_number == "SBX112":
            raise LookupError("no RMA for SBX112")

    # The outbox note runs first, so the failing event's note must be rolled back with it.
    carriers = worker_mode(session_factory, clock, noting_in_the_outbox(clock), refuse_sbx112)
    for number in ("SBX111", "SBX112", "SBX113"):
        carriers.register_shipment(
            direction=Direction.INBOUND, carrier="sandbox", tracking_number=number
        )
        deliver(carriers, clock, number, "picked_up", minutes_ago=5)
    assert carriers.pending_events() == 3

    carriers.apply_pending()

    assert stored_events(session_factory) == [
        ("SBX111", S.PICKED_UP, EventOutcome.APPLIED),
        ("SBX112", S.PICKED_UP, EventOutcome.FAILED),
        ("SBX113", S.PICKED_UP, EventOutcome.APPLIED),
    ]
    with session_factory() as session:
        errors = dict(
            session.execute(
                select(CarrierEventRecord.tracking_number, CarrierEventRecord.apply_error)
            ).all()
        )
    assert errors == {
        "SBX111": None,
        "SBX112": "LookupError: no RMA for SBX112",
        "SBX113": None,
    }
    assert [carriers.get_shipment(n).status for n in ("SBX111", "SBX112", "SBX113")] == [
        S.PICKED_UP,
        S.PRE_TRANSIT,  # nothing of the failed event is kept but the event and its error
        S.PICKED_UP,
    ]
    assert carriers.get_shipment("SBX112").picked_up_at is None
    assert noted(session_factory) == ["SBX111", "SBX113"]  # once each, none for SBX112
    assert carriers.pending_events() == 0
    assert carriers.apply_pending() == 0  # a failed event waits for a person, not a retry
    assert noted(session_factory) == ["SBX111", "SBX113"]


def test_on_receipt_a_webhook_whose_listener_always_raises_is_acknowledged_and_kept_as_failed(
    clock, session_factory
) -> None:
    def broken(_session: Any, _change: ShipmentChange) -> None:
        raise RuntimeError("listener is broken")

    carriers = CarrierService(
        session_factory,
        clock,
        {"sandbox": sandbox_adapter()},
        listeners=[noting_in_the_outbox(clock), broken],
    )
    assert carriers.apply_on_receipt  # the default
    carriers.register_shipment(
        direction=Direction.INBOUND, carrier="sandbox", tracking_number="SBX121"
    )
    body = sandbox_payload("SBX121", "picked_up", clock.now())
    acknowledgement = carriers.receive_webhook("sandbox", signed_request(body, clock.now()))
    assert acknowledgement.status == 200
    with session_factory() as session:
        delivery = session.scalars(select(WebhookDelivery)).one()
        event = session.scalars(select(CarrierEventRecord)).one()
    assert (delivery.body, delivery.new_event_count) == (body, 1)
    assert (event.outcome, event.apply_error, event.delivery_id) == (
        EventOutcome.FAILED,
        "RuntimeError: listener is broken",
        delivery.id,
    )
    assert carriers.get_shipment("SBX121").status is S.PRE_TRANSIT
    assert noted(session_factory) == []
    assert carriers.pending_events() == 0


def test_on_receipt_a_database_failure_while_applying_leaves_the_event_pending_for_the_applier(
    clock, changes, session_factory
) -> None:
    database_fails = True

    def query_a_missing_table_while_the_fault_lasts(session: Any, _change: Any) -> None:
        if database_fails:  # a real error from the database, not a mock of one
            session.execute(text("SELECT * FROM no_such_table"))

    carriers = CarrierService(
        session_factory,
        clock,
        {"sandbox": sandbox_adapter()},
        listeners=[
            query_a_missing_table_while_the_fault_lasts,
            noting_in_the_outbox(clock),
            remembering(changes),
        ],
    )
    carriers.register_shipment(
        direction=Direction.INBOUND, carrier="sandbox", tracking_number="SBX131"
    )
    body = sandbox_payload("SBX131", "picked_up", clock.now() - timedelta(minutes=2))
    acknowledgement = carriers.receive_webhook("sandbox", signed_request(body, clock.now()))
    assert acknowledgement.status == 200
    assert count(session_factory, WebhookDelivery) == 1
    assert stored_events(session_factory) == [("SBX131", S.PICKED_UP, EventOutcome.PENDING)]
    with session_factory() as session:
        assert session.scalars(select(CarrierEventRecord.apply_error)).one() is None
    assert carriers.get_shipment("SBX131").status is S.PRE_TRANSIT
    assert (noted(session_factory), changes) == ([], [])
    assert carriers.pending_events() == 1

    database_fails = False
    assert carriers.apply_pending() == 1
    assert carriers.apply_pending() == 0
    assert stored_events(session_factory) == [("SBX131", S.PICKED_UP, EventOutcome.APPLIED)]
    shipment = carriers.get_shipment("SBX131")
    assert (shipment.status, shipment.picked_up_at) == (
        S.PICKED_UP,
        clock.now() - timedelta(minutes=2),
    )
    assert noted(session_factory) == ["SBX131"]
    assert [c.picked_up_now for c in changes] == [True]


@pytest.mark.postgres_only
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_four_appliers_at_once_apply_every_stored_event_exactly_once(
    clock, changes, session_factory
) -> None:
    carriers = worker_mode(
        session_factory, clock, noting_in_the_outbox(clock), remembering(changes)
    )
    numbers = [f"SBX5{index:03}" for index in range(100)]
    for number in numbers:
        carriers.register_shipment(
            direction=Direction.INBOUND, carrier="sandbox", tracking_number=number
        )
    scans = [
        (number, status, minutes_ago)
        for number in numbers
        for status, minutes_ago in (("picked_up", 60), ("in_transit", 30), ("delivered", 1))
    ]
    random.Random(8).shuffle(scans)  # batches that overlap on shipments, scans out of order
    for number, status, minutes_ago in scans:
        deliver(carriers, clock, number, status, minutes_ago=minutes_ago)
    assert carriers.pending_events() == 300
    assert changes == []

    applied: list[int] = []

    def applier() -> None:
        deadline = time.monotonic() + 120
        while carriers.pending_events() and time.monotonic() < deadline:
            applied.append(carriers.apply_pending())

    errors = all_at_once(4, applier)
    assert errors == []
    assert sum(applied) == 300
    assert carriers.pending_events() == 0
    with session_factory() as session:
        outcomes = Counter(session.scalars(select(CarrierEventRecord.outcome)))
    assert set(outcomes) <= {EventOutcome.APPLIED, EventOutcome.RECORDED}
    assert sum(outcomes.values()) == 300
    assert len(changes) == 300
    assert len({change.event.id for change in changes}) == 300  # each event once
    assert Counter(c.shipment.tracking_number for c in changes if c.picked_up_now) == Counter(
        numbers
    )
    assert noted(session_factory) == sorted(numbers * 3)
    for number in numbers:
        shipment = carriers.get_shipment(number)
        assert (shipment.status, shipment.picked_up_at, shipment.delivered_at) == (
            S.DELIVERED,
            clock.now() - timedelta(minutes=60),
            clock.now() - timedelta(minutes=1),
        )
        assert len(shipment.events) == 3
