"""Sending e-mail over SMTP (``SPAREFLOW_SMTP_*``), for the outbox worker.

The mailer only sends: what to send, and when, is decided by the domain and written to the
outbox in the transaction that calls for it. Errors are sorted for the outbox: a refused
recipient is a bounce (retrying cannot help), anything else (server down, timeout, a 4xx)
is retried with backoff.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from core.outbox import PermanentFailure


class Bounced(PermanentFailure):
    """The recipient's server refused the message for good (a 5xx for the recipient)."""

    #: The outbox keeps only the text of an error; this prefix tells a bounce from a failure.
    PREFIX = "Bounced: "

    def __init__(self, detail: str):
        super().__init__(self.PREFIX + detail)


class MailNotConfigured(PermanentFailure):
    """No SMTP server is configured: nothing can be sent."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str | None = None
    port: int = 25
    #: "none", "starttls" (submission, port 587) or "ssl" (implicit TLS, port 465).
    security: str = "none"
    username: str | None = None
    password: str | None = None
    sender: str = "spareflow <returns@localhost>"
    timeout: float = 20.0

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> SmtpSettings:
        security = str(settings.get("SMTP_SECURITY", "none")).lower()
        if security not in ("none", "starttls", "ssl"):
            raise ValueError(f"SMTP_SECURITY must be none, starttls or ssl, not {security!r}")
        return cls(
            host=settings.get("SMTP_HOST") or None,
            port=int(settings.get("SMTP_PORT", 465 if security == "ssl" else 25)),
            security=security,
            username=settings.get("SMTP_USERNAME") or None,
            password=settings.get("SMTP_PASSWORD") or None,
            sender=str(settings.get("MAIL_FROM", cls.sender)),
            timeout=float(settings.get("SMTP_TIMEOUT", cls.timeout)),
        )


class SmtpMailer:
    def __init__(self, settings: SmtpSettings):
        self.settings = settings

    @property
    def sender(self) -> str:
        return self.settings.sender

    def send(self, message: EmailMessage) -> None:
        s = self.settings
        if not s.host:
            raise MailNotConfigured("No SMTP server is configured (SPAREFLOW_SMTP_HOST).")
        if "From" not in message:
            message["From"] = s.sender
        try:
            if s.security == "ssl":
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    s.host, s.port, timeout=s.timeout, context=ssl.create_default_context()
                )
            else:
                client = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            with client:
                if s.security == "starttls":
                    client.starttls(context=ssl.create_default_context())
                if s.username:
                    client.login(s.username, s.password or "")
                refused = client.send_message(message)
        except smtplib.SMTPRecipientsRefused as error:
            raise Bounced(_describe(error.recipients)) from error
        except smtplib.SMTPResponseException as error:
            if 500 <= error.smtp_code < 600 and error.smtp_code != 530:
                raise Bounced(f"{error.smtp_code} {_text(error.smtp_error)}") from error
            raise
        if refused:  # some recipients refused, the rest accepted: the refused ones bounced
            raise Bounced(_describe(refused))


def _text(raw: bytes | str) -> str:
    return raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)


def _describe(refused: Mapping[str, tuple[int, bytes]]) -> str:
    return "; ".join(f"{who}: {code} {_text(text)}" for who, (code, text) in refused.items())
