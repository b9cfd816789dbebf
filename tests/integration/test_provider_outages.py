"""Providers that misbehave, over real loopback sockets: one that hangs, one that trickles its
answer a byte at a time, one that answers 5xx for an hour, and an SMTP server down for hours.

The outbox must give up each call within the deadline, back off and resume, tell the desk
once, and never carry out a message twice; e-mails wait and go out in their order, each once.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from core.http import outbound_client
from core.mail import SmtpMailer, SmtpSettings
from core.outbox import Handler, OutboxMessage, OutboxStatus, OutboxWorker, enqueue
from demo.sandboxes.smtp import start_sink
from returns.refund_provider import StripeRefunds


@contextmanager
def misbehaving(mode: str) -> Iterator[str]:
    """A loopback HTTP server that ``hang``s (reads the request, never answers) or
    ``trickle``s (a status line and headers, then one body byte every 0.2 s)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except OSError:
                continue
            with connection:
                connection.recv(65536)
                if mode == "trickle":
                    connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 400\r\n\r\n")
                for _ in range(400):
                    if stop.is_set():
                        break
                    try:
                        if mode == "trickle":
                            connection.sendall(b"{")
                    except OSError:
                        break
                    time.sleep(0.2)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=5)
        server.close()


@pytest.mark.parametrize("mode", ["hang", "trickle"])
def test_every_provider_call_ends_within_its_deadline(
    mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPAREFLOW_HTTP_DEADLINE_SECONDS", "1.5")
    with misbehaving(mode) as url, outbound_client(20.0) as http:
        provider = StripeRefunds(url, "sk_test", http)
        started = time.monotonic()
        with pytest.raises(httpx.TimeoutException):
            provider.refund(
                payment_reference="pi_1", amount_minor=100, idempotency_key="k", metadata={}
            )
        # A trickle answers every read in time: only the total deadline stops it.
        assert time.monotonic() - started < 3.0


def refund_handler(
    provider: StripeRefunds, told: list[str], asked: list[str] | None = None
) -> Handler:
    def perform(payload: Mapping[str, Any], key: str) -> dict[str, Any]:
        if asked is not None:
            asked.append(key)
        return provider.refund(
            payment_reference=payload["payment"],
            amount_minor=1000,
            idempotency_key=key,
            metadata={"rma": payload["rma"]},
        )

    return Handler(perform, delayed=lambda session, message: told.append(message.key))


def test_a_refund_provider_answering_5xx_for_an_hour_is_waited_out_and_paid_once(
    session_factory: Any, clock: Any, refunds_sandbox: tuple[str, Any], refunds_made: Any
) -> None:
    url, sandbox = refunds_sandbox
    told: list[str] = []
    asked: list[str] = []
    with outbound_client(5.0) as http:
        provider = StripeRefunds(url, "sk_test_returns", http)
        handler = refund_handler(provider, told, asked)
        worker = OutboxWorker(session_factory, clock, {"refund": handler})
        with session_factory() as session, session.begin():
            for n in range(3):
                enqueue(
                    session,
                    topic="refund",
                    key=f"refund:RMA-{n}",
                    payload={"rma": f"RMA-{n}", "payment": f"pi_{n}"},
                    now=clock.now(),
                )
        sandbox.fail_next = 10**6  # 5xx until told otherwise
        for _ in range(60):  # an hour, a minute at a time
            worker.drain()
            clock.advance(timedelta(minutes=1))
        made_during_outage = len(refunds_made)
        asked_during_outage = len(asked)
        sandbox.fail_next = 0
        clock.advance(timedelta(minutes=5))
        worker.drain()
        worker.drain()
    assert made_during_outage == 0
    with session_factory() as session:
        messages = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert [m.status for m in messages] == [OutboxStatus.DONE] * 3  # none gave up
    assert sorted(r["metadata"]["rma"] for r in refunds_made) == ["RMA-0", "RMA-1", "RMA-2"]
    # While down, the provider was asked once per retry of the topic (backing off to five
    # minutes apart), not once per message: three messages, about 17 calls in the hour.
    assert asked_during_outage <= 20, asked
    assert told == ["refund:RMA-0", "refund:RMA-1", "refund:RMA-2"]  # the desk, once each


def test_a_refund_made_then_trickled_back_times_out_and_is_not_made_twice(
    session_factory: Any,
    clock: Any,
    refunds_sandbox: tuple[str, Any],
    refunds_made: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The provider makes the refund, then trickles its answer: the call gives up at the
    deadline (the refund's fate unknown to spareflow), and the retry, with the same key, gets
    the same refund back instead of a second one."""
    url, sandbox = refunds_sandbox
    monkeypatch.setenv("SPAREFLOW_HTTP_DEADLINE_SECONDS", "1")
    told: list[str] = []
    sandbox.trickle_seconds = 0.1  # about 30 s for the whole answer
    try:
        with outbound_client(20.0) as http:
            provider = StripeRefunds(url, "sk_test_returns", http)
            worker = OutboxWorker(
                session_factory, clock, {"refund": refund_handler(provider, told)}
            )
            with session_factory() as session, session.begin():
                enqueue(
                    session,
                    topic="refund",
                    key="refund:RMA-T",
                    payload={"rma": "RMA-T", "payment": "pi_t"},
                    now=clock.now(),
                )
            started = time.monotonic()
            assert worker.drain() == 1
            assert time.monotonic() - started < 3
            assert len(refunds_made) == 1  # made, but spareflow could not hear it
            sandbox.trickle_seconds = 0
            clock.advance(timedelta(seconds=6))
            assert worker.drain() == 1
    finally:
        sandbox.trickle_seconds = 0
    with session_factory() as session:
        [message] = session.scalars(select(OutboxMessage)).all()
    assert message.status is OutboxStatus.DONE
    assert len(refunds_made) == 1
    assert message.result and message.result["id"] == refunds_made[0]["id"]
    assert told == ["refund:RMA-T"]


def test_smtp_down_for_hours_then_every_message_goes_out_once_in_order(
    session_factory: Any, clock: Any
) -> None:
    controller, sink = start_sink()
    port = controller.port
    controller.stop()  # down before the first message
    mailer = SmtpMailer(SmtpSettings(host="127.0.0.1", port=port, timeout=2))

    def perform(payload: Mapping[str, Any], key: str) -> dict[str, Any]:
        message = EmailMessage()
        message["To"] = payload["to"]
        message["Subject"] = payload["subject"]
        message.set_content("hello")
        mailer.send(message)
        return {}

    worker = OutboxWorker(session_factory, clock, {"email": Handler(perform)})
    subjects = []
    for hour in range(3):  # new mail keeps coming while the server is down
        for n in range(2):
            subject = f"message {hour}.{n}"
            subjects.append(subject)
            with session_factory() as session, session.begin():
                enqueue(
                    session,
                    topic="email",
                    key=subject,
                    payload={"to": "mia@example.com", "subject": subject},
                    now=clock.now(),
                )
        for _ in range(3):
            worker.drain()
            clock.advance(timedelta(minutes=20))
    controller = type(controller)(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        clock.advance(timedelta(minutes=5))
        for _ in range(3):
            worker.drain()
    finally:
        controller.stop()
    assert [message["Subject"] for message in sink.messages] == subjects
    with session_factory() as session:
        statuses = session.scalars(select(OutboxMessage.status)).all()
    assert set(statuses) == {OutboxStatus.DONE}
