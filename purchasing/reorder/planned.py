"""The fill-rate plan in the nightly recompute: monthly demand from the ledger, the buyer's
targets, the plan's figures as policy values, the ``planned`` method's point and quantity,
and the catalogue's trade-off (docs/planning.md)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, NamedTuple

from sqlalchemy import BigInteger, cast, delete, func, insert, select
from sqlalchemy.orm import Session

from inventory.models import Location, StockMove
from inventory.status import PICKABLE_KINDS, MoveKind
from purchasing.models import PlanningTarget, PlanningTradeoff
from purchasing.planning.allocation import TradeoffPoint
from purchasing.planning.nightly import (
    PLAN_MONTHS,
    PlanFigures,
    PlanInput,
    lead_time_months,
    plan,
    resolve_target,
)
from purchasing.reorder.formulas import CENTS, FOUR_PLACES, ReorderSettings, round_up_to_pack

#: The policy columns the plan writes (see :func:`plan_values`).
PLAN_FIELDS = (
    "demand_class",
    "demand_adi",
    "demand_cv2",
    "forecast_per_month",
    "forecast_method",
    "fill_rate_target_used",
    "planned_level",
    "expected_fill_rate",
    "planned_stock_value",
)


def month_keys(now: datetime, months: int = PLAN_MONTHS) -> list[str]:
    """The ``months`` whole calendar months (UTC) before the current one, oldest first."""
    moment = now.astimezone(UTC)
    index = moment.year * 12 + moment.month - 1
    return [f"{i // 12:04d}-{i % 12 + 1:02d}" for i in range(index - months, index)]


def _demand(query: Any) -> Any:
    """Demand, as the recompute counts it: issues and reserved issues from storage and
    receiving bins (scrapping from quarantine is not demand)."""
    return query.join(Location, Location.id == StockMove.from_location_id).where(
        StockMove.kind.in_((MoveKind.ISSUE, MoveKind.RESERVED_ISSUE)),
        Location.kind.in_(PICKABLE_KINDS),
    )


def months_of_demand(session: Session, now: datetime) -> int:
    """Whole calendar months from the month of the first demand to the last complete one."""
    first: datetime | None = session.scalar(_demand(select(func.min(StockMove.created_at))))
    if first is None:
        return 0
    if first.tzinfo is None:
        first = first.replace(tzinfo=UTC)
    moment, first = now.astimezone(UTC), first.astimezone(UTC)
    return (moment.year * 12 + moment.month) - (first.year * 12 + first.month)


def monthly_demand(
    session: Session, now: datetime, months: int = PLAN_MONTHS, part_ids: Sequence[int] = ()
) -> dict[int, list[int]]:
    """Units demanded per part per calendar month, oldest first: what the recompute counts as
    demand (issues and reserved issues from storage and receiving bins), bucketed by month."""
    keys = month_keys(now, months)
    first = datetime.fromisoformat(f"{keys[0]}-01T00:00:00+00:00")
    moment = now.astimezone(UTC)
    end = datetime(moment.year, moment.month, 1, tzinfo=UTC)
    if session.get_bind().dialect.name == "postgresql":
        month = func.to_char(func.timezone("UTC", StockMove.created_at), "YYYY-MM")
    else:  # SQLite keeps UTC timestamps as ISO text: the month is its first 7 characters
        month = func.substr(StockMove.created_at, 1, 7)
    query = (
        _demand(select(StockMove.part_id, month, cast(func.sum(StockMove.qty), BigInteger)))
        .where(StockMove.created_at >= first, StockMove.created_at < end)
        .group_by(StockMove.part_id, month)
    )
    if part_ids:
        query = query.where(StockMove.part_id.in_(part_ids))
    position = {key: index for index, key in enumerate(keys)}
    found: dict[int, list[int]] = {}
    for part_id, key, units in session.execute(query):
        series = found.get(part_id)
        if series is None:
            series = found[part_id] = [0] * months
        series[position[key]] += units
    return found


def recompute_demand(
    session: Session, now: datetime, start: datetime, end: datetime, months: int = PLAN_MONTHS
) -> tuple[dict[int, tuple[int, int]], dict[int, list[int]]]:
    """The daily demand of :func:`~purchasing.reorder.queries.demand_by_part` (total and sum
    of squared daily totals per part in ``[start, end)``, two UTC midnights) and the monthly
    demand of :func:`monthly_demand`, from one read of the ledger: the recompute with the
    plan would otherwise scan the moves twice (neither range has an index to use)."""
    keys = month_keys(now, months)
    first = datetime.fromisoformat(f"{keys[0]}-01T00:00:00+00:00")
    start_day, end_day = start.date().isoformat(), end.date().isoformat()
    if session.get_bind().dialect.name == "postgresql":
        day = func.to_char(func.timezone("UTC", StockMove.created_at), "YYYY-MM-DD")
        # The server adds up each part's day (it aggregates without the client's help).
        query = _demand(select(StockMove.part_id, day, cast(func.sum(StockMove.qty), BigInteger)))
        query = query.group_by(StockMove.part_id, day)
    else:  # SQLite keeps UTC timestamps as ISO text: the day is its first 10 characters
        day = func.substr(StockMove.created_at, 1, 10)
        # The moves as they are: SQLite would group by sorting, in this process; the loop
        # below adds up a part's day wherever its moves come.
        query = _demand(select(StockMove.part_id, day, StockMove.qty))
    query = query.where(StockMove.created_at >= min(start, first), StockMove.created_at < end)
    position = {key: index for index, key in enumerate(keys)}
    kinds: dict[str, tuple[int, bool]] = {}  # each day: its month's position (-1: none), recent
    monthly: dict[int, list[int]] = {}
    days: dict[tuple[int, str], int] = {}  # a part's demand on each day of the window
    result = session.connection().execute(query)
    # Plain tuples from the DBAPI cursor: the three columns need no conversion, and making a
    # Row of each of a million moves would cost more than this loop does.
    cursor = result.cursor
    try:
        while batch := cursor.fetchmany(10_000):
            for part_id, key, units in batch:
                kind = kinds.get(key)
                if kind is None:
                    kind = kinds[key] = (position.get(key[:7], -1), start_day <= key < end_day)
                month, recent = kind
                if month >= 0:
                    series = monthly.get(part_id)
                    if series is None:
                        series = monthly[part_id] = [0] * months
                    series[month] += units
                if recent:
                    days[part_id, key] = days.get((part_id, key), 0) + units
    finally:
        result.close()
    daily: dict[int, tuple[int, int]] = {}
    for (part_id, _), units in days.items():
        total, squares = daily.get(part_id, (0, 0))
        daily[part_id] = (total + units, squares + units * units)
    return daily, monthly


def load_targets(session: Session) -> dict[tuple[str, str], float]:
    rows = session.execute(
        select(PlanningTarget.scope, PlanningTarget.key, PlanningTarget.fill_rate)
    )
    return {(scope, key): float(rate) for scope, key, rate in rows}


class PlanRow(NamedTuple):
    """What the recompute knows of a part that the plan needs."""

    part_id: int
    lead_time_days: int
    category: str | None
    unit_cost: Decimal | None
    own_target: Decimal | None


def plan_catalogue(
    session: Session,
    now: datetime,
    settings: ReorderSettings,
    rows: Sequence[PlanRow],
    demand: Mapping[int, Sequence[int]] | None = None,
) -> dict[int, PlanFigures]:
    """Every part's plan from its monthly demand (read from the ledger unless given), and
    the catalogue's trade-off stored."""
    if demand is None:
        demand = monthly_demand(session, now)
    targets = load_targets(session)
    default = float(settings.planning_target)
    zeros = (0,) * PLAN_MONTHS
    inputs, with_demand = [], 0
    for row in rows:
        series = demand.get(row.part_id)
        if series and any(series):
            with_demand += 1
        demand_of = tuple(series) if series else zeros
        price = float(row.unit_cost or 0)
        inputs.append(PlanInput(row.part_id, demand_of, row.lead_time_days, price))
    extra = {row.part_id: row for row in rows}
    known: dict[tuple[Decimal | None, str | None, str], float] = {}

    def target_of(part: PlanInput, demand_class: Any) -> float:
        row = extra[part.key]
        key = (row.own_target, row.category, str(demand_class))
        found = known.get(key)
        if found is None:  # a few distinct answers for 100,000 parts
            own = float(row.own_target) if row.own_target is not None else None
            found = known[key] = resolve_target(own, *key[1:], targets, default)
        return found

    figures, points = plan(
        inputs,
        target_of,
        floor=settings.planning_floor,
        floor_months=settings.planning_floor_months,
    )
    store_tradeoff(session, now, points, with_demand)
    return figures


