"""A Stripe-compatible refunds sandbox (``spareflow sandbox refunds --port N``).

Speaks the part of Stripe's API spareflow uses: ``POST /v1/refunds`` (form-encoded
``payment_intent``, ``amount``, ``metadata[...]``; ``Authorization: Bearer``; ``Idempotency-Key``)
and ``GET /v1/refunds``. Like Stripe, a repeated idempotency key returns the original refund,
and a repeated key with different parameters is an error. It records every refund it makes,
so tests and the demo can count them. Faults can be injected to rehearse outages.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, jsonify, request


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
    #: Every authorised create request, with its idempotency key and the refund it got
    #: (new or replayed): what load and crash tests count to prove "exactly once".
    requests: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    counter: itertools.count = field(default_factory=lambda: itertools.count(1))


def _error(status: int, code: str, message: str) -> Any:
    return jsonify(
        {"error": {"type": "invalid_request_error", "code": code, "message": message}}
    ), status


def create_refunds_sandbox(api_key: str = "sk_test_sandbox") -> Flask:
    sandbox = RefundsSandbox(api_key)
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
                "status": "succeeded",
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
        if sandbox.answer_delay_seconds:
            time.sleep(sandbox.answer_delay_seconds)
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
        """Not Stripe: ``{"fail_next": 2, "delay_seconds": 0, "answer_delay_seconds": 0}``."""
        body = request.get_json(silent=True) or {}
        with sandbox.lock:
            sandbox.fail_next = int(body.get("fail_next", sandbox.fail_next))
            for name in ("delay_seconds", "answer_delay_seconds"):
                setattr(sandbox, name, float(body.get(name, getattr(sandbox, name))))
        return jsonify(
            {
                "fail_next": sandbox.fail_next,
                "delay_seconds": sandbox.delay_seconds,
                "answer_delay_seconds": sandbox.answer_delay_seconds,
            }
        )

    @app.get("/healthz")
    def healthz() -> Any:
        return {"status": "ok"}

    return app
