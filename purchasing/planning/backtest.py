"""The backtest of shared/data/README.md: how a stock policy would have done on a history.

For each item and each month ``t`` from ``first_month`` (24) to the last, the policy sets an
order-up-to level ``S[t]`` at the start of month ``t`` from months ``0 .. t-1`` only. Every
month: arrivals due (ordered ``L`` months ago) come in and fill backorders first; then an order
of ``max(0, S[t] - position)`` is placed (position = on hand - backorders + on order), arriving
at the start of month ``t + L`` (at once when ``L = 0``, before this month's demand); then the
month's demand is served from stock on hand and the rest is backordered. At the start of the
first month the stock on hand is ``S[first]``, nothing on order.

- fill rate = units served from stock in the month they were asked for / units demanded,
  over the backtest months, all items together;
- stock value = mean over the backtest months of end-of-month on hand x unit price, summed
  over items.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from purchasing.planning.history import ItemHistory

FIRST_MONTH = 24

#: levels(item) -> S[t] for t = first_month .. len(item.demand) - 1
LevelPolicy = Callable[[ItemHistory], Sequence[float]]


@dataclass(frozen=True)
class ItemOutcome:
    demanded: int
    served: float
    stock_value: float  # mean end-of-month on hand x unit price


def order_size(need: float, min_order: int = 1, pack_size: int = 1) -> float:
    """What is ordered for a shortfall ``need`` below the level: nothing when there is none,
    else at least the minimum order, rounded up to whole packs (the reorder rules of
    purchasing/reorder/formulas.py). With the defaults (1, 1) the order is the need itself."""
    if need <= 0:
        return 0.0
    quantity = max(need, float(min_order))
    if pack_size > 1:
        quantity = math.ceil(quantity / pack_size - 1e-9) * pack_size
    return quantity


def simulate(
    item: ItemHistory,
    levels: Sequence[float],
    first_month: int = FIRST_MONTH,
    min_order: int = 1,
    pack_size: int = 1,
) -> ItemOutcome:
    months = len(item.demand)
    if len(levels) != months - first_month:
        raise ValueError(f"{months - first_month} levels expected, got {len(levels)}")
    lead = item.lead_time
    on_hand = float(levels[0]) if levels else 0.0
    backorders = 0.0
    on_order = 0.0
    arriving: dict[int, float] = {}
    served_total = 0.0
    demanded_total = 0
    end_stock_sum = 0.0
    for index, t in enumerate(range(first_month, months)):
        incoming = arriving.pop(t, 0.0)
        if incoming:
            on_order -= incoming
            on_hand, backorders = _receive(on_hand, backorders, incoming)
        quantity = order_size(
            levels[index] - (on_hand - backorders + on_order), min_order, pack_size
        )
        if quantity > 0:
            if lead == 0:
                on_hand, backorders = _receive(on_hand, backorders, quantity)
            else:
                arriving[t + lead] = arriving.get(t + lead, 0.0) + quantity
                on_order += quantity
        units = item.demand[t]
        served = min(on_hand, float(units))
        on_hand -= served
        backorders += units - served
        served_total += served
        demanded_total += units
        end_stock_sum += on_hand
    count = months - first_month
    value = end_stock_sum / count * item.unit_price if count else 0.0
    return ItemOutcome(demanded_total, served_total, value)


def _receive(on_hand: float, backorders: float, units: float) -> tuple[float, float]:
    to_backorders = min(units, backorders)
    return on_hand + units - to_backorders, backorders - to_backorders


@dataclass
class Totals:
    items: int = 0
    demanded: int = 0
    served: float = 0.0
    stock_value: float = 0.0

    @property
    def fill_rate(self) -> float:
        return self.served / self.demanded if self.demanded else 1.0

    def add(self, outcome: ItemOutcome) -> None:
        self.items += 1
        self.demanded += outcome.demanded
        self.served += outcome.served
        self.stock_value += outcome.stock_value


@dataclass
class BacktestResult:
    overall: Totals = field(default_factory=Totals)
    by_group: dict[str, Totals] = field(default_factory=dict)


def run_backtest(
    items: Iterable[ItemHistory],
    policy: LevelPolicy,
    group_of: Callable[[ItemHistory], str] | None = None,
    first_month: int = FIRST_MONTH,
) -> BacktestResult:
    """Replay every item under ``policy``; totals overall and per group (e.g. demand class)."""
    result = BacktestResult()
    for item in items:
        outcome = simulate(item, policy(item), first_month)
        result.overall.add(outcome)
        if group_of is not None:
            result.by_group.setdefault(group_of(item), Totals()).add(outcome)
    return result