def _share(value: float | None) -> Decimal | None:
    if value is None:
        return None
    return Decimal(str(round(min(max(value, 0.0), 1.0), 4))).quantize(FOUR_PLACES)


def _four(value: float | None) -> Decimal | None:
    if value is None:
        return None
    return Decimal(str(round(value, 4))).quantize(FOUR_PLACES)


def plan_values(figures: PlanFigures) -> dict[str, Any]:
    """The plan as the policy's column values (rounded as stored)."""
    return {
        "demand_class": figures.demand_class.value,
        "demand_adi": _four(figures.adi),
        "demand_cv2": _four(figures.cv2),
        "forecast_per_month": _four(figures.forecast),
        "forecast_method": figures.forecast_method,
        "fill_rate_target_used": _share(figures.target),
        "planned_level": figures.level,
        "expected_fill_rate": _share(figures.expected_fill_rate),
        "planned_stock_value": Decimal(str(round(figures.stock_value, 2))).quantize(
            CENTS, rounding=ROUND_HALF_UP
        ),
    }


def plan_stored(figures: PlanFigures, row: Sequence[Any], at: int = 0) -> bool:
    """Whether ``row`` (from ``at``, the :data:`PLAN_FIELDS` as read) already holds what
    :func:`plan_values` would write, found without building any Decimal (most parts' plans
    are the same night after night). A stored decimal of 4 (2) places equals a value rounded
    to 4 (2) places exactly when their floats are equal: below 10^11 no two such decimals
    share a float. Written out in full: it runs for every part, every night."""
    kind, adi, cv2, ahead, method, target, level, fill_rate, value = row[at : at + 9]
    if (
        level != figures.level
        or kind != figures.demand_class
        or method != figures.forecast_method
        or ahead is None
        or float(ahead) != round(figures.forecast, 4)
        or value is None
        or float(value) != round(figures.stock_value, 2)
        or target is None
        or float(target) != round(min(max(figures.target, 0.0), 1.0), 4)
    ):
        return False
    expected, ratio, spread = figures.expected_fill_rate, figures.adi, figures.cv2
    if expected is None or ratio is None or spread is None:  # a part without demand
        return (
            _same(fill_rate, None if expected is None else min(max(expected, 0.0), 1.0), 4)
            and _same(adi, ratio, 4)
            and _same(cv2, spread, 4)
        )
    return (
        fill_rate is not None
        and float(fill_rate) == round(min(max(expected, 0.0), 1.0), 4)
        and adi is not None
        and float(adi) == round(ratio, 4)
        and cv2 is not None
        and float(cv2) == round(spread, 4)
    )


