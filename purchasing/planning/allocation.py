"""The nightly plan's levels: marginal allocation over a group of parts for one fill rate, with
a per-part floor, each part's expected fill rate and expected stock, and the trade-off curve.

The model is the ``system`` method of :mod:`purchasing.planning.portfolio` at the start of the
next month (the ``reactive`` moments of all the months given, the Prak term, a negative
binomial over ``L`` and ``L + 1`` months). On top of it, for the nightly recompute:

- each part's expected on-hand stock at the end of a month, ``S - mu (L + 1) + E[(D_{L+1} -
  S)^+]`` (the backtest's stock value, per part), is tracked as levels rise;
- ``checkpoints``: the expected fill rate and stock value of the group as the allocation
  passes each of several targets (the levels for a lower target are a prefix of those for a
  higher one: marginal allocation only ever raises), so one pass draws the trade-off curve;
- a floor: after the allocation, a part with recent demand below ``floor`` units is raised to
  it (a dear slow part is otherwise left with nothing).

Speed (the recompute of 100,000 parts, bench/reorder_bench.py): each part's ESPRC and
``E[(D_{L+1} - S)^+]`` are tabulated once per step of its level (:class:`Curve`, extended as
the allocation climbs) and shared by every allocation over it (the target groups and the
trade-off); a part taken from the heap keeps rising while its next step is still the best
buy (the same result as one step per heap operation, without the heap operations).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass

from purchasing.planning.levels import RECENT, SCAN_LIMIT, _Loss, _normal_loss
from purchasing.planning.portfolio import BUSY, MIN_PRICE, _moments


@dataclass(frozen=True)
class PlanPart:
    demand: Sequence[int]  # units per month, oldest first
    lead_time: int  # months
    price: float
    floor: int = 0  # the least level (0: none)


@dataclass(frozen=True)
class PartLevel:
    level: int
    #: 1 - expected units short per month / mean demand per month; None without demand.
    expected_fill_rate: float | None
    expected_on_hand: float  # units at the end of a month, on average
    mean: float  # the model's mean demand per month


@dataclass(frozen=True)
class TradeoffPoint:
    target: float
    expected_fill_rate: float
    stock_value: float


class Curve:
    """One part's ESPRC and ``E[(D_{L+1} - S)^+]`` at levels 0, chunk, 2 chunk, ...,
    tabulated as far as an allocation has needed."""

    __slots__ = ("after", "before", "busy", "chunk", "esprc", "loss", "mean", "periods",
                 "var_after", "var_before")  # fmt: skip

    def __init__(self, mean: float, variance: float, n: int, lead: int) -> None:
        periods = lead + 1
        self.mean, self.periods = mean, periods
        self.var_after = variance * (periods + periods * periods / n)
        self.var_before = variance * (lead + lead * lead / n)
        self.esprc, self.loss = [mean], [mean * periods]  # at S = 0
        self.after = _Loss(mean * periods, self.var_after)
        self.before = _Loss(mean * lead, self.var_before) if lead else None
        self.busy = (
            mean * periods > SCAN_LIMIT
            or self.after.pmf == 0
            or (self.before is not None and self.before.pmf == 0)
        )
        if self.busy:  # P(D = 0) underflows: normal approximations, steps of sd / 10
            self.chunk = max(1, round(math.sqrt(max(self.var_after, mean * periods)) / 10))
        elif mean * periods < BUSY:
            self.chunk = 1
        else:
            self.chunk = max(1, round(math.sqrt(self.var_after) / 10))

    def extend(self, steps: int = 8) -> None:
        esprc, loss, chunk = self.esprc, self.loss, self.chunk
        if chunk == 1 and not self.busy:
            self._extend_units(steps)
            return
        for _ in range(steps):
            if self.busy:
                short, tail = self.normal(len(esprc) * chunk)
            else:
                self.after.advance(chunk)
                tail = self.after.value
                short = tail
                if self.before is not None:
                    self.before.advance(chunk)
                    short -= self.before.value
                short = short if short > 0 else 0.0
            esprc.append(short)
            loss.append(tail)

    def _extend_units(self, steps: int) -> None:
        """``extend`` one unit a step, both loss functions stepped inline (the common case:
        slow parts; ``E[(D - S - 1)^+] = E[(D - S)^+] - P(D > S)``)."""
        after, before = self.after, self.before
        a_value, a_cdf, a_pmf, a_k = after.value, after.cdf, after.pmf, after.k
        a_grow, a_shape = after.grow, after.shape
        if before is not None:
            b_value, b_cdf, b_pmf, b_k = before.value, before.cdf, before.pmf, before.k
            b_grow, b_shape = before.grow, before.shape
        else:
            b_value = b_cdf = b_pmf = b_grow = b_shape = 0.0
            b_k = 0
        esprc, loss = self.esprc, self.loss
        for _ in range(steps):
            a_value -= 1 - a_cdf
            if a_value < 0:
                a_value = 0.0
            a_pmf *= a_grow / (a_k + 1) if a_shape < 0 else (a_k + a_shape) / (a_k + 1) * a_grow
            a_k += 1
            a_cdf = min(1.0, a_cdf + a_pmf)
            short = a_value
            if before is not None:
                b_value -= 1 - b_cdf
                if b_value < 0:
                    b_value = 0.0
                b_pmf *= b_grow / (b_k + 1) if b_shape < 0 else (b_k + b_shape) / (b_k + 1) * b_grow
                b_k += 1
                b_cdf = min(1.0, b_cdf + b_pmf)
                short -= b_value
            esprc.append(short if short > 0 else 0.0)
            loss.append(a_value)
        after.value, after.cdf, after.pmf, after.k = a_value, a_cdf, a_pmf, a_k
        if before is not None:
            before.value, before.cdf, before.pmf, before.k = b_value, b_cdf, b_pmf, b_k

    def normal(self, level: float) -> tuple[float, float]:
        """ESPRC and ``E[(D_{L+1} - S)^+]`` at ``level`` on normal approximations."""
        mean, lead = self.mean, self.periods - 1
        mu_a = mean * self.periods
        sd_a = math.sqrt(max(self.var_after, mu_a))
        loss_after = sd_a * _normal_loss((level - mu_a) / sd_a)
        loss_before = 0.0
        if lead:
            mu_b = mean * lead
            sd_b = math.sqrt(max(self.var_before, mu_b))
            loss_before = sd_b * _normal_loss((level - mu_b) / sd_b)
        return max(0.0, loss_after - loss_before), loss_after

    def at(self, level: int) -> tuple[float, float]:
        """ESPRC and ``E[(D_{L+1} - S)^+]`` at any level (off the steps: evaluated afresh)."""
        if level % self.chunk == 0:
            step = level // self.chunk
            while len(self.esprc) <= step:
                self.extend()
            return self.esprc[step], self.loss[step]
        if self.busy:
            return self.normal(level)
        after = _Loss(self.mean * self.periods, self.var_after)
        after.advance(level)
        short = after.value
        if self.periods > 1:
            before = _Loss(self.mean * (self.periods - 1), self.var_before)
            before.advance(level)
            short -= before.value
        return max(0.0, short), after.value


def curves(parts: Sequence[PlanPart], recent: int = RECENT) -> list[Curve | None]:
    """Each part's curve (None without demand), to share between allocations."""
    found: list[Curve | None] = []
    for part in parts:
        mean, variance, n = _moments(part.demand, len(part.demand), recent)
        found.append(Curve(mean, variance, n, part.lead_time) if mean > 0 else None)
    return found


