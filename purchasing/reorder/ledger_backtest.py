"""``spareflow planning backtest`` on the ledger: every active part's monthly demand replayed
under the nightly plan's rules (purchasing/planning/replay.py, docs/planning.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.errors import N_, InvalidInput
from inventory.models import Part, Supplier
from purchasing.models import ReorderPolicy
from purchasing.planning.backtest import FIRST_MONTH, BacktestResult
from purchasing.planning.classification import DemandClass
from purchasing.planning.history import ItemHistory
from purchasing.planning.nightly import lead_time_months, resolve_target
from purchasing.planning.replay import ReplayItem, replay
from purchasing.reorder.formulas import ReorderSettings
from purchasing.reorder.planned import (
    load_targets,
    month_keys,
    monthly_demand,
    months_of_demand,
)


@dataclass(frozen=True)
class LedgerBacktest:
    months: int  # calendar months replayed from, oldest first; 0 .. 23 are history only
    first_month: str  # "YYYY-MM" of month 0
    result: BacktestResult


def ledger_items(
    session: Session, now: datetime, settings: ReorderSettings, months: int
) -> list[ReplayItem]:
    demand = monthly_demand(session, now, months)
    lead = func.coalesce(
        Part.lead_time_days, Supplier.default_lead_time_days, settings.default_lead_time_days
    )
    rows = session.execute(
        select(
            Part.id,
            Part.sku,
            Part.category,
            Part.unit_cost,
            lead,
            func.coalesce(ReorderPolicy.pack_size, 1),
            func.coalesce(ReorderPolicy.min_order_qty, 0),
            ReorderPolicy.fill_rate_target,
        )
        .outerjoin(Supplier, Supplier.id == Part.supplier_id)
        .outerjoin(ReorderPolicy, ReorderPolicy.part_id == Part.id)
        .where(Part.active.is_(True))
        .order_by(Part.sku_key)
    )
    zeros = [0] * months
    return [
        ReplayItem(
            ItemHistory(
                sku,
                lead_time_months(int(days)),
                float(cost or 0),
                tuple(demand.get(part_id, zeros)),
            ),
            category,
            float(own) if own is not None else None,
            int(pack),
            int(moq),
        )
        for part_id, sku, category, cost, days, pack, moq, own in rows
    ]


def ledger_backtest(
    session: Session,
    now: datetime,
    settings: ReorderSettings,
    *,
    fill_rate: float | None = None,
    months: int | None = None,
) -> LedgerBacktest:
    """Replay the ledger's complete months (all, or the last ``months``) under the plan: at
    ``fill_rate`` for every part, or with the buyer's targets when None."""
    available = months_of_demand(session, now)
    span = min(months, available) if months else available
    if span <= FIRST_MONTH:
        raise InvalidInput(
            "months",
            N_(
                "The ledger has %(available)s complete month(s) of demand; the backtest needs "
                "more than %(first)s (months 0-%(last)s are history only).",
                available=available,
                first=FIRST_MONTH,
                last=FIRST_MONTH - 1,
            ),
        )
    items = ledger_items(session, now, settings, span)
    targets = load_targets(session)
    default = float(settings.planning_target)

    def target_of(item: ReplayItem, demand_class: DemandClass) -> float:
        if fill_rate is not None:
            return fill_rate
        return resolve_target(item.own_target, item.category, demand_class.value, targets, default)

    result = replay(
        items,
        target_of,
        floor=settings.planning_floor,
        floor_months=settings.planning_floor_months,
    )
    return LedgerBacktest(span, month_keys(now, span)[0], result)
