"""Helpers for carrier tests: signed sandbox webhooks and a carrier service on a test database."""

from __future__ import annotations

from datetime import datetime

from bench.harness import event_body
from carriers.adapters.sandbox import SIGNATURE_HEADER, SandboxAdapter, sign
from carriers.events import WebhookRequest

SECRET = "whsec_test_sandbox"


#: A sandbox-carrier tracking event as the carrier posts it (the load harness's own).
sandbox_payload = event_body


def signed_request(body: bytes, now: datetime, secret: str = SECRET) -> WebhookRequest:
    return WebhookRequest(
        body=body,
        headers={
            SIGNATURE_HEADER: sign(secret, body, int(now.timestamp())),
            "Content-Type": "application/json",
        },
        content_type="application/json",
    )


def sandbox_adapter(base_url: str = "http://127.0.0.1:9") -> SandboxAdapter:
    return SandboxAdapter({"SANDBOX_WEBHOOK_SECRET": SECRET, "SANDBOX_CARRIER_URL": base_url})
