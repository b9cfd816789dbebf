"""The queries behind reorder suggestions: stock positions (one row per part, streamed),
suggestion pages, and the demand history the recompute reads."""

from __future__ import annotations

from collections.abc import Generator
from contextlib import closing
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from itertools import islice
from typing import Any

from sqlalchemy import (
    BigInteger,
    Date,
    Numeric,
    Select,
    String,
    case,
    cast,
    func,
    literal,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeDecorator

from core.clock import Clock
from inventory.models import Location, Part, StockLevel, StockMove, Supplier
from inventory.status import PICKABLE_KINDS, MoveKind
from purchasing.models import PurchaseOrder, PurchaseOrderLine, ReorderPolicy
from purchasing.reorder.formulas import ReorderSettings
from purchasing.reorder.suggestions import (
    ReturnSupply,
    StockPosition,
    Suggestion,
    SuggestionFilters,
    suggest,
)
from purchasing.status import (
    ON_ORDER,
    PurchaseOrderStatus,
    Urgency,
)


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
) -> Select[*tuple[Any, ...]]:  # one row per part, many columns
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
            ReorderPolicy.demand_class,
            type_coerce(ReorderPolicy.forecast_per_month, _StoredDecimal()),
            type_coerce(ReorderPolicy.fill_rate_target_used, _StoredDecimal()),
            type_coerce(ReorderPolicy.expected_fill_rate, _StoredDecimal()),
            ReorderPolicy.planned_level,
            type_coerce(ReorderPolicy.planned_stock_value, _StoredDecimal()),
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
) -> Generator[Suggestion]:  # closed early by callers that stop reading
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
