"""The conversation between a customer and the desk: what the customer writes (on the status
page, or by replying to an e-mail) and what the desk answers (the RMA page's Reply).

A customer's message is a ``customer_message`` line on the RMA's timeline, written by the
customer (never counted as the desk's first response), and an alert on the desk's queue. The
desk answers with the existing Reply (returns/closing.py), which is e-mailed and is a
``reply`` line on the timeline. The status page shows both kinds, and nothing else of the
timeline: no staff names, no internal notes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.clock import Clock
from core.db import UnitOfWork
from core.errors import N_, Conflict, InvalidInput, filled
from core.errors import Text as Message
from returns.context import load_rma
from returns.notifications import notify
from returns.rma import SYSTEM, Rma, RmaTransition
from returns.status import RmaStatus
from returns.status_links import status_page_open
from returns.views import TimelineEntry

CUSTOMER_MESSAGE = "customer_message"
#: The timeline's text of a desk reply starts with this (returns/closing.py writes it).
REPLY_PREFIX = "Replied to the customer: "
#: The longest message a customer may write on the status page.
MAX_CUSTOMER_MESSAGE = 2000
#: However many addresses a sender uses, one RMA takes at most this many messages an hour.
MAX_MESSAGES_PER_HOUR = 10
#: How much of a message the desk's alert quotes.
ALERT_QUOTE = 200
#: The desk's alert for a customer's message (its first ALERT_QUOTE characters).
CUSTOMER_WROTE = N_("%(number)s: the customer wrote: %(quote)s")


@dataclass(frozen=True)
class ConversationEntry:
    at: datetime
    from_customer: bool
    text: str


def reply_text(text: str) -> Message:
    """The timeline's line for a desk reply: the reply as typed, after ``REPLY_PREFIX``."""
    return N_("Replied to the customer: %(text)s", text=text)


def conversation(timeline: Iterable[TimelineEntry]) -> tuple[ConversationEntry, ...]:
    """The customer's messages and the desk's replies, oldest first, without who answered."""
    entries = []
    for entry in timeline:
        if entry.kind == CUSTOMER_MESSAGE:
            entries.append(ConversationEntry(entry.at, True, entry.reason))
        elif entry.kind == "reply":
            entries.append(
                ConversationEntry(entry.at, False, entry.reason.removeprefix(REPLY_PREFIX))
            )
    return tuple(sorted(entries, key=lambda e: e.at))


def record_customer_message(
    session: Session, rma: Rma, actor: str, text: str, now: datetime
) -> RmaTransition:
    """A customer's message on the timeline and an alert for the desk (in the caller's
    transaction). Written straight as a timeline row: ``Rma.note`` would count it as the desk's
    first response. One alert per message (keyed by its timeline row)."""
    entry = RmaTransition(
        rma_id=rma.id,
        kind=CUSTOMER_MESSAGE,
        from_status=rma.status,
        to_status=rma.status,
        actor=actor,
        reason=text,
        at=now,
    )
    session.add(entry)
    rma.updated_at = now
    if not rma.is_return and rma.status in (RmaStatus.WAITING_FOR_CUSTOMER, RmaStatus.ANSWERED):
        rma.move_to(RmaStatus.OPEN, SYSTEM, N_("The customer wrote back"), now)  # the desk's turn
    session.flush()
    quote = text if len(text) <= ALERT_QUOTE else text[: ALERT_QUOTE - 1] + "…"
    notify(
        session,
        key=f"customer-message:{rma.number}:{entry.id}",
        rma_id=rma.id,
        kind=CUSTOMER_MESSAGE,
        audience="desk",
        message=filled(CUSTOMER_WROTE, number=rma.number, quote=quote),
        now=now,
    )
    return entry


class Conversation:
    """The status page's side: the customer writes to the desk."""

    def __init__(self, session_factory: Callable[[], Session], clock: Clock, grace_days: int):
        self.session_factory = session_factory
        self.clock = clock
        self.grace_days = grace_days

    def write(self, actor: str, number: str, message: str) -> None:
        text = message.strip()
        if not text:
            raise InvalidInput("message", N_("Write your message."))
        if len(text) > MAX_CUSTOMER_MESSAGE:
            raise InvalidInput(
                "message",
                N_(
                    "Keep the message under %(MAX_CUSTOMER_MESSAGE)s characters.",
                    MAX_CUSTOMER_MESSAGE=format(MAX_CUSTOMER_MESSAGE, ","),
                ),
            )
        now = self.clock.now()
        with UnitOfWork(self.session_factory) as uow:
            session = uow.session
            rma = load_rma(session, number, lock=True)
            # The link was checked by the page; the RMA may have ended since (same rule).
            if not status_page_open(rma, now, self.grace_days):
                raise Conflict(N_("This return's page has closed."), code="status_page_closed")
            recent = session.scalar(
                select(func.count())
                .select_from(RmaTransition)
                .where(
                    RmaTransition.rma_id == rma.id,
                    RmaTransition.kind == CUSTOMER_MESSAGE,
                    RmaTransition.at > now - timedelta(hours=1),
                )
            )
            if (recent or 0) >= MAX_MESSAGES_PER_HOUR:
                raise Conflict(
                    N_("You have sent many messages in the last hour; please wait for our answer."),
                    code="too_many_messages",
                )
            record_customer_message(session, rma, actor, text, now)
            uow.commit()
