"""A Stripe-compatible refunds sandbox (``spareflow sandbox refunds --port N``).

Speaks the part of Stripe's API spareflow uses: ``POST /v1/refunds`` (form-encoded
``payment_intent``, ``amount``, ``metadata[...]``; ``Authorization: Bearer``; ``Idempotency-Key``)
and ``GET /v1/refunds``. Like Stripe, a repeated idempotency key returns the original refund,
and a repeated key with different parameters is an error. It records every refund it makes,
so tests and the demo can count them. Faults can be injected to rehearse outages.

Like Stripe for slower payment methods, it can answer ``pending`` (``answer_pending``) and
settle the refund later (``POST /sandbox/refunds/<id>/settle``, or by itself after
``settle_after_seconds``), sending a ``refund.updated`` event signed as Stripe signs it
(``Stripe-Signature: t=…,v1=…``) to ``webhook_url`` with ``webhook_secret``.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from flask import Flask, Response, jsonify, request

from returns.stripe_webhooks import signature_header


@dataclass
class RefundsSandbox:
    api_key: str
    refunds: list[dict[str, Any]] = field(default_factory=list)
    by_key: dict[str, tuple[dict[str, str], dict[str, Any]]] = field(default_factory=dict)
    fail_next: int = 0  # answer this many requests with 500 before succeeding
    delay_seconds: float = 0.0  # sleep before handling (a slow or timing-out provider)
    #: Sleep after the refund is made, before answering: the caller may die (or time out)
    #: between the provider acting and the caller recording it, the case idempotency is for.
    answer_delay_seconds: float = 0.0
    #: Answer the refund (once made) a byte at a time, this long between bytes: a provider
    #: that is slow without ever being silent long enough for a read timeout.
    trickle_seconds: float = 0.0
    #: Every authorised create request, with its idempotency key and the refund it got
    #: (new or replayed): what load and crash tests count to prove "exactly once".
    requests: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    counter: itertools.count = field(default_factory=lambda: itertools.count(1))
    #: New refunds are ``pending`` until settled (by hand, or after settle_after_seconds).
    answer_pending: bool = False
    settle_after_seconds: float = 0.0
    webhook_url: str | None = None
    webhook_secret: str = ""
    #: The time webhooks are signed at (tests give the app's frozen clock).
    now: Callable[[], float] = time.time
    events: itertools.count = field(default_factory=lambda: itertools.count(1))
    #: Every webhook sent: the event and the status the receiver answered.
    deliveries: list[dict[str, Any]] = field(default_factory=list)

    def settle(self, refund_id: str, status: str, failure_reason: str | None = None) -> dict:
        """Settle a pending refund and tell the webhook (the event and the answer status)."""
        with self.lock:
            refund = next(r for r in self.refunds if r["id"] == refund_id)
            previous = refund["status"]
            refund["status"] = status
            if failure_reason:
                refund["failure_reason"] = failure_reason
            event = {
                "id": f"evt_sandbox_{next(self.events):06d}",
                "object": "event",
                "api_version": "2024-06-20",
                "created": int(self.now()),
                "data": {"object": dict(refund), "previous_attributes": {"status": previous}},
                "livemode": False,
                "pending_webhooks": 1,
                "request": {"id": None, "idempotency_key": None},
                "type": "refund.updated",
            }
        return self.send(event)

    def send(self, event: dict[str, Any]) -> dict[str, Any]:
        answered = None
        if self.webhook_url:
            body = json.dumps(event).encode()
            header = signature_header(self.webhook_secret, body, int(self.now()))
            try:
                answered = httpx.post(
                    self.webhook_url,
                    content=body,
                    headers={"Stripe-Signature": header, "Content-Type": "application/json"},
                    timeout=10,
                ).status_code
            except httpx.HTTPError:
                answered = None
        delivery = {"event": event, "answered": answered}
        with self.lock:
            self.deliveries.append(delivery)
        return delivery


def _error(status: int, code: str, message: str) -> Any:
    return jsonify(
        {"error": {"type": "invalid_request_error", "code": code, "message": message}}
    ), status


def _trickled(body: bytes, pause: float) -> Response:
    def drip() -> Iterator[bytes]:
        for index in range(len(body)):
            yield body[index : index + 1]
            time.sleep(pause)

    headers = {"Content-Length": str(len(body))}
    return Response(drip(), status=200, mimetype="application/json", headers=headers)


def create_refunds_sandbox(
    api_key: str = "sk_test_sandbox",
    *,
    webhook_url: str | None = None,
    webhook_secret: str = "",
    answer_pending: bool = False,
    settle_after_seconds: float = 0.0,
) -> Flask:
    sandbox = RefundsSandbox(
        api_key,
        webhook_url=webhook_url,
        webhook_secret=webhook_secret,
        answer_pending=answer_pending,
        settle_after_seconds=settle_after_seconds,
    )
    app = Flask(__name__)
    app.extensions["refunds_sandbox"] = sandbox

    def authorised() -> bool:
        return request.headers.get("Authorization") == f"Bearer {sandbox.api_key}"

    @app.post("/v1/refunds")
    def create_refund() -> Any:
        if not authorised():
            return _error(401, "api_key_invalid", "Invalid API key provided.")
        if sandbox.delay_seconds:
            time.sleep(sandbox.delay_seconds)
        form = request.form.to_dict()
        key = request.headers.get("Idempotency-Key")
        with sandbox.lock:
            if sandbox.fail_next > 0:
                sandbox.fail_next -= 1
                return _error(500, "api_error", "Sandbox fault: try again.")
            if key and key in sandbox.by_key:
                original_form, refund = sandbox.by_key[key]
                if original_form != form:
                    return _error(
                        400,
                        "idempotency_key_in_use",
                        "Keys for idempotent requests can only be used with the same parameters.",
                    )
                sandbox.requests.append({"key": key, "refund": refund["id"], "replay": True})
                return jsonify(refund), 200
            intent = form.get("payment_intent", "")
            if not intent.startswith("pi_"):
                return _error(400, "resource_missing", f"No such payment_intent: '{intent}'")
            amount = form.get("amount", "")
            if not amount.isdigit() or int(amount) <= 0:
                return _error(400, "parameter_invalid_integer", "Invalid positive integer: amount")
            refund = {
                "id": f"re_sandbox_{next(sandbox.counter):06d}",
                "object": "refund",
                "amount": int(amount),
                "currency": "usd",
                "payment_intent": intent,
                "status": "pending" if sandbox.answer_pending else "succeeded",
                "created": int(time.time()),
                "metadata": {
                    k[len("metadata[") : -1]: v
                    for k, v in form.items()
                    if k.startswith("metadata[")
                },
            }
            sandbox.refunds.append(refund)
            sandbox.requests.append({"key": key, "refund": refund["id"], "replay": False})
            if key:
                sandbox.by_key[key] = (form, refund)
            if refund["status"] == "pending" and sandbox.settle_after_seconds > 0:
                timer = threading.Timer(
                    sandbox.settle_after_seconds, sandbox.settle, (refund["id"], "succeeded")
                )
                timer.daemon = True
                timer.start()
        if sandbox.answer_delay_seconds:
            time.sleep(sandbox.answer_delay_seconds)
        if sandbox.trickle_seconds:
            return _trickled(json.dumps(refund).encode(), sandbox.trickle_seconds)
        return jsonify(refund), 200

    @app.get("/v1/refunds")
    def list_refunds() -> Any:
        if not authorised():
            return _error(401, "api_key_invalid", "Invalid API key provided.")
        with sandbox.lock:
            return jsonify(
                {"object": "list", "data": list(reversed(sandbox.refunds)), "has_more": False}
            )

    @app.get("/sandbox/requests")
    def requests_seen() -> Any:
        """Not Stripe: every create request that got a refund, oldest first, with its key."""
        with sandbox.lock:
            return jsonify({"data": list(sandbox.requests)})

    @app.post("/sandbox/faults")
    def faults() -> Any:
        """Not Stripe: ``{"fail_next": 2, "delay_seconds": 0, "answer_delay_seconds": 0,
        "answer_pending": false}``."""
        body = request.get_json(silent=True) or {}
        with sandbox.lock:
            sandbox.fail_next = int(body.get("fail_next", sandbox.fail_next))
            for name in ("delay_seconds", "answer_delay_seconds", "trickle_seconds"):
                setattr(sandbox, name, float(body.get(name, getattr(sandbox, name))))
            sandbox.answer_pending = bool(body.get("answer_pending", sandbox.answer_pending))
        return jsonify(
            {
                "fail_next": sandbox.fail_next,
                "delay_seconds": sandbox.delay_seconds,
                "answer_delay_seconds": sandbox.answer_delay_seconds,
                "trickle_seconds": sandbox.trickle_seconds,
                "answer_pending": sandbox.answer_pending,
            }
        )

    @app.post("/sandbox/refunds/<refund_id>/settle")
    def settle(refund_id: str) -> Any:
        """Not Stripe: ``{"status": "succeeded" | "failed" | "canceled", "failure_reason": …}``
        settles a refund and sends its signed ``refund.updated`` webhook."""
        body = request.get_json(silent=True) or {}
        status = str(body.get("status", "succeeded"))
        if status not in ("succeeded", "failed", "canceled"):
            return _error(400, "parameter_invalid", "status: succeeded, failed or canceled")
        if not any(r["id"] == refund_id for r in sandbox.refunds):
            return _error(404, "resource_missing", f"No such refund: '{refund_id}'")
        return jsonify(sandbox.settle(refund_id, status, body.get("failure_reason")))

    @app.get("/healthz")
    def healthz() -> Any:
        return {"status": "ok"}

    return app
