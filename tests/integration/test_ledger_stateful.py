"""Random sequences of stock operations against a real database, checked against a model.

A hypothesis state machine receives, issues, transfers, counts, reserves, releases and issues
reservations of a few parts over a few locations (one of them quarantine) through
:class:`InventoryService`. It keeps its own model of (on hand, reserved) per part and location
and of every reservation. Each operation must succeed exactly when the model says it can and
be refused with the right domain error otherwise; after every step the stored levels, the
reservations and the ledger must agree with the model, and the levels with the ledger.

Every hypothesis example starts from an empty database: a new SQLite file, or the session's
PostgreSQL database truncated.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    MultipleResults,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, aliased, sessionmaker

from core.clock import FrozenClock
from core.db import make_engine, make_session_factory
from core.errors import DomainError, InvalidInput
from inventory.commands import (
    AdjustStock,
    IssueReservedStock,
    IssueStock,
    ReceiveStock,
    ReserveStock,
    TransferStock,
)
from inventory.errors import (
    CountBelowReserved,
    InsufficientStock,
    ReservationMismatch,
    ReservationNotActive,
    ReservationNotFound,
    SameLocation,
)
from inventory.models import Location, Part, Reservation, StockLevel, StockMove
from inventory.reserving import ReservedLine
from inventory.services import InventoryService
from inventory.status import LocationKind, MoveKind, ReservationStatus
from tests.conftest import truncate_all
from tests.support.fresh_databases import sqlite_with_schema

PARTS = ("FAN-80", "PSU-65")
LOCATIONS = {
    "DOCK/IN": LocationKind.RECEIVING,
    "MAIN/A-01": LocationKind.STORAGE,
    "MAIN/B-01": LocationKind.STORAGE,
    "MAIN/QUARANTINE": LocationKind.QUARANTINE,
}
PICKABLE = (LocationKind.STORAGE, LocationKind.RECEIVING)

# Callers may spell SKUs and location codes in any case; the model works in upper case.
sku_spellings = st.sampled_from(PARTS).flatmap(lambda sku: st.sampled_from([sku, sku.lower()]))
location_spellings = st.sampled_from(sorted(LOCATIONS)).flatmap(
    lambda code: st.sampled_from([code, code.lower()])
)
quantities = st.integers(min_value=1, max_value=6)
counts = st.integers(min_value=0, max_value=10)
unknown_reservation_ids = st.integers(min_value=-2, max_value=0) | st.integers(
    min_value=1_000_000, max_value=1_000_003
)

SETTINGS = settings(
    max_examples=25,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# --- a fresh database per hypothesis example ----------------------------------------------


class Databases(Protocol):
    def fresh(self) -> sessionmaker[Session]: ...

    def done_with_example(self) -> None: ...

    def done(self) -> None: ...


class SqliteDatabases:
    """A new SQLite file with the whole schema for each example."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.examples = 0
        self.engine: Engine | None = None

    def fresh(self) -> sessionmaker[Session]:
        self.done_with_example()
        self.examples += 1
        self.engine = make_engine(
            sqlite_with_schema(self.directory / f"example-{self.examples}.db")
        )
        return make_session_factory(self.engine)

    def done_with_example(self) -> None:
        if self.engine is not None:
            self.engine.dispose()
            self.engine = None

    def done(self) -> None:
        self.done_with_example()


