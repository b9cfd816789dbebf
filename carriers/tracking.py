"""Storing carrier events once and moving shipments forward: operations on an open session.

Used by the use cases in :mod:`carriers.services` (and by returns, inside its own
transactions). They flush but never commit; the one exception is :func:`store_delivery`,
which takes the engine and commits by itself.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, insert, select, text, update
from sqlalchemy.orm import Session, lazyload

from carriers.events import CarrierEvent
from carriers.models import (
    CarrierEventRecord,
    DeliveryStatus,
    EventOutcome,
    EventSource,
    Shipment,
    WebhookDelivery,
)
from carriers.status import ENDS_BADLY, PROVES_PICKUP, TrackingStatus, moves_forward
from core.db import autocommitted, insert_many_ignoring_conflicts


def normalise_tracking_number(tracking_number: str) -> str:
    return "".join(tracking_number.split()).upper()


@dataclass(frozen=True)
class HandEntry:
    """An event a person entered by hand: who, why, and whether they are a supervisor (admin).

    Money follows the carrier's word; a person's word releases it only when a supervisor
    gives it (returns decides; carriers only carries the facts to its listeners).
    """

    actor: str
    reason: str
    supervisor: bool = False


@dataclass(frozen=True)
class ShipmentChange:
    """What one event did to one shipment; handed to listeners in the same transaction."""

    shipment: Shipment
    event: CarrierEventRecord
    previous_status: TrackingStatus
    picked_up_now: bool  # the first proof that the carrier has the parcel
    ended_badly: bool  # returned to sender or cancelled after the fact
    exception: bool  # the carrier reported a problem
    #: Set when the event was entered by hand (source ``manual``), None for the carrier's own.
    hand: HandEntry | None = None

    @property
    def status_changed(self) -> bool:
        return self.shipment.status is not self.previous_status


#: Called for every event applied to a shipment, inside the transaction that applies it, so
#: whatever a listener writes (an outbox row for a refund, say) commits with the event or not
#: at all. Returns registers one; carriers knows nothing of it. It runs without autoflush:
#: what earlier events wrote is flushed, what the listener writes goes out afterwards.
Listener = Callable[[Session, ShipmentChange], None]

#: Opened around a batch of stored events once their shipments are locked, closed after the
#: last is applied: a listener's owner loads, in one query each, what its listener reads for
#: every event of the batch (returns: the RMAs, locked), and writes what it gathered in bulk
#: on the way out. Within such a batch nothing is flushed between events: the listeners read
#: what the scope loaded, and every row goes out in the batch's one flush.
BatchScope = Callable[[Session, Sequence[Shipment]], AbstractContextManager[object]]


def apply_event(
    session: Session,
    shipment: Shipment,
    record: CarrierEventRecord,
    listeners: Sequence[Listener],
    hand: HandEntry | None = None,
    *,
    flush: bool = True,
) -> ShipmentChange:
    """Move ``shipment`` forward by ``record`` if it is news; else only add it to the timeline.

    ``flush``: write what earlier events changed before the listeners run (they may read it);
    False inside a batch whose scopes loaded what the listeners read."""
    if record.source is EventSource.MANUAL and hand is None:
        # Entered by hand, applied later: the person is known, their authority is not.
        hand = HandEntry(record.recorded_by or "unknown", record.description or "", False)
    previous = shipment.status
    picked_up_now = False
    if record.status in PROVES_PICKUP:
        if shipment.picked_up_at is None:
            shipment.picked_up_at = record.occurred_at
            picked_up_now = True
        elif record.occurred_at < shipment.picked_up_at:
            # A late pickup scan after a later status: keep the true pickup time, fire nothing.
            shipment.picked_up_at = record.occurred_at
    if moves_forward(previous, record.status):
        shipment.status = record.status
        record.outcome = EventOutcome.APPLIED
    else:
        record.outcome = EventOutcome.RECORDED
    if record.status is TrackingStatus.DELIVERED and shipment.delivered_at is None:
        shipment.delivered_at = record.occurred_at
    exception = record.status is TrackingStatus.EXCEPTION
    if exception:
        shipment.last_exception = (record.description or record.raw_status)[:300]
    # The id only: setting the relationship would load the shipment's whole timeline.
    record.shipment_id = shipment.id
    shipment.updated_at = max(shipment.updated_at, record.received_at)
    if flush:
        session.flush()
    change = ShipmentChange(
        shipment=shipment,
        event=record,
        previous_status=previous,
        picked_up_now=picked_up_now,
        ended_badly=record.status in ENDS_BADLY and record.outcome is EventOutcome.APPLIED,
        exception=exception,
        hand=hand if record.source is EventSource.MANUAL else None,
    )
    # Everything before this event is flushed (just above), and a listener reads only that,
    # never its own writes: without a flush per write, this event's changes go out with the
    # next event's flush, a few statements instead of one per change.
    with session.no_autoflush:
        for listener in listeners:
            listener(session, change)
    return change


def _event_rows(
    events: Iterable[CarrierEvent],
    source: EventSource,
    received_at: datetime,
    delivery_id: int | None,
    recorded_by: str | None,
) -> list[dict[str, Any]]:
    """The rows to store, one per dedupe key (a scan twice in one delivery is one row)."""
    rows: dict[str, dict[str, Any]] = {}
    for event in events:
        key = event.dedupe_key()
        if key in rows:
            continue
        rows[key] = {
            "dedupe_key": key,
            "carrier": event.carrier,
            "tracking_number": normalise_tracking_number(event.tracking_number),
            "status": event.status.value,
            "raw_status": event.raw_status[:100],
            "occurred_at": event.occurred_at,
            "description": event.description,
            "location": event.location[:200] if event.location else None,
            "provider_event_id": event.provider_event_id,
            "source": source.value,
            "recorded_by": recorded_by,
            "outcome": EventOutcome.PENDING.value,
            "delivery_id": delivery_id,
            "received_at": received_at,
        }
    return list(rows.values())


def insert_events(
    session: Session,
    events: Iterable[CarrierEvent],
    *,
    source: EventSource,
    received_at: datetime,
    delivery_id: int | None = None,
    recorded_by: str | None = None,
) -> list[int]:
    """Store each event once (by its dedupe key), waiting to be applied; the new rows' ids.

    One statement whatever the number of events. A duplicate (the same scan delivered again,
    replayed, or twice in one delivery) is absorbed here: it was stored the first time.
    """
    rows = _event_rows(events, source, received_at, delivery_id, recorded_by)
    return insert_many_ignoring_conflicts(session, CarrierEventRecord.__table__, rows)


# The delivery and its events in one statement: its id is drawn first, so the events can
# point at it and the delivery can count the new ones (the foreign key is checked at the
# statement's end, when both rows are there). The events come as one JSON array: one
# parameter to send, where an array per column cost psycopg a type lookup each.
_STORE_DELIVERY_POSTGRESQL = text(
    """
    WITH delivery AS (
        SELECT nextval(pg_get_serial_sequence('webhook_deliveries', 'id')) AS id
    ), stored AS (
        INSERT INTO carrier_events
            (dedupe_key, carrier, tracking_number, status, raw_status, occurred_at,
             description, location, provider_event_id, source, outcome, delivery_id,
             received_at)
        SELECT e.dedupe_key, e.carrier, e.tracking_number, e.status, e.raw_status,
               e.occurred_at, e.description, e.location, e.provider_event_id, :source,
               :pending, delivery.id, :received_at
        FROM delivery, jsonb_to_recordset(CAST(:events AS jsonb)) AS e (
            dedupe_key text, carrier text, tracking_number text, status text,
            raw_status text, occurred_at timestamptz, description text, location text,
            provider_event_id text)
        ON CONFLICT (dedupe_key) DO NOTHING
        RETURNING id
    ), kept AS (
        INSERT INTO webhook_deliveries
            (id, carrier, status, content_type, body, event_count, new_event_count,
             received_at)
        SELECT delivery.id, :carrier, :accepted, :content_type, :body, :event_count,
               (SELECT count(*) FROM stored), :received_at
        FROM delivery
    )
    SELECT id FROM stored ORDER BY id
    """
)

#: The event columns the JSON array carries (the rest are the same for the whole delivery).
_JSON_COLUMNS = (
    "dedupe_key",
    "carrier",
    "tracking_number",
    "status",
    "raw_status",
    "description",
    "location",
    "provider_event_id",
)


def store_delivery(
    engine: Engine,
    events: Iterable[CarrierEvent],
    *,
    carrier: str,
    content_type: str,
    body: bytes,
    received_at: datetime,
) -> list[int]:
    """Keep a webhook delivery as it arrived and store each of its events once, waiting to be
    applied, and commit; the new events' ids. The delivery counts its events and the new
    ones among them (a carrier's retry brings none).

    The hot path of every carrier webhook, so no session and no ORM objects. On PostgreSQL
    one statement, autocommitted: the request's only round trip (with the pool's ping when
    the connection sat idle). Elsewhere two inserts (three for a retry) in one transaction.
    """
    event_list = list(events)
    if engine.dialect.name == "postgresql":
        rows = _event_rows(event_list, EventSource.WEBHOOK, received_at, None, None)
        as_json = json.dumps(
            [
                {
                    **{column: row[column] for column in _JSON_COLUMNS},
                    "occurred_at": row["occurred_at"].astimezone(UTC).isoformat(),
                }
                for row in rows
            ]
        )
        with autocommitted(engine) as connection:
            found = connection.execute(
                _STORE_DELIVERY_POSTGRESQL,
                {
                    "events": as_json,
                    "source": EventSource.WEBHOOK.value,
                    "pending": EventOutcome.PENDING.value,
                    "accepted": DeliveryStatus.ACCEPTED.value,
                    "carrier": carrier,
                    "content_type": content_type[:200],
                    "body": body,
                    "event_count": len(event_list),
                    "received_at": received_at,
                },
            )
            return list(found.scalars())
    deliveries = WebhookDelivery.__table__
    with engine.begin() as connection:
        delivery_id = connection.scalar(
            insert(deliveries)
            .values(
                carrier=carrier,
                status=DeliveryStatus.ACCEPTED,
                content_type=content_type[:200],
                body=body,
                event_count=len(event_list),
                # Every event is new but for a carrier's retry: corrected below if not, so
                # the usual delivery costs two statements, not three.
                new_event_count=len(event_list),
                received_at=received_at,
            )
            .returning(deliveries.c.id)
        )
        rows = _event_rows(event_list, EventSource.WEBHOOK, received_at, delivery_id, None)
        new = insert_many_ignoring_conflicts(connection, CarrierEventRecord.__table__, rows)
        if len(new) != len(event_list):
            connection.execute(
                update(deliveries)
                .where(deliveries.c.id == delivery_id)
                .values(new_event_count=len(new))
            )
        return new


#: A batch takes its parcels' other waiting events too, up to this many times its size.
PARCEL_SIBLINGS = 4


def claim_pending(
    session: Session, only: Sequence[int] | None, size: int
) -> Sequence[CarrierEventRecord]:
    """Lock a batch of waiting events, oldest first, skipping those another applier holds.

    With the oldest ``size`` come the other waiting events of their parcels (up to
    ``PARCEL_SIBLINGS`` times ``size`` in all): one applier takes a parcel's burst (picked
    up, in transit, delivered) in one batch and in order, where two appliers would each
    take part of it and queue on the same shipments' locks. ``only``: these events alone."""
    pending = CarrierEventRecord.outcome == EventOutcome.PENDING
    by_age = CarrierEventRecord.id
    if only is not None:
        query = select(CarrierEventRecord).where(pending, CarrierEventRecord.id.in_(only))
        return session.scalars(
            query.order_by(by_age).limit(size).with_for_update(skip_locked=True)
        ).all()
    oldest = (
        select(CarrierEventRecord.tracking_number)
        .where(pending)
        .order_by(by_age)
        .limit(size)
        .with_for_update(skip_locked=True)
    )
    return session.scalars(
        select(CarrierEventRecord)
        .where(pending, CarrierEventRecord.tracking_number.in_(oldest))
        .order_by(by_age)
        .limit(size * PARCEL_SIBLINGS)
        .with_for_update(skip_locked=True)
    ).all()


