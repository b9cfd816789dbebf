"""Backorders under concurrency on PostgreSQL: many receipts (plain and against a purchase
order, into two bins) while many replacements wait, and authorisations racing receipts.

Every unit is reserved exactly once, the backorders filled are exactly the first ones in
promise order, nothing deadlocks, and the ledger still verifies. (SQLite serialises writers,
so these run on PostgreSQL only; they skip without ``SPAREFLOW_TEST_DATABASE_URL``.)
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from core.errors import DomainError
from inventory.commands import ReceiveStock
from inventory.models import Location, Part, Reservation, StockLevel
from inventory.status import PICKABLE_KINDS, ReservationStatus
from purchasing.commands import ReceiptLine, ReceivePurchaseOrder
from returns.rma import Replacement
from returns.status import Channel, Priority, Reason, ReplacementStatus, Resolution
from tests.integration import test_backorders
from tests.integration.test_backorders import BIN, OTHER_BIN, PART, TODAY, backorder, sent_order
from tests.integration.test_concurrency import run_together
from tests.support import desk as builders

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.parametrize("database_url", ["postgresql"], indirect=True),
]

WORKERS = 20
#: The returns desk of the backorder tests (a fixture), with PSU-65 out of stock.
desk = test_backorders.desk
PRIORITIES = [Priority.LOW, Priority.URGENT, Priority.MEDIUM, Priority.HIGH, Priority.MEDIUM]
RANK = {Priority.URGENT: 0, Priority.HIGH: 1, Priority.MEDIUM: 2, Priority.LOW: 3}


def free_stock(session_factory: Any) -> int:
    with session_factory() as session:
        return int(
            session.scalar(
                select(func.coalesce(func.sum(StockLevel.on_hand - StockLevel.reserved), 0))
                .join(Location, Location.id == StockLevel.location_id)
                .join(Part, Part.id == StockLevel.part_id)
                .where(Location.kind.in_(PICKABLE_KINDS), Part.sku == PART)
            )
        )


def replacements(session_factory: Any) -> dict[str, Replacement]:
    """The PSU-65 replacements by RMA number (each RMA has one)."""
    with session_factory() as session:
        rows = session.execute(
            select(Replacement, Replacement.rma.property.mapper.class_.number)
            .join(Replacement.rma)
            .where(Replacement.sku == PART)
        ).all()
        return {number: replacement for replacement, number in rows}


def assert_each_unit_reserved_once(desk: dict[str, Any], session_factory: Any) -> list[str]:
    """Queued replacements each hold their own active reservation of their quantity, and
    those reservations are all the part's reserved stock. Returns the queued RMA numbers."""
    queued = {
        number: r
        for number, r in replacements(session_factory).items()
        if r.status is ReplacementStatus.QUEUED
    }
    with session_factory() as session:
        active = {
            r.id: r
            for r in session.scalars(
                select(Reservation).where(
                    Reservation.status == ReservationStatus.ACTIVE, Reservation.part.has(sku=PART)
                )
            )
        }
        reserved = (
            session.scalar(
                select(func.sum(StockLevel.reserved))
                .join(Part, Part.id == StockLevel.part_id)
                .where(Part.sku == PART)
            )
            or 0
        )
    assert len({r.reservation_id for r in queued.values()}) == len(queued)
    for number, replacement in queued.items():
        reservation = active[replacement.reservation_id]
        assert (reservation.qty, reservation.reference) == (replacement.qty, number)
    assert sum(r.qty for r in queued.values()) == reserved == sum(r.qty for r in active.values())
    assert desk["inventory"].verify_levels() == []
    return list(queued)


def test_many_receipts_while_many_wait_fill_each_unit_once_in_promise_order(
    desk, clock, session_factory
) -> None:
    waiting = []  # (rank, age, number)
    for age in range(WORKERS):
        priority = PRIORITIES[age % len(PRIORITIES)]
        number, _ = backorder(desk, priority=priority)
        waiting.append((RANK[priority], age, number))
        clock.advance(timedelta(minutes=1))
    promise_order = [number for *_, number in sorted(waiting)]
    order = sent_order(desk, 4)
    # 10 plain receipts into two bins and 4 receipts against one order: 14 units arrive.
    plain, against_order = 10, 4

    def work(worker: int) -> Any:
        if worker < plain:
            location = BIN if worker % 2 == 0 else OTHER_BIN
            return desk["inventory"].receive(
                f"goods-in-{worker}", ReceiveStock(sku=PART, location=location, qty=1)
            )
        if worker < plain + against_order:
            return desk["purchasing"].receive(
                f"goods-in-{worker}",
                ReceivePurchaseOrder(
                    number=order, lines=(ReceiptLine(sku=PART, qty=1),), location=OTHER_BIN
                ),
            )
        # The other workers look at the pick queue meanwhile (readers never block fillers).
        return desk["queries"].pick_queue()

    outcomes = run_together(WORKERS, work)

    assert not [o for o in outcomes if isinstance(o, DomainError)]
    queued = assert_each_unit_reserved_once(desk, session_factory)
    units = plain + against_order
    assert sorted(queued) == sorted(promise_order[:units])
    assert free_stock(session_factory) == 0
    still_waiting = {
        number
        for number, r in replacements(session_factory).items()
        if r.status is ReplacementStatus.BACKORDERED
    }
    assert still_waiting == set(promise_order[units:])


def test_authorisations_racing_receipts_leave_no_unit_free_beside_a_backorder(
    desk, clock, session_factory
) -> None:
    """Half the workers authorise replacements (each finds no stock, or some just arrived),
    half receive one unit: however they interleave, every replacement ends up reserved."""
    half = WORKERS // 2
    numbers = [
        builders.open_rma(
            desk["returns"],
            "desk@x.example",
            customer={"name": f"Customer {n}", "email": f"c{n}@example.com"},
            channel=Channel.EMAIL,
            reason=Reason.DEFECTIVE,
            resolution=Resolution.REPLACEMENT,
            purchase_date=TODAY - timedelta(days=10),
            lines=[{"sku": PART, "qty": 1, "unit_price": Decimal("40")}],
        ).number
        for n in range(half)
    ]

    def work(worker: int) -> Any:
        if worker < half:
            return builders.authorise(
                desk["returns"],
                "desk@x.example",
                numbers[worker],
                carrier="sandbox",
                tracking_number=f"SBXRACE{worker}",
            )
        location = BIN if worker % 2 == 0 else OTHER_BIN
        return desk["inventory"].receive(
            f"goods-in-{worker}", ReceiveStock(sku=PART, location=location, qty=1)
        )

    outcomes = run_together(WORKERS, work)

    assert not [o for o in outcomes if isinstance(o, DomainError)]
    queued = assert_each_unit_reserved_once(desk, session_factory)
    assert sorted(queued) == sorted(numbers)
    assert free_stock(session_factory) == 0
