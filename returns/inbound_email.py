"""Customers' replies to the desk's e-mails, coming back in through Mailgun's inbound routes.

Reply address: every customer e-mail carries ``Reply-To: <local>+<token>@<domain>``, built
from ``INBOUND_REPLY_ADDRESS`` (``replies@desk.example.com``). The token is the RMA number and
a short HMAC of it under the app's ``SECRET_KEY``: it names the RMA, and a token for another
RMA cannot be made without the key.

Authenticity, as Mailgun documents it ("Securing Webhooks"; the route's ``forward()`` POSTs
form fields, https://documentation.mailgun.com/docs/mailgun/user-manual/receive-forward-store/
receive-http): ``signature`` is the hex HMAC-SHA256 of ``timestamp`` + ``token`` (no
separator) under the account's webhook signing key (``MAILGUN_WEBHOOK_SIGNING_KEY``).
A timestamp further than 300 s from now is refused, so a captured POST cannot be replayed
later; a replay within that window is harmless because each e-mail is stored once by its
Message-Id.

Every verified e-mail is stored (``inbound_emails``) before anything else. One that names an
RMA with a valid token is a ``customer_message`` on its timeline (Mailgun's ``stripped-text``:
the reply without the quoted history) and an alert for the desk. One that does not is kept
with no RMA and an alert for supervisors; the answer is 200 either way, so Mailgun does not
retry what will never match.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from email.utils import getaddresses, parseaddr

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from carriers.events import WebhookRejected
from core.audit import record
from core.clock import Clock
from core.db import UnitOfWork, insert_ignoring_conflicts
from core.errors import N_, filled
from returns.cases import MAX_DESCRIPTION, Cases, OpenCase
from returns.commands import Customer
from returns.conversation import MAX_CUSTOMER_MESSAGE, record_customer_message
from returns.models import InboundEmail
from returns.notifications import notify
from returns.rma import Rma
from returns.status import CaseKind, Channel

PROVIDER = "mailgun"
TOLERANCE_SECONDS = 300
#: Hex characters of the HMAC in a reply token (80 bits: not guessable, short in an address).
TOKEN_MAC_LENGTH = 20
#: What the timeline keeps of a reply (e-mails can be long; the full body is stored).
MAX_TIMELINE_TEXT = 5 * MAX_CUSTOMER_MESSAGE
CUSTOMER_BY_EMAIL = "customer (e-mail)"
#: The supervisors' alert for an e-mail that matched no RMA.
UNMATCHED = N_("An e-mail from %(sender)s to %(recipient)s matched no return: %(subject)s")


class ReplyAddresses:
    """``replies+rma-20261123-0001.<mac>@desk.example.com``: the reply address of an RMA."""

    def __init__(self, address: str, secret: str):
        local, _, domain = address.strip().partition("@")
        if not local or not domain or "+" in local:
            raise ValueError(
                f"INBOUND_REPLY_ADDRESS is a plain address (replies@desk.example.com), "
                f"not {address!r}"
            )
        self.local, self.domain = local, domain.lower()
        self.secret = secret.encode("utf-8")

    @classmethod
    def from_settings(cls, settings: Mapping[str, object]) -> ReplyAddresses | None:
        address = str(settings.get("INBOUND_REPLY_ADDRESS") or "")
        return cls(address, str(settings["SECRET_KEY"])) if address else None

    def _mac(self, number: str) -> str:
        signed = f"inbound-reply:{number.upper()}".encode()
        return hmac.new(self.secret, signed, hashlib.sha256).hexdigest()[:TOKEN_MAC_LENGTH]

    def token(self, number: str) -> str:
        return f"{number.lower()}.{self._mac(number)}"

    def address(self, number: str) -> str:
        return f"{self.local}+{self.token(number)}@{self.domain}"

    def tagged(self, recipients: str) -> bool:
        """Whether a recipient is a reply address (``replies+...``), valid or not."""
        for _name, address in getaddresses([recipients]):
            local, _, domain = address.rpartition("@")
            base, plus, _token = local.partition("+")
            if plus and domain.lower() == self.domain and base.lower() == self.local.lower():
                return True
        return False

    def number(self, recipients: str) -> str | None:
        """The RMA number a recipient field's reply address names with a valid token."""
        for _name, address in getaddresses([recipients]):
            local, _, domain = address.rpartition("@")
            base, plus, token = local.partition("+")
            if not plus or domain.lower() != self.domain or base.lower() != self.local.lower():
                continue
            number, _, mac = token.rpartition(".")
            if number and hmac.compare_digest(mac.lower(), self._mac(number)):
                return number.upper()
        return None


