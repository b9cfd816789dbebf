"""Order-up-to levels for a target fill rate: worked examples, no look-ahead, the baseline."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from purchasing.planning.backtest import run_backtest
from purchasing.planning.history import ItemHistory, read_history
from purchasing.planning.levels import (
    fill_rate_level,
    lumpy_levels,
    normal_level,
    normal_levels,
    policy,
    safety_factor,
    window_level,
)

RAF = Path("/work/shared/data/raf_spare_parts_odd.csv")


def test_poisson_lead_time_zero() -> None:
    # D ~ Poisson(1), L = 0: units short per month E[(D - S)^+] must be <= 0.1 x 1.
    # S=0: 1; S=1: 1 - P(D>0) = e^-1 = 0.3679; S=2: 0.3679 - (1 - 2/e) = 0.1036;
    # S=3: 0.1036 - (1 - 2.5/e) = 0.0233 <= 0.1 -> S = 3.
    assert fill_rate_level(1.0, 1.0, 0.0, 0, 0.90) == 3
    assert fill_rate_level(1.0, 1.0, 0.0, 0, 0.85) == 2  # 0.1036 <= 0.15


def test_geometric_demand_lead_time_zero() -> None:
    # Mean 1, variance 2: negative binomial r = 1, p = 1/2, P(D = k) = 2^-(k+1), so
    # E[(D - S)^+] = 2^-S. Target 0.90: 2^-S <= 0.1 -> S = 4 (0.0625); 0.80: S = 3 (0.125).
    assert fill_rate_level(1.0, 2.0, 0.0, 0, 0.90) == 4
    assert fill_rate_level(1.0, 2.0, 0.0, 0, 0.80) == 3


def test_with_a_lead_time_the_shortage_already_there_is_not_counted_again() -> None:
    # Geometric months (mean 1, variance 2), L = 1: D_2 is negative binomial r = 2, p = 1/2,
    # P(D_2 = k) = (k + 1) 2^-(k+2). Units short per month = E[(D_2 - S)^+] - E[(D_1 - S)^+].
    def short(level: int) -> float:
        after = sum((k - level) * (k + 1) / 2 ** (k + 2) for k in range(level, 400))
        return after - 2.0**-level

    # S=6: 0.078125 - 0.015625 = 0.0625 <= 0.07 (target 0.93); S=5: 0.1094.
    expected = next(s for s in range(100) if short(s) <= 0.07)
    assert fill_rate_level(1.0, 4.0, 2.0, 1, 0.93) == expected == 6
    # Counting E[(D_2 - S)^+] alone (0.078 at S=6) would ask for one more unit.
    assert next(s for s in range(100) if short(s) + 2.0**-s <= 0.07) == 7


def test_window_level_inflates_the_variance_for_the_estimated_mean() -> None:
    # 24 months, 12 units in total, all ones: mean 0.5, variance 12 x 0.25 / 23 x 2 ...
    n, total, squares = 24, 12, 12
    mean = 0.5
    variance = (squares - n * mean * mean) / (n - 1)  # 6 / 23
    assert window_level(n, total, squares, 2, 0.95) == fill_rate_level(
        mean, variance * (3 + 9 / 24), variance * (2 + 4 / 24), 2, 0.95
    )
    assert window_level(24, 0, 0, 2, 0.95) == 0


def test_the_textbook_safety_factor_comes_from_the_normal_loss_function() -> None:
    assert safety_factor(0.3989) == pytest.approx(0.0, abs=1e-3)  # G(0) = 1 / sqrt(2 pi)
    assert safety_factor(0.1004) == pytest.approx(0.90, abs=1e-3)  # G(0.90), the tables
    # Window 0, 2, 0, 2 ...: mean 1, sd sqrt(24/23); L = 3: mu 4, sigma 2 sqrt(24/23);
    # sigma G(k) = 0.1 -> k; S = ceil(4 + k sigma).
    sigma = 2 * math.sqrt(24 / 23)
    k = safety_factor(0.1 / sigma)
    assert normal_level([0, 2] * 12, 3, 0.90) == math.ceil(4 + k * sigma) == 7  # k = 1.266


@pytest.mark.parametrize("method", ["lumpy", "reactive", "normal"])
def test_levels_do_not_change_when_later_months_are_cut(method: str) -> None:
    demand = (0, 3, 0, 0, 7, 0, 1, 0, 0, 0, 12, 0) * 6  # 72 months
    full = ItemHistory("X", 4, 2.0, demand)
    levels = policy(method, 0.95)(full)
    for cut in (25, 40, 60):
        shorter = ItemHistory("X", 4, 2.0, demand[:cut])
        assert policy(method, 0.95)(shorter) == levels[: cut - 24]


def test_a_month_of_demand_changes_only_the_levels_after_it() -> None:
    demand = [0, 2, 0, 0, 1, 0] * 8
    before = lumpy_levels(ItemHistory("Y", 2, 1.0, tuple(demand)), 0.95)
    demand[40] = 30
    after = lumpy_levels(ItemHistory("Y", 2, 1.0, tuple(demand)), 0.95)
    assert before[: 41 - 24] == after[: 41 - 24]
    assert after[41 - 24] > before[41 - 24]


@pytest.mark.skipif(not RAF.exists(), reason="the RAF half is not on this machine")
def test_the_normal_method_reproduces_the_textbook_baseline_on_the_raf_half() -> None:
    # shared/data/README.md: target 0.90 -> achieved 0.747, stock value 3,170,999. About 4 s.
    items = read_history(RAF)
    result = run_backtest(items, lambda item: normal_levels(item, 0.90))
    assert result.overall.fill_rate == pytest.approx(0.747, abs=0.005)
    assert result.overall.stock_value == pytest.approx(3_170_999, rel=0.005)


@pytest.mark.skipif(not RAF.exists(), reason="the RAF half is not on this machine")
def test_on_a_slice_the_lumpy_method_serves_more_than_the_baseline() -> None:
    items = read_history(RAF)[:50]
    lumpy = run_backtest(items, policy("lumpy", 0.95)).overall
    normal = run_backtest(items, policy("normal", 0.95)).overall
    assert lumpy.fill_rate > normal.fill_rate


def test_the_reactive_method_follows_a_step_up_within_months() -> None:
    # 30 quiet months (1 unit every 6), then 6 months of 4 a month: the 6-month mean (4) is
    # far above the 24-month one (1.17), so the reactive level jumps; the lumpy one lags.
    demand = (1, 0, 0, 0, 0, 0) * 5 + (4,) * 6 + (0,)
    item = ItemHistory("Z", 2, 1.0, demand)
    lumpy, reactive = policy("lumpy", 0.95)(item), policy("reactive", 0.95)(item)
    assert reactive[:6] == lumpy[:6]  # quiet months: the 24-month window is the higher mean
    assert reactive[-1] > lumpy[-1]
    n, total, squares = 6, 24, 96  # the last 6 months: 4 each
    assert reactive[-1] == window_level(n, total, squares, 2, 0.95)


def test_large_means_use_the_normal_approximation_near_the_mean() -> None:
    # Poisson mean 1,000 a month, L = 0: P(D = 0) underflows (e^-1000), so the normal
    # approximation: sigma = 31.62, G(k) = 0.05 x 1000 / 31.62 = 1.581 -> k = -1.555,
    # S = 1000 - 1.555 x 31.62 = 950.8 -> 951 (a month's 5 % shortfall allows S below the mean).
    assert fill_rate_level(1000.0, 1000.0, 0.0, 0, 0.95) == 951
