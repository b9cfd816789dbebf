"""The buyer's fill-rate targets: a default, per demand class and per part category.

A part's target is its own (the policy's ``fill_rate_target``), else its category's, else its
demand class's, else the default here, else the ``PLANNING_DEFAULT_FILL_RATE`` setting
(docs/planning.md). The next recompute plans with them.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.clock import Clock
from core.errors import N_, InvalidInput
from purchasing.models import PlanningTarget
from purchasing.planning.classification import DemandClass

MIN_FILL_RATE = Decimal("0.5")
MAX_FILL_RATE = Decimal("0.999")
SCOPES = ("default", "class", "category")
CLASSES = tuple(c.value for c in DemandClass if c is not DemandClass.NONE)


def check_fill_rate(rate: Decimal, field: str = "fill_rate") -> Decimal:
    if not MIN_FILL_RATE <= rate <= MAX_FILL_RATE:
        raise InvalidInput(
            field,
            N_(
                "A fill rate target is a share from %(low)s to %(high)s (0.95 = 95%% of the "
                "units asked for served from stock); got %(rate)s.",
                low=MIN_FILL_RATE,
                high=MAX_FILL_RATE,
                rate=rate,
            ),
        )
    return rate


@dataclass(frozen=True)
class TargetView:
    scope: str
    key: str
    fill_rate: Decimal
    updated_by: str


def list_targets(session: Session) -> list[TargetView]:
    rows = session.scalars(
        select(PlanningTarget).order_by(PlanningTarget.scope, PlanningTarget.key)
    )
    return [TargetView(t.scope, t.key, t.fill_rate, t.updated_by) for t in rows]


def set_target(
    session: Session, clock: Clock, actor: str, scope: str, key: str, fill_rate: Decimal | None
) -> TargetView | None:
    """Set (or with ``fill_rate`` None, remove) one target; returns it (None when removed)."""
    key = key.strip()
    if scope not in SCOPES:
        raise InvalidInput(
            "scope",
            N_(
                "The scope is one of %(scopes)s; got %(given)s.",
                scopes=", ".join(SCOPES),
                given=repr(scope),
            ),
        )
    if scope == "default" and key:
        raise InvalidInput("key", N_("The default target has no key."))
    if scope == "class" and key not in CLASSES:
        raise InvalidInput(
            "key",
            N_(
                "A demand class is one of %(classes)s; got %(given)s.",
                classes=", ".join(CLASSES),
                given=repr(key),
            ),
        )
    if scope == "category" and not 1 <= len(key) <= 100:
        raise InvalidInput("key", N_("A category target names the category (1 to 100 characters)."))
    found = session.scalars(
        select(PlanningTarget).where(PlanningTarget.scope == scope, PlanningTarget.key == key)
    ).one_or_none()
    if fill_rate is None:
        if found is not None:
            session.delete(found)
            session.flush()
        return None
    check_fill_rate(fill_rate)
    if found is None:
        found = PlanningTarget(scope=scope, key=key)
        session.add(found)
    found.fill_rate = fill_rate
    found.updated_by = actor
    found.updated_at = clock.now()
    session.flush()
    return TargetView(scope, key, fill_rate, actor)
