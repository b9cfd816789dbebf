"""Helpers for carrier tests: signed sandbox webhooks and a carrier service on a test database."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from carriers.adapters.sandbox import SIGNATURE_HEADER, SandboxAdapter, sign
from carriers.events import WebhookRequest

SECRET = "whsec_test_sandbox"


def sandbox_payload(
    tracking_number: str, status: str, occurred_at: datetime, **extra: Any
) -> bytes:
    return json.dumps(
        {
            "id": f"evt_{tracking_number}_{status}",
            "type": "tracking.updated",
            "created": int(occurred_at.timestamp()),
            "data": {
                "tracking_number": tracking_number,
                "status": status,
                "occurred_at": occurred_at.isoformat(),
                **extra,
            },
        }
    ).encode()


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
