"""Random moves of serialised units against a real database: a serial is never in two places.

A hypothesis state machine receives, transfers, issues and scraps units of one serialised part,
named by serials drawn from a small pool (so serials repeat, go out and come back), through
:class:`InventoryService`; some moves name a serial twice, too few serials, or a unit that is
elsewhere. A move succeeds exactly when the model says so and otherwise changes nothing. After
every step: each serial has one row, its place is the model's, the units in stock per location
equal the stock level there, and replaying the serials on the ledger rows gives the same places.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import select
from sqlalchemy.orm import aliased

from core.clock import FrozenClock
from core.errors import DomainError
from inventory.commands import IssueStock, ReceiveStock, ScrapStock, TransferStock
from inventory.errors import InsufficientStock, SerialProblem
from inventory.models import Location, SerialUnit, StockLevel, StockMove
from inventory.services import InventoryService
from inventory.status import LocationKind, MoveKind
from tests.integration.test_ledger_stateful import (
    Databases,
    SqliteDatabases,
)

SKU = "CAM-1"
LOCATIONS = {
    "DOCK/IN": LocationKind.RECEIVING,
    "MAIN/A-01": LocationKind.STORAGE,
    "MAIN/QUARANTINE": LocationKind.QUARANTINE,
}
POOL = tuple(f"SN{n:03d}" for n in range(1, 9))
OUT = ("issued", "scrapped")

SETTINGS = settings(
    max_examples=15,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

named = st.lists(st.sampled_from(POOL), min_size=1, max_size=3)
#: Mostly the right count; sometimes one unit more than the serials named.
extra_units = st.sampled_from([0, 0, 0, 1])
locations = st.sampled_from(sorted(LOCATIONS))


def serial_machine(databases: Databases) -> type[RuleBasedStateMachine]:
    class SerialUnitMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.clock = FrozenClock(datetime(2026, 12, 5, 9, 0, tzinfo=UTC))
            self.session_factory = databases.fresh()
            self.inventory = InventoryService(self.session_factory, self.clock)
            for code, kind in LOCATIONS.items():
                self.inventory.create_location(code=code, kind=kind)
            self.inventory.create_part(sku=SKU, name="Camera", serialised=True)
            #: serial -> a location code, "issued" or "scrapped"; absent: never seen.
            self.place: dict[str, str] = {}

        def teardown(self) -> None:
            databases.done_with_example()

        def _well_formed(self, serials: list[str], extra: int) -> bool:
            return extra == 0 and len(set(serials)) == len(serials)

        def _attempt(self, expect_ok: bool, operation: object, *args: object) -> bool:
            try:
                operation(*args)  # type: ignore[operator]
            except (SerialProblem, InsufficientStock) as refused:
                assert not expect_ok, refused
                event(f"refused: {refused.code}")
                return False
            except DomainError as other:  # pragma: no cover - a failure worth reading
                raise AssertionError(f"unexpected {other.code}: {other.message}") from other
            assert expect_ok, "the move should have been refused"
            return True

        @rule(serials=named, extra=extra_units, location=locations)
        def receive(self, serials: list[str], extra: int, location: str) -> None:
            ok = self._well_formed(serials, extra) and all(
                self.place.get(s, "issued") in OUT for s in serials
            )
            command = ReceiveStock(SKU, location, len(serials) + extra, serials=tuple(serials))
            if self._attempt(ok, self.inventory.receive, "tester", command):
                self.place.update(dict.fromkeys(serials, location))

        @rule(serials=named, extra=extra_units, source=locations, destination=locations)
        def transfer(self, serials: list[str], extra: int, source: str, destination: str) -> None:
            if source == destination:
                return
            ok = self._well_formed(serials, extra) and all(
                self.place.get(s) == source for s in serials
            )
            command = TransferStock(
                SKU, source, destination, len(serials) + extra, serials=tuple(serials)
            )
            if self._attempt(ok, self.inventory.transfer, "tester", command):
                self.place.update(dict.fromkeys(serials, destination))

        @rule(serials=named, extra=extra_units, location=locations, scrap=st.booleans())
        def take_out(self, serials: list[str], extra: int, location: str, scrap: bool) -> None:
            ok = self._well_formed(serials, extra) and all(
                self.place.get(s) == location for s in serials
            )
            qty, names = len(serials) + extra, tuple(serials)
            if scrap:
                done = self._attempt(
                    ok,
                    self.inventory.scrap,
                    "tester",
                    ScrapStock(SKU, location, qty, serials=names),
                )
            else:
                done = self._attempt(
                    ok,
                    self.inventory.issue,
                    "tester",
                    IssueStock(SKU, location, qty, serials=names),
                )
            if done:
                self.place.update(dict.fromkeys(serials, "scrapped" if scrap else "issued"))

        @invariant()
        def every_serial_is_in_one_place_the_models(self) -> None:
            with self.session_factory() as session:
                rows = session.execute(
                    select(SerialUnit.serial, SerialUnit.state, Location.code).outerjoin(
                        Location, Location.id == SerialUnit.location_id
                    )
                ).all()
            serials = [row.serial for row in rows]
            assert len(serials) == len(set(serials))
            stored = {row.serial: row.code or row.state.value for row in rows}
            assert stored == self.place

        @invariant()
        def units_in_stock_match_the_levels_and_the_ledger(self) -> None:
            with self.session_factory() as session:
                levels = {
                    code: on_hand
                    for code, on_hand in session.execute(
                        select(Location.code, StockLevel.on_hand).join(
                            Location, Location.id == StockLevel.location_id
                        )
                    )
                    if on_hand
                }
                source, target = aliased(Location), aliased(Location)
                replayed: dict[str, str] = {}
                for kind, serials, from_code, to_code in session.execute(
                    select(StockMove.kind, StockMove.serials, source.code, target.code)
                    .outerjoin(source, source.id == StockMove.from_location_id)
                    .outerjoin(target, target.id == StockMove.to_location_id)
                    .order_by(StockMove.id)
                ):
                    for serial in (serials or "").split("\n"):
                        if serial:
                            assert kind is MoveKind.RECEIPT or replayed.get(serial) == from_code
                            replayed[serial] = to_code or "out"
            in_stock = {s: p for s, p in self.place.items() if p not in OUT}
            per_location: dict[str, int] = {}
            for code in in_stock.values():
                per_location[code] = per_location.get(code, 0) + 1
            assert per_location == levels
            assert {s: p for s, p in replayed.items() if p != "out"} == in_stock

    return SerialUnitMachine


def test_random_moves_of_serialised_units_never_put_a_serial_in_two_places(tmp_path: Path) -> None:
    """On SQLite; test_serials_stateful_postgresql.py runs the same machine on PostgreSQL (a file of
    its own, so that pytest-xdist's ``--dist loadfile`` runs the two on different workers)."""
    databases = SqliteDatabases(tmp_path)
    try:
        run_state_machine_as_test(serial_machine(databases), settings=SETTINGS)
    finally:
        databases.done()
