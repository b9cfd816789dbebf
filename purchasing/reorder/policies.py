"""A part's reorder policy: read with its defaults, and changed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from core.clock import Clock
from inventory.catalog import get_part
from inventory.models import Part
from purchasing.models import ReorderPolicy
from purchasing.reorder.formulas import check_service_level
from purchasing.status import (
    ReorderMethod,
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