class PostgresDatabase:
    """The session's PostgreSQL database, emptied before each example and after the run."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def fresh(self) -> sessionmaker[Session]:
        truncate_all(self.engine)
        return make_session_factory(self.engine)

    def done_with_example(self) -> None:
        pass

    def done(self) -> None:
        truncate_all(self.engine)


# --- the model -----------------------------------------------------------------------------


@dataclass
class Level:
    on_hand: int = 0
    reserved: int = 0

    @property
    def free(self) -> int:
        return self.on_hand - self.reserved


@dataclass
class Held:
    """What the model knows about one reservation."""

    sku: str
    location: str
    qty: int
    status: ReservationStatus = ReservationStatus.ACTIVE


def ledger_machine(databases: Databases) -> type[RuleBasedStateMachine]:
    class StockLedgerMachine(RuleBasedStateMachine):
        reservations = Bundle("reservations")

        def __init__(self) -> None:
            super().__init__()
            self.clock = FrozenClock(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
            self.session_factory = databases.fresh()
            self.inventory = InventoryService(self.session_factory, self.clock)
            for code, kind in LOCATIONS.items():
                self.inventory.create_location(code=code, kind=kind)
            for sku in PARTS:
                self.inventory.create_part(sku=sku, name=f"Part {sku}")
            self.levels: dict[tuple[str, str], Level] = {
                (sku, code): Level() for sku in PARTS for code in LOCATIONS
            }
            self.held: dict[int, Held] = {}
            self.moves = 0

        @initialize(
            stock=st.dictionaries(
                st.tuples(st.sampled_from(PARTS), st.sampled_from(sorted(LOCATIONS))),
                st.integers(min_value=1, max_value=12),
            )
        )
        def opening_stock(self, stock: dict[tuple[str, str], int]) -> None:
            for (sku, location), qty in sorted(stock.items()):
                self.receive(sku, location, qty)

        def teardown(self) -> None:
            databases.done_with_example()

        # --- model helpers ---------------------------------------------------------------

        def level(self, sku: str, location: str) -> Level:
            return self.levels[(sku.upper(), location.upper())]

        def free_to_promise(self, sku: str) -> int:
            return sum(
                self.level(sku, code).free for code, kind in LOCATIONS.items() if kind in PICKABLE
            )

        def moved(self, move: StockMove, kind: MoveKind, qty: int) -> None:
            assert (move.kind, move.qty, move.actor) == (kind, qty, "clerk")
            assert move.created_at == self.clock.now()
            self.moves += 1
            event(f"done: {kind.value}")

        @contextmanager
        def refused(self, error: type[DomainError]) -> Iterator[pytest.ExceptionInfo[DomainError]]:
            """Expect a refusal; what it leaves behind is checked by the invariants."""
            with pytest.raises(error) as refusal:
                yield refusal
            event(f"refused: {refusal.value.code}")

        # --- rules -----------------------------------------------------------------------

        @rule()
        def time_passes(self) -> None:
            self.clock.advance(timedelta(minutes=7))

        @rule(sku=sku_spellings, location=location_spellings, qty=quantities)
        def receive(self, sku: str, location: str, qty: int) -> None:
            move = self.inventory.receive(
                "clerk", ReceiveStock(sku=sku, location=location, qty=qty)
            )
            self.moved(move, MoveKind.RECEIPT, qty)
            assert move.to_location.code == location.upper()
            self.level(sku, location).on_hand += qty

        @rule(sku=sku_spellings, location=location_spellings, qty=quantities)
        def issue(self, sku: str, location: str, qty: int) -> None:
            at = self.level(sku, location)
            if qty > at.free:
                with self.refused(InsufficientStock) as refused:
                    self.inventory.issue("clerk", IssueStock(sku=sku, location=location, qty=qty))
                assert refused.value.details["available"] == at.free
                assert refused.value.details["location"] == location.upper()
                return
            move = self.inventory.issue("clerk", IssueStock(sku=sku, location=location, qty=qty))
            self.moved(move, MoveKind.ISSUE, qty)
            at.on_hand -= qty

        @rule(
            sku=sku_spellings,
            source=location_spellings,
            destination=location_spellings,
            qty=quantities,
        )
        def transfer(self, sku: str, source: str, destination: str, qty: int) -> None:
            command = TransferStock(sku=sku, from_location=source, to_location=destination, qty=qty)
            if source.upper() == destination.upper():
                with self.refused(SameLocation):
                    self.inventory.transfer("clerk", command)
                return
            origin, target = self.level(sku, source), self.level(sku, destination)
            if qty > origin.free:
                with self.refused(InsufficientStock) as refused:
                    self.inventory.transfer("clerk", command)
                assert refused.value.details["available"] == origin.free
                assert refused.value.details["location"] == source.upper()
                return
            move = self.inventory.transfer("clerk", command)
            self.moved(move, MoveKind.TRANSFER, qty)
            assert (move.from_location.code, move.to_location.code) == (
                source.upper(),
                destination.upper(),
            )
            origin.on_hand -= qty
            target.on_hand += qty

        @rule(sku=sku_spellings, location=location_spellings, counted=counts)
        def cycle_count(self, sku: str, location: str, counted: int) -> None:
            self.count(sku, location, counted)

        @rule(
            sku=sku_spellings,
            location=location_spellings,
            difference=st.integers(min_value=-2, max_value=2),
        )
        def cycle_count_near_the_books(self, sku: str, location: str, difference: int) -> None:
            self.count(sku, location, max(0, self.level(sku, location).on_hand + difference))

        @rule(reservation_id=reservations, difference=st.integers(min_value=-2, max_value=2))
        def cycle_count_around_what_is_reserved(self, reservation_id: int, difference: int) -> None:
            held = self.held[reservation_id]
            reserved = self.level(held.sku, held.location).reserved
            self.count(held.sku, held.location.lower(), max(0, reserved + difference))

        def count(self, sku: str, location: str, counted: int) -> None:
            at = self.level(sku, location)
            if counted < at.reserved:
                with self.refused(CountBelowReserved) as refused:
                    self.inventory.adjust(
                        "clerk", AdjustStock(sku=sku, location=location, counted_qty=counted)
                    )
                assert refused.value.details["reserved"] == at.reserved
                return
            move = self.inventory.adjust(
                "clerk", AdjustStock(sku=sku, location=location, counted_qty=counted)
            )
            self.moved(move, MoveKind.ADJUSTMENT, abs(counted - at.on_hand))
            assert (move.counted_qty, move.signed_difference) == (counted, counted - at.on_hand)
            at.on_hand = counted

        @rule(target=reservations, sku=sku_spellings, location=location_spellings, qty=quantities)
        def reserve_at_a_location(
            self, sku: str, location: str, qty: int
        ) -> int | MultipleResults[int]:
            at = self.level(sku, location)
            command = ReserveStock(sku=sku, location=location, qty=qty, reference="RMA")
            if LOCATIONS[location.upper()] not in PICKABLE:
                with self.refused(InvalidInput) as refused:
                    self.inventory.reserve("desk", command)
                assert refused.value.code == "location_not_pickable"
                return multiple()
            if qty > at.free:
                with self.refused(InsufficientStock) as refused:
                    self.inventory.reserve("desk", command)
                assert refused.value.details["available"] == at.free
                return multiple()
            reservation = self.inventory.reserve("desk", command)
            return self.reserved(reservation, sku.upper(), location.upper(), qty)

        @rule(target=reservations, sku=sku_spellings, qty=quantities)
        def reserve_anywhere(self, sku: str, qty: int) -> int | MultipleResults[int]:
            # The pickable location with the most free stock wins; ties go to the lowest code.
            candidates = sorted(
                (-self.level(sku, code).free, code)
                for code, kind in LOCATIONS.items()
                if kind in PICKABLE and self.level(sku, code).free >= qty
            )
            if not candidates:
                with self.refused(InsufficientStock) as refused:
                    self.inventory.reserve("desk", ReserveStock(sku=sku, qty=qty))
                free_in_all = self.free_to_promise(sku)
                assert refused.value.details["available"] == free_in_all
                if free_in_all >= qty:  # enough in all, but a reservation comes from one bin
                    assert refused.value.details["largest_in_one_location"] == max(
                        self.level(sku, code).free
                        for code, kind in LOCATIONS.items()
                        if kind in PICKABLE
                    )
                else:
                    assert "largest_in_one_location" not in refused.value.details
                return multiple()
            reservation = self.inventory.reserve("desk", ReserveStock(sku=sku, qty=qty))
            return self.reserved(reservation, sku.upper(), candidates[0][1], qty)

        def reserved(self, reservation: ReservedLine, sku: str, location: str, qty: int) -> int:
            assert (reservation.sku, reservation.location, reservation.qty) == (
                sku,
                location,
                qty,
            )
            assert reservation.status is ReservationStatus.ACTIVE
            assert reservation.id not in self.held
            self.held[reservation.id] = Held(sku, location, qty)
            self.level(sku, location).reserved += qty
            self.moves += 1
            event("done: reserve")
            return reservation.id

        @rule(reservation_id=reservations)
        def release(self, reservation_id: int) -> None:
            held = self.held[reservation_id]
            if held.status is not ReservationStatus.ACTIVE:
                with self.refused(ReservationNotActive) as refused:
                    self.inventory.release("desk", reservation_id)
                assert refused.value.details["status"] == held.status.value
                return
            released = self.inventory.release("desk", reservation_id)
            assert released.status is ReservationStatus.RELEASED
            assert released.closed_at == self.clock.now()
            held.status = ReservationStatus.RELEASED
            self.level(held.sku, held.location).reserved -= held.qty
            self.moves += 1
            event("done: release")

        @rule(reservation_id=reservations, spelled_out=st.booleans())
        def issue_reservation(self, reservation_id: int, spelled_out: bool) -> None:
            held = self.held[reservation_id]
            command = (
                IssueReservedStock(
                    reservation_id, held.sku.lower(), held.location.lower(), held.qty
                )
                if spelled_out
                else IssueReservedStock(reservation_id)
            )
            if held.status is not ReservationStatus.ACTIVE:
                with self.refused(ReservationNotActive) as refused:
                    self.inventory.issue("clerk", command)
                assert refused.value.details["status"] == held.status.value
                return
            move = self.inventory.issue("clerk", command)
            self.moved(move, MoveKind.RESERVED_ISSUE, held.qty)
            assert move.reservation_id == reservation_id
            assert move.from_location.code == held.location
            held.status = ReservationStatus.ISSUED
            at = self.level(held.sku, held.location)
            at.on_hand -= held.qty
            at.reserved -= held.qty

        @rule(reservation_id=reservations, wrong=st.sampled_from(["sku", "location", "qty"]))
        def issue_reservation_claiming_the_wrong_thing(
            self, reservation_id: int, wrong: str
        ) -> None:
            held = self.held[reservation_id]
            claim = {
                "sku": {"sku": next(sku for sku in PARTS if sku != held.sku)},
                "location": {"location": next(code for code in LOCATIONS if code != held.location)},
                "qty": {"qty": held.qty + 1},
            }[wrong]
            # Checked before the status: a wrong claim is refused even for a closed reservation.
            with self.refused(ReservationMismatch):
                self.inventory.issue("clerk", IssueReservedStock(reservation_id, **claim))

        @rule(reservation_id=unknown_reservation_ids, release=st.booleans())
        def release_or_issue_an_unknown_reservation(
            self, reservation_id: int, release: bool
        ) -> None:
            if release:
                with self.refused(ReservationNotFound):
                    self.inventory.release("desk", reservation_id)
            else:
                with self.refused(InvalidInput) as refused:
                    self.inventory.issue("clerk", IssueReservedStock(reservation_id=reservation_id))
                assert refused.value.code == "unknown_reservation"

        # --- invariants, checked after every step -----------------------------------------

        @invariant()
        def stored_levels_and_reservations_equal_the_model(self) -> None:
            with self.session_factory() as session:
                stored = {
                    (sku, code): (on_hand, reserved)
                    for sku, code, on_hand, reserved in session.execute(
                        select(Part.sku, Location.code, StockLevel.on_hand, StockLevel.reserved)
                        .join(Part, Part.id == StockLevel.part_id)
                        .join(Location, Location.id == StockLevel.location_id)
                    )
                }
                reservation_location = aliased(Location)
                reservations = {
                    id_: (sku, code, qty, status)
                    for id_, sku, code, qty, status in session.execute(
                        select(
                            Reservation.id,
                            Part.sku,
                            reservation_location.code,
                            Reservation.qty,
                            Reservation.status,
                        )
                        .join(Part, Part.id == Reservation.part_id)
                        .join(
                            reservation_location, reservation_location.id == Reservation.location_id
                        )
                    )
                }
                moves = session.scalar(select(func.count()).select_from(StockMove))
            for on_hand, reserved in stored.values():
                assert on_hand >= 0
                assert 0 <= reserved <= on_hand
            for key, expected in self.levels.items():
                assert stored.pop(key, (0, 0)) == (expected.on_hand, expected.reserved), key
            assert stored == {}
            assert reservations == {
                id_: (held.sku, held.location, held.qty, held.status)
                for id_, held in self.held.items()
            }
            assert moves == self.moves

        @invariant()
        def levels_equal_the_rebuilt_ledger(self) -> None:
            assert self.inventory.verify_levels() == []

        @invariant()
        def parts_report_free_stock_only_where_it_can_be_promised(self) -> None:
            for row in self.inventory.list_parts():
                sku = row.part.sku
                assert row.on_hand == sum(self.level(sku, code).on_hand for code in LOCATIONS)
                assert row.reserved == sum(self.level(sku, code).reserved for code in LOCATIONS)
                assert row.available == self.free_to_promise(sku)

    return StockLedgerMachine


def test_random_stock_operations_keep_levels_equal_to_the_model_and_to_the_ledger(
    tmp_path: Path,
) -> None:
    """On SQLite; test_ledger_stateful_postgresql.py runs the same machine on PostgreSQL (a file of
    its own, so that pytest-xdist's ``--dist loadfile`` runs the two on different workers)."""
    databases = SqliteDatabases(tmp_path)
    try:
        run_state_machine_as_test(ledger_machine(databases), settings=SETTINGS)
    finally:
        databases.done()