def apply_stored(
    session: Session,
    records: Sequence[CarrierEventRecord],
    listeners: Sequence[Listener],
    hand: HandEntry | None = None,
    scopes: Sequence[BatchScope] = (),
) -> list[ShipmentChange]:
    """Apply stored, waiting events, oldest first; an event without its shipment waits on.

    Their shipments are locked in one statement, in id order: two appliers working on
    overlapping batches queue behind each other instead of deadlocking. With ``scopes`` the
    whole batch is one flush (see ``BatchScope``): the per-event cost falls with its size.
    """
    numbers = {record.tracking_number for record in records}
    shipments = session.scalars(
        select(Shipment)
        .where(Shipment.tracking_number.in_(numbers))
        .order_by(Shipment.id)
        .options(lazyload(Shipment.events))  # the timeline is not needed to move forward
        .with_for_update()
    ).all()
    candidates: dict[str, list[Shipment]] = {}
    for found in shipments:
        candidates.setdefault(found.tracking_number, []).append(found)
    changes = []
    with contextlib.ExitStack() as opened:
        for scope in scopes:
            opened.enter_context(scope(session, shipments))
        flush_each = not scopes
        if not flush_each:
            opened.enter_context(session.no_autoflush)
        for record in sorted(records, key=lambda r: (r.occurred_at, r.id)):
            shipment = _owner(candidates.get(record.tracking_number, []), record.carrier)
            if shipment is None:
                record.outcome = EventOutcome.UNMATCHED
            else:
                changes.append(
                    apply_event(session, shipment, record, listeners, hand, flush=flush_each)
                )
    session.flush()
    return changes


