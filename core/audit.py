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

from sqlalchemy import JSON, String, Text
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, BigIntPK, UTCDateTime, append_only

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


def about_user(
    session: Session,
    email: str,
    action: str,
    *,
    at: datetime,
    actor: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """An entry about a user's account; the actor is that user unless someone else acted."""
    return record(
        session,
        at=at,
        actor=actor or email,
        action=action,
        target_type="user",
        target=email,
        details=details,
    )


# Append-only, enforced by the database (frozen copies of the statements: migration 0009).
append_only(AuditEntry.__table__)
