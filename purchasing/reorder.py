"""Reorder points from demand history, and reorder suggestions that say why.

The formulas (see docs/buyers.md for worked examples):

- average daily demand ``d`` = units issued over the window / days in the window, where
  demand is every ``issue`` from a storage or receiving bin and every ``reserved_issue``
  (replacements and orders shipped). Scrapping from quarantine is not demand;
- ``sigma`` = sample standard deviation of the daily totals over the window (days without
  demand count as 0);
- safety stock = ceil(z x sigma x sqrt(lead time)), z from the service level;
- reorder point = ceil(d x lead time) + safety stock;
- reorder quantity = ceil(d x order cycle days), at least the minimum order, rounded up to
  whole packs.

A suggestion compares the stock position ``available + on order + expected returns -
backordered replacements`` with the part's reorder point, and orders enough to reach
``reorder point + reorder quantity`` (or the part's max level), respecting minimum order
and pack size.

Returns are supplied through :class:`ReturnSupply`: inventory never imports the returns
package; the returns package implements the protocol and the app wires it in.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from functools import lru_cache
from itertools import islice
from statistics import NormalDist
from typing import Any, NamedTuple, Protocol

from sqlalchemy import (
    BigInteger,
    Date,
    Numeric,
    Select,
    String,
    case,
    cast,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    type_coerce,
    update,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeDecorator

from core.clock import Clock
from core.errors import InvalidInput
from inventory.catalog import get_part
from inventory.models import Location, Part, StockLevel, StockMove, Supplier
from inventory.status import PICKABLE_KINDS, MoveKind
from purchasing.models import PurchaseOrder, PurchaseOrderLine, ReorderPolicy
from purchasing.status import (
    ON_ORDER,
    PurchaseOrderStatus,
    ReorderMethod,
    Urgency,
)

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

    def __post_init__(self) -> None:
        check_service_level(self.service_level)
        if not 2 <= self.window_days <= 3650:
            raise ValueError("window_days must be 2 to 3650")


def check_service_level(level: Decimal, field: str = "service_level") -> Decimal:
    if not MIN_SERVICE_LEVEL <= level <= MAX_SERVICE_LEVEL:
        raise InvalidInput(
            field,
            f"A service level is a share from {MIN_SERVICE_LEVEL} to {MAX_SERVICE_LEVEL} "
            f"(0.95 = no stock-out in 95% of lead times); got {level}.",
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
        *_order_quantity(position, reorder_point, reorder_qty, max_level, pack_size, min_order_qty)
    )


def _order_quantity(
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


# --- returns as supply -------------------------------------------------------------------


@dataclass(frozen=True)
class IncomingReturns:
    """Returned units on their way back, as the returns package sees them for one part."""

    #: Units on RMAs whose return parcel the carrier has picked up and that have not arrived.
    picked_up: int
    #: Share of this part's returned units historically dispositioned back to stock (0 to 1).
    restock_rate: Decimal

    @property
    def expected(self) -> int:
        """Units expected back on the shelf: rounded down, so supply is never overstated."""
        rate = min(max(self.restock_rate, Decimal(0)), Decimal(1))
        return int((Decimal(self.picked_up) * rate).to_integral_value(rounding=ROUND_FLOOR))


class ReturnSupply(Protocol):
    """Implemented by the returns package; inventory only calls it."""

    def incoming(self, session: Session, part_ids: Sequence[int]) -> Mapping[int, IncomingReturns]:
        """Incoming returns for these parts (parts with none may be left out)."""
        ...

    def backorders(self) -> Any | None:
        """A selectable of ``(part_id, qty)``: replacements owed with no stock reserved."""
        ...


class NoReturnSupply:
    """Until returns exist: nothing is on its way back, nothing is owed."""

    def incoming(self, session: Session, part_ids: Sequence[int]) -> Mapping[int, IncomingReturns]:
        return {}

    def backorders(self) -> Any | None:
        return None


# --- suggestions -------------------------------------------------------------------------


@dataclass(frozen=True)
class SuggestionFilters:
    supplier: str | None = None
    category: str | None = None
    #: The least urgency to include: ``below_safety_stock`` also includes ``short``.
    urgency: Urgency | None = None


class StockPosition(NamedTuple):
    """What the database says about one part, before any arithmetic.

    A named tuple: built straight from a result row of :func:`positions_query`, whose
    columns come in this order, 100,000 of them cost next to nothing.
    """

    part_id: int
    sku: str
    sku_key: str
    name: str
    category: str | None
    unit: str
    unit_cost: Decimal
    supplier_code: str | None
    supplier_name: str | None
    lead_time_days: int
    reorder_point: int
    reorder_qty: int
    safety_stock: int
    on_hand: int  # everywhere, quarantine and returns included
    pickable_on_hand: int  # in storage and receiving bins
    reserved: int
    on_order: int  # outstanding on draft, sent and partially received orders
    on_order_in_drafts: int
    next_arrival: date | None  # earliest expected date of a sent order
    pack_size: int = 1
    min_order_qty: int = 0
    max_level: int | None = None
    #: From the last recompute; as stored (a Decimal, or its text on SQLite).
    avg_daily_demand: Decimal | str | None = None
    flagged_since: datetime | None = None
    #: Advance replacements promised but not reserved (no stock when they were authorised).
    backordered: int = 0

    @property
    def available(self) -> int:
        return self.pickable_on_hand - self.reserved


class Suggestion:
    """One part to order: the figures, and the reasons on demand. Treat it as read-only."""

    __slots__ = (
        "_reasons",
        "expected_arrival",
        "incoming_returns",
        "line_value",
        "need",
        "needed_by",
        "position",
        "qty",
        "stock",
        "target",
        "urgency",
    )

    def __init__(
        self,
        stock: StockPosition,
        incoming_returns: IncomingReturns | None,
        position: int,
        urgency: Urgency,
        target: int,
        need: int,
        qty: int,
        line_value: Decimal,
        expected_arrival: date,
        needed_by: date | None,
    ):
        self.stock = stock
        self.incoming_returns = incoming_returns
        self.position = position
        self.urgency = urgency
        self.target = target
        self.need = need
        self.qty = qty
        self.line_value = line_value
        self.expected_arrival = expected_arrival
        self.needed_by = needed_by
        self._reasons: tuple[str, ...] | None = None

    def __repr__(self) -> str:
        return f"<Suggestion {self.stock.sku} {self.qty} ({self.urgency.value})>"

    @property
    def quantity(self) -> OrderQuantity:
        return OrderQuantity(self.target, self.need, self.qty)

    @property
    def expected_returns(self) -> int:
        return self.incoming_returns.expected if self.incoming_returns else 0

    @property
    def reasons(self) -> tuple[str, ...]:
        """Why each figure is what it is, step by step (written when first asked for)."""
        if self._reasons is None:
            self._reasons = explain(self)
        return self._reasons

    @property
    def why(self) -> str:
        return "; ".join(self.reasons)

    def __getattr__(self, name: str) -> Any:
        # sku, name, available, ... read through to the stock position.
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.stock, name)


def suggest(
    stock: StockPosition, incoming: IncomingReturns | None, today: date
) -> Suggestion | None:
    """The suggestion for one part, or None when its stock position is above its point."""
    point = stock.reorder_point
    if point <= 0:
        return None
    available = stock.pickable_on_hand - stock.reserved
    position = available + stock.on_order - stock.backordered
    if incoming is not None:
        position += incoming.expected
    if position > point:
        return None
    target, need, qty = _order_quantity(
        position, point, stock.reorder_qty, stock.max_level, stock.pack_size, stock.min_order_qty
    )
    headroom = available - stock.safety_stock
    if available <= 0:
        urgency, needed_by = Urgency.SHORT, today
    elif headroom < 0:
        urgency, needed_by = Urgency.BELOW_SAFETY_STOCK, today
    else:
        urgency = Urgency.BELOW_POINT
        demand = stock.avg_daily_demand
        needed_by = _run_out_date(headroom, demand, today) if demand else None
    return Suggestion(
        stock,
        incoming,
        position,
        urgency,
        target,
        need,
        qty,
        (stock.unit_cost * qty).quantize(CENTS, rounding=ROUND_HALF_UP),
        _days_after(today, stock.lead_time_days),
        needed_by,
    )


@lru_cache(maxsize=4096)
def _days_after(day: date, days: int) -> date:
    return day + timedelta(days=days)  # cached: a few lead times serve 100,000 parts


def explain(suggestion: Suggestion) -> tuple[str, ...]:
    stock, incoming = suggestion.stock, suggestion.incoming_returns
    reasons = [
        f"available {stock.available} = {stock.pickable_on_hand} on hand in storage/receiving"
        f" - {stock.reserved} reserved (replacements, orders)"
    ]
    elsewhere = stock.on_hand - stock.pickable_on_hand
    if elsewhere:
        reasons.append(f"{elsewhere} in quarantine/returns not counted")
    if stock.on_order:
        drafts = stock.on_order_in_drafts
        in_drafts = f", {drafts} of them on drafts" if drafts else ""
        arrival = f", next due {stock.next_arrival.isoformat()}" if stock.next_arrival else ""
        reasons.append(f"+ {stock.on_order} on order{in_drafts}{arrival}")
    if incoming and incoming.picked_up:
        reasons.append(
            f"+ {incoming.expected} expected from returns = {incoming.picked_up} picked up x "
            f"{incoming.restock_rate:.0%} historic restock rate, rounded down"
        )
    if stock.backordered:
        reasons.append(f"- {stock.backordered} owed to customers as backordered replacements")
    reasons.append(f"= position {suggestion.position} <= reorder point {stock.reorder_point}")
    reasons.extend(
        quantity_notes(
            suggestion.position,
            stock.reorder_point,
            stock.reorder_qty,
            stock.max_level,
            stock.pack_size,
            stock.min_order_qty,
            suggestion.quantity,
        )
    )
    if suggestion.urgency is Urgency.SHORT:
        reasons.append(
            f"short: no free stock ({stock.reserved} of {stock.pickable_on_hand} on hand reserved)"
        )
    elif suggestion.urgency is Urgency.BELOW_SAFETY_STOCK:
        reasons.append(
            f"below safety stock: {stock.available} free < safety stock {stock.safety_stock}"
        )
    reasons.append(
        f"arrives {suggestion.expected_arrival.isoformat()} ({stock.lead_time_days} days lead time)"
    )
    return tuple(reasons)


def _run_out_date(headroom: int, demand: Decimal | str | None, today: date) -> date | None:
    """When free stock is expected to fall to the safety stock (``headroom`` units above it)
    at the average daily demand; today when it already has."""
    if headroom <= 0:
        return today
    daily = Decimal(demand) if demand else Decimal(0)
    if daily <= 0:
        return None  # no demand recorded: no date to run out by
    days = int((Decimal(headroom) / daily).to_integral_value(rounding=ROUND_FLOOR))
    return today + timedelta(days=min(days, 3650))


class _StoredDecimal(TypeDecorator[Decimal]):
    """Reads :class:`~core.money.ExactDecimal` columns without re-rounding: what they store
    is already exact (canonical text on SQLite, NUMERIC on PostgreSQL)."""

    impl = String
    cache_ok = True

    def process_result_value(self, value: object, dialect: Dialect) -> Decimal | None:
        if value is None or isinstance(value, Decimal):
            return value
        return Decimal(str(value))


def _stock_totals() -> Any:
    pickable = Location.kind.in_(PICKABLE_KINDS)
    return (
        select(
            StockLevel.part_id.label("part_id"),
            func.sum(StockLevel.on_hand).label("on_hand"),
            func.sum(case((pickable, StockLevel.on_hand), else_=0)).label("pickable_on_hand"),
            func.sum(case((pickable, StockLevel.reserved), else_=0)).label("reserved"),
        )
        .join(Location, Location.id == StockLevel.location_id)
        .group_by(StockLevel.part_id)
        .subquery("stock")
    )


def _on_order() -> Any:
    outstanding = PurchaseOrderLine.qty_ordered - PurchaseOrderLine.qty_received
    draft = PurchaseOrder.status == PurchaseOrderStatus.DRAFT
    return (
        select(
            PurchaseOrderLine.part_id.label("part_id"),
            func.sum(outstanding).label("on_order"),
            func.sum(case((draft, outstanding), else_=0)).label("in_drafts"),
            func.min(case((~draft, PurchaseOrder.expected_on), else_=None)).label("next_arrival"),
        )
        .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.purchase_order_id)
        .where(PurchaseOrder.status.in_(ON_ORDER))
        .group_by(PurchaseOrderLine.part_id)
        .subquery("on_order")
    )


def positions_query(
    settings: ReorderSettings,
    filters: SuggestionFilters = SuggestionFilters(),
    *,
    candidates_only: bool = True,
    backorders: Any | None = None,
) -> Select[Any]:
    """One statement for every part's stock position.

    With ``candidates_only`` it keeps the parts whose position *without* returns is at or
    below the point: returns only add supply, so no suggestion is missed.
    """
    stock, on_order = _stock_totals(), _on_order()
    available = func.coalesce(stock.c.pickable_on_hand, 0) - func.coalesce(stock.c.reserved, 0)
    ordered = func.coalesce(on_order.c.on_order, 0)
    owed = func.coalesce(backorders.c.qty, 0) if backorders is not None else literal(0)
    lead_time = func.coalesce(
        Part.lead_time_days, Supplier.default_lead_time_days, settings.default_lead_time_days
    )
    query = (
        select(
            Part.id,
            Part.sku,
            Part.sku_key,
            Part.name,
            Part.category,
            Part.unit,
            type_coerce(Part.unit_cost, _StoredDecimal()),
            Supplier.code,
            Supplier.name,
            lead_time,
            Part.reorder_point,
            Part.reorder_qty,
            Part.safety_stock,
            # Sums come back as NUMERIC on PostgreSQL: cast, so rows need no conversion.
            cast(func.coalesce(stock.c.on_hand, 0), BigInteger),
            cast(func.coalesce(stock.c.pickable_on_hand, 0), BigInteger),
            cast(func.coalesce(stock.c.reserved, 0), BigInteger),
            cast(ordered, BigInteger),
            cast(func.coalesce(on_order.c.in_drafts, 0), BigInteger),
            type_coerce(on_order.c.next_arrival, Date),
            func.coalesce(ReorderPolicy.pack_size, 1),
            func.coalesce(ReorderPolicy.min_order_qty, 0),
            ReorderPolicy.max_level,
            # Read as stored (text on SQLite); only parts with headroom need it as a number.
            type_coerce(ReorderPolicy.avg_daily_demand, String),
            ReorderPolicy.flagged_since,
            cast(owed, BigInteger),
        )
        .select_from(Part)
        .outerjoin(Supplier, Supplier.id == Part.supplier_id)
        .outerjoin(stock, stock.c.part_id == Part.id)
        .outerjoin(on_order, on_order.c.part_id == Part.id)
        .outerjoin(ReorderPolicy, ReorderPolicy.part_id == Part.id)
        .where(Part.active.is_(True))
    )
    if backorders is not None:
        query = query.outerjoin(backorders, backorders.c.part_id == Part.id)
    if candidates_only:
        query = query.where(
            Part.reorder_point > 0, available + ordered - owed <= Part.reorder_point
        )
    if filters.supplier:
        query = query.where(Supplier.code == filters.supplier.strip().upper())
    if filters.category:
        query = query.where(Part.category == filters.category)
    if filters.urgency is Urgency.SHORT:
        query = query.where(available <= 0)
    elif filters.urgency is Urgency.BELOW_SAFETY_STOCK:
        query = query.where(or_(available <= 0, available < Part.safety_stock))
    return query


def iter_suggestions(
    session: Session,
    clock: Clock,
    settings: ReorderSettings,
    returns: ReturnSupply,
    filters: SuggestionFilters = SuggestionFilters(),
    *,
    by_supplier: bool = False,
    has_supplier: bool | None = None,
    after: str | None = None,
    chunk: int = 2000,
) -> Iterator[Suggestion]:
    """Suggestions in SKU order (or supplier, then SKU), streamed from the database.

    ``has_supplier`` True or False keeps only the parts with, or without, a supplier.
    """
    today = clock.now().date()
    query = positions_query(settings, filters, backorders=returns.backorders())
    if has_supplier is not None:
        query = query.where(
            Part.supplier_id.is_not(None) if has_supplier else Part.supplier_id.is_(None)
        )
    if after is not None:
        query = query.where(Part.sku_key > after)
    order = (Supplier.code.is_(None), Supplier.code, Part.sku_key) if by_supplier else ()
    query = query.order_by(*order, Part.sku_key)
    # Plain rows on the session's connection (its transaction), not ORM objects, read as
    # they come: a server-side cursor on PostgreSQL; SQLite's cursor steps through anyway.
    if session.get_bind().dialect.name == "postgresql":
        query = query.execution_options(yield_per=chunk)  # server-side cursor, big fetches
    result = session.connection().execute(query)
    rows = iter(result)
    try:
        while stocks := [StockPosition._make(row) for row in islice(rows, chunk)]:
            incoming = returns.incoming(session, [s.part_id for s in stocks])
            for stock in stocks:
                coming = incoming.get(stock.part_id) if incoming else None
                suggestion = suggest(stock, coming, today)
                if suggestion is not None:
                    yield suggestion
    finally:
        result.close()  # a caller that stops early must not leave a server cursor open


def list_suggestions(
    session: Session,
    clock: Clock,
    settings: ReorderSettings,
    returns: ReturnSupply,
    filters: SuggestionFilters = SuggestionFilters(),
    *,
    after: str | None = None,
    limit: int = 50,
) -> list[Suggestion]:
    found: list[Suggestion] = []
    suggestions = iter_suggestions(
        session, clock, settings, returns, filters, after=after, chunk=max(limit, 200)
    )
    with closing(suggestions):
        for suggestion in suggestions:
            found.append(suggestion)
            if len(found) >= limit:
                break
    return found


def count_without_supplier(
    session: Session,
    clock: Clock,
    settings: ReorderSettings,
    returns: ReturnSupply,
    filters: SuggestionFilters,
) -> int:
    """Parts that need ordering but have no supplier to order from (left out of workbooks)."""
    unsupplied = iter_suggestions(
        session, clock, settings, returns, replace(filters, supplier=None), has_supplier=False
    )
    with closing(unsupplied):
        return sum(1 for _ in unsupplied)


# --- demand history and the recompute ----------------------------------------------------


def _utc_day(session: Session, column: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone("UTC", column))
    return func.date(column)  # SQLite keeps UTC timestamps as ISO text


def demand_by_part(session: Session, start: datetime, end: datetime) -> dict[int, tuple[int, int]]:
    """(total, sum of squared daily totals) of demand per part in ``[start, end)``."""
    day = _utc_day(session, StockMove.created_at)
    daily = (
        select(
            StockMove.part_id.label("part_id"),
            day.label("day"),
            cast(func.sum(StockMove.qty), Numeric(30, 0)).label("qty"),
        )
        .join(Location, Location.id == StockMove.from_location_id)
        .where(
            StockMove.kind.in_((MoveKind.ISSUE, MoveKind.RESERVED_ISSUE)),
            Location.kind.in_(PICKABLE_KINDS),
            StockMove.created_at >= start,
            StockMove.created_at < end,
        )
        .group_by(StockMove.part_id, day)
        .subquery()
    )
    rows = session.execute(
        select(
            daily.c.part_id, func.sum(daily.c.qty), func.sum(daily.c.qty * daily.c.qty)
        ).group_by(daily.c.part_id)
    )
    return {part_id: (int(total), int(squares)) for part_id, total, squares in rows}


def demand_window(now: datetime, days: int) -> tuple[datetime, datetime]:
    """The last ``days`` whole UTC days before today: today's partial demand is left out."""
    end = datetime.combine(now.astimezone(UTC).date(), time(0), tzinfo=UTC)
    return end - timedelta(days=days), end


