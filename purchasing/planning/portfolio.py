"""One fill rate over all units, at least stock value: levels set together (a system approach).

The goal of a spare-parts planner is the fill rate over all units demanded, not each part's.
Sherbrooke (METRIC, 1968; "Optimal Inventory Modeling of Systems", 2004) sets the levels of all
parts together by marginal allocation: start every level at 0 and raise, one unit at a time,
the part whose next unit removes the most expected units short per month per unit of money,
until the expected units short over all parts are at most ``(1 - target)`` x the expected
demand. Cheap, busy parts end up with high fill rates, dear and slow ones with lower: the same
overall fill rate for much less stock value. Each month's levels use months ``0 .. t-1`` of
every part in the set only.

The gain of one unit is ``ESPRC(S) - ESPRC(S + 1) = P(D_{L+1} <= S) - P(D_L <= S)``, read off
the two stepwise loss functions of ``levels._Loss``.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence

from purchasing.planning.backtest import FIRST_MONTH
from purchasing.planning.history import ItemHistory
from purchasing.planning.levels import RECENT, WINDOW, _Loss, _normal_loss, policy

#: A price floor so that parts without a price do not take every unit.
MIN_PRICE = 0.01


def portfolio_levels(
    items: Sequence[ItemHistory],
    target: float,
    first_month: int = FIRST_MONTH,
    recent: int = RECENT,
) -> dict[str, list[int]]:
    months = min((len(item.demand) for item in items), default=first_month)
    levels: dict[str, list[int]] = {item.item: [] for item in items}
    for t in range(first_month, months):
        for item, level in zip(items, _month_levels(items, t, target, recent), strict=True):
            levels[item.item].append(level)
    return levels


def _moments(demand: Sequence[int], t: int, recent: int) -> tuple[float, float, int]:
    best = (0.0, 0.0, 0)
    for length in (WINDOW, recent) if recent else (WINDOW,):
        window = demand[max(0, t - length) : t]
        n = len(window)
        if n < 2:
            continue
        mean = sum(window) / n
        if mean > best[0]:
            variance = max(0.0, sum((u - mean) ** 2 for u in window) / (n - 1))
            best = (mean, variance, n)
    return best


#: Parts with a mean of at least this over L + 1 months are raised in steps of about a tenth
#: of a standard deviation (one heap operation per step, not per unit).
BUSY = 20.0


class _Busy:
    """Where P(D = 0) underflows (means in the hundreds): ESPRC(S) on normal approximations
    of D_{L+1} and D_L, raised ``chunk`` units a step."""

    __slots__ = ("chunk", "mean_after", "mean_before", "sd_after", "sd_before")

    def __init__(self, mean: float, var_after: float, var_before: float, lead: int) -> None:
        self.mean_after, self.mean_before = mean * (lead + 1), mean * lead
        self.sd_after = math.sqrt(max(var_after, self.mean_after))
        self.sd_before = math.sqrt(max(var_before, self.mean_before)) if lead else 0.0
        self.chunk = max(1, round(self.sd_after / 10))

    def esprc(self, level: float) -> float:
        short = self.sd_after * _normal_loss((level - self.mean_after) / self.sd_after)
        if self.sd_before:
            short -= self.sd_before * _normal_loss((level - self.mean_before) / self.sd_before)
        return max(0.0, short)


def _month_levels(items: Sequence[ItemHistory], t: int, target: float, recent: int) -> list[int]:
    levels = [0] * len(items)
    heap: list[tuple[float, int]] = []
    # Each part's state at its next step: the loss functions already at S + chunk, the
    # expected units short at S, the price and the chunk (1 for slow parts).
    states: dict[int, tuple[_Loss, _Loss | None, float, int, float]] = {}
    normal: dict[int, tuple[_Busy, float]] = {}
    total_mean = 0.0
    short = 0.0
    for index, item in enumerate(items):
        mean, variance, n = _moments(item.demand, t, recent)
        if mean <= 0:
            continue
        lead = item.lead_time
        total_mean += mean
        short += mean  # ESPRC(0) = E[D_{L+1}] - E[D_L]
        after_n = lead + 1
        var_after = variance * (after_n + after_n * after_n / n)
        var_before = variance * (lead + lead * lead / n)
        price = max(item.unit_price, MIN_PRICE)
        after = _Loss(mean * after_n, var_after)
        before = _Loss(mean * lead, var_before) if lead else None
        if after.pmf == 0 or (before is not None and before.pmf == 0):
            model = _Busy(mean, var_after, var_before, lead)  # P(D = 0) underflows
            normal[index] = (model, price)
            gain = model.esprc(0) - model.esprc(model.chunk)
            heapq.heappush(heap, (-gain / (price * model.chunk), index))
            continue
        chunk = 1 if mean * after_n < BUSY else max(1, round(math.sqrt(var_after) / 10))
        here = mean
        after.advance(chunk)
        if before is not None:
            before.advance(chunk)
        ahead = after.value - (before.value if before is not None else 0.0)
        states[index] = (after, before, price, chunk, here)
        heapq.heappush(heap, (-(here - ahead) / (price * chunk), index))
    allowed = (1 - target) * total_mean
    while short > allowed and heap:
        _, index = heapq.heappop(heap)
        if index in normal:
            model, price = normal[index]
            level = levels[index]
            short -= model.esprc(level) - model.esprc(level + model.chunk)
            levels[index] = level = level + model.chunk
            gain = model.esprc(level) - model.esprc(level + model.chunk)
            if gain > 1e-12:
                heapq.heappush(heap, (-gain / (price * model.chunk), index))
            continue
        after, before, price, chunk, here = states[index]
        # Take the chunk: S moves to S + chunk, where the loss functions already are.
        ahead = after.value - (before.value if before is not None else 0.0)
        short -= here - ahead
        levels[index] += chunk
        after.advance(chunk)
        if before is not None:
            before.advance(chunk)
        further = after.value - (before.value if before is not None else 0.0)
        states[index] = (after, before, price, chunk, ahead)
        gain = ahead - further
        if gain > 1e-12:
            heapq.heappush(heap, (-gain / (price * chunk), index))
    return levels


def _gain(after: _Loss, before: _Loss | None) -> float:
    """ESPRC(S) - ESPRC(S + 1) = P(D_{L+1} > S) - P(D_L > S), at the current S."""
    return (1.0 - after.cdf) - ((1.0 - before.cdf) if before is not None else 0.0)


#: Every method, per part or over the set: ``system`` is the default.
ALL_METHODS = ("system", "lumpy", "reactive", "normal")
DEFAULT = "system"


def levels_for(
    items: Sequence[ItemHistory], method: str, target: float, first_month: int = FIRST_MONTH
) -> dict[str, list[int]]:
    """Levels of every item for months ``first_month ..``, by ``method``."""
    if method == "system":
        return portfolio_levels(items, target, first_month)
    of_item = policy(method, target)
    return {item.item: of_item(item) for item in items}
