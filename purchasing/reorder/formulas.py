"""The reorder formulas: pure arithmetic, no database.

The formulas:

- average daily demand ``d`` = units issued over the window / days in the window, where
  demand is every ``issue`` from a storage or receiving bin and every ``reserved_issue``
  (replacements and orders shipped). Scrapping from quarantine is not demand;
- ``sigma`` = sample standard deviation of the daily totals over the window (days without
  demand count as 0);
- safety stock = ceil(z x sigma x sqrt(lead time)), z from the service level;
- reorder point = ceil(d x lead time) + safety stock;
- reorder quantity = ceil(d x order cycle days), at least the minimum order, rounded up to
  whole packs.

See docs/buyers.md for worked examples.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from statistics import NormalDist
from typing import NamedTuple

from core.errors import N_, InvalidInput

FOUR_PLACES = Decimal("0.0001")
CENTS = Decimal("0.01")
MIN_SERVICE_LEVEL = Decimal("0.5")
MAX_SERVICE_LEVEL = Decimal("0.9999")


@dataclass(frozen=True)
class ReorderSettings:
    """Defaults for every part without its own value (configurable per installation)."""

    window_days: int = 90
    service_level: Decimal = Decimal("0.95")
    order_cycle_days: int = 30
    default_lead_time_days: int = 14
    #: The fill-rate plan (docs/planning.md): computed by each recompute when on.
    planning: bool = True
    #: The fill rate aimed at when the buyer has set no target.
    planning_target: Decimal = Decimal("0.95")
    #: The per-part floor: a part with demand in the last ``planning_floor_months`` months
    #: gets an order-up-to level of at least ``planning_floor`` units (0: no floor).
    planning_floor: int = 1
    planning_floor_months: int = 12

    def __post_init__(self) -> None:
        check_service_level(self.service_level)
        if not 2 <= self.window_days <= 3650:
            raise ValueError("window_days must be 2 to 3650")
        if not Decimal("0.5") <= self.planning_target <= Decimal("0.999"):
            raise ValueError("planning_target must be 0.5 to 0.999")
        if self.planning_floor < 0 or not 1 <= self.planning_floor_months <= 24:
            raise ValueError("planning_floor >= 0, planning_floor_months 1 to 24")


def check_service_level(level: Decimal, field: str = "service_level") -> Decimal:
    if not MIN_SERVICE_LEVEL <= level <= MAX_SERVICE_LEVEL:
        raise InvalidInput(
            field,
            N_(
                "A service level is a share from %(MIN_SERVICE_LEVEL)s to "
                "%(MAX_SERVICE_LEVEL)s (0.95 = no stock-out in 95%% of lead times); "
                "got %(level)s.",
                MIN_SERVICE_LEVEL=MIN_SERVICE_LEVEL,
                MAX_SERVICE_LEVEL=MAX_SERVICE_LEVEL,
                level=level,
            ),
        )
    return level


# --- the formulas (pure) -----------------------------------------------------------------


def ceil_int(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_CEILING))


def z_score(service_level: Decimal) -> Decimal:
    """The standard normal quantile for ``service_level``, to four places (0.95 -> 1.6449)."""
    check_service_level(service_level)
    z = NormalDist().inv_cdf(float(service_level))
    return Decimal(str(round(z, 4))).quantize(FOUR_PLACES)


def round_up_to_pack(qty: int, pack_size: int) -> int:
    return -(-qty // pack_size) * pack_size if pack_size > 1 else qty  # integers only


@dataclass(frozen=True)
class DemandStats:
    """A part's demand over ``window_days`` whole days: total and sum of squared daily totals."""

    window_days: int
    total: int = 0
    sum_of_squares: int = 0

    @property
    def mean(self) -> Decimal:
        return Decimal(self.total) / Decimal(self.window_days)

    @property
    def std_dev(self) -> Decimal:
        """Sample standard deviation of the daily totals (n - 1 in the denominator)."""
        n = Decimal(self.window_days)
        variance = (Decimal(self.sum_of_squares) - Decimal(self.total) ** 2 / n) / (n - 1)
        return variance.sqrt() if variance > 0 else Decimal(0)

    @classmethod
    def from_daily(cls, window_days: int, daily: Sequence[int]) -> DemandStats:
        return cls(window_days, sum(daily), sum(d * d for d in daily))