def _owner(shipments: list[Shipment], carrier: str) -> Shipment | None:
    """The shipment an event belongs to: one of the same carrier, or one that names the event's
    provider as the aggregator it is tracked through (an AfterShip-tracked UPS parcel).

    Never another carrier's parcel that happens to share the number: a provider proves only
    what it says about its own parcels, and a pickup releases money. The event then stays
    ``unmatched`` (and applies if its own shipment is registered later).
    """
    own = [s for s in shipments if carrier in (s.carrier, s.tracked_via)]
    return max(own, key=lambda shipment: shipment.id) if own else None


def store_events(
    session: Session,
    events: Iterable[CarrierEvent],
    *,
    source: EventSource,
    received_at: datetime,
    listeners: Sequence[Listener] = (),
    recorded_by: str | None = None,
    hand: HandEntry | None = None,
    scopes: Sequence[BatchScope] = (),
) -> list[CarrierEventRecord]:
    """Store each event once and apply the new ones at once, in the caller's transaction.

    For events a person or a poller is waiting on; webhooks store first and apply later
    (see CarrierService.receive_webhook). Returns the events that were new.
    """
    ids = insert_events(
        session, events, source=source, received_at=received_at, recorded_by=recorded_by
    )
    if not ids:
        return []
    records = session.scalars(
        select(CarrierEventRecord).where(CarrierEventRecord.id.in_(ids))
    ).all()
    apply_stored(session, records, listeners, hand, scopes)
    return sorted(records, key=lambda r: (r.occurred_at, r.id))


def apply_waiting_events(
    session: Session, shipment: Shipment, listeners: Sequence[Listener]
) -> list[ShipmentChange]:
    """Events that arrived before their shipment was known, applied in the order they happened."""
    waiting = session.scalars(
        select(CarrierEventRecord)
        .where(
            CarrierEventRecord.tracking_number == shipment.tracking_number,
            CarrierEventRecord.carrier.in_(
                [name for name in (shipment.carrier, shipment.tracked_via) if name]
            ),
            CarrierEventRecord.outcome == EventOutcome.UNMATCHED,
        )
        .order_by(CarrierEventRecord.occurred_at, CarrierEventRecord.id)
        .with_for_update()
    ).all()
    return [apply_event(session, shipment, record, listeners) for record in waiting]
