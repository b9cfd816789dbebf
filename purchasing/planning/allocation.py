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

Speed (the recompute of 100,000 parts, bench/reorder_bench.py): the result is the marginal
allocation's, found without a heap operation per unit. A part's step is taken before another
part's when its *effective* gain per money (the least gain per money of that part's steps so
far) is higher, so for a price ``lam`` of a unit of shortfall every part's level is simply its
number of steps with effective gain >= ``lam`` (Lagrangian relaxation; Everett 1963, Fox 1966
on marginal analysis). :func:`allocate` lowers ``lam`` in rounds (each part raised on its own
to its level at ``lam``; the next price where a line through the last two rounds' shortfalls
meets the goal), halves a bracket that holds too many steps, then sorts the steps between
the last two prices and takes them one at a time, as the heap did, to the exact stopping point
of the target (and of each trade-off checkpoint). Each part's ESPRC, ``E[(D_{L+1} - S)^+]``
and effective gains are tabulated once per step of its level (:class:`Curve`, extended as
far as the prices reached need), shared by every allocation over it (the target groups and
the trade-off) and by every part with the same moments and lead time.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from operator import mul, neg
from typing import NamedTuple

from purchasing.planning.levels import RECENT, SCAN_LIMIT, WINDOW, _Loss, _normal_loss
from purchasing.planning.portfolio import BUSY, MIN_PRICE

#: Each round of the search lowers the price of a unit of shortfall by this factor.
FACTOR = 16.0
#: A bracket with more steps than this (or than parts) is halved before it is sorted.
WALK = 1000
#: A step whose gain is at most this removes nothing: the part rises no further.
NO_GAIN = 1e-12


# The parts and their levels are named tuples, not dataclasses: the nightly recompute makes
# a few of them for each of 100,000 parts, and a frozen dataclass takes 5x longer to make.
class PlanPart(NamedTuple):
    demand: Sequence[int]  # units per month, oldest first
    lead_time: int  # months
    price: float
    floor: int = 0  # the least level (0: none)


