"""The outbox: external side effects (refunds, labels, e-mails) written with the state change.

A use case that must call the outside world writes an outbox message in its own transaction,
keyed by an idempotency key. A worker (the scheduler, or a CLI command) later claims due
messages, calls the handler for their topic *outside* any transaction with that key, and
records the result. Whatever crashes where, the message is retried until a handler succeeds,
and the provider, honouring the key, performs the effect once: never lost, never doubled.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import smtplib
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import JSON, Integer, String, Text, select, update
from sqlalchemy.dialects import postgresql, sqlite
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
#: A provider that cannot be reached at all (refused, timed out, 5xx, SMTP down) is an outage,
#: not a fault of the message: its messages back off to at most ``OUTAGE_RETRY`` apart (so
#: the worker notices soon when it is back), wait in their order, and are given up only after
#: ``OUTAGE_GIVE_UP`` however many attempts that took.
OUTAGE_RETRY = timedelta(minutes=5)
OUTAGE_GIVE_UP = timedelta(days=3)


def provider_unreachable(error: BaseException) -> bool:
    """Whether ``error`` (or what caused it) says the provider could not answer at all: no
    connection, a timeout, a 5xx or 429, an SMTP server that is down or busy."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, httpx.HTTPStatusError):
            return seen.response.status_code >= 500 or seen.response.status_code == 429
        if isinstance(seen, httpx.TransportError | smtplib.SMTPServerDisconnected):
            return True
        if isinstance(seen, smtplib.SMTPResponseException):
            return 400 <= seen.smtp_code < 500 or isinstance(seen, smtplib.SMTPConnectError)
        if isinstance(seen, OSError):  # refused, reset, socket timeout (TimeoutError)
            return True
        seen = seen.__cause__ or seen.__context__
    return False


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
    ``succeeded``/``failed`` record the outcome in the transaction that closes the message;
    ``delayed`` is told once, the first time the provider could not be reached for it.
    """

    perform: Callable[[Mapping[str, Any], str], dict[str, Any]]
    succeeded: Callable[[Session, OutboxMessage], None] | None = None
    failed: Callable[[Session, OutboxMessage], None] | None = None
    delayed: Callable[[Session, OutboxMessage], None] | None = None


#: Where ``outbox_batch`` keeps the rows it gathers (``Session.info``).
BATCH_KEY = "core.outbox.batch"


class OutboxBatch:
    """Outbox rows gathered while many changes are made in one transaction (carrier events
    applied in a batch), inserted in one statement at the end by ``outbox_batch``."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}
        self.when_added: dict[str, list[Callable[[], None]]] = {}

    def add(self, row: dict[str, Any], on_added: Callable[[], None] | None) -> bool:
        if row["key"] in self.rows:
            return False
        self.rows[row["key"]] = row
        if on_added is not None:
            self.when_added.setdefault(row["key"], []).append(on_added)
        return True

    def write(self, session: Session) -> None:
        """One ``INSERT ... ON CONFLICT DO NOTHING`` for every row; then what each added row
        asked for (``on_added``), for the rows the database took only."""
        rows, self.rows = list(self.rows.values()), {}
        callbacks, self.when_added = self.when_added, {}
        if not rows:
            return
        table = OutboxMessage.__table__
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = insert(table).on_conflict_do_nothing().returning(table.c.key)
        for key in session.execute(statement, rows).scalars():
            for callback in callbacks.get(key, []):
                callback()


@contextlib.contextmanager
def outbox_batch(session: Session) -> Iterator[OutboxBatch]:
    """Within this block, ``enqueue`` on ``session`` gathers its rows; they are inserted in one
    statement when the block ends without an error (nothing is written after an error: the
    transaction is rolled back anyway). Nested blocks share the outer one's batch."""
    if BATCH_KEY in session.info:
        yield session.info[BATCH_KEY]
        return
    batch = session.info[BATCH_KEY] = OutboxBatch()
    try:
        yield batch
        batch.write(session)
    finally:
        session.info.pop(BATCH_KEY, None)


def batching(session: Session) -> bool:
    """Whether ``session`` is inside ``outbox_batch`` (its outbox rows wait for the end)."""
    return BATCH_KEY in session.info


def enqueue(
    session: Session,
    *,
    topic: str,
    key: str,
    payload: Mapping[str, Any],
    now: datetime,
    on_added: Callable[[], None] | None = None,
) -> bool:
    """Add a message unless one with ``key`` exists; True if it was added, and then
    ``on_added()`` is called (a row that names the message, say).

    Inside ``outbox_batch`` the row waits for the batch's one insert: True then means "not yet
    in this batch", and ``on_added`` runs at the batch's end if the database took the row."""
    row = {
        "topic": topic,
        "key": key,
        "payload": dict(payload),
        "status": OutboxStatus.PENDING.value,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
        "request_id": request_ids.current(),
    }
    batch = session.info.get(BATCH_KEY)
    if batch is not None:
        return bool(batch.add(row, on_added))
    added = insert_ignoring_conflicts(session, OutboxMessage.__table__, row)
    if added and on_added is not None:
        on_added()
    return added


