"""The nightly recompute: reorder points from demand history, written to each part's policy,
and the parts at or below their point flagged."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from core.clock import Clock
from core.errors import N_, InvalidInput
from inventory.models import Part, Supplier
from purchasing.models import ReorderPolicy
from purchasing.reorder.formulas import (
    FOUR_PLACES,
    DemandStats,
    ReorderSettings,
    check_service_level,
    compute_point,
)
from purchasing.reorder.planned import (
    PLAN_FIELDS,
    PlanRow,
    plan_catalogue,
    plan_stored,
    plan_values,
    planned_point,
    recompute_demand,
)
from purchasing.reorder.queries import demand_by_part, demand_window, iter_suggestions
from purchasing.reorder.suggestions import ReturnSupply
from purchasing.status import (
    ReorderMethod,
)


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
    "fill_rate_target",
)
#: Where the part's own fill-rate target is in a row of the recompute's select.
_OWN_TARGET = 7 + _POLICY_INPUTS.index("fill_rate_target")
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


#: Where the plan's columns start in a row's policy values.
_PLAN_AT = len(_POLICY_INPUTS) + len(_COMPUTED_FIELDS)


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
    with _cycle_collection_paused():
        return _recompute(session, clock, settings, returns, window_days, service_level)


@contextmanager
def _cycle_collection_paused() -> Iterator[None]:
    """Python's cycle collector off during the recompute: it makes millions of small objects
    (rows, values, the plan) and no cycles, and each full collection walks every one still
    alive (about a quarter of a second a pass at 100,000 parts, several a night; about a
    tenth of the recompute). Reference counting still frees everything as it goes; the
    collector is back on afterwards (it stays off if it was off)."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _recompute(
    session: Session,
    clock: Clock,
    settings: ReorderSettings,
    returns: ReturnSupply,
    window_days: int | None,
    service_level: Decimal | None,
) -> RecomputeSummary:
    _serialise_recomputes(session)
    now = clock.now()
    window = window_days or settings.window_days
    if not 2 <= window <= 3650:
        raise InvalidInput("window_days", N_("The demand window is 2 to 3650 days."))
    default_level = check_service_level(service_level or settings.service_level)
    start, end = demand_window(now, window)
    monthly: dict[int, list[int]] | None = None
    if settings.planning:
        demand, monthly = recompute_demand(session, now, start, end)
    else:
        demand = demand_by_part(session, start, end)

    stored = _POLICY_INPUTS + _COMPUTED_FIELDS + PLAN_FIELDS
    policy_columns = [getattr(ReorderPolicy, name) for name in stored]
    rows = session.execute(
        select(
            Part.id,
            Part.category,
            Part.unit_cost,
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
    plans = (
        plan_catalogue(
            session,
            now,
            settings,
            [PlanRow(r[0], int(r[3]), r[1], r[2], r[_OWN_TARGET]) for r in rows],
            monthly,
        )
        if settings.planning
        else {}
    )
    monthly = None  # 100,000 lists the rest does not need: freed now
    for part_id, _category, _cost, lead_time, point, safety, quantity, *policy_values in rows:
        policy = dict(zip(stored, policy_values, strict=True))
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
        figures = plans.get(part_id)
        if not exists:
            if figures is not None:
                values.update(plan_values(figures))
            inserts.append(
                {"part_id": part_id, "method": ReorderMethod.MANUAL, "pack_size": 1,
                 "min_order_qty": 0, "computed_at": now, "updated_at": now, **values}
            )  # fmt: skip
        elif any(policy[name] != value for name, value in values.items()) or (
            figures is not None and not plan_stored(figures, policy_values, _PLAN_AT)
        ):
            if figures is not None:
                values.update(plan_values(figures))
            policy_updates.append({"part_id": part_id, "computed_at": now, **values})
        wanted = None
        if exists and policy["method"] == ReorderMethod.COMPUTED:
            wanted = (computed.reorder_point, computed.safety_stock, computed.reorder_qty)
        elif exists and policy["method"] == ReorderMethod.PLANNED and figures is not None:
            planned = planned_point(
                figures.level,
                figures.forecast,
                int(lead_time),
                policy["pack_size"] or 1,
                policy["min_order_qty"] or 0,
            )
            wanted = planned
        if wanted is not None and wanted != (point, safety, quantity):
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

    flagged = {s.stock.part_id for s in iter_suggestions(session, clock, settings, returns)}
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
