"""E-mails to customers (a message at every step of a return) and to staff (deadlines).

A use case that calls for a message *queues* it here, inside its own transaction: an
``OutgoingEmail`` row (what the RMA timeline shows) and an outbox message keyed by the RMA
and the step, so a step sends its message once however often it is reached. The outbox
worker renders and sends it later, through SMTP, retried with backoff. The Message-ID is fixed
when the message is queued, so even a resend after a crash is one message to the recipient's
mail system (and a bounce can name it).

Templates are Jinja, rendered in a sandbox because admins can edit them: the shipped ones
live in ``returns/mail_templates/<language>.toml``, an admin's edits in ``message_templates``.
"""

from __future__ import annotations

import io
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import make_msgid
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import segno
from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import escape
from sqlalchemy import select
from sqlalchemy.orm import Session

from carriers.label_documents import LabelDocument
from core.clock import Clock
from core.db import UnitOfWork
from core.errors import N_, InvalidInput, filled
from core.mail import Bounced, SmtpMailer
from core.outbox import Handler, OutboxMessage, PermanentFailure, batching, enqueue
from returns.models import MessageTemplate, OutgoingEmail
from returns.notifications import notify, system_note
from returns.rma import Rma
from returns.status import CaseKind
from returns.status_links import StatusLinks

if TYPE_CHECKING:
    from returns.inbound_email import ReplyAddresses

EMAIL_TOPIC = "email.send"
LANGUAGES = {"en": "English", "zh_Hans": "简体中文"}
DEFAULT_LANGUAGE = "en"
#: A customer's e-mail that did not go (the timeline's line, and the desk's alert).
EMAIL_BOUNCED = N_("E-mail “%(kind)s” to %(address)s bounced: %(error)s")
EMAIL_FAILED = N_("E-mail “%(kind)s” to %(address)s failed: %(error)s")
TEMPLATE_DIR = Path(__file__).parent / "mail_templates"

#: Every message spareflow sends, and when (shown to admins who edit them).
CUSTOMER_KINDS = {
    "acknowledged": N_("Out of hours: the request is in, and when an agent will answer"),
    "authorised": N_("Authorised: what to send, where, how to pack, label, deadline, QR code"),
    "reminder": N_("The authorisation is about to expire and no parcel has been seen"),
    "picked_up": N_("The carrier has the return parcel"),
    "refunded": N_("The refund is released: amount, method, when it arrives"),
    "replacement_reserved": N_("A backordered replacement has stock now: reserved, ships soon"),
    "replacement_shipped": N_("The replacement has shipped: carrier and tracking link"),
    "received": N_("The parcel reached the warehouse"),
    "inspected": N_("Inspection result per part"),
    "closed": N_("The return is complete, with the follow-up question"),
    "reply": N_("An agent's reply from the RMA page"),
    "status_link": N_("The desk sent a new status page link (earlier links no longer work)"),
    "loaner_sent": N_("A loaner is lent while the customer's unit is away: part and due date"),
    "loaner_overdue": N_("A loaner is past its due date (sent once per loan)"),
}
STAFF_KINDS = {
    "sla_warning": N_("To the desk: a response or resolution deadline is near"),
    "sla_breach": N_("To supervisors: a deadline has passed"),
    "ops_alert": N_(
        "To the desk: refunds, labels or carrier events stuck, or the scheduler stopped"
    ),
}
KINDS = {**CUSTOMER_KINDS, **STAFF_KINDS}

#: Words the templates get already translated (values of the context, not template text).
WORDS = {
    "en": {
        "first_response": "first response",
        "resolution": "resolution",
        "restock": "accepted and put back into stock",
        "refurbish": "accepted for refurbishment",
        "quarantine": "held for further checks",
        "scrap": "faulty, scrapped",
        "return_to_vendor": "faulty, returned to the manufacturer under warranty",
        "card": "card",
    },
    "zh_Hans": {
        "first_response": "首次响应",
        "resolution": "问题解决",
        "restock": "已验收并重新入库",
        "refurbish": "已验收，待翻新",
        "quarantine": "暂扣，待进一步检测",
        "scrap": "确认故障，已报废",
        "return_to_vendor": "确认故障，已按保修退回厂商",
        "card": "银行卡",
    },
}


