"""Shippo: ``track_updated`` webhooks.

Formats follow Shippo's documentation:
- body: ``{"event": "track_updated", "test": bool, "data": <Track>}`` where the Track has
  ``tracking_number``, ``carrier``, ``tracking_status`` and ``tracking_history`` entries with
  ``status``, ``substatus {code, text, action_required}``, ``status_details``,
  ``status_date``, ``location {city, state, zip, country}``, ``object_id``
  (https://docs.goshippo.com/docs/tracking/webhooks, .../tracking/tracking);
- authenticity (https://docs.goshippo.com/docs/tracking/webhooksecurity): a self-generated
  ``?token=`` in the webhook URL, or HMAC on request: header ``Shippo-Auth-Signature:
  t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

import httpx

from carriers.adapters.base import (
    TrackingOnly,
    iso_utc,
    map_status,
    place,
    same_secret,
    seconds_setting,
    secret_setting,
    text_of,
)
from carriers.events import (
    CarrierEvent,
    MalformedWebhook,
    WebhookRejected,
    WebhookRequest,
)
from carriers.status import TrackingStatus

# Shippo timestamps are ISO 8601 in UTC (...Z).

SIGNATURE_HEADER = "Shippo-Auth-Signature"
DEFAULT_TOLERANCE_SECONDS = 300

#: ``tracking_status.status`` values (https://docs.goshippo.com/docs/tracking/tracking).
STATUS_MAP: dict[str, TrackingStatus] = {
    "PRE_TRANSIT": TrackingStatus.PRE_TRANSIT,
    "TRANSIT": TrackingStatus.IN_TRANSIT,
    "DELIVERED": TrackingStatus.DELIVERED,
    "RETURNED": TrackingStatus.RETURNED_TO_SENDER,  # "en route back to the sender, or returned"
    "FAILURE": TrackingStatus.EXCEPTION,
    "UNKNOWN": TrackingStatus.UNKNOWN,
}

#: Substatus codes, keyed by the status Shippo documents them under ("Event definitions",
#: https://docs.goshippo.com/docs/tracking/tracking/#event-definitions). A substatus only
#: refines its own status: a code arriving under another status is ignored (the docs'
#: own webhook sample pairs DELIVERED with ``information_received``).
SUBSTATUS_MAP: dict[tuple[str, str], TrackingStatus] = {
    ("PRE_TRANSIT", "information_received"): TrackingStatus.PRE_TRANSIT,
    ("TRANSIT", "address_issue"): TrackingStatus.EXCEPTION,
    ("TRANSIT", "contact_carrier"): TrackingStatus.EXCEPTION,
    ("TRANSIT", "delayed"): TrackingStatus.IN_TRANSIT,  # late, but still moving
    ("TRANSIT", "delivery_attempted"): TrackingStatus.EXCEPTION,
    ("TRANSIT", "delivery_rescheduled"): TrackingStatus.IN_TRANSIT,
    ("TRANSIT", "delivery_scheduled"): TrackingStatus.IN_TRANSIT,
    ("TRANSIT", "location_inaccessible"): TrackingStatus.EXCEPTION,
    ("TRANSIT", "notice_left"): TrackingStatus.EXCEPTION,
    ("TRANSIT", "out_for_delivery"): TrackingStatus.OUT_FOR_DELIVERY,
    ("TRANSIT", "package_accepted"): TrackingStatus.PICKED_UP,
    ("TRANSIT", "package_arrived"): TrackingStatus.IN_TRANSIT,
    ("TRANSIT", "package_damaged"): TrackingStatus.EXCEPTION,
    ("TRANSIT", "package_departed"): TrackingStatus.IN_TRANSIT,
    ("TRANSIT", "package_forwarded"): TrackingStatus.IN_TRANSIT,
    ("TRANSIT", "package_held"): TrackingStatus.EXCEPTION,
    ("TRANSIT", "package_processed"): TrackingStatus.IN_TRANSIT,
    ("TRANSIT", "package_processing"): TrackingStatus.IN_TRANSIT,
    ("TRANSIT", "pickup_available"): TrackingStatus.AVAILABLE_FOR_PICKUP,
    ("TRANSIT", "reschedule_delivery"): TrackingStatus.EXCEPTION,
    ("DELIVERED", "delivered"): TrackingStatus.DELIVERED,
    ("RETURNED", "return_to_sender"): TrackingStatus.RETURNED_TO_SENDER,
    ("RETURNED", "package_unclaimed"): TrackingStatus.RETURNED_TO_SENDER,
    ("FAILURE", "package_undeliverable"): TrackingStatus.EXCEPTION,
    ("FAILURE", "package_disposed"): TrackingStatus.EXCEPTION,
    ("FAILURE", "package_lost"): TrackingStatus.EXCEPTION,
    ("UNKNOWN", "other"): TrackingStatus.UNKNOWN,
}

STATUS_EVENT = "track_updated"

_UNREADABLE = (TypeError, ValueError, KeyError, AttributeError, OverflowError, RecursionError)


def signature_for(secret: str, body: bytes, timestamp: int) -> str:
    """The ``Shippo-Auth-Signature`` value for ``body`` signed at ``timestamp``."""
    signed = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def map_track_status(status: str | None, substatus: str | None) -> TrackingStatus:
    """A tracking entry's status: its documented substatus if any, else its status."""
    if status and substatus:
        refined = SUBSTATUS_MAP.get((status.strip().upper(), substatus.strip().lower()))
        if refined is not None:
            return refined
    return map_status(STATUS_MAP, status.upper() if status else status)


