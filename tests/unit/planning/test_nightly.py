"""The nightly plan's pure parts: forecast by class, targets, lead time in months, the
allocation's trade-off and floor, and the planned method's point and quantity."""

from __future__ import annotations

import math
import random
from decimal import Decimal

import pytest

from purchasing.planning.allocation import PlanPart, allocate
from purchasing.planning.classification import DemandClass
from purchasing.planning.forecasts import sba, ses, tsb
from purchasing.planning.nightly import (
    PlanFigures,
    PlanInput,
    forecast,
    lead_time_months,
    plan,
    resolve_target,
)
from purchasing.reorder.planned import (
    PLAN_FIELDS,
    month_keys,
    plan_stored,
    plan_values,
    planned_point,
)


def test_the_forecast_fits_the_class() -> None:
    smooth = [3, 2, 4, 3]
    assert forecast(smooth, DemandClass.SMOOTH) == (ses(smooth, 0.1), "ses")
    assert forecast(smooth, DemandClass.ERRATIC)[1] == "ses"
    spare = [0, 0, 4, 0, 0, 2]
    assert forecast(spare, DemandClass.INTERMITTENT) == (sba(spare, 0.1), "sba")
    assert forecast(spare, DemandClass.LUMPY) == (tsb(spare, 0.1, 0.1), "tsb")
    assert forecast([0, 0], DemandClass.NONE) == (0.0, "none")
    # TSB fades a part whose demand stopped: 12 quiet months cut it by 0.9^12 (SBA stays).
    dying = [5] * 12 + [0] * 12
    assert forecast(dying, DemandClass.LUMPY)[0] == pytest.approx(5 * 0.9**12)
    assert forecast(dying, DemandClass.INTERMITTENT)[0] == pytest.approx(0.95 * 5)


@pytest.mark.parametrize(("days", "months"), [(0, 0), (1, 1), (14, 1), (30, 1), (31, 2), (75, 3)])
def test_lead_times_round_up_to_whole_months(days: int, months: int) -> None:
    assert lead_time_months(days) == months


def test_a_target_is_the_parts_then_categorys_then_classs_then_the_default() -> None:
    targets = {("class", "lumpy"): 0.9, ("category", "Engines"): 0.99, ("default", ""): 0.85}
    assert resolve_target(0.8, "Engines", "lumpy", targets, 0.95) == 0.8
    assert resolve_target(None, "Engines", "lumpy", targets, 0.95) == 0.99
    assert resolve_target(None, "Cables", "lumpy", targets, 0.95) == 0.9
    assert resolve_target(None, None, "smooth", targets, 0.95) == 0.85
    assert resolve_target(None, None, "smooth", {}, 0.95) == 0.95


def test_the_trade_off_rises_and_its_levels_are_the_targets_levels() -> None:
    parts = [
        PlanPart((0, 0, 3, 0, 0, 5) * 4, 1, 10.0),
        PlanPart((1, 2, 1, 3, 2, 1) * 4, 1, 1.0),
        PlanPart((0,) * 20 + (2, 0, 0, 1), 2, 400.0),
    ]
    targets = [0.8, 0.85, 0.9, 0.95, 0.99]
    _, points = allocate(parts, 0.99, targets)
    assert [p.target for p in points] == targets
    assert all(p.expected_fill_rate >= p.target for p in points)
    assert [p.stock_value for p in points] == sorted(p.stock_value for p in points)
    for point in points:  # the same allocation stopped at each target gives the same figures
        levels, _ = allocate(parts, point.target)
        value = sum(
            level.expected_on_hand * part.price for level, part in zip(levels, parts, strict=True)
        )
        assert value == pytest.approx(point.stock_value)
        mean = sum(level.mean for level in levels)
        served = sum(level.mean * level.expected_fill_rate for level in levels)  # type: ignore[operator]
        assert served / mean == pytest.approx(point.expected_fill_rate)


