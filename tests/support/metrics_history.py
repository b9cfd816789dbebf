"""A hand-made returns history whose figures are worked out by hand in the tests.

The clock stands at NOW (Monday 2026-11-23 09:00 UTC) and the period is 2026-11-02 to
2026-11-22 (three whole ISO weeks, ``[Nov 2 00:00, Nov 23 00:00)``).

| RMA | created       | prio   | channel     | reason             | lines           | refund released | time  | parcel arrived (source)       |
|-----|---------------|--------|-------------|--------------------|-----------------|-----------------|-------|-------------------------------|
| R1  | Nov 2 10:00   | urgent | marketplace | defective          | FAN x1          | Nov 3 10:00     | 1.0 d | Nov 8 10:00 carrier (6.0 d)   |
| R2  | Nov 3 12:00   | high   | web         | defective          | FAN x2          | Nov 5 00:00     | 1.5 d | Nov 12 12:00 receipt (9.0 d)  |
| R3  | Nov 4 09:00   | medium | email       | wrong_item         | PSU x1          | Nov 6 09:00     | 2.0 d | Nov 13 09:00 carrier (9.0 d)  |
| R4  | Nov 9 08:00   | low    | phone       | damaged_in_transit | CAB x1          | Nov 12 08:00    | 3.0 d | not yet                       |
| R5  | Nov 10 00:00  | medium | web         | defective          | FAN x1, CAB x1  | (replacement shipped Nov 10 12:00: 0.5 d)               |
| R6  | Nov 16 10:00  | urgent | chat        | not_as_described   | PSU x1          | Nov 22 10:00    | 6.0 d | Nov 21 10:00 carrier (5.0 d)  |
| R7  | Nov 20 15:00  | high   | marketplace | defective          | FAN x1          | rejected                                                |
| R8  | Nov 22 20:00  | medium | email       | no_longer_needed   | PSU x3          | requested, nothing done yet                             |
| R9  | Oct 20 10:00  | medium | web         | defective          | FAN x1          | Oct 26 00:00 (the rolling window's first instant), disputed |
| R10 | Oct 19 10:00  | low    | web         | defective          | CAB x1          | Oct 25 23:59:59 (one second before the rolling window)  |
| R11 | Oct 28 10:00  | medium | phone       | defective          | FAN x1          | Nov 2 10:00     | 5.0 d | Nov 4 10:00 carrier (7.0 d)   |
| R12 | Nov 23 01:00  | medium | web         | defective          | FAN x1          | Nov 23 05:00 (after the period)                         |
| R13 | Oct 30 12:00  | medium | email       | defective          | PSU x1          | (replacement shipped Nov 2 00:00: 2.5 d)                |

R3 was disputed (received -> disputed on Nov 14). Its parcel was also booked in on Nov 13
15:00; the carrier's delivered event (09:00) wins. R4 has an inbound parcel that was only
picked up, and an outbound parcel (its reference is the RMA number too) that was delivered:
neither is the return reaching us.

First responses (due / done) and resolutions (due / done):

| RMA | response due | responded    | resolution due | resolved     | satisfaction | fixed |
|-----|--------------|--------------|----------------|--------------|--------------|-------|
| R1  | Nov 2 11:00  | Nov 2 10:30  | Nov 5 10:00    | Nov 3 10:00  | 5            | yes   |
| R2  | Nov 3 16:00  | Nov 3 18:00  | Nov 10 12:00   | Nov 12 12:00 | 3            | no    |
| R3  | Nov 4 13:00  | Nov 5 10:00  | Nov 11 09:00   | -            | 1            | -     |
| R4  | Nov 10 08:00 | Nov 9 20:00  | Nov 30 00:00   | -            | -            | -     |
| R5  | Nov 10 04:00 | -            | Nov 17 00:00   | Nov 16 00:00 | 4            | yes   |
| R6  | Nov 16 11:00 | Nov 16 10:45 | -              | -            | -            | -     |
| R7  | Nov 20 19:00 | Nov 20 16:00 | -              | -            | -            | -     |
| R8  | Nov 23 12:00 | -            | -              | -            | -            | -     |

Parts: FAN-80 and PSU-65 from supplier ACME, CAB-1 from BOLT. Units shipped to customers
(the ledger): FAN-80 20 issued on Nov 5 and 5 reserved-and-issued on Nov 12 (25 in the
period); 100 issued on Oct 30 and 7 at Nov 23 00:00 fall outside; 3 scrapped from quarantine
on Nov 14 are not shipping. PSU-65 10 issued on Nov 20. CAB-1 nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from carriers.models import CarrierEventRecord, Direction, EventOutcome, EventSource, Shipment
from carriers.status import TrackingStatus
from core.clock import FrozenClock
from inventory.commands import IssueReservedStock, IssueStock, ReceiveStock, ReserveStock
from inventory.models import Part
from inventory.services import InventoryService
from inventory.status import LocationKind
from returns.rma import Replacement, Rma, RmaLine, RmaTransition
from returns.status import (
    Channel,
    Priority,
    Reason,
    RefundStatus,
    ReplacementStatus,
    Resolution,
    RmaStatus,
)

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
FROM, TO = "2026-11-02", "2026-11-22"


def t(month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, second, tzinfo=UTC)


def nov(day: int, hour: int = 0, minute: int = 0) -> datetime:
    return t(11, day, hour, minute)


def make_rma(
    session: Session,
    number: str,
    created_at: datetime,
    *,
    lines: list[tuple[int, str, int]],
    status: RmaStatus = RmaStatus.CLOSED,
    priority: Priority = Priority.MEDIUM,
    channel: Channel = Channel.WEB,
    reason: Reason = Reason.DEFECTIVE,
    resolution: Resolution = Resolution.REFUND,
    refund_released_at: datetime | None = None,
    statuses: list[tuple[RmaStatus, datetime]] = (),  # type: ignore[assignment]
    replacement_shipped_at: datetime | None = None,
    **columns: Any,
) -> Rma:
    """One RMA as the desk would have left it; ``statuses`` are its status transitions."""
    rma = Rma(
        number=number,
        status=status,
        customer_name="Test Customer",
        customer_email=f"{number.lower()}@example.com",
        channel=channel,
        reason=reason,
        resolution=resolution,
        priority=priority,
        currency="usd",
        refund_status=RefundStatus.RELEASED if refund_released_at else RefundStatus.NONE,
        refund_amount_minor=1000 if refund_released_at else 0,
        refund_released_at=refund_released_at,
        created_by="tests",
        created_at=created_at,
        updated_at=created_at,
        **columns,
    )
    rma.lines = [
        RmaLine(part_id=part_id, sku=sku, qty=qty, unit_price=Decimal("10"))
        for part_id, sku, qty in lines
    ]
    previous = None
    timeline = [
        RmaTransition(
            kind="status",
            from_status=None,
            to_status=RmaStatus.REQUESTED,
            actor="tests",
            reason="",
            at=created_at,
        )
    ]
    previous = RmaStatus.REQUESTED
    for to_status, at in statuses:
        timeline.append(
            RmaTransition(
                kind="status",
                from_status=previous,
                to_status=to_status,
                actor="tests",
                reason="",
                at=at,
            )
        )
        previous = to_status
    rma.transitions.add_all(timeline)
    session.add(rma)
    session.flush()
    if replacement_shipped_at is not None:
        rma.replacements.append(
            Replacement(
                line_id=rma.lines[0].id,
                sku=rma.lines[0].sku,
                qty=rma.lines[0].qty,
                status=ReplacementStatus.SHIPPED,
                queued_at=created_at,
                shipped_at=replacement_shipped_at,
                shipped_by="tests",
            )
        )
    return rma


def parcel(
    session: Session,
    reference: str,
    events: list[tuple[TrackingStatus, datetime]],
    *,
    direction: Direction = Direction.INBOUND,
    carrier: str = "sandbox",
) -> Shipment:
    """A shipment with its carrier events, as the tracking code stores them."""
    tracking = f"{direction.value[:2].upper()}{reference.replace('-', '')}{len(events)}"
    shipment = Shipment(
        direction=direction,
        carrier=carrier,
        tracking_number=tracking,
        status=events[-1][0] if events else TrackingStatus.PRE_TRANSIT,
        reference=reference,
        created_at=events[0][1] if events else NOW,
        updated_at=NOW,
    )
    session.add(shipment)
    session.flush()
    for index, (status, at) in enumerate(events):
        session.add(
            CarrierEventRecord(
                dedupe_key=f"{tracking}-{index}",
                carrier=carrier,
                tracking_number=tracking,
                status=status,
                raw_status=status.value,
                occurred_at=at,
                source=EventSource.WEBHOOK,
                outcome=EventOutcome.APPLIED,
                shipment_id=shipment.id,
                received_at=at,
            )
        )
    return shipment


def build_history(session_factory: sessionmaker[Session], clock: FrozenClock) -> dict[str, str]:
    """Load the table above; returns {"R1": "RMA-...", ...}."""
    inventory = InventoryService(session_factory, clock)
    clock.set(t(10, 1))
    inventory.create_supplier(code="ACME", name="Acme Parts")
    inventory.create_supplier(code="BOLT", name="Bolt Cables")
    inventory.create_location(code="MAIN/A-01-01")
    inventory.create_location(code="MAIN/QUARANTINE", kind=LocationKind.QUARANTINE)
    inventory.create_part(sku="FAN-80", name="Cooling fan 80mm", supplier="ACME")
    inventory.create_part(sku="PSU-65", name="Power supply 65W", supplier="ACME")
    inventory.create_part(sku="CAB-1", name="USB-C cable 1m", supplier="BOLT")
    inventory.receive("tests", ReceiveStock(sku="FAN-80", location="MAIN/A-01-01", qty=200))
    inventory.receive("tests", ReceiveStock(sku="PSU-65", location="MAIN/A-01-01", qty=50))
    inventory.receive("tests", ReceiveStock(sku="FAN-80", location="MAIN/QUARANTINE", qty=3))
    shipping = [
        (t(10, 30, 12), "FAN-80", 100),  # before the period
        (nov(5, 9), "FAN-80", 20),
        (nov(20, 9), "PSU-65", 10),
        (nov(23), "FAN-80", 7),  # at the period's end: outside
    ]
    for at, sku, qty in shipping:
        clock.set(at)
        inventory.issue(
            "tests", IssueStock(sku=sku, location="MAIN/A-01-01", qty=qty, reference="SO-1")
        )
    clock.set(nov(11, 9))
    reservation = inventory.reserve("tests", ReserveStock(sku="FAN-80", qty=5, reference="SO-2"))
    clock.set(nov(12, 9))
    inventory.issue("tests", IssueReservedStock(reservation_id=reservation.id))
    clock.set(nov(14, 9))
    inventory.issue(
        "tests", IssueStock(sku="FAN-80", location="MAIN/QUARANTINE", qty=3, reason="scrap")
    )
    clock.set(NOW)

    numbers = {f"R{i}": f"RMA-2026110{i % 10}-{i:04d}" for i in range(1, 14)}
    S = RmaStatus
    with session_factory() as session:
        part = {p.sku: p.id for p in session.scalars(select(Part))}
        fan, psu, cab = (
            (part["FAN-80"], "FAN-80"),
            (part["PSU-65"], "PSU-65"),
            (part["CAB-1"], "CAB-1"),
        )
        n = numbers
        make_rma(
            session,
            n["R1"],
            nov(2, 10),
            lines=[(*fan, 1)],
            priority=Priority.URGENT,
            channel=Channel.MARKETPLACE,
            refund_released_at=nov(3, 10),
            statuses=[
                (S.AUTHORISED, nov(2, 11)),
                (S.PICKED_UP, nov(3, 10)),
                (S.RECEIVED, nov(8, 15)),
                (S.INSPECTED, nov(9)),
                (S.CLOSED, nov(9, 1)),
            ],
            first_response_due_at=nov(2, 11),
            first_response_at=nov(2, 10, 30),
            resolution_due_at=nov(5, 10),
            resolved_at=nov(3, 10),
            satisfaction=5,
            confirmed_fixed=True,
        )
        parcel(
            session,
            n["R1"],
            [(TrackingStatus.PICKED_UP, nov(3, 10)), (TrackingStatus.DELIVERED, nov(8, 10))],
        )
        make_rma(
            session,
            n["R2"],
            nov(3, 12),
            lines=[(*fan, 2)],
            priority=Priority.HIGH,
            channel=Channel.WEB,
            refund_released_at=nov(5),
            statuses=[
                (S.AUTHORISED, nov(3, 13)),
                (S.PICKED_UP, nov(5)),
                (S.RECEIVED, nov(12, 12)),
                (S.INSPECTED, nov(12, 13)),
                (S.CLOSED, nov(12, 14)),
            ],
            first_response_due_at=nov(3, 16),
            first_response_at=nov(3, 18),
            resolution_due_at=nov(10, 12),
            resolved_at=nov(12, 12),
            satisfaction=3,
            confirmed_fixed=False,
        )
        parcel(session, n["R2"], [(TrackingStatus.PICKED_UP, nov(5))])  # no delivered event
        make_rma(
            session,
            n["R3"],
            nov(4, 9),
            lines=[(*psu, 1)],
            status=S.DISPUTED,
            channel=Channel.EMAIL,
            reason=Reason.WRONG_ITEM,
            refund_released_at=nov(6, 9),
            statuses=[
                (S.AUTHORISED, nov(4, 10)),
                (S.PICKED_UP, nov(6, 9)),
                (S.RECEIVED, nov(13, 15)),
                (S.DISPUTED, nov(14)),
            ],
            first_response_due_at=nov(4, 13),
            first_response_at=nov(5, 10),
            resolution_due_at=nov(11, 9),
            satisfaction=1,
        )
        parcel(
            session,
            n["R3"],
            [(TrackingStatus.PICKED_UP, nov(6, 9)), (TrackingStatus.DELIVERED, nov(13, 9))],
        )
        make_rma(
            session,
            n["R4"],
            nov(9, 8),
            lines=[(*cab, 1)],
            status=S.IN_TRANSIT,
            priority=Priority.LOW,
            channel=Channel.PHONE,
            reason=Reason.DAMAGED_IN_TRANSIT,
            refund_released_at=nov(12, 8),
            statuses=[
                (S.AUTHORISED, nov(9, 9)),
                (S.PICKED_UP, nov(12, 8)),
                (S.IN_TRANSIT, nov(13)),
            ],
            first_response_due_at=nov(10, 8),
            first_response_at=nov(9, 20),
            resolution_due_at=nov(30),
        )
        parcel(
            session,
            n["R4"],
            [(TrackingStatus.PICKED_UP, nov(12, 8)), (TrackingStatus.IN_TRANSIT, nov(13))],
        )
        parcel(
            session, n["R4"], [(TrackingStatus.DELIVERED, nov(14))], direction=Direction.OUTBOUND
        )
        make_rma(
            session,
            n["R5"],
            nov(10),
            lines=[(*fan, 1), (*cab, 1)],
            resolution=Resolution.REPLACEMENT,
            channel=Channel.WEB,
            replacement_shipped_at=nov(10, 12),
            first_response_due_at=nov(10, 4),
            resolution_due_at=nov(17),
            resolved_at=nov(16),
            satisfaction=4,
            confirmed_fixed=True,
        )
        make_rma(
            session,
            n["R6"],
            nov(16, 10),
            lines=[(*psu, 1)],
            priority=Priority.URGENT,
            channel=Channel.CHAT,
            reason=Reason.NOT_AS_DESCRIBED,
            refund_released_at=nov(22, 10),
            first_response_due_at=nov(16, 11),
            first_response_at=nov(16, 10, 45),
        )
        parcel(session, n["R6"], [(TrackingStatus.DELIVERED, nov(21, 10))])
        make_rma(
            session,
            n["R7"],
            nov(20, 15),
            lines=[(*fan, 1)],
            status=S.REJECTED,
            priority=Priority.HIGH,
            channel=Channel.MARKETPLACE,
            statuses=[(S.REJECTED, nov(20, 16))],
            first_response_due_at=nov(20, 19),
            first_response_at=nov(20, 16),
        )
        make_rma(
            session,
            n["R8"],
            nov(22, 20),
            lines=[(*psu, 3)],
            status=S.REQUESTED,
            channel=Channel.EMAIL,
            reason=Reason.NO_LONGER_NEEDED,
            first_response_due_at=nov(23, 12),
        )
        make_rma(
            session,
            n["R9"],
            t(10, 20, 10),
            lines=[(*fan, 1)],
            status=S.CLOSED,
            refund_released_at=t(10, 26),
            statuses=[
                (S.AUTHORISED, t(10, 20, 11)),
                (S.RECEIVED, t(10, 25)),
                (S.DISPUTED, t(10, 25, 1)),
                (S.CLOSED, t(10, 27)),
            ],
        )
        make_rma(
            session,
            n["R10"],
            t(10, 19, 10),
            lines=[(*cab, 1)],
            priority=Priority.LOW,
            refund_released_at=t(10, 25, 23, 59, 59),
        )
        make_rma(
            session,
            n["R11"],
            t(10, 28, 10),
            lines=[(*fan, 1)],
            channel=Channel.PHONE,
            refund_released_at=nov(2, 10),
        )
        parcel(session, n["R11"], [(TrackingStatus.DELIVERED, nov(4, 10))])
        make_rma(
            session,
            n["R12"],
            nov(23, 1),
            lines=[(*fan, 1)],
            refund_released_at=nov(23, 5),
        )
        make_rma(
            session,
            n["R13"],
            t(10, 30, 12),
            lines=[(*psu, 1)],
            channel=Channel.EMAIL,
            resolution=Resolution.REPLACEMENT,
            replacement_shipped_at=nov(2),
        )
        session.commit()
    return numbers