def _parse_signature(header: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            continue
        if key == "t":
            timestamp = int(value)  # ValueError on junk or absurdly long digits
        elif key == "v1":
            signatures.append(value.strip())
    if timestamp is None or not signatures:
        raise ValueError("signature header lacks t= or v1=")
    return timestamp, signatures


class ShippoAdapter(TrackingOnly):
    name: ClassVar[str] = "shippo"
    creates_labels: ClassVar[bool] = False
    polls: ClassVar[bool] = False

    def __init__(self, settings: Mapping[str, object], http: httpx.Client | None = None):
        # ``http`` is accepted for build_adapters(); pushes need no outgoing calls.
        secret = secret_setting(settings, "SHIPPO_WEBHOOK_SECRET")
        token = secret_setting(settings, "SHIPPO_WEBHOOK_TOKEN")
        self._secret = secret if isinstance(secret, str) and secret else None
        self._token = token if isinstance(token, str) and token else None
        tolerance = seconds_setting(settings.get("SHIPPO_SIGNATURE_TOLERANCE"))
        self._tolerance = tolerance or DEFAULT_TOLERANCE_SECONDS

    # --- webhooks ----------------------------------------------------------------------

    def verify_webhook(self, request: WebhookRequest, now: datetime) -> None:
        """Signature if a secret is configured, else the URL token; never unauthenticated."""
        if self._secret is not None:
            self._verify_signature(request, now)
        elif self._token is not None:
            if not same_secret(request.query.get("token"), self._token):
                raise WebhookRejected("Shippo webhook token is missing or wrong")
        else:
            raise WebhookRejected("neither a Shippo webhook secret nor a token is configured")

    def _verify_signature(self, request: WebhookRequest, now: datetime) -> None:
        header = request.header(SIGNATURE_HEADER)
        if not header:
            raise WebhookRejected(f"missing {SIGNATURE_HEADER} header")
        try:
            timestamp, given = _parse_signature(header)
        except ValueError as exc:
            raise WebhookRejected(f"unreadable {SIGNATURE_HEADER} header") from exc
        # The timestamp is signed, so an old capture cannot be refreshed: it bounds replays.
        try:
            skew = abs(now.timestamp() - timestamp)
        except OverflowError as exc:
            raise WebhookRejected("Shippo signature timestamp is absurd") from exc
        if skew > self._tolerance:
            raise WebhookRejected("Shippo signature timestamp is outside the tolerance")
        expected = signature_for(self._secret or "", request.body, timestamp).split("v1=")[1]
        if not any(
            hmac.compare_digest(candidate.encode("utf-8", "replace"), expected.encode())
            for candidate in given
        ):
            raise WebhookRejected("Shippo signature does not match")

    def parse_webhook(self, request: WebhookRequest) -> list[CarrierEvent]:
        try:
            payload = json.loads(request.body)
            if not isinstance(payload, dict):
                raise MalformedWebhook("Shippo webhook is not a JSON object")
            event = payload.get("event")
            if not isinstance(event, str):
                raise MalformedWebhook("Shippo webhook without an event type")
            if event != STATUS_EVENT:
                return []  # transaction_* / batch_* events carry no tracking
            return self._track_events(payload.get("data"))
        except _UNREADABLE as exc:
            raise MalformedWebhook(f"unreadable Shippo webhook: {exc}") from exc

    # --- mapping -----------------------------------------------------------------------

    def _track_events(self, data: Any) -> list[CarrierEvent]:
        if not isinstance(data, dict):
            raise MalformedWebhook("Shippo track_updated without a data object")
        tracking_number = data.get("tracking_number")
        if not isinstance(tracking_number, str) or not tracking_number.strip():
            raise MalformedWebhook("Shippo track without a tracking_number")
        history = data.get("tracking_history") or []
        if not isinstance(history, list):
            raise MalformedWebhook("Shippo tracking_history is not a list")
        current = data.get("tracking_status")
        entries = [*history, current] if current is not None else list(history)

        events: list[CarrierEvent] = []
        seen: set[str] = set()
        for entry in entries:
            event = self._entry_event(tracking_number, entry)
            # The current status is usually also the last history entry: keep one.
            if event.dedupe_key() not in seen:
                seen.add(event.dedupe_key())
                events.append(event)
        return events

    def _entry_event(self, tracking_number: str, entry: Any) -> CarrierEvent:
        if not isinstance(entry, dict):
            raise MalformedWebhook("Shippo tracking entry is not an object")
        status = entry.get("status")
        if not isinstance(status, str):
            raise MalformedWebhook("Shippo tracking entry without a status")
        substatus = entry.get("substatus")
        code = substatus.get("code") if isinstance(substatus, dict) else None
        if code is not None and not isinstance(code, str):
            raise MalformedWebhook("Shippo substatus code is not a string")
        when = entry.get("status_date") or entry.get("object_created")
        object_id = entry.get("object_id")
        return CarrierEvent(
            carrier=self.name,
            tracking_number=tracking_number,
            status=map_track_status(status, code),
            raw_status=f"{status}/{code}" if code else status,
            occurred_at=iso_utc(when),
            description=text_of(entry.get("status_details")),
            location=place(entry.get("location")),
            provider_event_id=object_id if isinstance(object_id, str) else None,
        )