def signature(signing_key: str, timestamp: str, token: str) -> str:
    """Mailgun's ``signature`` of ``timestamp`` and ``token``."""
    signed = (timestamp + token).encode("utf-8")
    return hmac.new(signing_key.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def verify_signature(
    form: Mapping[str, str], signing_key: str, now: datetime, tolerance: int = TOLERANCE_SECONDS
) -> None:
    """Raise WebhookRejected unless the form is signed by Mailgun, recently."""
    if not signing_key:
        raise WebhookRejected("Inbound e-mail is not configured (MAILGUN_WEBHOOK_SIGNING_KEY).")
    timestamp, token = form.get("timestamp", ""), form.get("token", "")
    given = form.get("signature", "")
    if not timestamp.isdigit() or not token or not given:
        raise WebhookRejected("The timestamp, token and signature fields are required.")
    if abs(now.timestamp() - int(timestamp)) > tolerance:
        raise WebhookRejected("The signature's timestamp is outside the tolerance.")
    if not hmac.compare_digest(signature(signing_key, timestamp, token), given.lower()):
        raise WebhookRejected("The signature does not match.")


def message_id(form: Mapping[str, str]) -> str:
    """The e-mail's Message-Id: the ``Message-Id`` field, else from ``message-headers``, else
    a digest of what the e-mail says (stable across Mailgun's retries, unlike its token)."""
    value = form.get("Message-Id") or form.get("message-id") or ""
    if not value:
        try:
            headers = json.loads(form.get("message-headers") or "[]")
        except ValueError:
            headers = []
        for pair in headers if isinstance(headers, list) else []:
            if isinstance(pair, list) and len(pair) == 2 and str(pair[0]).lower() == "message-id":
                value = str(pair[1])
                break
    if not value:
        content = "\n".join(form.get(name, "") for name in ("from", "subject", "body-plain"))
        value = "sha256:" + hashlib.sha256(content.encode("utf-8", "replace")).hexdigest()
    return value.strip()[:255]


@dataclass(frozen=True)
class UnmatchedEmail:
    """An e-mail that came in and named no RMA (shown to admins)."""

    received_at: datetime
    from_address: str
    subject: str
    body: str


@dataclass(frozen=True)
class InboundResult:
    stored: bool  # False: this Message-Id was stored before (a retry or a replay)
    rma_number: str | None


class MailgunInbound:
    """Verify, store once, match to an RMA, put on its timeline."""

    def __init__(
        self,
        session_factory: Callable[[], Session],
        clock: Clock,
        signing_key: Callable[[], str],
        replies: ReplyAddresses | None,
        cases: Cases | None = None,
    ):
        self.session_factory = session_factory
        self.clock = clock
        self.signing_key = signing_key  # read on each call: an admin may store it any time
        self.replies = replies
        #: Set: an e-mail that names no case opens an enquiry (e-mail is an intake channel).
        self.cases = cases

    def receive(self, fields: Mapping[str, str]) -> InboundResult:
        now = self.clock.now()
        # Webhook bodies skip the web's NUL check (web/input_guard.py); PostgreSQL refuses NUL.
        form = {name: value.replace("\x00", "") for name, value in fields.items()}
        verify_signature(form, self.signing_key(), now)
        mid = message_id(form)
        sender = parseaddr(form.get("from") or form.get("sender") or "")[1]
        number = self.replies.number(form.get("recipient", "")) if self.replies else None
        with UnitOfWork(self.session_factory) as uow:
            session = uow.session
            rma = (
                session.scalars(select(Rma).where(Rma.number == number).with_for_update()).first()
                if number
                else None
            )
            stored = insert_ignoring_conflicts(
                session,
                InboundEmail.__table__,
                {
                    "provider": PROVIDER,
                    "message_id": mid,
                    "rma_id": rma.id if rma else None,
                    "from_address": sender[:254],
                    "subject": (form.get("subject") or "")[:500],
                    "body": form.get("body-plain") or "",
                    "received_at": now,
                },
            )
            if not stored:
                return InboundResult(False, rma.number if rma else None)
            if rma is not None:
                self._on_timeline(session, rma, form, sender, now)
            elif self.opens_enquiry(form, sender):
                rma = self._open_enquiry(session, form, sender, mid)
            else:
                self._unmatched(session, mid, sender, form, now)
            uow.commit()
            return InboundResult(True, rma.number if rma else None)

    def opens_enquiry(self, form: Mapping[str, str], sender: str) -> bool:
        """A new e-mail to the desk's plain address opens an enquiry; one to a reply address
        whose token does not check out (forged, or of no case) stays unmatched for the
        supervisors, as does one with no sender."""
        recipient = form.get("recipient", "")
        return (
            self.cases is not None
            and "@" in sender
            and not (self.replies is not None and self.replies.tagged(recipient))
        )

    def _open_enquiry(
        self, session: Session, form: Mapping[str, str], sender: str, mid: str
    ) -> Rma:
        """A new enquiry (channel e-mail) from the sender, in the transaction that stored the
        e-mail: numbered, clocked and routed like any case; the e-mail points at it."""
        assert self.cases is not None
        name = parseaddr(form.get("from") or "")[0].strip() or sender
        subject = (form.get("subject") or "").strip()
        body = (form.get("stripped-text") or form.get("body-plain") or "").strip()
        text = "\n\n".join(part for part in (subject, body) if part) or "(empty e-mail)"
        if len(text) > MAX_DESCRIPTION:
            text = text[: MAX_DESCRIPTION - 1] + "…"
        rma = self.cases.open_in(
            session,
            PROVIDER,
            OpenCase(
                kind=CaseKind.ENQUIRY,
                customer=Customer(name=name[:200], email=sender),
                channel=Channel.EMAIL,
                description=text,
            ),
        )
        session.execute(
            update(InboundEmail)
            .where(InboundEmail.provider == PROVIDER, InboundEmail.message_id == mid)
            .values(rma_id=rma.id)
        )
        return rma

    @staticmethod
    def _on_timeline(
        session: Session, rma: Rma, form: Mapping[str, str], sender: str, now: datetime
    ) -> None:
        text = (form.get("stripped-text") or form.get("body-plain") or "").strip()
        if len(text) > MAX_TIMELINE_TEXT:
            text = text[: MAX_TIMELINE_TEXT - 1] + "…"
        if sender and sender.lower() != (rma.customer_email or "").lower():
            # The token is right but someone else wrote (a colleague, a forward): say so.
            text = f"(from {sender}) {text}"
        record_customer_message(session, rma, CUSTOMER_BY_EMAIL, text or "(empty reply)", now)

    @staticmethod
    def _unmatched(
        session: Session, mid: str, sender: str, form: Mapping[str, str], now: datetime
    ) -> None:
        recipient = (form.get("recipient") or "")[:254]
        subject = (form.get("subject") or "")[:200]
        notify(
            session,
            key=f"inbound-unmatched:{hashlib.sha256(mid.encode()).hexdigest()[:32]}",
            rma_id=None,
            kind="inbound_unmatched",
            audience="supervisors",
            message=filled(UNMATCHED, sender=sender, recipient=recipient, subject=subject),
            now=now,
        )
        record(
            session,
            at=now,
            actor=PROVIDER,
            action="inbound_email.unmatched",
            target_type="inbound_email",
            target=mid,
            details={"from": sender, "recipient": recipient, "subject": subject},
        )

    def recent_unmatched(self, limit: int = 50) -> list[UnmatchedEmail]:
        """For admins: what came in and matched no RMA, newest first."""
        with UnitOfWork(self.session_factory) as uow:
            rows = uow.session.execute(
                select(
                    InboundEmail.received_at,
                    InboundEmail.from_address,
                    InboundEmail.subject,
                    InboundEmail.body,
                )
                .where(InboundEmail.rma_id.is_(None))
                .order_by(InboundEmail.received_at.desc(), InboundEmail.id.desc())
                .limit(limit)
            ).all()
            return [UnmatchedEmail(*row) for row in rows]
