"""Carrier events stored once and applied forward-only, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from carriers.events import MalformedWebhook, WebhookRejected
from carriers.models import (
    CarrierEventRecord,
    DeliveryStatus,
    Direction,
    EventOutcome,
    WebhookDelivery,
)
from carriers.services import CarrierService, ShipmentNotFound
from carriers.status import TrackingStatus
from carriers.tracking import ShipmentChange
from tests.carriers_support import sandbox_adapter, sandbox_payload, signed_request

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
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def send() -> None:
        barrier.wait()
        try:
            carriers.receive_webhook("sandbox", signed_request(body, clock.now()))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert count(session_factory, CarrierEventRecord) == 1
    assert count(session_factory, WebhookDelivery) == 8
    assert [c.picked_up_now for c in changes] == [True]
