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


class _Track:
    """One part's level, its expected units short per month (ESPRC) and ``E[(D_{L+1} -
    S)^+]`` at the level, and the same figures one step (``chunk`` units) further."""

    __slots__ = ("after", "before", "busy", "chunk", "esprc", "level", "loss", "mean",
                 "next_esprc", "next_loss", "periods", "var_after", "var_before")  # fmt: skip

    def __init__(self, mean: float, variance: float, n: int, lead: int) -> None:
        periods = lead + 1
        self.mean, self.periods, self.level = mean, periods, 0
        self.var_after = variance * (periods + periods * periods / n)
        self.var_before = variance * (lead + lead * lead / n)
        self.esprc, self.loss = mean, mean * periods  # at S = 0
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
        self.next_esprc = self.next_loss = 0.0
        self._peek()

    def _normal(self, level: float) -> tuple[float, float]:
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

    def _peek(self) -> None:
        """The figures at ``level + chunk``."""
        if self.busy:
            self.next_esprc, self.next_loss = self._normal(self.level + self.chunk)
            return
        self.after.advance(self.chunk)
        before = 0.0
        if self.before is not None:
            self.before.advance(self.chunk)
            before = self.before.value
        self.next_esprc = max(0.0, self.after.value - before)
        self.next_loss = self.after.value

    @property
    def gain(self) -> float:
        return self.esprc - self.next_esprc

    def take(self) -> float:
        """Raise the level one step; returns the change in expected on-hand units."""
        on_hand_change = self.chunk + self.next_loss - self.loss
        self.level += self.chunk
        self.esprc, self.loss = self.next_esprc, self.next_loss
        self._peek()
        return on_hand_change

    @property
    def on_hand(self) -> float:
        return max(0.0, self.level - self.mean * self.periods + self.loss)


def allocate(
    parts: Sequence[PlanPart],
    target: float,
    checkpoints: Sequence[float] = (),
    recent: int = RECENT,
) -> tuple[list[PartLevel], list[TradeoffPoint]]:
    """Levels for ``target`` over all units of ``parts`` (then each part's floor), and the
    expected fill rate and stock value of the group at each checkpoint target (before
    floors; checkpoints above ``target`` are not reached)."""
    tracks: list[_Track | None] = []
    heap: list[tuple[float, int]] = []
    total_mean = short = 0.0
    for index, part in enumerate(parts):
        mean, variance, n = _moments(part.demand, len(part.demand), recent)
        if mean <= 0:
            tracks.append(None)
            continue
        track = _Track(mean, variance, n, part.lead_time)
        tracks.append(track)
        total_mean += mean
        short += mean
        price = max(part.price, MIN_PRICE)
        heapq.heappush(heap, (-track.gain / (price * track.chunk), index))
    points: list[TradeoffPoint] = []
    pending = sorted(checkpoints)
    value = 0.0

    def passed() -> None:
        while pending and total_mean > 0 and short <= (1 - pending[0]) * total_mean:
            points.append(TradeoffPoint(pending.pop(0), 1 - short / total_mean, value))

    passed()
    goal = (1 - max([target, *pending])) * total_mean
    allowed = (1 - target) * total_mean
    targets_met = False
    while heap and short > goal:
        _, index = heapq.heappop(heap)
        track = tracks[index]
        assert track is not None
        gain = track.gain
        short -= gain
        value += track.take() * parts[index].price
        if not targets_met and short <= allowed:
            targets_met = True
            levels_at_target = [t.level if t else 0 for t in tracks]
        passed()
        if track.gain > 1e-12:
            price = max(parts[index].price, MIN_PRICE)
            heapq.heappush(heap, (-track.gain / (price * track.chunk), index))
    if not targets_met:
        levels_at_target = [t.level if t else 0 for t in tracks]
    return _finish(parts, tracks, levels_at_target), points


def _finish(
    parts: Sequence[PlanPart], tracks: Sequence[_Track | None], levels: Sequence[int]
) -> list[PartLevel]:
    """Each part at its level for the target, raised to its floor; figures at that level."""
    result = []
    for part, track, level in zip(parts, tracks, levels, strict=True):
        if track is None:
            result.append(PartLevel(0, None, 0.0, 0.0))
            continue
        wanted = max(level, part.floor)
        if track.level != wanted:  # the allocation went past the target: evaluate afresh
            track = _refit(part, wanted)
        fill = 1 - track.esprc / track.mean
        result.append(PartLevel(track.level, max(0.0, fill), track.on_hand, track.mean))
    return result


def _refit(part: PlanPart, level: int) -> _Track:
    """A part's track evaluated at ``level`` (exactly, one unit at a time)."""
    mean, variance, n = _moments(part.demand, len(part.demand), RECENT)
    fresh = _Track(mean, variance, n, part.lead_time)
    if fresh.busy:
        fresh.level = level
        fresh.esprc, fresh.loss = fresh._normal(level)
        return fresh
    fresh.chunk = 1
    fresh.after = _Loss(mean * fresh.periods, fresh.var_after)
    fresh.before = _Loss(mean * part.lead_time, fresh.var_before) if part.lead_time else None
    fresh.after.advance(level)
    before = 0.0
    if fresh.before is not None:
        fresh.before.advance(level)
        before = fresh.before.value
    fresh.level = level
    fresh.esprc = max(0.0, fresh.after.value - before)
    fresh.loss = fresh.after.value
    return fresh
