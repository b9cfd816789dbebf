"""Retention: logs are pruned after a configurable number of days; records never are.

What is a log and what is a record:

- ``webhook_deliveries`` (raw carrier webhooks) are a log: after
  ``RETENTION_WEBHOOK_DELIVERIES_DAYS`` (90) they are deleted, except those whose events still
  wait (pending, unmatched, failed: they may be applied or reviewed yet). The normalised
  carrier events stay: they are the shipments' and RMAs' timelines (see carriers/retention.py).
- Outbox messages are records of idempotency: their key is what stops a refund, a label or an
  e-mail from happening twice, so no outbox row is ever deleted. After
  ``RETENTION_OUTBOX_DONE_DAYS`` (30) a *sent e-mail's* payload (the customer's name, address,
  the label PDF) is emptied: the e-mail itself stays recorded (``outgoing_emails``). Refund and
  label messages are kept whole (the refund record and its retries depend on them).
- The audit log, RMAs, transitions, notifications, stock moves: records, never pruned. The
  audit log's table refuses DELETE in the database itself.

Every step works in small batches, each its own transaction, claiming rows with
``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so two scheduler processes pruning at once neither
block each other nor fail.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.clock import Clock
from core.db import UnitOfWork
from core.outbox import OutboxMessage, OutboxStatus

log = logging.getLogger(__name__)

#: Rows per transaction.
BATCH = 500
#: What an e-mail's payload becomes once pruned.
PRUNED_PAYLOAD = {"pruned": True}


@dataclass(frozen=True)
class Retention:
    webhook_deliveries_days: int = 90
    outbox_done_days: int = 30

    @classmethod
    def from_settings(cls, settings: Mapping[str, object]) -> Retention:
        values = {
            "webhook_deliveries_days": settings.get("RETENTION_WEBHOOK_DELIVERIES_DAYS", 90),
            "outbox_done_days": settings.get("RETENTION_OUTBOX_DONE_DAYS", 30),
        }
        days: dict[str, int] = {}
        for name, value in values.items():
            if isinstance(value, bool) or not isinstance(value, int | str):
                raise ValueError(f"RETENTION_{name.upper()} must be a whole number of days")
            days[name] = int(value)
            if days[name] < 1:
                raise ValueError(f"RETENTION_{name.upper()} must be at least 1 day")
        return cls(**days)


#: One pruning step: (session, cutoff, batch size) -> rows pruned in this batch.
PruneBatch = Callable[[Session, datetime, int], int]


@dataclass(frozen=True)
class PruneStep:
    name: str
    days: int
    batch: PruneBatch


def scrub_sent_emails(topics: Sequence[str]) -> PruneBatch:
    """A step that empties the payload of done outbox messages of ``topics`` (e-mails)."""

    def step(session: Session, cutoff: datetime, limit: int) -> int:
        ids = list(
            session.scalars(
                select(OutboxMessage.id)
                .where(
                    OutboxMessage.topic.in_(topics),
                    OutboxMessage.status == OutboxStatus.DONE,
                    OutboxMessage.done_at < cutoff,
                    OutboxMessage.pruned_at.is_(None),
                )
                .order_by(OutboxMessage.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        if ids:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(ids))
                .values(payload=PRUNED_PAYLOAD, result=None, pruned_at=session.info["now"])
            )
        return len(ids)

    return step


class Pruner:
    """Runs each step in batches until nothing older than its retention is left."""

    def __init__(
        self, session_factory: Callable[[], Session], clock: Clock, steps: Sequence[PruneStep]
    ):
        self.session_factory = session_factory
        self.clock = clock
        self.steps = list(steps)

    def prune(self, batch: int = BATCH) -> dict[str, int]:
        """Rows pruned per step (e.g. ``{"webhook_deliveries": 120, "sent_emails": 40}``)."""
        counts = {}
        for step in self.steps:
            now = self.clock.now()
            cutoff = now - timedelta(days=step.days)
            total = 0
            while True:
                with UnitOfWork(self.session_factory) as uow:
                    uow.session.info["now"] = now
                    done = step.batch(uow.session, cutoff, batch)
                    uow.commit()
                total += done
                if done < batch:
                    break
            counts[step.name] = total
            if total:
                log.info("pruned %s %s older than %s", total, step.name, cutoff.isoformat())
        return counts