def normalise_language(value: str | None) -> str:
    """A customer's language as one of ours: "zh-CN", "zh", "zh-Hans" -> "zh_Hans"."""
    text = (value or "").strip().replace("-", "_").lower()
    if text.startswith("zh"):
        return "zh_Hans"
    if text.startswith("en") or not text:
        return "en"
    raise InvalidInput(
        "customer.language",
        N_(
            "Messages can be sent in %(value)s; not %(value2)s.",
            value=", ".join(LANGUAGES),
            value2=repr(value),
        ),
        code="unsupported_language",
    )


def word(language: str, key: str) -> str:
    return WORDS.get(language, WORDS["en"]).get(key, key.replace("_", " "))


@cache
def shipped_templates(language: str) -> dict[str, dict[str, str]]:
    with (TEMPLATE_DIR / f"{language}.toml").open("rb") as handle:
        return tomllib.load(handle)


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


HTML_LAYOUT = """<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title></head>
<body style="font-family: Arial, 'Microsoft YaHei', sans-serif; font-size: 15px; color: #1f2933;
max-width: 640px; margin: 0 auto; padding: 16px; line-height: 1.5">{body}</body></html>"""


class Templates:
    """Shipped templates, an admin's edits over them, and rendering in a sandbox."""

    def __init__(self) -> None:
        self.text_env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
        self.html_env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=True)

    def source(self, session: Session, kind: str, language: str) -> dict[str, str]:
        edited = session.scalars(
            select(MessageTemplate).where(
                MessageTemplate.kind == kind, MessageTemplate.language == language
            )
        ).first()
        if edited:
            return {"subject": edited.subject, "text": edited.text_body, "html": edited.html_body}
        return dict(shipped_templates(language)[kind])

    def render(
        self, source: Mapping[str, str], language: str, context: Mapping[str, Any]
    ) -> Rendered:
        subject = self.text_env.from_string(source["subject"]).render(context)
        subject = " ".join(subject.split())  # one line, whatever the template did
        text = self.text_env.from_string(source["text"]).render(context).strip() + "\n"
        body = self.html_env.from_string(source["html"]).render(context)
        html = HTML_LAYOUT.format(
            lang="zh-Hans" if language == "zh_Hans" else language,
            title=escape(subject),
            body=body,
        )
        return Rendered(subject, text, html)

    def check(self, source: Mapping[str, str], kind: str, language: str) -> None:
        """Render an edited template with sample values; a mistake is the admin's to fix now."""
        for part in ("subject", "text", "html"):
            if not source.get(part, "").strip():
                raise InvalidInput(part, N_("This part of the message cannot be empty."))
        try:
            self.render(source, language, sample_context(kind, language))
        except TemplateError as error:
            line = getattr(error, "lineno", None)
            where = f" (line {line})" if line else ""
            raise InvalidInput(
                "template",
                N_("The template does not render%(where)s: %(error)s", where=where, error=error),
            ) from error


def sample_context(kind: str, language: str) -> dict[str, Any]:
    """Values for a preview: every variable any template may use."""
    return {
        "number": "RMA-20261123-0042",
        "customer_name": "Ada Lovelace",
        "status_url": "https://returns.example.com/status/sample",
        "resolution": "refund",
        "case_kind": "return",
        "lines": [{"sku": "PSU-65", "qty": 1, "serial": "SN123", "description": "65 W supply"}],
        "return_address": ["spareflow returns", "Unit 4, Dock Road", "Leeds", "LS1 4AP", "GB"],
        "deadline": "2026-12-07",
        "carrier": "sandbox",
        "tracking_number": "SBX123456",
        "tracking_url": "https://track.example.com/SBX123456",
        "label_attached": True,
        "refund_amount": "49.90 USD",
        "refund_method": word(language, "card"),
        "refund_reference": "re_123",
        "sku": "PSU-65",
        "qty": 1,
        "results": [{"sku": "PSU-65", "qty": 1, "outcome": word(language, "restock")}],
        "first_response_due": "2026-11-24 09:00 UTC",
        "message": "Thank you, we are looking into it.",
        "target": word(language, "first_response"),
        "due": "2026-11-23 10:00 UTC",
        "time_left": "15 min",
        "priority": "urgent",
        "channel": "phone",
        "desk_url": "https://returns.example.com/returns/RMA-20261123-0042",
        "part_name": "65 W power supply",
        "serial": "LN-0007",
        "due_date": "2026-12-21",
    }


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC" if moment else ""