@dataclass(frozen=True)
class ComputedPoint:
    avg_daily_demand: Decimal
    std_dev: Decimal
    z: Decimal
    lead_time_days: int
    safety_stock: int
    reorder_point: int
    reorder_qty: int


def compute_point(
    stats: DemandStats,
    *,
    lead_time_days: int,
    service_level: Decimal,
    order_cycle_days: int,
    pack_size: int = 1,
    min_order_qty: int = 0,
) -> ComputedPoint:
    """Safety stock, reorder point and reorder quantity from demand history."""
    mean, sigma, z = stats.mean, stats.std_dev, z_score(service_level)
    lead = Decimal(lead_time_days)
    safety = ceil_int(z * sigma * lead.sqrt()) if lead_time_days > 0 else 0
    point = ceil_int(mean * lead) + safety
    cycle_demand = ceil_int(mean * Decimal(order_cycle_days))
    quantity = round_up_to_pack(max(cycle_demand, min_order_qty), pack_size) if mean > 0 else 0
    return ComputedPoint(
        avg_daily_demand=mean,
        std_dev=sigma,
        z=z,
        lead_time_days=lead_time_days,
        safety_stock=safety,
        reorder_point=point,
        reorder_qty=quantity,
    )


class OrderQuantity(NamedTuple):
    target: int  # the level the order brings the stock position up to
    need: int  # target - position
    qty: int  # need, raised to the minimum order, in whole packs


def order_quantity(
    *,
    position: int,
    reorder_point: int,
    reorder_qty: int,
    max_level: int | None,
    pack_size: int,
    min_order_qty: int,
) -> OrderQuantity:
    """How much to order to bring ``position`` up to the target, in whole packs."""
    return OrderQuantity(
        *order_figures(position, reorder_point, reorder_qty, max_level, pack_size, min_order_qty)
    )


def order_figures(
    position: int,
    reorder_point: int,
    reorder_qty: int,
    max_level: int | None,
    pack_size: int,
    min_order_qty: int,
) -> tuple[int, int, int]:
    if max_level is not None and max_level > reorder_point:
        target = max_level
    else:
        target = reorder_point + reorder_qty if reorder_qty > 0 else reorder_point + 1
    need = target - position if target > position else 0
    qty = need
    if 0 < qty < min_order_qty:
        qty = min_order_qty
    if qty and pack_size > 1 and qty % pack_size:
        qty = round_up_to_pack(qty, pack_size)
    return target, need, qty


def quantity_notes(
    position: int,
    reorder_point: int,
    reorder_qty: int,
    max_level: int | None,
    pack_size: int,
    min_order_qty: int,
    quantity: OrderQuantity,
) -> tuple[str, ...]:
    """The steps :func:`order_quantity` took, in words."""
    target, need, qty = quantity
    notes: list[str] = []
    if max_level is not None and max_level > reorder_point:
        notes.append(f"order up to the max level {max_level}")
    else:
        planned = reorder_point + reorder_qty
        notes.append(f"order up to point {reorder_point} + reorder qty {reorder_qty} = {planned}")
        if max_level is not None:
            notes.append(f"max level {max_level} ignored: not above the reorder point")
        if planned <= reorder_point:
            notes.append(f"no reorder qty set: order up to {target}, one above the point")
    notes.append(f"{target} - position {position} = {need} needed")
    raised = need
    if 0 < raised < min_order_qty:
        raised = min_order_qty
        notes.append(f"raised to the minimum order {min_order_qty}")
    if raised != qty:
        notes.append(f"rounded up to whole packs of {pack_size}: {qty}")
    return tuple(notes)
