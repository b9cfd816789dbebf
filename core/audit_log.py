"""Reading the audit log: filtered, newest first, one query per page (the page, the API, xlsx).

Entries are written by :func:`core.audit.record`; this module only reads them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import IO, Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from core.audit import AuditEntry
from core.db import UnitOfWork
from core.spreadsheets import Column, Kind, WorkbookWriter

#: The actions spareflow writes (for the page's filter); others still show and filter.
KNOWN_ACTIONS = (
    "sign_in.succeeded",
    "sign_in.failed",
    "user.created",
    "user.role_changed",
    "user.deactivated",
    "user.password_changed",
    "token.created",
    "token.revoked",
    "setting.changed",
    "secret.changed",
    "secret.rotated",
    "template.changed",
    "part.price_changed",
    "refund.held",
    "refund.released_by_hand",
)
#: The most rows one export holds (newest first); narrow the filter for older ones.
EXPORT_LIMIT = 50_000


@dataclass(frozen=True)
class AuditFilter:
    """Every field optional; text fields match exactly except ``target`` (a prefix) and
    ``action`` ending in ``.`` or ``.*`` (an area: ``refund.`` matches every refund action)."""

    actor: str | None = None
    action: str | None = None
    target: str | None = None
    date_from: date | None = None  # inclusive, UTC
    date_to: date | None = None  # inclusive, UTC

    def apply(self, query: Select[Any]) -> Select[Any]:
        if self.actor:
            query = query.where(AuditEntry.actor == self.actor.strip())
        if self.action:
            action = self.action.strip()
            if action.endswith((".", ".*")):
                area = action.rstrip("*")
                query = query.where(AuditEntry.action.startswith(area, autoescape=True))
            else:
                query = query.where(AuditEntry.action == action)
        if self.target:
            query = query.where(AuditEntry.target.startswith(self.target.strip(), autoescape=True))
        if self.date_from:
            query = query.where(AuditEntry.at >= datetime.combine(self.date_from, time(), UTC))
        if self.date_to and self.date_to < date.max:
            end = datetime.combine(self.date_to + timedelta(days=1), time(), UTC)
            query = query.where(AuditEntry.at < end)
        return query


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: datetime
    actor: str
    action: str
    target_type: str
    target: str
    reason: str
    details: dict[str, Any]


def _rows(session: Session, query: Select[Any]) -> list[AuditRow]:
    return [
        AuditRow(
            id=entry.id,
            at=entry.at,
            actor=entry.actor,
            action=entry.action,
            target_type=entry.target_type,
            target=entry.target,
            reason=entry.reason,
            details=dict(entry.details or {}),
        )
        for entry in session.scalars(query)
    ]


class AuditLog:
    """The read side of the audit log."""

    def __init__(self, session_factory: Callable[[], Session]):
        self.session_factory = session_factory

    def search(
        self, filters: AuditFilter, *, before_id: int | None = None, limit: int = 50
    ) -> list[AuditRow]:
        """Up to ``limit + 1`` entries older than ``before_id``, newest first (one query).

        The extra row only tells whether another page follows (see web/api/pagination.py).
        """
        query = filters.apply(select(AuditEntry))
        if before_id is not None:  # clamped: an id beyond any column is no error, just no limit
            query = query.where(AuditEntry.id < max(0, min(before_id, 2**63 - 1)))
        query = query.order_by(AuditEntry.id.desc()).limit(limit + 1)
        with UnitOfWork(self.session_factory) as uow:
            return _rows(uow.session, query)

    def export(self, filters: AuditFilter, limit: int = EXPORT_LIMIT) -> list[AuditRow]:
        """Every matching entry, newest first, at most ``limit``."""
        query = filters.apply(select(AuditEntry)).order_by(AuditEntry.id.desc()).limit(limit)
        with UnitOfWork(self.session_factory) as uow:
            return _rows(uow.session, query)


AUDIT_COLUMNS = (
    Column("id", "Entry", 10, Kind.INTEGER),
    Column("at", "When (UTC)", 18, Kind.DATETIME),
    Column("actor", "Who", 30),
    Column("action", "What", 24),
    Column("target_type", "On", 16),
    Column("target", "Which", 28),
    Column("reason", "Reason", 40, wrap=True),
    Column("details", "Details", 60, wrap=True),
)


def write_audit_workbook(stream: IO[bytes], rows: Iterable[AuditRow]) -> int:
    """The entries as one table sheet; every text cell is neutralised by core.spreadsheets."""
    count = 0
    with WorkbookWriter() as writer:
        table = writer.table("Audit log", AUDIT_COLUMNS)
        for row in rows:
            table.append(
                {
                    "id": row.id,
                    "at": row.at,
                    "actor": row.actor,
                    "action": row.action,
                    "target_type": row.target_type,
                    "target": row.target,
                    "reason": row.reason,
                    "details": json.dumps(row.details, ensure_ascii=False, sort_keys=True)
                    if row.details
                    else "",
                }
            )
            count += 1
        table.close()
        writer.save(stream)
    return count