class OutboxWorker:
    def __init__(
        self,
        session_factory: Callable[[], Session],
        clock: Clock,
        handlers: Mapping[str, Handler],
        lease: timedelta = LEASE,
        outage_retry: timedelta = OUTAGE_RETRY,  # SPAREFLOW_OUTBOX_OUTAGE_RETRY_SECONDS
    ):
        self.session_factory = session_factory
        self.clock = clock
        self.handlers = handlers
        self.lease = lease
        self.outage_retry = outage_retry

    def drain(self, limit: int = 50) -> int:
        """Carry out the due messages; returns how many were attempted.

        Once a topic's provider is found unreachable, the run leaves that topic's other
        messages for the next try (in their order, their attempts not counted)."""
        claimed = self._claim(limit)
        down: dict[str, datetime] = {}  # topic: when its provider is asked again
        for message_id, topic, key, payload, request_id in claimed:
            if topic in down:
                self._finish(message_id, error="its provider is unreachable", resume=down[topic])
                continue
            # The job's log lines carry the id of the request that caused it (core/logs.py).
            with request_ids.bound(request_id):
                resume = self._carry_out(message_id, topic, key, payload)
            if resume is not None:
                down[topic] = resume
        return len(claimed)

    def _carry_out(
        self, message_id: int, topic: str, key: str, payload: dict[str, Any]
    ) -> datetime | None:
        """One attempt; when the provider was unreachable, when its topic is tried again."""
        handler = self.handlers.get(topic)
        if handler is None:
            self._finish(message_id, error=f"no handler for topic {topic!r}", permanent=False)
            return None
        log.info("outbox %s %s: carrying out", topic, key)
        started = time.monotonic()
        resume = None
        try:
            result = handler.perform(payload, key)
        except PermanentFailure as error:
            outcome = "permanent_failure"
            self._finish(message_id, error=str(error), permanent=True, result=error.details)
        except Exception as error:
            outcome = "failed"
            log.warning("outbox %s %s failed: %s", topic, key, error)
            outage = provider_unreachable(error)
            finished = self._finish(
                message_id, error=f"{type(error).__name__}: {error}", outage=outage
            )
            resume = finished if outage else None
        else:
            outcome = "done"
            self._finish(message_id, result=result)
        metrics.OUTBOX_JOBS.labels(topic=topic, outcome=outcome).inc()
        metrics.OUTBOX_JOB_SECONDS.labels(topic=topic).observe(time.monotonic() - started)
        return resume

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
        outage: bool = False,
        resume: datetime | None = None,
    ) -> datetime | None:
        """Record the attempt's outcome; after an outage, returns when the topic is tried
        again. ``resume``: the message was not tried (its topic's provider is down); it waits
        until then, its attempt not counted."""
        with UnitOfWork(self.session_factory) as uow:
            message = uow.session.get(OutboxMessage, message_id, with_for_update=True)
            if message is None or message.status is not OutboxStatus.PENDING:
                return None  # another worker finished it after our lease ran out
            now = self.clock.now()
            handler = self.handlers.get(message.topic)
            if resume is not None:  # left for later unattempted: the claim does not count
                message.attempts = max(message.attempts - 1, 0)
                outage = True
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
                first_error = message.last_error is None
                message.last_error = error[:2000]
                if outage and now - message.created_at < OUTAGE_GIVE_UP:
                    resume = self._wait_out(uow.session, message, now, resume)
                    if first_error and handler and handler.delayed:
                        handler.delayed(uow.session, message)
                elif permanent or message.attempts >= MAX_ATTEMPTS:
                    message.status = OutboxStatus.FAILED
                    if result is not None:
                        message.result = result  # what the refusal said (PermanentFailure)
                    if handler and handler.failed:
                        handler.failed(uow.session, message)
                else:
                    backoff = min(BACKOFF_START * 2 ** (message.attempts - 1), BACKOFF_CAP)
                    message.next_attempt_at = now + backoff
            uow.commit()
            return resume if outage else None

    def _wait_out(
        self, session: Session, message: OutboxMessage, now: datetime, resume: datetime | None
    ) -> datetime:
        """An outage: back off (to at most ``outage_retry``), and keep every later message of
        the topic waiting behind this one, so that they go out in their order once the
        provider is back, and the provider, while down, is asked once per topic, not once per
        message. (A later message's next attempt is only ever moved later: a lease another
        worker holds is lengthened, never cut short.)"""
        if resume is None:
            doublings = min(max(message.attempts - 1, 0), 20)  # an outage may last days
            backoff = min(BACKOFF_START * 2**doublings, self.outage_retry)
            resume = now + backoff
        message.next_attempt_at = resume
        session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.topic == message.topic,
                OutboxMessage.status == OutboxStatus.PENDING,
                OutboxMessage.id > message.id,
                OutboxMessage.next_attempt_at < resume,
            )
            .values(next_attempt_at=resume)
        )
        return resume
