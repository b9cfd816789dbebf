"""The nightly recompute writes the fill-rate plan (class, forecast, target, level, expected
fill rate, stock value) from the ledger's monthly demand, on SQLite and PostgreSQL."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.clock import FrozenClock
from core.errors import InvalidInput
from inventory.commands import IssueStock
from inventory.ledger import find_part
from inventory.services import InventoryService
from purchasing.models import PlanningTradeoff, ReorderPolicy
from purchasing.reorder.formulas import ReorderSettings
from purchasing.reorder.planned import monthly_demand, recompute_demand
from purchasing.reorder.queries import demand_by_part, demand_window
from purchasing.services import ReorderService
from purchasing.status import ReorderMethod
from tests.support.planning_ledger import BIN, NOW, seed_plan_ledger


@pytest.fixture
def ledger(inventory: InventoryService, clock: FrozenClock) -> InventoryService:
    seed_plan_ledger(inventory, clock)
    return inventory


def service(
    session_factory: sessionmaker[Session], clock: FrozenClock, **settings: object
) -> ReorderService:
    return ReorderService(session_factory, clock, ReorderSettings(**settings))  # type: ignore[arg-type]


def poisson_short(mean: float, level: int) -> float:
    """E[(D - S)^+] of a Poisson D, summed directly (independent of the engine's stepping)."""
    total, pmf = 0.0, math.exp(-mean)
    for units in range(200):
        if units > level:
            total += (units - level) * pmf
        pmf *= mean / (units + 1)
    return total


def test_the_recompute_writes_class_forecast_and_method_per_part(
    ledger: InventoryService, session_factory: sessionmaker[Session], clock: FrozenClock
) -> None:
    reorder = service(session_factory, clock)
    reorder.recompute()
    busy, slow, late, lumpy = (
        reorder.get_policy(s) for s in ("BUSY-1", "SLOW-1", "LATE-1", "LUMPY-1")
    )
    # BUSY-1: 2 every month of 2024-11 .. 2026-10: smooth, ADI 24/24, CV² 0; SES of a constant.
    assert (busy.demand_class, busy.demand_adi, busy.demand_cv2) == (
        "smooth",
        Decimal("1"),
        Decimal("0"),
    )
    assert (busy.forecast_per_month, busy.forecast_method) == (Decimal("2.0000"), "ses")
    # SLOW-1: one unit in the 23rd month: intermittent, ADI 24; SBA: z = 1, p = 23, x 0.95.
    assert (slow.demand_class, slow.demand_adi, slow.forecast_method) == (
        "intermittent",
        Decimal("24"),
        "sba",
    )
    assert slow.forecast_per_month == Decimal("0.0413")  # 0.95 / 23 = 0.04130
    assert late.forecast_per_month == Decimal("0.1583")  # 0.95 x 4 / 24
    # LUMPY-1: 1 in month 0, 9 in month 12: sizes 1 and 9, CV² = 16 / 25; TSB fades it.
    assert (lumpy.demand_class, lumpy.demand_cv2, lumpy.forecast_method) == (
        "lumpy",
        Decimal("0.64"),
        "tsb",
    )
    probability = 1.0  # first demand in the first month: pi = 1 / 1, z = 1
    for month in range(1, 24):
        probability += 0.1 * ((1.0 if month == 12 else 0.0) - probability)
    size = 1 + 0.1 * (9 - 1)
    assert lumpy.forecast_per_month == Decimal(str(round(probability * size, 4)))
    assert float(lumpy.forecast_per_month) < 0.3  # 10 units in 24 months, none for a year
    assert all(p.fill_rate_target_used == Decimal("0.95") for p in (busy, slow, late, lumpy))
    # Manual parts keep their points; the plan is advice.
    assert (busy.method, busy.reorder_point, busy.reorder_qty) == (ReorderMethod.MANUAL, 1, 1)


def test_targets_per_class_category_and_part_are_applied(
    ledger: InventoryService, session_factory: sessionmaker[Session], clock: FrozenClock
) -> None:
    reorder = service(session_factory, clock)
    reorder.set_target("buyer", "class", "smooth", Decimal("0.99"))
    reorder.set_target("buyer", "category", "Cables", Decimal("0.97"))
    reorder.set_target("buyer", "default", "", Decimal("0.85"))
    reorder.update_policy("SLOW-1", {"fill_rate_target": Decimal("0.9")})
    reorder.recompute()
    used = {s: reorder.get_policy(s) for s in ("BUSY-1", "SLOW-1", "LATE-1", "LUMPY-1")}
    assert {s: p.fill_rate_target_used for s, p in used.items()} == {
        "BUSY-1": Decimal("0.99"),  # its class
        "SLOW-1": Decimal("0.9"),  # its own
        "LATE-1": Decimal("0.97"),  # its category beats its class's default
        "LUMPY-1": Decimal("0.85"),  # the buyer's default
    }
    # BUSY-1 alone at 0.99, lead time 0: Poisson(2) over one month, the smallest S with
    # E[(D - S)^+] <= 0.01 x 2: S = 5 leaves 0.0224, S = 6 leaves 0.0058.
    assert poisson_short(2, 5) > 0.02 >= poisson_short(2, 6)
    busy = used["BUSY-1"]
    assert busy.planned_level == 6
    assert busy.expected_fill_rate == Decimal(str(round(1 - poisson_short(2, 6) / 2, 4)))
    # Stock it costs: expected end-of-month on hand S - mu + E[(D - S)^+] at 1.50.
    expected_value = (6 - 2 + poisson_short(2, 6)) * 1.5
    assert abs(float(busy.planned_stock_value) - expected_value) < 0.01
    for policy in used.values():
        assert policy.expected_fill_rate >= policy.fill_rate_target_used  # each alone in its group
    with pytest.raises(InvalidInput):
        reorder.set_target("buyer", "class", "wobbly", Decimal("0.9"))
    with pytest.raises(InvalidInput):
        reorder.set_target("buyer", "default", "", Decimal("1.2"))
    assert reorder.set_target("buyer", "category", "Cables", None) is None  # removed
    assert {(t.scope, t.key) for t in reorder.targets()} == {("class", "smooth"), ("default", "")}


def test_the_floor_keeps_stock_of_a_dear_slow_part_with_recent_demand(
    ledger: InventoryService, session_factory: sessionmaker[Session], clock: FrozenClock
) -> None:
    without = service(session_factory, clock, planning_floor=0)
    without.set_target("buyer", "default", "", Decimal("0.9"))  # one target for all parts
    without.recompute()
    # One target for all: SLOW-1 (50,000 a unit, 1 unit in 24 months) gets nothing: the
    # cheap parts reach 90 % of all units for far less money.
    assert without.get_policy("SLOW-1").planned_level == 0
    assert without.get_policy("SLOW-1").expected_fill_rate == Decimal("0")
    with_floor = service(session_factory, clock, planning_floor=1)
    with_floor.recompute()
    slow = with_floor.get_policy("SLOW-1")
    assert slow.planned_level == 1
    assert Decimal("0") < slow.expected_fill_rate < Decimal("1")
    # On the shelf at month end: 1 - 2 x 1/6 (last 6 months' mean, over lead time + a month)
    # + E[(D - 1)^+] (0.0833): 0.75 units of 50,000.
    assert slow.planned_stock_value == Decimal("37500.00")
    # LUMPY-1 had no demand in the last 12 months: no floor for it.
    assert (
        with_floor.get_policy("LUMPY-1").planned_level
        == without.get_policy("LUMPY-1").planned_level
    )


def test_the_planned_method_sets_point_and_quantity_from_the_level(
    ledger: InventoryService, session_factory: sessionmaker[Session], clock: FrozenClock
) -> None:
    reorder = service(session_factory, clock)
    reorder.set_target("buyer", "class", "smooth", Decimal("0.99"))
    reorder.update_policy("BUSY-1", {"method": ReorderMethod.PLANNED, "pack_size": 5})
    reorder.update_policy("LATE-1", {"method": ReorderMethod.COMPUTED})
    summary = reorder.recompute()
    busy = reorder.get_policy("BUSY-1")
    # Level 6, forecast 2 a month: quantity 2 -> point 6 - 2 = 4; packs of 5 -> 5; safety
    # 6 - forecast over lead time + a month (2) = 4.
    assert (busy.planned_level, busy.reorder_point, busy.safety_stock, busy.reorder_qty) == (
        6,
        4,
        4,
        5,
    )
    late = reorder.get_policy("LATE-1")  # computed: the daily formula, as before
    assert (late.reorder_point, late.reorder_qty) == (
        late.suggested_reorder_point,
        late.suggested_reorder_qty,
    )
    assert summary.points_applied == 2
    again = reorder.recompute()
    assert again.points_applied == 0  # nothing changed: nothing written


def test_the_trade_off_is_stored_and_a_rerun_writes_nothing(
    ledger: InventoryService, session_factory: sessionmaker[Session], clock: FrozenClock
) -> None:
    reorder = service(session_factory, clock)
    reorder.recompute()
    points = reorder.tradeoff()
    assert [p.target for p in points] == [Decimal(f"0.{t}") for t in range(80, 100)]
    assert all(p.expected_fill_rate >= p.target for p in points)
    values = [p.stock_value for p in points]
    assert values == sorted(values) and values[-1] > values[0]
    assert points[0].parts == 4
    clock.advance(__import__("datetime").timedelta(hours=1))
    reorder.recompute()
    assert [p.computed_at for p in reorder.tradeoff()] == [p.computed_at for p in points]
    with session_factory() as session:
        assert len(session.scalars(select(PlanningTradeoff)).all()) == 20
        stored = session.get(ReorderPolicy, find_part(session, "BUSY-1").id)  # type: ignore[union-attr]
        assert stored is not None and stored.demand_class == "smooth"


def test_planning_can_be_switched_off(
    ledger: InventoryService, session_factory: sessionmaker[Session], clock: FrozenClock
) -> None:
    reorder = service(session_factory, clock, planning=False)
    reorder.recompute()
    assert reorder.get_policy("BUSY-1").demand_class is None
    assert reorder.tradeoff() == []


def test_one_read_of_the_ledger_gives_the_daily_and_the_monthly_demand(
    ledger: InventoryService, session_factory: sessionmaker[Session], clock: FrozenClock
) -> None:
    # Two issues on one day of the window (one daily total, squared once), one today (in
    # neither: not a whole day, not a whole month).
    for hour in (8, 17):
        clock.set(datetime(2026, 11, 20, hour, 0, tzinfo=UTC))
        ledger.issue("ann", IssueStock(sku="BUSY-1", location=BIN, qty=3, reference="REPAIR"))
    clock.set(NOW)
    ledger.issue("ann", IssueStock(sku="BUSY-1", location=BIN, qty=3, reference="REPAIR"))
    with session_factory() as session:
        for days in (10, 90, 700, 3650):
            start, end = demand_window(NOW, days)
            daily, monthly = recompute_demand(session, NOW, start, end)
            assert daily == demand_by_part(session, start, end)
            assert monthly == monthly_demand(session, NOW)
        busy = find_part(session, "BUSY-1").id
        assert daily[busy] == (30 * 2 + 6, 30 * 2 * 2 + 6 * 6)  # 30 months of 2; 6 on 11-20
