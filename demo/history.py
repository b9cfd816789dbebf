"""Demo history: ten weeks of closed returns with realistic carrier timings, for the metrics.

The desk authorised each return within hours; the carrier collected the parcel 0.5 to 2 days
later and the refund went out at that pickup (a few were held for a supervisor and waited
for the parcel); the parcel reached the warehouse 3 to 15 days after pickup depending on the
carrier the customer used. So the metrics page shows refunds completed in about 1-2 days,
and beside it the 6-10 days they would have taken had they waited for the warehouse.

The rows are written directly (one transaction, no outbox, no carrier calls): it is history.
Sales of the returned parts over the same weeks are in the stock ledger, so return rates by
part and supplier have something to divide by (each part first receives what it then sells,
so stock levels end where the rest of the demo put them).
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from bootstrap import Services
from carriers.models import CarrierEventRecord, Direction, EventOutcome, EventSource, Shipment
from carriers.status import TrackingStatus
from core.clock import FrozenClock
from core.db import UnitOfWork
from inventory import ledger
from inventory.models import Location, Part, StockLevel
from inventory.status import PICKABLE_KINDS
from returns.models import RmaSequence
from returns.rma import Replacement, Rma, RmaLine, RmaTransition
from returns.service_levels import ServiceLevels
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

DESK, WAREHOUSE, SYSTEM = "desk@demo.spareflow", "warehouse@demo.spareflow", "spareflow"

#: Days from pickup to our dock, by the carrier the customer chose.
CARRIER_DAYS = {
    "sfexpress": (3.0, 5.0),
    "shippo": (4.0, 8.0),
    "easypost": (6.0, 11.0),
    "aftership": (8.0, 15.0),
}
CUSTOMERS = [
    ("Mia Chen", False),
    ("Jonas Keller", True),
    ("Aiko Tanaka", False),
    ("Priya Raman", False),
    ("Luis Ortega", False),
    ("Hannah Berg", True),
    ("Tomasz Nowak", False),
    ("Grace Okafor", False),
    ("Sven Lindqvist", False),
    ("Amara Diallo", False),
]
REASONS = [
    (Reason.DEFECTIVE, 45),
    (Reason.DAMAGED_IN_TRANSIT, 15),
    (Reason.WRONG_ITEM, 12),
    (Reason.NOT_AS_DESCRIBED, 10),
    (Reason.NO_LONGER_NEEDED, 13),
    (Reason.MISSING_ITEM, 5),
]
CHANNELS = [
    (Channel.MARKETPLACE, 40),
    (Channel.WEB, 25),
    (Channel.EMAIL, 20),
    (Channel.PHONE, 10),
    (Channel.CHAT, 5),
]
PRIORITIES = [(Priority.LOW, 20), (Priority.MEDIUM, 50), (Priority.HIGH, 22), (Priority.URGENT, 8)]
RESPONSE_HOURS = {Priority.URGENT: 1, Priority.HIGH: 4, Priority.MEDIUM: 4, Priority.LOW: 8}


def _pick(rng: random.Random, weighted: list[tuple[object, int]]) -> object:
    return rng.choices([v for v, _ in weighted], weights=[w for _, w in weighted])[0]


def _hours(value: float) -> timedelta:
    return timedelta(hours=value)


def _days(value: float) -> timedelta:
    return timedelta(days=value)


def load_demo_history(
    services: Services, *, seed: int = 7, returns: int = 140, days: int = 70
) -> int:
    """RMAs created over the last ``days`` days (none in the last 60 hours); how many."""
    # Its own stream: the rest of the demo stays as it was.
    rng = random.Random(seed + 1)  # noqa: S311 (demo data, not secrets)
    now = services.clock.now()
    levels = services.returns.ctx.levels
    with UnitOfWork(services.session_factory) as uow:
        session = uow.session
        stocked = session.execute(
            select(Part.id, Part.sku, Part.unit_cost, StockLevel.location_id)
            .join(StockLevel, StockLevel.part_id == Part.id)
            .join(Location, Location.id == StockLevel.location_id)
            .where(
                Part.supplier_id.is_not(None),
                Location.kind.in_(PICKABLE_KINDS),
                StockLevel.on_hand > StockLevel.reserved,
            )
            .order_by(Part.id, StockLevel.location_id)
        ).all()
        homes: dict[int, tuple[str, Decimal, int]] = {}
        for part_id, sku, cost, location_id in stocked:
            homes.setdefault(part_id, (sku, cost, location_id))
        parts = rng.sample(sorted(homes), min(24, len(homes)))
        if not parts:
            return 0
        codes = dict(session.execute(select(Location.id, Location.code)).all())
        # A few parts are the troublemakers: most returns are theirs.
        weights = [8 if i < 4 else 1 for i in range(len(parts))]
        per_day: Counter[str] = Counter()
        returned: Counter[int] = Counter()
        for index in range(returns):
            created = now - _days(rng.uniform(2.5, days))
            created = created.replace(microsecond=0)
            day = created.strftime("%Y%m%d")
            per_day[day] += 1
            number = f"RMA-{day}-{per_day[day]:04d}"
            part_id = rng.choices(parts, weights=weights)[0]
            sku, cost, _ = homes[part_id]
            qty = 1 if rng.random() < 0.85 else 2
            returned[part_id] += qty
            _one_return(session, rng, levels, now, number, created, part_id, sku, cost, qty, index)
        for day, last in per_day.items():
            session.add(RmaSequence(day=day, last=last))
        # Sales over the same weeks, 12 to 40 shipped per returned unit, booked once a week
        # (one ledger row per part and week keeps this fast).
        weeks = max(1, days // 7)
        for part_id in parts:
            sku, _, location_id = homes[part_id]
            total = max(weeks, returned[part_id] * rng.randint(12, 40))
            shares = [rng.uniform(0.6, 1.4) for _ in range(weeks)]
            weekly = [int(total * share / sum(shares)) or 1 for share in shares]
            who = ledger.Who("demo-data", FrozenClock(now - _days(days + 2)))
            location = codes[location_id]
            ledger.receive(
                session,
                who,
                sku=sku,
                location=location,
                qty=sum(weekly),
                reference=f"PO-2026-H{part_id:04d}",
                reason="stock for the demo's sales history",
            )
            for week, qty in enumerate(weekly):
                at = now - _days(7 * (weeks - week) - rng.uniform(0, 6))
                ledger.issue(
                    session,
                    ledger.Who("demo-data", FrozenClock(at)),
                    sku=sku,
                    location=location,
                    qty=qty,
                    reference=f"SALES-W{week + 1:02d}",
                    reason="sales shipped this week",
                )
        uow.commit()
    return returns


def _one_return(
    session: Session,
    rng: random.Random,
    levels: ServiceLevels,
    now: datetime,
    number: str,
    created: datetime,
    part_id: int,
    sku: str,
    cost: Decimal,
    qty: int,
    index: int,
) -> None:
    """One return as it went; steps after ``now`` have not happened yet (still in flight)."""
    name, vip = CUSTOMERS[index % len(CUSTOMERS)]
    reason = _pick(rng, REASONS)
    priority = _pick(rng, PRIORITIES)
    resolution = Resolution.REPLACEMENT if rng.random() < 0.3 else Resolution.REFUND
    carrier = rng.choice(list(CARRIER_DAYS))
    price = (cost * Decimal("1.6")).quantize(Decimal("0.01")) or Decimal("1.00")

    # Intake, first response, authorisation, pickup, dock, receipt, inspection, close.
    channel = _pick(rng, CHANNELS)
    target = RESPONSE_HOURS[priority]  # type: ignore[index]
    # The deadlines the desk works to (its working hours), as intake sets them.
    deadlines = levels.deadlines(channel, priority, created)  # type: ignore[arg-type]
    roll = rng.random()
    if roll < 0.86:
        responded = created + _hours(rng.uniform(0.1, target * 0.9))
    elif roll < 0.95:
        responded = created + _hours(rng.uniform(6, 20))  # after hours: the next morning
    else:
        responded = created + _hours(rng.uniform(25, 40))  # over a weekend
    authorised = responded + _hours(rng.uniform(0.1, 2))
    picked_up = authorised + _days(rng.uniform(0.5, 2))
    low, high = CARRIER_DAYS[carrier]
    delivered = picked_up + _days(rng.uniform(low, high))
    received = delivered + _hours(rng.uniform(2, 20))
    inspected = received + _hours(rng.uniform(1, 24))
    disputed = resolution is Resolution.REFUND and rng.random() < 0.015
    closed = inspected + _hours(rng.uniform(0.5, 6)) + (_days(2) if disputed else timedelta())
    held = resolution is Resolution.REFUND and rng.random() < 0.05  # a supervisor waited
    refund_at = None
    if resolution is Resolution.REFUND:
        refund_at = received + _hours(rng.uniform(1, 6)) if held else picked_up + _hours(0.05)
    shipped = None
    if resolution is Resolution.REPLACEMENT:
        shipped = min(authorised + _hours(rng.uniform(2, 26)), now - _hours(1))
    score = None
    if closed + _days(3) <= now and rng.random() < 0.6:
        score = 1 if disputed else rng.choices([5, 4, 3, 2, 1], weights=[55, 25, 10, 6, 4])[0]
    tracking = f"DEMO{number.replace('-', '')[3:]}{carrier[:2].upper()}"

    steps = [
        (created, None, RmaStatus.REQUESTED, DESK, "Request by phone"),
        (authorised, RmaStatus.REQUESTED, RmaStatus.AUTHORISED, DESK, ""),
        (
            authorised + _hours(0.1),
            RmaStatus.AUTHORISED,
            RmaStatus.AWAITING_PICKUP,
            SYSTEM,
            "Prepaid label bought",
        ),
        (picked_up, RmaStatus.AWAITING_PICKUP, RmaStatus.PICKED_UP, SYSTEM, "Carrier pickup"),
        (picked_up + _hours(10), RmaStatus.PICKED_UP, RmaStatus.IN_TRANSIT, SYSTEM, ""),
        (received, RmaStatus.IN_TRANSIT, RmaStatus.RECEIVED, WAREHOUSE, "Box intact"),
    ]
    if disputed:
        steps += [
            (
                received + _hours(0.2),
                RmaStatus.RECEIVED,
                RmaStatus.DISPUTED,
                WAREHOUSE,
                "Parcel held the wrong item",
            ),
            (closed, RmaStatus.DISPUTED, RmaStatus.CLOSED, DESK, "Settled with the customer"),
        ]
    else:
        steps += [
            (inspected, RmaStatus.RECEIVED, RmaStatus.INSPECTED, WAREHOUSE, ""),
            (closed, RmaStatus.INSPECTED, RmaStatus.CLOSED, DESK, ""),
        ]
    steps = [step for step in steps if step[0] <= now]
    status = steps[-1][2]
    is_closed = status is RmaStatus.CLOSED
    released = refund_at is not None and refund_at <= now
    if released:
        refund_status = RefundStatus.RELEASED
    elif resolution is Resolution.REFUND:
        refund_status = (
            RefundStatus.HELD if held and picked_up <= now else RefundStatus.AWAITING_PICKUP
        )
    else:
        refund_status = RefundStatus.NONE
    arrived = received <= now

    rma = Rma(
        number=number,
        status=status,
        customer_name=name,
        customer_email=f"{name.split()[0].lower()}.{index}@example.com",
        vip=vip,
        order_number=f"SO-{rng.randint(10000, 99999)}",
        payment_reference=f"pi_demo_h{index:04d}",
        purchase_date=(created - _days(rng.uniform(3, 25))).date(),
        channel=channel,
        reason=reason,
        description="",
        resolution=resolution,
        priority=priority,
        currency="usd",
        refund_status=refund_status,
        refund_amount_minor=int(price * qty * 100) if resolution is Resolution.REFUND else 0,
        refund_hold_reason="Above the automatic refund limit"
        if refund_status is RefundStatus.HELD
        else None,
        refund_reference=f"re_demo_h{index:04d}" if released else None,
        refund_released_at=refund_at if released else None,
        return_carrier=carrier,
        return_tracking_number=tracking,
        satisfaction=score,
        confirmed_fixed=(score >= 3) if score is not None else None,
        followup_due_at=closed + _days(3) if is_closed else None,
        first_response_due_at=deadlines.first_response,
        first_response_at=responded,
        resolution_due_at=deadlines.resolution,
        resolved_at=(refund_at if released else None) or shipped,
        ended_at=closed if is_closed else None,
        created_by=DESK,
        created_at=created,
        updated_at=steps[-1][0],
    )
    if not is_closed and rma.resolved_at is None and deadlines.resolution <= now:
        # Warned and escalated back then: the monitor does not alert about history again.
        rma.resolution_warned_at = deadlines.resolution_warning
        rma.resolution_escalated_at = deadlines.resolution
    rma.lines = [
        RmaLine(
            part_id=part_id,
            sku=sku,
            qty=qty,
            unit_price=price,
            received_qty=qty if arrived else 0,
            condition=("fault confirmed" if reason is Reason.DEFECTIVE else "good")
            if arrived
            else None,
            disposition=(
                Disposition.QUARANTINE if reason is Reason.DEFECTIVE else Disposition.RESTOCK
            )
            if arrived and inspected <= now
            else None,
        )
    ]
    timeline = [
        RmaTransition(
            at=at, from_status=before, to_status=after, kind="status", actor=who, reason=why
        )
        for at, before, after, who, why in steps
    ]
    if released:
        state = _state_at(timeline, refund_at)
        why = "a supervisor released it" if held else "carrier pickup"
        timeline.append(
            RmaTransition(
                at=refund_at,
                from_status=state,
                to_status=state,
                kind="refund",
                actor=SYSTEM,
                reason=f"Refund of {price * qty} USD released ({why})",
            )
        )
    # The timeline is written, never read back through the RMA: add it in time order.
    rma.transitions.add_all(sorted(timeline, key=lambda t: t.at))
    session.add(rma)
    if shipped is not None:
        session.flush()  # the replacement names the line's id
        rma.replacements.append(
            Replacement(
                line_id=rma.lines[0].id,
                sku=sku,
                qty=qty,
                status=ReplacementStatus.SHIPPED,
                carrier=carrier,
                tracking_number=f"{tracking}R",
                queued_at=authorised,
                shipped_at=shipped,
                shipped_by=WAREHOUSE,
            )
        )
    events = [
        (TrackingStatus.PICKED_UP, picked_up, "Customer address"),
        (TrackingStatus.IN_TRANSIT, picked_up + _hours(10), "Sorting hub"),
        (TrackingStatus.OUT_FOR_DELIVERY, delivered - _hours(4), "Leeds depot"),
        (TrackingStatus.DELIVERED, delivered, "Leeds, dock 4"),
    ]
    events = [event for event in events if event[1] <= now]
    shipment = Shipment(
        direction=Direction.INBOUND,
        carrier=carrier,
        tracking_number=tracking,
        status=events[-1][0] if events else TrackingStatus.PRE_TRANSIT,
        reference=number,
        picked_up_at=picked_up if events else None,
        delivered_at=delivered if delivered <= now else None,
        created_at=authorised,
        updated_at=events[-1][1] if events else authorised,
    )
    session.add(shipment)
    for seq, (tracking_status, at, where) in enumerate(events):
        shipment.events.append(
            CarrierEventRecord(
                dedupe_key=f"demo-{tracking}-{seq}",
                carrier=carrier,
                tracking_number=tracking,
                status=tracking_status,
                raw_status=tracking_status.value,
                occurred_at=at,
                description=tracking_status.value.replace("_", " "),
                location=where,
                source=EventSource.WEBHOOK,
                outcome=EventOutcome.APPLIED,
                received_at=at + timedelta(seconds=30),
            )
        )


def _state_at(transitions: list[RmaTransition], at: datetime) -> RmaStatus:
    state = RmaStatus.REQUESTED
    for transition in transitions:
        if transition.at <= at:
            state = transition.to_status
    return state