class PartLevel(NamedTuple):
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

    __slots__ = ("after", "before", "best", "busy", "chunk", "esprc", "exhausted", "loss",
                 "mean", "periods", "var_after", "var_before")  # fmt: skip

    def __init__(self, mean: float, variance: float, n: int, lead: int) -> None:
        periods = lead + 1
        self.mean, self.periods = mean, periods
        self.var_after = variance * (periods + periods * periods / n)
        self.var_before = variance * (lead + lead * lead / n)
        self.esprc, self.loss = [mean], [mean * periods]  # at S = 0
        # The effective gain of each step (the least of ESPRC(s) - ESPRC(s + 1) up to it),
        # up to the first step that removes nothing (then ``exhausted``).
        self.best: list[float] = []
        self.exhausted = False
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

    def first_gain(self) -> float:
        """The gain of the first step (0 if it removes nothing)."""
        if not self.best and not self.exhausted:
            self._grow()
        return self.best[0] if self.best else 0.0

    def reach(self, bar: float, count: int) -> int:
        """How many steps have an effective gain of at least ``bar``, given that the first
        ``count`` have (tabulating further as needed)."""
        best = self.best
        while True:
            # The effective gains never rise: the first below ``bar`` by bisection.
            count = bisect_right(best, -bar, count, key=neg)
            if count < len(best) or self.exhausted:
                return count
            self._grow()

    def _grow(self) -> None:
        """Four more steps tabulated, with their effective gains."""
        esprc, best = self.esprc, self.best
        if self.chunk == 1 and not self.busy and len(best) == len(esprc) - 1:
            self._extend_units(4)  # the effective gains too
            return
        self.extend(4)
        least = best[-1] if best else math.inf
        for k in range(len(best), len(esprc) - 1):
            gain = esprc[k] - esprc[k + 1]
            if gain <= NO_GAIN and best:  # the first step is always there to take
                self.exhausted = True
                return
            if gain < least:
                least = gain
            best.append(least)

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
        slow parts; ``E[(D - S - 1)^+] = E[(D - S)^+] - P(D > S)``), and the effective gains
        with them while they are up to date."""
        after, before = self.after, self.before
        a_value, a_cdf, a_pmf, a_k = after.value, after.cdf, after.pmf, after.k
        a_grow, a_shape = after.grow, after.shape
        a_poisson = a_shape < 0
        if before is not None:
            b_value, b_cdf, b_pmf, b_k = before.value, before.cdf, before.pmf, before.k
            b_grow, b_shape = before.grow, before.shape
        else:  # D_0 = 0: no loss, P(D_0 <= S) = 1, nothing changes
            b_value, b_cdf, b_pmf, b_grow, b_shape, b_k = 0.0, 1.0, 0.0, 0.0, 0.0, 0
        b_poisson = b_shape < 0
        esprc, loss, best = self.esprc, self.loss, self.best
        ranked = not self.exhausted and len(best) == len(esprc) - 1
        least = best[-1] if best else math.inf
        last = esprc[-1]
        for _ in range(steps):
            a_value -= 1 - a_cdf
            if a_value < 0:
                a_value = 0.0
            a_pmf *= a_grow / (a_k + 1) if a_poisson else (a_k + a_shape) / (a_k + 1) * a_grow
            a_k += 1
            a_cdf += a_pmf
            if a_cdf > 1:
                a_cdf = 1.0
            b_value -= 1 - b_cdf
            if b_value < 0:
                b_value = 0.0
            b_pmf *= b_grow / (b_k + 1) if b_poisson else (b_k + b_shape) / (b_k + 1) * b_grow
            b_k += 1
            b_cdf += b_pmf
            if b_cdf > 1:
                b_cdf = 1.0
            short = a_value - b_value
            if short < 0:
                short = 0.0
            if ranked:
                gain = last - short
                if gain <= NO_GAIN and best:  # the first step is always there to take
                    ranked = False
                    self.exhausted = True
                else:
                    if gain < least:
                        least = gain
                    best.append(least)
            esprc.append(short)
            loss.append(a_value)
            last = short
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
    """Each part's curve (None without demand), to share between allocations. Parts with
    the same moments and lead time share one curve (slow parts often have the same few
    demands in their window): it is tabulated once, as far as the cheapest of them needs."""
    found: list[Curve | None] = []
    known: dict[tuple[float, float, int, int], Curve] = {}
    for part in parts:
        mean, variance, n = _last_moments(part.demand, recent)
        if mean <= 0:
            found.append(None)
            continue
        key = (mean, variance, n, part.lead_time)
        curve = known.get(key)
        if curve is None:
            curve = known[key] = Curve(mean, variance, n, part.lead_time)
        found.append(curve)
    return found


def _last_moments(demand: Sequence[int], recent: int) -> tuple[float, float, int]:
    """``portfolio._moments`` after the last month (the 24-month window, or the recent one
    when its mean is higher), from sums: the variance is ``(n sum(u^2) - sum(u)^2) / (n (n -
    1))``, exact on whole units until the one division."""
    found = (0.0, 0.0, 0)
    for length in (WINDOW, recent) if recent else (WINDOW,):
        window = demand[-length:]
        n = len(window)
        if n < 2:
            continue
        total = sum(window)
        mean = total / n
        if mean > found[0]:
            squares = sum(map(mul, window, window))
            found = (mean, max(0.0, (n * squares - total * total) / (n * (n - 1))), n)
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
    floors; checkpoints above ``target`` are reached too). ``shared``: the parts' curves.

    The result is the marginal allocation's (one step at a time to the part whose next step
    removes the most units short per money, until the group's shortfall is allowed), found
    without a step per unit (docs/planning.md, "Speed"): a step is taken before another when
    its *effective* gain per money (the least gain per money of the part's steps up to it) is
    higher, so the allocation takes every step whose effective gain is above a price ``lam``
    of a unit of shortfall and some of those at it. Rounds lower ``lam`` by :data:`FACTOR`,
    raising each part independently to its level at ``lam``, until the group's shortfall is
    allowed; the steps between the last two prices are then sorted and taken one by one, as
    the marginal allocation would, to the exact stopping point (and each checkpoint)."""
    tabled = list(shared) if shared is not None else curves(parts, recent)
    search = _Search(parts, tabled, target, checkpoints)
    goals = search.goals
    pairs = zip(search.curves, search.units, strict=True)
    lam = max((curve.first_gain() / unit for curve, unit in pairs), default=0.0)
    lam = lam / FACTOR if lam > 0 else -math.inf
    before: tuple[float, float] | None = None  # the last round's price and shortfall
    while goals and search.short > goals[-1]:
        found = search.round(lam)
        search.settle(before[0] if before is not None else lam * FACTOR, lam, found)
        if not goals or lam == -math.inf:
            break
        short = found[1]
        if not found[3] or lam < 1e-300:  # no step left with a gain: the rest, as the heap did
            following = -math.inf
        elif before is None:
            following = lam / FACTOR
        else:
            following = _next_price(lam, short, before, goals[-1])
        before, lam = (lam, short), following
    steps = search.at_target if search.at_target is not None else search.counts
    levels = [0] * len(parts)
    for index, curve, count in zip(search.index, search.curves, steps, strict=True):
        levels[index] = count * curve.chunk
    return _finish(parts, tabled, levels), search.points


