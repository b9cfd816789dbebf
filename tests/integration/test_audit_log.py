"""The audit log keeps what it is given, and the database refuses to change or remove it."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.exc import DatabaseError

from core.audit import AuditEntry, record
from core.db import UnitOfWork


def test_an_entry_commits_with_its_change_and_cannot_be_edited_or_deleted(
    session_factory, clock
) -> None:
    with UnitOfWork(session_factory) as uow:
        record(
            uow.session,
            at=clock.now(),
            actor="admin@example.com",
            action="user.role_changed",
            target_type="user",
            target=7,
            details={"from": "buyer", "to": "admin", "when": clock.now()},
        )
        uow.commit()
    with UnitOfWork(session_factory) as uow:
        entry = uow.session.scalars(select(AuditEntry)).one()
        assert (entry.actor, entry.action, entry.target) == (
            "admin@example.com",
            "user.role_changed",
            "7",
        )
        assert entry.details["to"] == "admin"
        assert entry.details["when"].startswith("2026-11-23")

    for statement in (
        update(AuditEntry).values(actor="someone-else"),
        delete(AuditEntry),
    ):
        with UnitOfWork(session_factory) as uow, pytest.raises(DatabaseError):
            uow.session.execute(statement)
            uow.commit()
    with UnitOfWork(session_factory) as uow:
        assert uow.session.scalar(select(AuditEntry.actor)) == "admin@example.com"


def test_an_entry_rolled_back_with_its_change_leaves_nothing(session_factory, clock) -> None:
    with UnitOfWork(session_factory) as uow:
        record(uow.session, at=clock.now(), actor="a@example.com", action="token.created")
        uow.session.flush()
        # leaving without commit rolls back
    with UnitOfWork(session_factory) as uow:
        assert uow.session.scalar(select(AuditEntry.id)) is None