def _same(stored: Decimal | None, value: float | None, places: int) -> bool:
    if value is None or stored is None:
        return value is None and stored is None
    return float(stored) == round(value, places)


def planned_point(
    level: int, forecast: float, lead_time_days: int, pack_size: int, min_order_qty: int
) -> tuple[int, int, int]:
    """(reorder point, safety stock, reorder quantity) for an order-up-to ``level``.

    The plan reviews monthly and orders up to ``level``; the reorder rules order when the
    position is at or below the point, up to point + quantity. With the quantity ``Q`` =
    one month's forecast (at least 1, at most ``level - 1``) and the point ``level - Q``, an
    order comes about once a month and brings the position back to ``level``, as the plan's
    monthly order would (the equivalence of (R, S) and (s, Q) with Q = demand per review,
    Silver, Pyke & Thomas ch. 7). Then the minimum order and packs, as for computed points.
    A level of 1 becomes point 1, quantity 1 (the reorder rules read a point of 0 as "not
    stocked"); a level of 0 is point 0, quantity 0.
    """
    if level <= 0:
        return 0, 0, 0
    quantity = min(max(1, math.ceil(forecast - 1e-9)), max(1, level - 1))
    point = max(1, level - quantity)
    cover = math.ceil(forecast * (lead_time_months(lead_time_days) + 1) - 1e-9)
    safety = max(0, min(point, level - cover))
    return point, safety, round_up_to_pack(max(quantity, min_order_qty), pack_size)


def store_tradeoff(
    session: Session, now: datetime, points: Sequence[TradeoffPoint], parts: int
) -> None:
    """Replace the stored trade-off when it changed (a rerun on the same ledger writes
    nothing)."""
    wanted = {
        Decimal(str(p.target)).quantize(FOUR_PLACES): (
            _share(p.expected_fill_rate),
            Decimal(str(round(p.stock_value, 2))).quantize(CENTS),
            parts,
        )
        for p in points
    }
    stored = {
        row.target: (row.expected_fill_rate, row.stock_value, row.parts)
        for row in session.scalars(select(PlanningTradeoff))
    }
    if stored == wanted:
        return
    session.execute(delete(PlanningTradeoff))
    if wanted:
        session.execute(
            insert(PlanningTradeoff),
            [
                {"target": target, "expected_fill_rate": fill, "stock_value": value,
                 "parts": count, "computed_at": now}
                for target, (fill, value, count) in sorted(wanted.items())
            ],
        )  # fmt: skip


@dataclass(frozen=True)
class TradeoffView:
    target: Decimal
    expected_fill_rate: Decimal
    stock_value: Decimal
    parts: int
    computed_at: datetime


def tradeoff_views(session: Session) -> list[TradeoffView]:
    rows = session.scalars(select(PlanningTradeoff).order_by(PlanningTradeoff.target))
    return [
        TradeoffView(r.target, r.expected_fill_rate, r.stock_value, r.parts, r.computed_at)
        for r in rows
    ]