def allocate(
    parts: Sequence[PlanPart],
    target: float,
    checkpoints: Sequence[float] = (),
    recent: int = RECENT,
    shared: Sequence[Curve | None] | None = None,
) -> tuple[list[PartLevel], list[TradeoffPoint]]:
    """Levels for ``target`` over all units of ``parts`` (then each part's floor), and the
    expected fill rate and stock value of the group at each checkpoint target (before
    floors; checkpoints above ``target`` are reached too). ``shared``: the parts' curves."""
    tabled = list(shared) if shared is not None else curves(parts, recent)
    heap: list[tuple[float, int]] = []
    total_mean = 0.0
    for index, curve in enumerate(tabled):
        if curve is None:
            continue
        total_mean += curve.mean
        if len(curve.esprc) < 2:
            curve.extend()
        price = max(parts[index].price, MIN_PRICE) * curve.chunk
        heap.append((-(curve.esprc[0] - curve.esprc[1]) / price, index))
    heapq.heapify(heap)
    short = total_mean
    steps = [0] * len(parts)
    points: list[TradeoffPoint] = []
    pending = sorted(checkpoints)
    value = 0.0
    allowed = (1 - target) * total_mean
    goal = (1 - max([target, *pending])) * total_mean
    at_target: list[int] | None = None
    threshold = (1 - pending[0]) * total_mean if pending else -1.0
    while heap and short > goal:
        _, index = heapq.heappop(heap)
        curve = tabled[index]
        assert curve is not None
        esprc, loss, chunk = curve.esprc, curve.loss, curve.chunk
        real_price = parts[index].price
        unit_price = max(real_price, MIN_PRICE) * chunk
        bar = -heap[0][0] if heap else 0.0
        step = steps[index]
        gain = 0.0
        while True:
            if step + 2 >= len(esprc):
                curve.extend()
            short -= esprc[step] - esprc[step + 1]
            value += (chunk + loss[step + 1] - loss[step]) * real_price
            step += 1
            if at_target is None and short <= allowed:
                steps[index] = step
                at_target = [s * c.chunk if c else 0 for s, c in zip(steps, tabled, strict=True)]
            while short <= threshold and total_mean > 0:
                points.append(TradeoffPoint(pending.pop(0), 1 - short / total_mean, value))
                threshold = (1 - pending[0]) * total_mean if pending else -1.0
            gain = esprc[step] - esprc[step + 1]
            if short <= goal or gain <= 1e-12 or gain / unit_price < bar:
                break
        steps[index] = step
        if gain > 1e-12:
            heapq.heappush(heap, (-gain / unit_price, index))
    if at_target is None:
        at_target = [s * c.chunk if c else 0 for s, c in zip(steps, tabled, strict=True)]
    return _finish(parts, tabled, at_target), points


def _finish(
    parts: Sequence[PlanPart], tabled: Sequence[Curve | None], levels: Sequence[int]
) -> list[PartLevel]:
    """Each part at its level for the target, raised to its floor; figures at that level."""
    result = []
    for part, curve, level in zip(parts, tabled, levels, strict=True):
        if curve is None:
            result.append(PartLevel(0, None, 0.0, 0.0))
            continue
        level = max(level, part.floor)
        short, tail = curve.at(level)
        on_hand = max(0.0, level - curve.mean * curve.periods + tail)
        result.append(PartLevel(level, max(0.0, 1 - short / curve.mean), on_hand, curve.mean))
    return result
