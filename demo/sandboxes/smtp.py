"""An SMTP sink (aiosmtpd): accepts every message and keeps it, for the demo and the tests.

It can also behave like a real server having a bad day: refuse named recipients for good
(``550``, a bounce) or refuse the next few messages for now (``451``, retried later).
Messages are kept in memory and, when given a folder, in a Maildir any mail client can open.
"""

from __future__ import annotations

import email
import email.policy
import logging
import mailbox
import socket
import threading
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


class SinkHandler:
    def __init__(self, maildir: Path | None = None):
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refuse: set[str] = set()
        self.fail_next = 0
        self._lock = threading.Lock()
        self.maildir = mailbox.Maildir(str(maildir), create=True) if maildir else None

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address.lower() in self.refuse:
            return "550 5.1.1 Mailbox does not exist"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            if self.fail_next > 0:
                self.fail_next -= 1
                return "451 4.3.0 Try again later"
            message = email.message_from_bytes(envelope.content, policy=email.policy.default)
            assert isinstance(message, EmailMessage)
            self.messages.append(message)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            if self.maildir is not None:
                self.maildir.add(envelope.content)
        return "250 Message accepted for delivery"

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()
            self.envelopes.clear()
            self.refuse.clear()
            self.fail_next = 0


def start_sink(
    host: str = "127.0.0.1", port: int = 0, maildir: Path | None = None
) -> tuple[Controller, SinkHandler]:
    """Start the sink in a background thread; ``port=0`` picks a free port."""
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every SMTP verb
    handler = SinkHandler(maildir)
    controller = Controller(handler, hostname=host, port=port or _free_port(host))
    controller.start()
    return controller, handler


def _free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])
