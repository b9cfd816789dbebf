"""The "Demo mail" page, in demo mode only: what the customers and staff were sent.

``spareflow demo`` runs a local SMTP sink that keeps every message in a Maildir
(``instance/demo-mail``) and sets ``DEMO_MAIL_DIR`` to it; this page reads that folder and
shows each message readable: headers decoded, the body's quoted-printable or base64 undone,
and its links clickable. Without ``DEMO_MAIL_DIR`` the blueprint is not registered at all.
"""

from __future__ import annotations

import email.policy
import mailbox
import re
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path

from flask import Blueprint, Flask, current_app, render_template
from flask.typing import ResponseReturnValue
from markupsafe import Markup, escape

from web.pages.access import signed_in

bp = Blueprint("demo_mail", __name__, url_prefix="/demo/mail")

#: The newest messages shown; the demo rarely sends more.
LIMIT = 200
_URL = re.compile(r"https?://[^\s<>\"')\]]+")


@dataclass(frozen=True)
class DemoMessage:
    key: str
    sent_at: datetime | None
    sender: str
    to: str
    subject: str
    text: str

    @property
    def body(self) -> Markup:
        """The text, escaped, its web addresses made links."""
        out, last = [], 0
        for match in _URL.finditer(self.text):
            url = match.group(0).rstrip(".,;:")
            out.append(escape(self.text[last : match.start()]))
            out.append(Markup('<a href="{0}" rel="noopener">{0}</a>').format(url))
            last = match.start() + len(url)
        out.append(escape(self.text[last:]))
        return Markup("").join(out)


def _text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    content = part.get_content()  # undoes quoted-printable and base64, decodes the charset
    if part.get_content_type() == "text/html":
        content = re.sub(r"<[^>]+>", " ", content)
    return str(content).strip()


def _when(value: str | None) -> datetime | None:
    try:
        return parsedate_to_datetime(value) if value else None
    except (TypeError, ValueError):
        return None


def read_maildir(folder: str | Path, limit: int = LIMIT) -> list[DemoMessage]:
    """The messages in the Maildir ``folder``, newest first."""
    if not Path(folder, "cur").is_dir() and not Path(folder, "new").is_dir():
        return []
    box = mailbox.Maildir(str(folder), factory=None, create=False)
    found = []
    for key in box.iterkeys():
        with box.get_file(key) as raw:
            parsed = email.message_from_binary_file(raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        found.append(
            DemoMessage(
                key=key,
                sent_at=_when(parsed["Date"]),
                sender=str(parsed["From"] or ""),
                to=str(parsed["To"] or ""),
                subject=str(parsed["Subject"] or ""),
                text=_text(parsed),
            )
        )
    found.sort(key=lambda m: m.sent_at.timestamp() if m.sent_at else 0.0, reverse=True)
    return found[:limit]


@bp.get("")
@signed_in
def inbox() -> ResponseReturnValue:
    messages = read_maildir(current_app.config["DEMO_MAIL_DIR"])
    return render_template("demo_mail.html", messages=messages)


def init_app(app: Flask) -> None:
    """Register the page only in demo mode (``DEMO_MAIL_DIR`` set)."""
    if app.config.get("DEMO_MAIL_DIR"):
        app.register_blueprint(bp)