def test_the_floor_raises_a_dear_slow_part_with_recent_demand_only() -> None:
    cheap = PlanPart((2,) * 24, 0, 1.0)
    dear = PlanPart((0,) * 23 + (1,), 0, 100_000.0, floor=1)
    levels, _ = allocate([cheap, PlanPart(dear.demand, 0, dear.price)], 0.8)
    assert levels[1].level == 0
    floored, _ = allocate([cheap, dear], 0.8)
    assert floored[1].level == 1
    assert floored[0].level == levels[0].level  # the floor comes after the allocation
    figures, _ = plan(
        [PlanInput(1, (2,) * 24, 0, 1.0), PlanInput(2, (0,) * 23 + (1,), 0, 100_000.0),
         PlanInput(3, (1,) + (0,) * 23, 0, 100_000.0)],
        lambda part, kind: 0.8, floor=1, floor_months=12,
    )  # fmt: skip
    assert (figures[2].level, figures[2].floored) == (1, True)
    assert (figures[3].level, figures[3].floored) == (0, False)  # no demand in 12 months


@pytest.mark.parametrize(
    ("level", "forecast", "lead", "pack", "moq", "expected"),
    [
        (0, 2.0, 10, 1, 0, (0, 0, 0)),
        (1, 0.2, 10, 1, 0, (1, 0, 1)),  # the least point the reorder rules act on
        (6, 2.0, 0, 5, 0, (4, 4, 5)),  # Q 2 -> point 4; safety 6 - 2; packs of 5
        (10, 2.4, 45, 1, 8, (7, 2, 8)),  # Q 3, point 7; 45 days: 2 months, cover 2.4 x 3 -> 8
        # so safety 10 - 8; the quantity raised to the minimum order 8
        (3, 9.0, 0, 1, 0, (1, 0, 2)),  # Q at most S - 1
    ],
)
def test_a_planned_level_becomes_point_safety_and_quantity(
    level: int, forecast: float, lead: int, pack: int, moq: int, expected: tuple[int, int, int]
) -> None:
    assert planned_point(level, forecast, lead, pack, moq) == expected


def test_month_keys_are_the_whole_months_before_now() -> None:
    from datetime import UTC, datetime

    keys = month_keys(datetime(2026, 1, 5, tzinfo=UTC), 3)
    assert keys == ["2025-10", "2025-11", "2025-12"]
    assert len(month_keys(datetime(2026, 11, 23, tzinfo=UTC))) == 24


def test_a_stored_plan_is_recognised_as_plan_values_would_write_it() -> None:
    """The recompute skips the parts whose stored plan is unchanged by comparing floats,
    not Decimals: equal exactly when the Decimals are, also next to rounding boundaries."""
    rng = random.Random(19)
    for case in range(3000):
        scale = rng.choice([1e-5, 0.01, 1.0, 30.0, 1e4, 1e8])
        value = rng.random() * scale
        if case % 2:  # on (or a float away from) a half of the last place kept
            value = (math.floor(value * 1e4) + 0.5) / 1e4 + rng.choice([-1, 0, 1]) * 1e-17 * value
        figures = PlanFigures(
            DemandClass.LUMPY, 1 + value, value, value, "tsb", rng.uniform(0.5, 0.999),
            rng.randint(0, 50), rng.uniform(-0.1, 1.1), value * 100, False,
        )  # fmt: skip
        stored = [plan_values(figures)[name] for name in PLAN_FIELDS]
        assert plan_stored(figures, stored)
        for index, step in ((1, "0.0001"), (2, "0.0001"), (3, "0.0001"), (5, "0.0001"),
                            (7, "0.0001"), (8, "0.01"), (6, 1)):  # fmt: skip
            changed = list(stored)
            changed[index] += step if isinstance(step, int) else Decimal(step)
            assert not plan_stored(figures, changed), (case, PLAN_FIELDS[index])
    empty = PlanFigures(DemandClass.NONE, None, None, 0.0, "none", 0.95, 0, None, 0.0, False)
    stored = [plan_values(empty)[name] for name in PLAN_FIELDS]
    assert plan_stored(empty, stored)
    assert not plan_stored(empty, [*stored[:7], Decimal("0.0000"), stored[8]])
    assert not plan_stored(empty, [stored[0], Decimal("24.0000"), *stored[2:]])
    assert not plan_stored(empty, [*stored[:2], Decimal("0.0000"), *stored[3:]])
    assert plan_stored(empty, [None, *stored], 1)  # the plan's columns further on in a row
    assert not plan_stored(figures, [None] * len(PLAN_FIELDS))
