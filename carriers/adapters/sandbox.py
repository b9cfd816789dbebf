"""The built-in sandbox carrier: spareflow's own test and demo carrier.

It runs as a separate HTTP service (``spareflow sandbox carrier``, see
``demo/sandboxes/carrier.py``), issues tracking numbers and PDF labels, and plays parcel
journeys by sending signed webhooks. Its protocol is documented in docs/carriers.md.

Signature: header ``Sandbox-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "t.body")>``
(the scheme Stripe uses), so a replay outside the tolerance is refused even if signed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

import httpx

from carriers.adapters.base import map_status, same_secret
from carriers.events import (
    Acknowledgement,
    CarrierEvent,
    CarrierUnavailable,
    Label,
    MalformedWebhook,
    WebhookRejected,
    WebhookRequest,
)
from carriers.status import TrackingStatus
from core.http import http_client

SIGNATURE_HEADER = "Sandbox-Signature"
TOLERANCE_SECONDS = 300

STATUS_MAP: dict[str, TrackingStatus] = {
    "label_created": TrackingStatus.PRE_TRANSIT,
    "picked_up": TrackingStatus.PICKED_UP,
    "in_transit": TrackingStatus.IN_TRANSIT,
    "out_for_delivery": TrackingStatus.OUT_FOR_DELIVERY,
    "ready_for_collection": TrackingStatus.AVAILABLE_FOR_PICKUP,
    "delivered": TrackingStatus.DELIVERED,
    "exception": TrackingStatus.EXCEPTION,
    "returned": TrackingStatus.RETURNED_TO_SENDER,
    "cancelled": TrackingStatus.CANCELLED,
}


def sign(secret: str, body: bytes, timestamp: int) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def _parse_signature(header: str) -> tuple[int, list[str]]:
    timestamp, signatures = None, []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1" and value:
            signatures.append(value)
    if timestamp is None or not signatures:
        raise WebhookRejected(f"{SIGNATURE_HEADER} must look like t=<seconds>,v1=<hex>.")
    return timestamp, signatures


def _utc(text: Any) -> datetime:
    if not isinstance(text, str):
        raise MalformedWebhook("occurred_at must be an ISO 8601 string.")
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise MalformedWebhook(f"occurred_at {text!r} is not ISO 8601.") from None
    if value.tzinfo is None:
        raise MalformedWebhook("occurred_at needs a time zone.")
    return value.astimezone(UTC)


def event_from(data: Mapping[str, Any]) -> CarrierEvent:
    """A sandbox tracking event (webhook ``data`` or an element of a tracker's ``events``)."""
    try:
        tracking_number = data["tracking_number"]
        raw = data["status"]
    except (KeyError, TypeError):
        raise MalformedWebhook("A sandbox event needs tracking_number and status.") from None
    if not isinstance(tracking_number, str) or not isinstance(raw, str) or not tracking_number:
        raise MalformedWebhook("tracking_number and status must be non-empty strings.")
    return CarrierEvent(
        carrier=SandboxAdapter.name,
        tracking_number=tracking_number,
        status=map_status(STATUS_MAP, raw),
        raw_status=raw,
        occurred_at=_utc(data.get("occurred_at")),
        description=str(data.get("description") or ""),
        location=str(data["location"]) if data.get("location") else None,
        provider_event_id=str(data["id"]) if data.get("id") else None,
    )


class SandboxAdapter:
    name: ClassVar[str] = "sandbox"
    creates_labels: ClassVar[bool] = True
    polls: ClassVar[bool] = True

    def __init__(self, settings: Mapping[str, object], http: httpx.Client | None = None):
        self.secret = str(settings.get("SANDBOX_WEBHOOK_SECRET") or "")
        self.api_base = str(settings.get("SANDBOX_CARRIER_URL") or "http://127.0.0.1:5081").rstrip(
            "/"
        )
        self.http = http or http_client(timeout=10)

    def verify_webhook(self, request: WebhookRequest, now: datetime) -> None:
        if not self.secret:
            raise WebhookRejected("SPAREFLOW_SANDBOX_WEBHOOK_SECRET is not set; refusing webhooks.")
        header = request.header(SIGNATURE_HEADER)
        if not header:
            raise WebhookRejected(f"Missing {SIGNATURE_HEADER} header.")
        timestamp, signatures = _parse_signature(header)
        if abs(now.timestamp() - timestamp) > TOLERANCE_SECONDS:
            raise WebhookRejected("Signature timestamp is too old or in the future (replay?).")
        expected = sign(self.secret, request.body, timestamp).split("v1=", 1)[1]
        if not any(same_secret(candidate, expected) for candidate in signatures):
            raise WebhookRejected("Signature does not match the body.")

    def parse_webhook(self, request: WebhookRequest) -> list[CarrierEvent]:
        try:
            payload = json.loads(request.body)
        except (ValueError, UnicodeDecodeError):
            raise MalformedWebhook("The body is not JSON.") from None
        if not isinstance(payload, dict) or payload.get("type") != "tracking.updated":
            raise MalformedWebhook("Expected a sandbox event of type tracking.updated.")
        data = payload.get("data")
        if not isinstance(data, dict):
            raise MalformedWebhook("The event has no data object.")
        return [event_from({"id": payload.get("id"), **data})]

    def acknowledge(
        self, events: list[CarrierEvent], request: WebhookRequest | None = None
    ) -> Acknowledgement:
        return Acknowledgement()

    def fetch_tracking(self, tracking_number: str) -> list[CarrierEvent]:
        try:
            response = self.http.get(f"{self.api_base}/v1/trackers/{tracking_number}")
            response.raise_for_status()
            events = response.json()["events"]
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as error:
            raise CarrierUnavailable(f"Sandbox carrier tracking failed: {error}") from None
        return [event_from(item) for item in events]

    def create_label(
        self,
        *,
        reference: str,
        from_address: Mapping[str, str],
        to_address: Mapping[str, str],
        idempotency_key: str | None = None,
    ) -> Label:
        headers = {"Idempotency-Key": idempotency_key or f"label-{reference}"}
        body = {"reference": reference, "from": dict(from_address), "to": dict(to_address)}
        try:
            response = self.http.post(f"{self.api_base}/v1/labels", json=body, headers=headers)
            response.raise_for_status()
            payload = response.json()
            return Label(
                tracking_number=payload["tracking_number"],
                document=base64.b64decode(payload["label_pdf"]),
            )
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as error:
            raise CarrierUnavailable(f"Sandbox carrier could not create a label: {error}") from None