#: A round's result: each part's steps, the group's shortfall and stock value there, and
#: whether any part can still rise at a price above 0.
_Found = tuple[list[int], float, float, bool]


class _Search:
    """The allocation's state between rounds: each part's steps, the group's shortfall and
    stock value there, the goals still ahead (largest shortfall first), what was found."""

    def __init__(
        self,
        parts: Sequence[PlanPart],
        tabled: Sequence[Curve | None],
        target: float,
        checkpoints: Sequence[float],
    ) -> None:
        self.index = [i for i, curve in enumerate(tabled) if curve is not None]
        self.curves = [curve for curve in tabled if curve is not None]
        # Their lists (grown in place), read in every round.
        self.bests = [curve.best for curve in self.curves]
        self.esprcs = [curve.esprc for curve in self.curves]
        self.prices = [parts[i].price for i in self.index]
        self.units = [  # the price of a step
            max(price, MIN_PRICE) * curve.chunk
            for price, curve in zip(self.prices, self.curves, strict=True)
        ]
        total_mean = self.total_mean = sum(curve.mean for curve in self.curves)
        self.goals = sorted({(1 - t) * total_mean for t in (target, *checkpoints)}, reverse=True)
        self.allowed = (1 - target) * total_mean
        self.pending = sorted(checkpoints)
        self.counts = [0] * len(self.curves)
        self.short, self.value = total_mean, 0.0
        self.at_target: list[int] | None = None
        self.points: list[TradeoffPoint] = []

    def round(self, lam: float) -> _Found:
        """Each part's steps at the price ``lam`` (every step whose effective gain per money
        is at least ``lam``; from the steps now, which it must not be below)."""
        reached: list[int] = []
        taken = reached.append
        short = value = 0.0
        rising = False
        for curve, best, esprc, unit, count in zip(
            self.curves, self.bests, self.esprcs, self.units, self.counts, strict=True
        ):
            bar = lam * unit
            if count == len(best) or best[count] >= bar:
                count = curve.reach(bar, count)
            if not rising and count < len(best) and best[count] > 0:
                rising = True
            taken(count)
            short += esprc[count]
        if self.pending:  # the stock value, for the checkpoints
            for curve, price, count in zip(self.curves, self.prices, reached, strict=True):
                loss = curve.loss
                value += (count * curve.chunk + loss[count] - loss[0]) * price
        return reached, short, value, rising

    def settle(self, high: float, low: float, found: _Found, depth: int = 0) -> None:
        """Move on from the steps at price ``high`` (now) to ``found``, those at ``low``: one
        step at a time where a goal lies on the way, after halving (in log) a bracket with
        more steps than a round over the parts costs."""
        goals = self.goals
        if not goals or found[1] > goals[0]:
            self.counts, self.short, self.value = found[0], found[1], found[2]
            return
        size = sum(found[0]) - sum(self.counts)
        if size > max(WALK, len(self.counts)) and depth < 30 and low > 0:
            middle = math.sqrt(high * low)
            self.settle(high, middle, self.round(middle), depth + 1)
            self.settle(middle, low, found, depth + 1)
            return
        self._walk(found)

    def _walk(self, found: _Found) -> None:
        """The steps to ``found`` in the marginal allocation's order (highest effective gain
        per money first; a tie to the lower part, then its lower step), one at a time, to
        each goal on the way."""
        start, end = self.counts, found[0]
        curves, units, prices = self.curves, self.units, self.prices
        keys: list[float] = []  # minus the effective gain per money of each step
        parts: list[int] = []
        levels: list[int] = []
        for j, (first, last) in enumerate(zip(start, end, strict=True)):
            if last > first:
                best, unit = curves[j].best, units[j]
                keys.extend([-best[k] / unit for k in range(first, last)])
                parts.extend([j] * (last - first))
                levels.extend(range(first, last))
        # A stable sort of steps listed by part, then step: ties go to the lower part, then
        # to its lower step, as in the one-step-at-a-time allocation.
        order = sorted(range(len(keys)), key=keys.__getitem__)
        goals = self.goals
        threshold = goals[0]
        short, value, valued = self.short, self.value, bool(self.pending)
        steps, applied = list(start), 0
        for i, position in enumerate(order):
            j, k = parts[position], levels[position]
            curve = curves[j]
            esprc = curve.esprc
            short -= esprc[k] - esprc[k + 1]
            if valued:
                loss = curve.loss
                value += (curve.chunk + loss[k + 1] - loss[k]) * prices[j]
            if short <= threshold:
                for taken in order[applied : i + 1]:
                    steps[parts[taken]] = levels[taken] + 1
                applied = i + 1
                self._passing(steps, short, value)
                if not goals:
                    return
                threshold = goals[0]
        self._passing(found[0], found[1], found[2])  # the end, summed afresh
        self.counts, self.short, self.value = found[0], found[1], found[2]

    def _passing(self, steps: list[int], short: float, value: float) -> None:
        if self.at_target is None and short <= self.allowed:
            self.at_target = list(steps)
        pending, total = self.pending, self.total_mean
        while pending and short <= (1 - pending[0]) * total and total > 0:
            self.points.append(TradeoffPoint(pending.pop(0), 1 - short / total, value))
        while self.goals and short <= self.goals[0]:
            self.goals.pop(0)


