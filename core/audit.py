"""The audit log: who did what to accounts, secrets, settings, prices and money, append-only.

Each domain writes its own entries with :func:`record` inside the transaction of the change it
records, so an entry exists exactly when the change committed. The database refuses UPDATE and
DELETE on the table (migration 0009): an entry, once written, stays.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import DDL, JSON, String, Text, event
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, BigIntPK, UTCDateTime

#: The actor of entries that no person caused (scheduler, carrier webhooks).
SYSTEM_ACTOR = "spareflow"


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    #: Who: a user's e-mail, or SYSTEM_ACTOR.
    actor: Mapped[str] = mapped_column(String(254), index=True)
    #: What, as ``area.verb``: ``sign_in.failed``, ``user.role_changed``, ``refund.held`` ...
    action: Mapped[str] = mapped_column(String(64), index=True)
    #: On what: ``user``, ``token``, ``setting``, ``part``, ``rma`` ... and its key.
    target_type: Mapped[str] = mapped_column(String(32), default="")
    target: Mapped[str] = mapped_column(String(254), default="")
    #: The person's reason, when the act needs one.
    reason: Mapped[str] = mapped_column(Text, default="")
    #: Plain facts (old and new role, price, IP address); never a secret or a password.
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


def record(
    session: Session,
    *,
    at: datetime,
    actor: str,
    action: str,
    target_type: str = "",
    target: object = "",
    reason: str = "",
    details: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Add an entry to ``session``; it commits (or rolls back) with the change it describes."""
    entry = AuditEntry(
        at=at,
        actor=actor or SYSTEM_ACTOR,
        action=action,
        target_type=target_type,
        target=str(target)[:254],
        reason=reason,
        # Round-trip through JSON so dates, decimals and enums are stored as plain text.
        details=json.loads(json.dumps(dict(details or {}), default=str)),
    )
    session.add(entry)
    return entry


# Append-only, enforced by the database. Frozen copies are in migration 0009.
APPEND_ONLY_SQLITE = [
    "CREATE TRIGGER audit_log_append_only_update BEFORE UPDATE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
    "CREATE TRIGGER audit_log_append_only_delete BEFORE DELETE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
]
APPEND_ONLY_POSTGRESQL = [
    "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$",
    "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
]
for _statement in APPEND_ONLY_SQLITE:
    event.listen(AuditEntry.__table__, "after_create", DDL(_statement).execute_if(dialect="sqlite"))
for _statement in APPEND_ONLY_POSTGRESQL:
    event.listen(
        AuditEntry.__table__, "after_create", DDL(_statement).execute_if(dialect="postgresql")
    )
event.listen(
    AuditEntry.__table__,
    "before_drop",
    DDL("DROP FUNCTION IF EXISTS audit_log_append_only() CASCADE").execute_if(dialect="postgresql"),
)
