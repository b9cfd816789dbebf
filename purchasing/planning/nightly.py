"""The nightly plan of every part, pure: demand class, forecast, target, level, expected fill
rate and stock value, from each part's monthly demand (no database; the recompute reads the
ledger and writes the figures, purchasing/reorder/planned.py).

- Class: Syntetos-Boylan on the months given (24).
- Forecast per month by class: SES for smooth and erratic demand, SBA for intermittent, TSB
  for lumpy (so a part whose demand stops fades towards 0 month by month), smoothing
  constants 0.1 (the literature's usual 0.1-0.2: Syntetos & Boylan 2005; Teunter, Syntetos &
  Babai 2011). The forecast sets the quantity of a planned part's order (docs/planning.md);
  the level uses the engine's moments, which did better on the RAF half.
- Levels: the parts are grouped by the fill-rate target that applies to each (its own, its
  category's, its class's or the default); each group's levels are set together for its target
  by marginal allocation (:mod:`purchasing.planning.allocation`), then raised to the floor.
- Trade-off: the whole catalogue (or a systematic sample of 2,000 parts, stock value scaled
  up) allocated once for targets 0.80 ... 0.99, before floors.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple

from purchasing.planning.allocation import PlanPart, TradeoffPoint, allocate, curves
from purchasing.planning.classification import DemandClass, classify
from purchasing.planning.forecasts import sba, ses, tsb

#: Months of demand behind the plan (class, forecast, level).
PLAN_MONTHS = 24
ALPHA = BETA = 0.1
#: The catalogue's trade-off curve: overall targets 0.80, 0.81, ..., 0.99.
TRADEOFF_TARGETS = tuple(round(0.80 + step / 100, 2) for step in range(20))
#: The trade-off of a larger catalogue is drawn on a systematic sample of this many parts
#: (every k-th in the recompute's order), its stock value scaled up to the whole catalogue.
TRADEOFF_SAMPLE = 2000
DAYS_PER_MONTH = 30


def lead_time_months(days: int) -> int:
    """Whole months an order takes, rounded up (14 days: 1), so the protection period
    (lead time + the month to the next review) is never shorter than the real one."""
    return max(0, math.ceil(days / DAYS_PER_MONTH))


def forecast(demand: Sequence[int], demand_class: DemandClass) -> tuple[float, str]:
    """Mean demand per month ahead, and the method used for the class."""
    if demand_class in (DemandClass.SMOOTH, DemandClass.ERRATIC):
        return ses(demand, ALPHA), "ses"
    if demand_class is DemandClass.INTERMITTENT:
        return sba(demand, ALPHA), "sba"
    if demand_class is DemandClass.LUMPY:
        return tsb(demand, ALPHA, BETA), "tsb"
    return 0.0, "none"


# Named tuples, not dataclasses: one of each per part of the catalogue, made fast.
class PlanInput(NamedTuple):
    key: int  # the part's id
    demand: tuple[int, ...]  # units per calendar month, oldest first
    lead_time_days: int
    price: float


class PlanFigures(NamedTuple):
    demand_class: DemandClass
    adi: float | None  # None without demand
    cv2: float | None
    forecast: float
    forecast_method: str
    target: float
    level: int
    expected_fill_rate: float | None  # None without demand
    stock_value: float  # expected end-of-month on hand x price
    floored: bool  # raised to the floor


def plan(
    parts: Sequence[PlanInput],
    target_of: Callable[[PlanInput, DemandClass], float],
    *,
    floor: int = 1,
    floor_months: int = 12,
    tradeoff: bool = True,
) -> tuple[dict[int, PlanFigures], list[TradeoffPoint]]:
    """The plan of every part, and the catalogue's trade-off (empty without ``tradeoff``)."""
    found: list[tuple[DemandClass, float | None, float | None, float, str]] = []
    groups: dict[float, list[int]] = defaultdict(list)  # each target's parts (positions)
    inputs: list[PlanPart] = []
    lead_times: dict[int, int] = {}  # days: months
    for index, part in enumerate(parts):
        demand = part.demand
        kind, adi, cv2 = classify(demand)
        if math.isinf(adi):
            found.append((kind, None, None, *forecast(demand, kind)))
        else:
            found.append((kind, adi, cv2, *forecast(demand, kind)))
        groups[target_of(part, kind)].append(index)
        months = lead_times.get(part.lead_time_days)
        if months is None:
            months = lead_times[part.lead_time_days] = lead_time_months(part.lead_time_days)
        recent = floor_months and max(demand[-floor_months:], default=0) > 0
        inputs.append(PlanPart(demand, months, part.price, floor if recent else 0))
    figures: dict[int, PlanFigures] = {}
    tabled = curves(inputs)
    for target, members in groups.items():
        given = [inputs[i] for i in members]
        levels, _ = allocate(given, target, shared=[tabled[i] for i in members])
        for i, one, level in zip(members, given, levels, strict=True):
            figures[parts[i].key] = PlanFigures(
                *found[i], target, level.level, level.expected_fill_rate,
                level.expected_on_hand * one.price, 0 < one.floor == level.level,
            )  # fmt: skip
    points: list[TradeoffPoint] = []
    if tradeoff and parts:
        every = math.ceil(len(parts) / TRADEOFF_SAMPLE)
        sample = inputs[::every]
        _, points = allocate(
            sample, max(TRADEOFF_TARGETS), TRADEOFF_TARGETS, shared=tabled[::every]
        )
        scale = len(parts) / len(sample)
        points = [TradeoffPoint(p.target, p.expected_fill_rate, p.stock_value * scale)
                  for p in points]  # fmt: skip
    return figures, points


def resolve_target(
    own: float | None,
    category: str | None,
    demand_class: str,
    targets: Mapping[tuple[str, str], float],
    default: float,
) -> float:
    """A part's own target, else its category's, else its demand class's, else the default
    (the buyer's, else the setting)."""
    if own is not None:
        return own
    for scope, key in (("category", category or ""), ("class", demand_class), ("default", "")):
        if (scope, key) in targets and (scope != "category" or key):
            return targets[scope, key]
    return default
