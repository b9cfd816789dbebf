"""The outbox: external side effects (refunds, labels, e-mails) written with the state change.

A use case that must call the outside world writes an outbox message in its own transaction,
keyed by an idempotency key. A worker (the scheduler, or a CLI command) later claims due
messages, calls the handler for their topic *outside* any transaction with that key, and
records the result. Whatever crashes where, the message is retried until a handler succeeds,
and the provider, honouring the key, performs the effect once: never lost, never doubled.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Integer, String, Text, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from core import metrics, request_ids
from core.clock import Clock
from core.db import Base, BigIntPK, UnitOfWork, UTCDateTime, insert_ignoring_conflicts, string_enum

log = logging.getLogger(__name__)

#: How long a worker owns a claimed message. A worker that dies loses it after this, and
#: another worker retries it (with the same idempotency key). Longer than any provider call
#: (``SPAREFLOW_OUTBOX_LEASE_SECONDS``).
LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 12
BACKOFF_START = timedelta(seconds=5)
BACKOFF_CAP = timedelta(hours=1)


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"  # gave up after MAX_ATTEMPTS, or the handler said retrying is pointless


class OutboxMessage(Base):
    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    topic: Mapped[str] = mapped_column(String(50), index=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)  # the idempotency key
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[OutboxStatus] = mapped_column(string_enum(OutboxStatus))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: When retention emptied a sent e-mail's payload (core/retention.py); the row and its key
    #: stay, so the same e-mail is never sent twice.
    pruned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The id of the web request whose change wrote this message (core/request_ids.py): the
    #: worker logs it when it carries the message out, so the two can be joined.
    request_id: Mapped[str | None] = mapped_column(String(64))


class PermanentFailure(Exception):
    """Raised by a handler when retrying cannot help (the provider refused the request).

    ``details`` (JSON-able: the refusal's code and facts) are kept as the message's
    ``result``, so whoever handles the failure can say why and what to do."""

    def __init__(self, message: str, details: Mapping[str, Any] | None = None):
        super().__init__(message)
        self.details = dict(details) if details else None


@dataclass(frozen=True)
class Handler:
    """How to carry out one topic.

    ``perform(payload, key)`` calls the outside world and returns a JSON-able result; it runs
    outside any transaction and must pass ``key`` on as the provider's idempotency key.
    ``succeeded``/``failed`` record the outcome in the transaction that closes the message.
    """

    perform: Callable[[Mapping[str, Any], str], dict[str, Any]]
    succeeded: Callable[[Session, OutboxMessage], None] | None = None
    failed: Callable[[Session, OutboxMessage], None] | None = None


def enqueue(
    session: Session, *, topic: str, key: str, payload: Mapping[str, Any], now: datetime
) -> bool:
    """Add a message unless one with ``key`` exists; True if it was added."""
    return insert_ignoring_conflicts(
        session,
        OutboxMessage.__table__,
        {
            "topic": topic,
            "key": key,
            "payload": dict(payload),
            "status": OutboxStatus.PENDING.value,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
            "request_id": request_ids.current(),
        },
    )


class OutboxWorker:
    def __init__(
        self,
        session_factory: Callable[[], Session],
        clock: Clock,
        handlers: Mapping[str, Handler],
        lease: timedelta = LEASE,
    ):
        self.session_factory = session_factory
        self.clock = clock
        self.handlers = handlers
        self.lease = lease

    def drain(self, limit: int = 50) -> int:
        """Carry out the due messages; returns how many were attempted."""
        claimed = self._claim(limit)
        for message_id, topic, key, payload, request_id in claimed:
            # The job's log lines carry the id of the request that caused it (core/logs.py).
            with request_ids.bound(request_id):
                self._carry_out(message_id, topic, key, payload)
        return len(claimed)

    def _carry_out(self, message_id: int, topic: str, key: str, payload: dict[str, Any]) -> None:
        handler = self.handlers.get(topic)
        if handler is None:
            self._finish(message_id, error=f"no handler for topic {topic!r}", permanent=False)
            return
        log.info("outbox %s %s: carrying out", topic, key)
        started = time.monotonic()
        try:
            result = handler.perform(payload, key)
        except PermanentFailure as error:
            outcome = "permanent_failure"
            self._finish(message_id, error=str(error), permanent=True, result=error.details)
        except Exception as error:
            outcome = "failed"
            log.warning("outbox %s %s failed: %s", topic, key, error)
            self._finish(message_id, error=f"{type(error).__name__}: {error}", permanent=False)
        else:
            outcome = "done"
            self._finish(message_id, result=result)
        metrics.OUTBOX_JOBS.labels(topic=topic, outcome=outcome).inc()
        metrics.OUTBOX_JOB_SECONDS.labels(topic=topic).observe(time.monotonic() - started)

    def _claim(self, limit: int) -> list[tuple[int, str, str, dict[str, Any], str | None]]:
        with UnitOfWork(self.session_factory) as uow:
            now = self.clock.now()
            rows = uow.session.execute(
                select(
                    OutboxMessage.id,
                    OutboxMessage.topic,
                    OutboxMessage.key,
                    OutboxMessage.payload,
                    OutboxMessage.request_id,
                )
                .where(
                    OutboxMessage.status == OutboxStatus.PENDING,
                    OutboxMessage.next_attempt_at <= now,
                )
                .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            ).all()
            if rows:
                # The lease: nobody else picks these up until it runs out.
                uow.session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id.in_([row.id for row in rows]))
                    .values(next_attempt_at=now + self.lease, attempts=OutboxMessage.attempts + 1)
                )
                uow.commit()
            return [(row.id, row.topic, row.key, row.payload, row.request_id) for row in rows]

    def _finish(
        self,
        message_id: int,
        *,
        result: dict[str, Any] | None = None,
        error: str | None = None,
        permanent: bool = False,
    ) -> None:
        with UnitOfWork(self.session_factory) as uow:
            message = uow.session.get(OutboxMessage, message_id, with_for_update=True)
            if message is None or message.status is not OutboxStatus.PENDING:
                return  # another worker finished it after our lease ran out
            now = self.clock.now()
            handler = self.handlers.get(message.topic)
            if error is None:
                message.status = OutboxStatus.DONE
                message.result = result
                message.done_at = now
                message.last_error = None
                # From the change that wrote it (for a refund: the pickup scan) to done.
                metrics.OUTBOX_DONE_AFTER_SECONDS.labels(topic=message.topic).observe(
                    max((now - message.created_at).total_seconds(), 0.0)
                )
                if handler and handler.succeeded:
                    handler.succeeded(uow.session, message)
            else:
                message.last_error = error[:2000]
                if permanent or message.attempts >= MAX_ATTEMPTS:
                    message.status = OutboxStatus.FAILED
                    if result is not None:
                        message.result = result  # what the refusal said (PermanentFailure)
                    if handler and handler.failed:
                        handler.failed(uow.session, message)
                else:
                    backoff = min(BACKOFF_START * 2 ** (message.attempts - 1), BACKOFF_CAP)
                    message.next_attempt_at = now + backoff
            uow.commit()