@dataclass(frozen=True)
class RecomputeSummary:
    computed_at: datetime
    window_days: int
    service_level: Decimal
    parts: int
    parts_with_demand: int
    points_applied: int  # parts with the computed method whose point or quantity changed
    flagged: int  # parts at or below their point now
    newly_flagged: int
    cleared: int


_POLICY_INPUTS = (
    "part_id",
    "method",
    "pack_size",
    "min_order_qty",
    "service_level",
    "order_cycle_days",
)
_COMPUTED_FIELDS = (
    "window_days",
    "demand_total",
    "avg_daily_demand",
    "demand_std_dev",
    "lead_time_days_used",
    "service_level_used",
    "suggested_safety_stock",
    "suggested_reorder_point",
    "suggested_reorder_qty",
)


def _serialise_recomputes(session: Session) -> None:
    """One recompute at a time over one PostgreSQL (SQLite's BEGIN IMMEDIATE already is)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext('spareflow.reorder'))"))


def recompute(
    session: Session,
    clock: Clock,
    settings: ReorderSettings,
    returns: ReturnSupply,
    *,
    window_days: int | None = None,
    service_level: Decimal | None = None,
) -> RecomputeSummary:
    """Recompute every active part's suggested points and flag the parts at or below theirs.

    Idempotent: a second run with the same ledger writes nothing. Parts with the
    ``computed`` method get the new figures as their reorder point, safety stock and
    reorder quantity; ``manual`` parts keep theirs and show the computed ones as advice.
    """
    _serialise_recomputes(session)
    now = clock.now()
    window = window_days or settings.window_days
    if not 2 <= window <= 3650:
        raise InvalidInput("window_days", "The demand window is 2 to 3650 days.")
    default_level = check_service_level(service_level or settings.service_level)
    start, end = demand_window(now, window)
    demand = demand_by_part(session, start, end)

    policy_columns = [getattr(ReorderPolicy, name) for name in _POLICY_INPUTS + _COMPUTED_FIELDS]
    rows = session.execute(
        select(
            Part.id,
            func.coalesce(
                Part.lead_time_days,
                Supplier.default_lead_time_days,
                settings.default_lead_time_days,
            ),
            Part.reorder_point,
            Part.safety_stock,
            Part.reorder_qty,
            *policy_columns,
        )
        .outerjoin(Supplier, Supplier.id == Part.supplier_id)
        .outerjoin(ReorderPolicy, ReorderPolicy.part_id == Part.id)
        .where(Part.active.is_(True))
    ).all()
    inserts: list[dict[str, Any]] = []
    policy_updates: list[dict[str, Any]] = []
    part_updates: list[dict[str, Any]] = []
    with_demand = 0
    for part_id, lead_time, point, safety, quantity, *policy_values in rows:
        policy = dict(zip(_POLICY_INPUTS + _COMPUTED_FIELDS, policy_values, strict=True))
        exists = policy["part_id"] is not None
        level = policy["service_level"] or default_level
        total, squares = demand.get(part_id, (0, 0))
        with_demand += total > 0
        computed = compute_point(
            DemandStats(window, total, squares),
            lead_time_days=int(lead_time),
            service_level=level,
            order_cycle_days=policy["order_cycle_days"] or settings.order_cycle_days,
            pack_size=policy["pack_size"] or 1,
            min_order_qty=policy["min_order_qty"] or 0,
        )
        values = {
            "window_days": window,
            "demand_total": total,
            "avg_daily_demand": computed.avg_daily_demand.quantize(FOUR_PLACES),
            "demand_std_dev": computed.std_dev.quantize(FOUR_PLACES),
            "lead_time_days_used": computed.lead_time_days,
            "service_level_used": level,
            "suggested_safety_stock": computed.safety_stock,
            "suggested_reorder_point": computed.reorder_point,
            "suggested_reorder_qty": computed.reorder_qty,
        }
        if not exists:
            inserts.append(
                {"part_id": part_id, "method": ReorderMethod.MANUAL, "pack_size": 1,
                 "min_order_qty": 0, "computed_at": now, "updated_at": now, **values}
            )  # fmt: skip
        elif any(policy[name] != value for name, value in values.items()):
            policy_updates.append({"part_id": part_id, "computed_at": now, **values})
        if exists and policy["method"] == ReorderMethod.COMPUTED:
            wanted = (computed.reorder_point, computed.safety_stock, computed.reorder_qty)
            if wanted != (point, safety, quantity):
                part_updates.append(
                    {"id": part_id, "reorder_point": wanted[0], "safety_stock": wanted[1],
                     "reorder_qty": wanted[2], "updated_at": now}
                )  # fmt: skip
    if inserts:
        session.execute(insert(ReorderPolicy), inserts)
    if policy_updates:
        session.execute(update(ReorderPolicy), policy_updates)
    if part_updates:
        session.execute(update(Part), part_updates)
    session.flush()

    flagged = {s.part_id for s in iter_suggestions(session, clock, settings, returns)}
    already = set(
        session.scalars(
            select(ReorderPolicy.part_id).where(ReorderPolicy.flagged_since.is_not(None))
        )
    )
    to_flag, to_clear = sorted(flagged - already), sorted(already - flagged)
    for ids, value in ((to_flag, now), (to_clear, None)):
        for i in range(0, len(ids), 500):
            session.execute(
                update(ReorderPolicy)
                .where(ReorderPolicy.part_id.in_(ids[i : i + 500]))
                .values(flagged_since=value)
                .execution_options(synchronize_session=False)
            )
    session.flush()
    return RecomputeSummary(
        computed_at=now,
        window_days=window,
        service_level=default_level,
        parts=len(rows),
        parts_with_demand=with_demand,
        points_applied=len(part_updates),
        flagged=len(flagged),
        newly_flagged=len(to_flag),
        cleared=len(to_clear),
    )


# --- policies ----------------------------------------------------------------------------

POLICY_FIELDS = {"method", "pack_size", "min_order_qty", "max_level", "service_level",
                 "order_cycle_days"}  # fmt: skip


@dataclass(frozen=True)
class PolicyView:
    """A part's reorder settings, defaults filled in for parts without a policy row."""

    part: Part
    policy: ReorderPolicy | None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        if self.policy is not None:
            return getattr(self.policy, name)
        defaults = {"method": ReorderMethod.MANUAL, "pack_size": 1, "min_order_qty": 0}
        return defaults.get(name)


def policy_for(session: Session, part: Part) -> ReorderPolicy | None:
    return session.get(ReorderPolicy, part.id)


def get_policy(session: Session, sku: str) -> PolicyView:
    part = get_part(session, sku)
    return PolicyView(part, policy_for(session, part))


def set_policy(
    session: Session, clock: Clock, part: Part, changes: Mapping[str, Any]
) -> ReorderPolicy:
    """Create or change a part's policy; fields not in ``changes`` stay as they are."""
    unknown = set(changes) - POLICY_FIELDS
    if unknown:
        raise TypeError(f"unknown policy fields: {sorted(unknown)}")
    if changes.get("service_level") is not None:
        check_service_level(changes["service_level"])
    policy = policy_for(session, part)
    if policy is None:
        policy = ReorderPolicy(
            part_id=part.id,
            part=part,
            method=ReorderMethod.MANUAL,
            pack_size=1,
            min_order_qty=0,
            updated_at=clock.now(),
        )
        session.add(policy)
    for name, value in changes.items():
        setattr(policy, name, value)
    policy.updated_at = clock.now()
    session.flush()
    return policy
