"""A part's reorder policy: read with its defaults, and changed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from core.clock import Clock
from inventory.catalog import get_part
from inventory.models import Part
from purchasing.models import ReorderPolicy
from purchasing.reorder.formulas import check_service_level
from purchasing.reorder.targets import check_fill_rate
from purchasing.status import (
    ReorderMethod,
)

# --- policies ----------------------------------------------------------------------------

POLICY_FIELDS = {"method", "pack_size", "min_order_qty", "max_level", "service_level",
                 "order_cycle_days", "fill_rate_target"}  # fmt: skip


@dataclass(frozen=True)
class PolicyView:
    """A part's reorder settings and what the last recompute found, defaults filled in for
    parts without a policy row. Plain values, readable after the transaction has ended."""

    sku: str
    #: The part's point, quantity and safety stock in force.
    reorder_point: int
    reorder_qty: int
    safety_stock: int
    method: ReorderMethod = ReorderMethod.MANUAL
    pack_size: int = 1
    min_order_qty: int = 0
    max_level: int | None = None
    service_level: Decimal | None = None
    order_cycle_days: int | None = None
    flagged_since: datetime | None = None
    #: What the last recompute found (all None before the first).
    computed_at: datetime | None = None
    window_days: int | None = None
    demand_total: int | None = None
    avg_daily_demand: Decimal | None = None
    demand_std_dev: Decimal | None = None
    lead_time_days_used: int | None = None
    service_level_used: Decimal | None = None
    suggested_safety_stock: int | None = None
    suggested_reorder_point: int | None = None
    suggested_reorder_qty: int | None = None
    #: The buyer's fill-rate target for this part (None: category, class or default).
    fill_rate_target: Decimal | None = None
    #: The fill-rate plan of the last recompute (docs/planning.md).
    demand_class: str | None = None
    demand_adi: Decimal | None = None
    demand_cv2: Decimal | None = None
    forecast_per_month: Decimal | None = None
    forecast_method: str | None = None
    fill_rate_target_used: Decimal | None = None
    planned_level: int | None = None
    expected_fill_rate: Decimal | None = None
    planned_stock_value: Decimal | None = None

    @classmethod
    def of(cls, part: Part, policy: ReorderPolicy | None) -> PolicyView:
        figures: dict[str, Any] = {
            "sku": part.sku,
            "reorder_point": part.reorder_point,
            "reorder_qty": part.reorder_qty,
            "safety_stock": part.safety_stock,
        }
        if policy is None:
            return cls(**figures)
        stored = {f.name: getattr(policy, f.name) for f in fields(cls) if f.name not in figures}
        return cls(**figures, **stored)


def policy_for(session: Session, part: Part) -> ReorderPolicy | None:
    return session.get(ReorderPolicy, part.id)


def get_policy(session: Session, sku: str) -> PolicyView:
    part = get_part(session, sku)
    return PolicyView.of(part, policy_for(session, part))


def set_policy(
    session: Session, clock: Clock, part: Part, changes: Mapping[str, Any]
) -> ReorderPolicy:
    """Create or change a part's policy; fields not in ``changes`` stay as they are."""
    unknown = set(changes) - POLICY_FIELDS
    if unknown:
        raise TypeError(f"unknown policy fields: {sorted(unknown)}")
    if changes.get("service_level") is not None:
        check_service_level(changes["service_level"])
    if changes.get("fill_rate_target") is not None:
        check_fill_rate(changes["fill_rate_target"], "fill_rate_target")
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
