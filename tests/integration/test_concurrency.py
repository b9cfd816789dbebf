"""Concurrent stock operations on PostgreSQL: no oversell, no deadlock, a ledger that verifies.

Every worker is a thread making its own service call, so its own session, connection and
transaction; a barrier releases them together. SQLite serialises writers on one file lock,
so these proofs run on PostgreSQL only (they skip without ``SPAREFLOW_TEST_DATABASE_URL``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from core.errors import DomainError
from inventory.commands import IssueStock, ReceiveStock, ReserveStock, TransferStock
from inventory.errors import InsufficientStock
from inventory.models import Location, Reservation, StockLevel, StockMove
from inventory.reserving import ReservedLine
from inventory.services import InventoryService
from inventory.status import MoveKind, ReservationStatus

pytestmark = [
    pytest.mark.postgres_only,
    # Only the PostgreSQL variant of conftest's database fixtures.
    pytest.mark.parametrize("database_url", ["postgresql"], indirect=True),
]

WORKERS = 20
BIN, OTHER_BIN = "MAIN/A-01-01", "MAIN/A-01-02"  # `stocked` puts 10 of ABC-1 in BIN


def run_together(workers: int, work: Callable[[int], Any]) -> list[Any]:
    """Run ``work(0..workers-1)`` on as many threads, released at once by a barrier.

    A worker's domain refusal is returned as its outcome; any other error (a deadlock, a
    constraint violation) fails the test.
    """
    barrier = threading.Barrier(workers)

    def worker(number: int) -> Any:
        barrier.wait(timeout=30)
        try:
            return work(number)
        except DomainError as refusal:
            return refusal

    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(worker, number) for number in range(workers)]
        return [future.result(timeout=120) for future in futures]


def level(session_factory: sessionmaker[Session], location: str) -> tuple[int, int]:
    with session_factory() as session:
        row = session.execute(
            select(StockLevel.on_hand, StockLevel.reserved)
            .join(Location, Location.id == StockLevel.location_id)
            .where(Location.code == location)
        ).one_or_none()
    return (row.on_hand, row.reserved) if row else (0, 0)


def moves_of(session_factory: sessionmaker[Session], kind: MoveKind) -> int:
    with session_factory() as session:
        return session.scalar(
            select(func.count()).select_from(StockMove).where(StockMove.kind == kind)
        )


def only_refusals_for_stock(refusals: list[DomainError]) -> bool:
    return all(
        isinstance(refusal, InsufficientStock) and refusal.code == "insufficient_stock"
        for refusal in refusals
    )


@pytest.mark.parametrize("location", [BIN, None], ids=["at-the-bin", "anywhere"])
def test_twenty_concurrent_reservations_for_ten_units_reserve_exactly_ten(
    stocked: InventoryService,
    session_factory: sessionmaker[Session],
    location: str | None,
) -> None:
    outcomes = run_together(
        WORKERS,
        lambda number: stocked.reserve(
            f"desk-{number}",
            ReserveStock(sku="ABC-1", qty=1, location=location, reference=f"RMA-{number}"),
        ),
    )

    reservations = [o for o in outcomes if isinstance(o, ReservedLine)]
    refusals = [o for o in outcomes if isinstance(o, DomainError)]
    assert (len(reservations), len(refusals)) == (10, 10)
    assert only_refusals_for_stock(refusals)
    assert {r.location for r in reservations} == {BIN}
    assert {r.status for r in reservations} == {ReservationStatus.ACTIVE}
    assert level(session_factory, BIN) == (10, 10)
    with session_factory() as session:  # the losers left no reservation behind
        stored = session.scalars(select(Reservation.id)).all()
    assert sorted(stored) == sorted(r.id for r in reservations)
    assert moves_of(session_factory, MoveKind.RESERVE) == 10
    assert stocked.verify_levels() == []


def test_twenty_concurrent_issues_of_ten_units_issue_exactly_ten(
    stocked: InventoryService,
    session_factory: sessionmaker[Session],
) -> None:
    outcomes = run_together(
        WORKERS,
        lambda number: stocked.issue(
            f"tech-{number}",
            IssueStock(sku="ABC-1", location=BIN, qty=1, reference=f"REPAIR-{number}"),
        ),
    )

    issued = [o for o in outcomes if isinstance(o, StockMove)]
    refusals = [o for o in outcomes if isinstance(o, DomainError)]
    assert (len(issued), len(refusals)) == (10, 10)
    assert only_refusals_for_stock(refusals)
    assert level(session_factory, BIN) == (0, 0)
    assert moves_of(session_factory, MoveKind.ISSUE) == 10
    assert stocked.verify_levels() == []


def shuttle(inventory: InventoryService, number: int, rounds: int) -> list[Any]:
    """``rounds`` transfers of 1 to 3 units; even workers move BIN -> OTHER_BIN, odd ones back."""
    source, target = (BIN, OTHER_BIN) if number % 2 == 0 else (OTHER_BIN, BIN)
    outcomes: list[Any] = []
    for _ in range(rounds):
        try:
            outcomes.append(
                inventory.transfer(
                    f"picker-{number}",
                    TransferStock(
                        sku="ABC-1", from_location=source, to_location=target, qty=1 + number % 3
                    ),
                )
            )
        except DomainError as refusal:
            outcomes.append(refusal)
    return outcomes


def assert_transfers_conserved_stock(
    inventory: InventoryService, session_factory: sessionmaker[Session], outcomes: list[Any]
) -> None:
    """Both bins started with 10: what they hold now is exactly what the transfers moved."""
    moves = [o for o in outcomes if isinstance(o, StockMove)]
    refusals = [o for o in outcomes if isinstance(o, DomainError)]
    assert len(moves) + len(refusals) == len(outcomes)
    assert only_refusals_for_stock(refusals)
    assert moves, "no transfer got through"
    net_into_other = sum(m.qty if m.to_location.code == OTHER_BIN else -m.qty for m in moves)
    assert level(session_factory, BIN) == (10 - net_into_other, 0)
    assert level(session_factory, OTHER_BIN) == (10 + net_into_other, 0)
    assert moves_of(session_factory, MoveKind.TRANSFER) == len(moves)
    assert inventory.verify_levels() == []


def test_concurrent_opposite_transfers_neither_deadlock_nor_lose_stock(
    stocked: InventoryService,
    session_factory: sessionmaker[Session],
) -> None:
    stocked.receive("ann", ReceiveStock(sku="ABC-1", location=OTHER_BIN, qty=10))
    rounds = 5

    outcomes = run_together(WORKERS, lambda number: shuttle(stocked, number, rounds))

    flat = [o for worker in outcomes for o in worker]
    assert len(flat) == WORKERS * rounds
    assert_transfers_conserved_stock(stocked, session_factory, flat)


def test_verify_while_stock_moves_sees_one_consistent_snapshot(
    stocked: InventoryService,
    session_factory: sessionmaker[Session],
) -> None:
    stocked.receive("ann", ReceiveStock(sku="ABC-1", location=OTHER_BIN, qty=10))
    verifiers = 4
    shuttles_running = WORKERS - verifiers
    counting = threading.Lock()
    shuttles_done = threading.Event()

    def work(number: int) -> Any:
        nonlocal shuttles_running
        if number < verifiers:  # verify again and again until every shuttle has finished
            differences = []
            while not shuttles_done.is_set():
                differences.extend(stocked.verify_levels())
            return differences
        try:
            return shuttle(stocked, number, rounds=10)
        finally:
            with counting:
                shuttles_running -= 1
                if shuttles_running == 0:
                    shuttles_done.set()

    outcomes = run_together(WORKERS, work)

    # A move committed between reading the ledger and reading the levels is no difference.
    assert outcomes[:verifiers] == [[]] * verifiers
    assert_transfers_conserved_stock(
        stocked, session_factory, [o for worker in outcomes[verifiers:] for o in worker]
    )


def test_repair_while_stock_moves_neither_deadlocks_nor_finds_differences(
    stocked: InventoryService,
    session_factory: sessionmaker[Session],
) -> None:
    stocked.receive("ann", ReceiveStock(sku="ABC-1", location=OTHER_BIN, qty=10))
    repairers = 4

    def work(number: int) -> Any:
        if number < repairers:
            return [stocked.repair_levels() for _ in range(10)]
        return shuttle(stocked, number, rounds=5)

    outcomes = run_together(WORKERS, work)

    assert outcomes[:repairers] == [[[]] * 10] * repairers
    assert_transfers_conserved_stock(
        stocked, session_factory, [o for worker in outcomes[repairers:] for o in worker]
    )
