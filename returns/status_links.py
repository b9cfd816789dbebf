"""Links to the customer's status page: random, kept only as a hash, revocable, and ending
with the RMA.

- A link is ``<PUBLIC_URL>/status/<token>`` with ``token = secrets.token_urlsafe(32)``; the
  database keeps only its SHA-256 (``rma_status_links``), so a copy of the database opens no
  status page. The token is known only when it is made: in the e-mail that carries it (each
  customer e-mail gets a link of its own, made in the transaction that queues the e-mail and
  written into the outbox payload), or on the desk's screen after "send a new link".
- "Send a new link" (:meth:`StatusLinkService.rotate`) revokes every earlier link of the RMA at
  once, makes one new one and, when messages are configured, e-mails it to the customer.
- A link works until the RMA has been over (closed, rejected, cancelled, expired) for
  ``STATUS_PAGE_GRACE_DAYS``; then every link of it is a 404 like any unknown one.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.audit import record
from core.clock import Clock
from core.db import UnitOfWork
from core.errors import N_, InvalidInput
from returns.errors import RmaNotFound
from returns.models import StatusLink
from returns.rma import Rma, RmaTransition
from returns.status import TERMINAL, RmaStatus

if TYPE_CHECKING:
    from returns.messages import Messages

TOKEN_BYTES = 32
#: Longer than any token we make; a longer one is refused before it is hashed.
MAX_TOKEN_LENGTH = 100


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class Ending(Protocol):
    """An RMA's state and when it ended: a row of the RMA, or those two columns of it."""

    @property
    def status(self) -> RmaStatus: ...

    @property
    def ended_at(self) -> datetime | None: ...


def status_page_open(rma: Ending, now: datetime, grace_days: int) -> bool:
    """The public page lives until the RMA (``status`` and ``ended_at``) has been over for
    ``grace_days``."""
    if rma.status not in TERMINAL or rma.ended_at is None:
        return True
    return now < rma.ended_at + timedelta(days=grace_days)


class StatusLinks:
    """Makes links inside the caller's transaction (used by the messages that carry them)."""

    def __init__(self, base_url: str):
        self.base_url = base_url.rstrip("/")

    def url(self, token: str) -> str:
        return f"{self.base_url}/status/{token}"

    @staticmethod
    def new_token() -> str:
        return secrets.token_urlsafe(TOKEN_BYTES)

    @staticmethod
    def keep(session: Session, rma: Rma, token: str, now: datetime, *, flush: bool = True) -> None:
        """Store the hash of ``token`` as a link to ``rma`` (``flush``: now, not with the
        transaction's next flush)."""
        session.add(StatusLink(rma_id=rma.id, token_hash=token_hash(token), created_at=now))
        if flush:
            session.flush()

    def issue(self, session: Session, rma: Rma, now: datetime) -> str:
        """A new link to ``rma`` besides the others; the URL with its token."""
        token = self.new_token()
        self.keep(session, rma, token, now)
        return self.url(token)

    @staticmethod
    def revoke_all(session: Session, rma: Rma, now: datetime) -> int:
        result = session.execute(
            update(StatusLink)
            .where(StatusLink.rma_id == rma.id, StatusLink.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class NewLink:
    url: str
    emailed: bool


class StatusLinkService:
    """The use cases: find the RMA of a link, make a link, send a new one."""

    def __init__(
        self,
        session_factory: Callable[[], Session],
        clock: Clock,
        links: StatusLinks,
        grace_days: int,
        messages: Messages | None = None,
    ):
        self.session_factory = session_factory
        self.clock = clock
        self.links = links
        self.grace_days = grace_days
        self.messages = messages

    def number(self, token: str) -> str | None:
        """The RMA number a current link opens, or None (unknown, revoked, or page closed)."""
        if not token or len(token) > MAX_TOKEN_LENGTH:
            return None
        with UnitOfWork(self.session_factory) as uow:
            # The three columns it needs, not the Rma row: nothing else is loaded.
            rma = uow.session.execute(
                select(Rma.number, Rma.status, Rma.ended_at)
                .join(StatusLink, StatusLink.rma_id == Rma.id)
                .where(StatusLink.token_hash == token_hash(token), StatusLink.revoked_at.is_(None))
            ).first()
            if rma is None or not status_page_open(rma, self.clock.now(), self.grace_days):
                return None
            return str(rma.number)

    def issue(self, number: str) -> str:
        """A new link to the RMA besides the others (its URL; the token is not kept)."""
        with UnitOfWork(self.session_factory) as uow:
            rma = self._rma(uow.session, number)
            url = self.links.issue(uow.session, rma, self.clock.now())
            uow.commit()
            return url

    def rotate(self, actor: str, number: str, reason: str = "") -> NewLink:
        """Revoke every link of the RMA, make one new one and e-mail it (if messages are on).
        ``reason``, if the desk gives one, goes on the timeline and into the audit log."""
        now = self.clock.now()
        with UnitOfWork(self.session_factory) as uow:
            session = uow.session
            rma = self._rma(session, number, lock=True)
            if not status_page_open(rma, now, self.grace_days):
                raise InvalidInput(
                    "rma",
                    N_(
                        "The status page of %(number)s has closed: the return ended more than"
                        " %(grace_days)s days ago.",
                        number=rma.number,
                        grace_days=self.grace_days,
                    ),
                    code="status_page_closed",
                )
            revoked = self.links.revoke_all(session, rma, now)
            url = self.links.issue(session, rma, now)
            emailed = bool(
                self.messages
                and self.messages.to_customer(
                    # One message per new link (the step names the link, never its token).
                    session,
                    rma,
                    "status_link",
                    step=token_hash(url)[:16],
                    status_url=url,
                )
            )
            text = (
                N_("New status page link, e-mailed to the customer; earlier links no longer work.")
                if emailed
                else N_("New status page link, shown to the desk; earlier links no longer work.")
            )
            if reason:
                text = (
                    N_(
                        "New status page link, e-mailed to the customer; earlier links no longer"
                        " work. %(reason)s",
                        reason=reason,
                    )
                    if emailed
                    else N_(
                        "New status page link, shown to the desk; earlier links no longer work."
                        " %(reason)s",
                        reason=reason,
                    )
                )
            session.add(
                RmaTransition(
                    rma_id=rma.id,
                    kind="status_link",
                    from_status=rma.status,
                    to_status=rma.status,
                    actor=actor,
                    reason=text,
                    at=now,
                )
            )
            record(
                session,
                at=now,
                actor=actor,
                action="status_link.rotated",
                target_type="rma",
                target=rma.number,
                reason=reason,
                details={"revoked": revoked, "emailed": emailed},
            )
            uow.commit()
            return NewLink(url, emailed)

    @staticmethod
    def _rma(session: Session, number: str, *, lock: bool = False) -> Rma:
        query = select(Rma).where(Rma.number == number.strip().upper())
        rma = session.scalars(query.with_for_update() if lock else query).first()
        if rma is None:
            raise RmaNotFound(number)
        return rma