def _next_price(lam: float, short: float, before: tuple[float, float], goal: float) -> float:
    """The next price to try: where the shortfall, on a straight line against ``log lam``
    through the last two rounds, meets ``goal`` (a little beyond), at least 1.05 and at most
    :data:`FACTOR` times lower; :data:`FACTOR` times lower without that line."""
    lam_before, short_before = before
    if not (short_before > short > goal and lam_before > lam):
        return lam / FACTOR
    slope = (short_before - short) / (math.log(lam_before) - math.log(lam))
    ratio = math.exp(min(50.0, 1.3 * (short - goal) / slope))
    return lam / min(FACTOR, max(1.05, ratio))


def _finish(
    parts: Sequence[PlanPart], tabled: Sequence[Curve | None], levels: Sequence[int]
) -> list[PartLevel]:
    """Each part at its level for the target, raised to its floor; figures at that level."""
    result = []
    for part, curve, level in zip(parts, tabled, levels, strict=True):
        if curve is None:
            result.append(PartLevel(0, None, 0.0, 0.0))
            continue
        if level < part.floor:
            level = part.floor
        step, off = divmod(level, curve.chunk)
        if off or step >= len(curve.esprc):
            short, tail = curve.at(level)
        else:  # on a step already tabulated (nearly always)
            short, tail = curve.esprc[step], curve.loss[step]
        mean = curve.mean
        on_hand = level - mean * curve.periods + tail
        fill_rate = 1 - short / mean
        result.append(
            PartLevel(
                level,
                fill_rate if fill_rate > 0.0 else 0.0,
                on_hand if on_hand > 0.0 else 0.0,
                mean,
            )
        )
    return result