class Messages:
    def __init__(
        self,
        clock: Clock,
        mailer: SmtpMailer,
        links: StatusLinks,
        label_source: Callable[[str], LabelDocument],
        reply_addresses: ReplyAddresses | None = None,
    ):
        self.clock = clock
        self.mailer = mailer
        self.links = links
        self.label_source = label_source
        #: Customers' replies come back to the RMA through these (returns/inbound_email.py).
        self.reply_addresses = reply_addresses
        self.templates = Templates()

    # --- queueing, inside the caller's transaction ---------------------------------------

    def to_customer(
        self,
        session: Session,
        rma: Rma,
        kind: str,
        *,
        attach_label: bool = False,
        step: str = "",
        **extra: Any,
    ) -> bool:
        """Queue a message to the RMA's customer; False if this step already sent it.

        ``step`` tells apart messages of one kind that are each sent once (one per replacement).
        """
        # Each e-mail carries a link of its own (kept hashed once the e-mail is queued), unless
        # the caller made the link (a new link sent by the desk).
        token = None if "status_url" in extra else self.links.new_token()
        context = {
            "number": rma.number,
            "customer_name": rma.customer_name,
            "status_url": self.links.url(token) if token else "",
            "resolution": rma.resolution.value if rma.resolution else "",
            # The templates word themselves by it: "your return", "your question", ...
            "case_kind": (rma.kind or CaseKind.RETURN).value,
            **extra,
        }
        attachments: list[dict[str, str]] = []
        if kind == "authorised":
            attachments.append({"type": "qr", "text": rma.number})
            if attach_label and rma.return_tracking_number:
                attachments.append({"type": "label", "tracking_number": rma.return_tracking_number})
        now = self.clock.now()
        return self._queue(
            session,
            rma_id=rma.id,
            key=f"email:{rma.number}:{kind}" + (f":{step}" if step else ""),
            kind=kind,
            language=rma.customer_language,
            to=rma.customer_email,
            context=context,
            attachments=attachments,
            reply_to=self.reply_addresses.address(rma.number) if self.reply_addresses else "",
            # The link is kept only with its e-mail.
            link=(lambda: self.links.keep(session, rma, token, now, flush=False))
            if token
            else None,
        )

    def to_staff(
        self,
        session: Session,
        rma: Rma | None,
        kind: str,
        recipients: list[tuple[str, str]],
        key: str,
        context: Mapping[str, Any],
    ) -> int:
        """Queue one message per (address, language); ``key`` names the fact (one per fact).
        ``rma`` is None for what concerns no one return (returns/ops_alerts.py)."""
        queued = 0
        for address, language in recipients:
            queued += self._queue(
                session,
                rma_id=rma.id if rma else None,
                key=f"{key}:{address}",
                kind=kind,
                language=language if language in LANGUAGES else DEFAULT_LANGUAGE,
                to=address,
                context={
                    **context,
                    **(
                        {"target": word(language, context["target"])} if "target" in context else {}
                    ),
                },
                attachments=[],
            )
        return queued

    def _queue(
        self,
        session: Session,
        *,
        rma_id: int | None,
        key: str,
        kind: str,
        language: str,
        to: str,
        context: Mapping[str, Any],
        attachments: list[dict[str, str]],
        reply_to: str = "",
        link: Callable[[], None] | None = None,
    ) -> bool:
        if kind == "reply":  # every reply is a message of its own
            key = f"{key}:{self.clock.now():%Y%m%dT%H%M%S.%f}"
        message_id = make_msgid(domain="spareflow")
        now = self.clock.now()

        def added() -> None:  # the row naming the e-mail, once its outbox row is in
            session.add(
                OutgoingEmail(
                    rma_id=rma_id,
                    kind=kind,
                    language=language,
                    to_address=to,
                    message_id=message_id,
                    outbox_key=key,
                    status="queued",
                    created_at=now,
                )
            )
            if link is not None:
                link()

        queued = enqueue(
            session,
            topic=EMAIL_TOPIC,
            key=key,
            now=now,
            payload={
                "kind": kind,
                "language": language,
                "to": to,
                "message_id": message_id,
                "context": dict(context),
                "attachments": attachments,
                **({"reply_to": reply_to} if reply_to else {}),
            },
            on_added=added,
        )
        if queued and not batching(session):
            session.flush()
        return queued

    # --- sending, by the outbox worker ---------------------------------------------------

    def handler(self, session_factory: Callable[[], Session]) -> Handler:
        def perform(payload: Mapping[str, Any], key: str) -> dict[str, Any]:
            with UnitOfWork(session_factory) as uow:
                source = self.templates.source(uow.session, payload["kind"], payload["language"])
            try:
                rendered = self.templates.render(source, payload["language"], payload["context"])
            except TemplateError as error:
                raise PermanentFailure(f"the template does not render: {error}") from error
            message = self.build(payload, rendered)
            self.mailer.send(message)
            return {"subject": rendered.subject}

        return Handler(
            perform,
            lambda session, message: self._sent(session, message),
            lambda session, message: self._failed(session, message),
        )

    def build(self, payload: Mapping[str, Any], rendered: Rendered) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.mailer.sender
        message["To"] = payload["to"]
        message["Subject"] = rendered.subject
        message["Message-ID"] = payload["message_id"]
        if payload.get("reply_to"):
            message["Reply-To"] = payload["reply_to"]
        message.set_content(rendered.text)
        message.add_alternative(rendered.html, subtype="html")
        # After set_content, which clears the Content-* headers.
        message["Content-Language"] = "zh-Hans" if payload["language"] == "zh_Hans" else "en"
        # multipart/alternative now: the text part, then the HTML one (typeshed can't know).
        html_part = cast(list[EmailMessage], message.get_payload())[1]
        for attachment in payload.get("attachments", []):
            if attachment["type"] == "qr":
                buffer = io.BytesIO()
                segno.make(attachment["text"], error="m").save(buffer, kind="png", scale=6)
                data = buffer.getvalue()
                # Shown inside the HTML (cid:rma-qr) and kept as a file for printing.
                html_part.add_related(data, "image", "png", cid="<rma-qr>", filename="rma-qr.png")
            elif attachment["type"] == "label":
                # The PDF (return labels are bought as PDF: the customer prints at home).
                document = self.label_source(attachment["tracking_number"])
                main, _, sub = document.media_type.partition("/")
                message.add_attachment(
                    document.content,
                    maintype=main,
                    subtype=sub or "octet-stream",
                    filename=document.filename(f"return-label-{attachment['tracking_number']}"),
                )
        return message

    def _email(self, session: Session, message: OutboxMessage) -> OutgoingEmail | None:
        return session.scalars(
            select(OutgoingEmail).where(OutgoingEmail.outbox_key == message.key).with_for_update()
        ).first()

    def _sent(self, session: Session, message: OutboxMessage) -> None:
        email = self._email(session, message)
        if email is None:
            return
        email.status, email.sent_at, email.error = "sent", self.clock.now(), None
        email.subject = (message.result or {}).get("subject")
        if email.rma_id and email.kind in CUSTOMER_KINDS:
            self._timeline(
                session,
                email,
                N_(
                    "E-mail “%(kind)s” sent to %(address)s",
                    kind=email.kind,
                    address=email.to_address,
                ),
            )

    def _failed(self, session: Session, message: OutboxMessage) -> None:
        email = self._email(session, message)
        if email is None:
            return
        error = message.last_error or "unknown error"
        bounced = error.startswith(Bounced.PREFIX)
        email.status, email.error = ("bounced" if bounced else "failed"), error
        if bounced:
            email.bounced_at = self.clock.now()
        if email.rma_id and email.kind in CUSTOMER_KINDS:
            said = {"kind": email.kind, "address": email.to_address, "error": error}
            text = filled(EMAIL_BOUNCED if bounced else EMAIL_FAILED, **said)
            self._timeline(session, email, text)
            self._alert_desk(session, email, text)

    def record_bounce(self, session: Session, message_id: str, reason: str) -> OutgoingEmail:
        """A bounce that came back later (a delivery status notification, a provider hook)."""
        email = session.scalars(
            select(OutgoingEmail).where(OutgoingEmail.message_id == message_id).with_for_update()
        ).first()
        if email is None:
            raise InvalidInput(
                "message_id",
                N_("No e-mail was sent with Message-ID %(message_id)s.", message_id=message_id),
            )
        if email.status != "bounced":
            email.status, email.error, email.bounced_at = "bounced", reason, self.clock.now()
            if email.rma_id and email.kind in CUSTOMER_KINDS:
                text = filled(
                    EMAIL_BOUNCED, kind=email.kind, address=email.to_address, error=reason
                )
                self._timeline(session, email, text)
                self._alert_desk(session, email, text)
        return email

    def _timeline(self, session: Session, email: OutgoingEmail, text: str) -> None:
        rma = session.get(Rma, email.rma_id)
        assert rma is not None
        system_note(session, rma, "email", text, self.clock.now())

    def _alert_desk(self, session: Session, email: OutgoingEmail, text: str) -> None:
        notify(
            session,
            key=f"email-failed:{email.outbox_key}",
            rma_id=email.rma_id,
            kind="email_failed",
            audience="desk",
            message=text,
            now=self.clock.now(),
        )
