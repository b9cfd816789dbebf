"""Notifications: what the desk or its supervisors must see, raised once per fact."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from core.db import insert_ignoring_conflicts
from returns.models import Notification
from returns.rma import SYSTEM, Rma, RmaTransition

__all__ = ["SYSTEM", "notify", "system_note"]


def notify(
    session: Session,
    *,
    key: str,
    rma_id: int | None,
    kind: str,
    audience: str,
    message: str,
    now: datetime,
) -> bool:
    """Raise a notification unless one with ``key`` exists (a job may run twice, or twice over)."""
    return insert_ignoring_conflicts(
        session,
        Notification.__table__,
        {
            "rma_id": rma_id,
            "kind": kind,
            "audience": audience,
            "message": message,
            "key": key,
            "created_at": now,
        },
    )


def system_note(session: Session, rma: Rma, kind: str, text: str, now: datetime) -> None:
    """A line on the RMA's timeline written by spareflow itself (the state does not change)."""
    session.add(
        RmaTransition(
            rma_id=rma.id,
            kind=kind,
            from_status=rma.status,
            to_status=rma.status,
            actor=SYSTEM,
            reason=text,
            at=now,
        )
    )
