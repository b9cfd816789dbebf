"""The nightly plan replayed on a history, month by month (``spareflow planning backtest``
without a file): at the start of each month ``t`` from 24, every part's level is set as the
nightly recompute would have set it then, from months ``t - 24 .. t - 1`` only: class,
target (the part's, its category's, its class's or the default), levels set together per
target group, the floor; then the backtest of shared/data/README.md replays the month with
the part's minimum order and packs (docs/planning.md)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from purchasing.planning.allocation import PlanPart, allocate
from purchasing.planning.backtest import FIRST_MONTH, BacktestResult, Totals, simulate
from purchasing.planning.classification import DemandClass, classify
from purchasing.planning.history import ItemHistory
from purchasing.planning.nightly import PLAN_MONTHS


@dataclass(frozen=True)
class ReplayItem:
    history: ItemHistory  # lead time in months
    category: str | None = None
    own_target: float | None = None
    pack_size: int = 1
    min_order: int = 0


TargetOf = Callable[[ReplayItem, DemandClass], float]


def replay_levels(
    items: Sequence[ReplayItem],
    target_of: TargetOf,
    *,
    floor: int = 1,
    floor_months: int = 12,
    first_month: int = FIRST_MONTH,
) -> list[list[int]]:
    """Each item's levels for months ``first_month ..``, in the order of ``items``."""
    months = min((len(i.history.demand) for i in items), default=first_month)
    levels: list[list[int]] = [[] for _ in items]
    for t in range(first_month, months):
        groups: dict[float, list[tuple[int, PlanPart]]] = defaultdict(list)
        for index, item in enumerate(items):
            window = item.history.demand[max(0, t - PLAN_MONTHS) : t]
            recent = floor_months and any(units > 0 for units in window[-floor_months:])
            part = PlanPart(
                window, item.history.lead_time, item.history.unit_price, floor if recent else 0
            )
            groups[target_of(item, classify(window).demand_class)].append((index, part))
        month: dict[int, int] = {}
        for target, members in groups.items():
            found, _ = allocate([part for _, part in members], target)
            for (index, _part), level in zip(members, found, strict=True):
                month[index] = level.level
        for index in range(len(items)):
            levels[index].append(month[index])
    return levels


def replay(
    items: Sequence[ReplayItem],
    target_of: TargetOf,
    *,
    floor: int = 1,
    floor_months: int = 12,
    first_month: int = FIRST_MONTH,
) -> BacktestResult:
    """Fill rate and stock value overall and per demand class (the class of the months before
    the replay), with each part's minimum order and packs."""
    all_levels = replay_levels(
        items, target_of, floor=floor, floor_months=floor_months, first_month=first_month
    )
    result = BacktestResult()
    for item, levels in zip(items, all_levels, strict=True):
        outcome = simulate(
            item.history,
            levels,
            first_month,
            min_order=max(1, item.min_order),
            pack_size=item.pack_size,
        )
        result.overall.add(outcome)
        group = classify(item.history.demand[:first_month]).demand_class.value
        result.by_group.setdefault(group, Totals()).add(outcome)
    return result
