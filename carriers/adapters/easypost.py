"""EasyPost: tracker webhooks (``Event`` objects) and polling of the Trackers API.

Formats follow EasyPost's own material:
- webhook body: an ``Event`` whose ``description`` is ``tracker.created`` / ``tracker.updated``
  and whose ``result`` is a ``Tracker`` (https://www.easypost.com/tracking-webhooks,
  https://docs.easypost.com/docs/trackers);
- signature: ``validate_webhook`` in EasyPost/easypost-python ``easypost/util.py``;
- polling: ``GET /v2/trackers?tracking_code=...`` with HTTP basic auth, the API key as user
  (EasyPost/examples ``official/docs/curl/current/trackers/list.sh``,
  EasyPost/easypost-node ``src/services/tracker_service/TrackerListParameters.ts``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import unicodedata
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

import httpx

from carriers.adapters.base import (
    TrackingOnly,
    iso_utc,
    map_status,
    place,
    seconds_setting,
    secret_setting,
    text_of,
)
from carriers.events import (
    CarrierEvent,
    CarrierUnavailable,
    MalformedWebhook,
    WebhookRejected,
    WebhookRequest,
)
from carriers.status import TrackingStatus
from core.http import http_client

# EasyPost times are ISO 8601, in UTC unless the location is known (then with its offset).

DEFAULT_API_BASE = "https://api.easypost.com/v2"
DEFAULT_TIMEOUT_SECONDS = 10.0
SIGNATURE_HEADER = "X-Hmac-Signature"
SIGNATURE_PREFIX = "hmac-sha256-hex="

#: Tracker / TrackingDetail ``status`` values, as listed in EasyPost/easypost-node
#: ``src/services/tracker_service/TrackerStatus.ts`` (and the TrackingDetail docstring there).
STATUS_MAP: dict[str, TrackingStatus] = {
    "unknown": TrackingStatus.UNKNOWN,
    "pre_transit": TrackingStatus.PRE_TRANSIT,
    "in_transit": TrackingStatus.IN_TRANSIT,
    "out_for_delivery": TrackingStatus.OUT_FOR_DELIVERY,
    "delivered": TrackingStatus.DELIVERED,
    "available_for_pickup": TrackingStatus.AVAILABLE_FOR_PICKUP,
    "return_to_sender": TrackingStatus.RETURNED_TO_SENDER,
    "failure": TrackingStatus.EXCEPTION,
    "cancelled": TrackingStatus.CANCELLED,
    # "error" means EasyPost could not track the code at all: nothing is known of the parcel.
    "error": TrackingStatus.UNKNOWN,
}

# Only tracker events carry tracking; other Events (batches, refunds...) are acknowledged
# and ignored so that EasyPost does not retry them.
TRACKER_EVENTS = frozenset({"tracker.created", "tracker.updated"})

# What a body that is authentic but unreadable can raise while we pick it apart.
_UNREADABLE = (TypeError, ValueError, KeyError, AttributeError, OverflowError, RecursionError)


def signature_for(secret: str, body: bytes) -> str:
    """The ``X-Hmac-Signature`` value EasyPost sends for ``body`` (as its SDK computes it)."""
    key = unicodedata.normalize("NFKD", secret).encode("utf-8")
    return SIGNATURE_PREFIX + hmac.new(key, body, hashlib.sha256).hexdigest()


def _status(raw: object) -> str:
    if raw is None:
        return ""
    if not isinstance(raw, str):
        raise TypeError(f"status is not a string: {raw!r}")
    return raw


class EasyPostAdapter(TrackingOnly):
    name: ClassVar[str] = "easypost"
    creates_labels: ClassVar[bool] = False
    polls: ClassVar[bool] = True

    def __init__(self, settings: Mapping[str, object], http: httpx.Client | None = None):
        self._secret = secret_setting(settings, "EASYPOST_WEBHOOK_SECRET")
        self._api_key = secret_setting(settings, "EASYPOST_API_KEY")
        self._api_base = str(settings.get("EASYPOST_API_BASE") or DEFAULT_API_BASE).rstrip("/")
        # Only used when no client is injected (build_adapters() passes a shared one).
        self._timeout = seconds_setting(settings.get("EASYPOST_TIMEOUT")) or DEFAULT_TIMEOUT_SECONDS
        self._http = http

    # --- webhooks ----------------------------------------------------------------------

    def verify_webhook(self, request: WebhookRequest, now: datetime) -> None:
        """HMAC-SHA256 of the raw body, keyed with the NFKD-normalised secret.

        EasyPost's scheme carries no timestamp, so ``now`` is unused: a replayed body yields
        the same events (same dedupe keys) and is absorbed downstream.
        """
        if not isinstance(self._secret, str) or not self._secret:
            raise WebhookRejected("EasyPost webhook secret is not configured")
        given = request.header(SIGNATURE_HEADER)
        if not given:
            raise WebhookRejected(f"missing {SIGNATURE_HEADER} header")
        expected = signature_for(self._secret, request.body)
        if not hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode()):
            raise WebhookRejected("EasyPost signature does not match")

    def parse_webhook(self, request: WebhookRequest) -> list[CarrierEvent]:
        try:
            payload = json.loads(request.body)
            if not isinstance(payload, dict) or payload.get("object") != "Event":
                raise MalformedWebhook("not an EasyPost Event object")
            description = payload.get("description")
            if not isinstance(description, str):
                raise MalformedWebhook("EasyPost Event without a description")
            if description not in TRACKER_EVENTS:
                return []
            return self._tracker_events(payload.get("result"))
        except _UNREADABLE as exc:
            raise MalformedWebhook(f"unreadable EasyPost webhook: {exc}") from exc

    # --- polling -----------------------------------------------------------------------

    def fetch_tracking(self, tracking_number: str) -> list[CarrierEvent]:
        """List trackers filtered by ``tracking_code`` and map the newest one.

        Polling never creates a tracker (that is billed); no tracker means no events yet.
        """
        if not isinstance(self._api_key, str) or not self._api_key:
            raise CarrierUnavailable("EasyPost API key is not configured")
        url = f"{self._api_base}/trackers"
        params = {"tracking_code": tracking_number}
        try:
            if self._http is not None:
                response = self._http.get(url, params=params, auth=(self._api_key, ""))
            else:
                with http_client(timeout=self._timeout) as client:
                    response = client.get(url, params=params, auth=(self._api_key, ""))
        except httpx.HTTPError as exc:
            raise CarrierUnavailable(f"EasyPost could not be reached: {exc}") from exc
        if response.status_code != 200:
            raise CarrierUnavailable(
                f"EasyPost answered HTTP {response.status_code}", status=response.status_code
            )
        try:
            trackers = response.json()["trackers"]
            matching = [
                tracker
                for tracker in trackers
                if isinstance(tracker, dict) and tracker.get("tracking_code") == tracking_number
            ]
            if not matching:
                return []
            # Tracking codes are recycled by carriers: the newest tracker is this parcel.
            newest = max(matching, key=lambda tracker: iso_utc(tracker.get("created_at")))
            return self._tracker_events(newest)
        except (*_UNREADABLE, MalformedWebhook) as exc:
            raise CarrierUnavailable(f"EasyPost answered with an unreadable body: {exc}") from exc

    # --- mapping -----------------------------------------------------------------------

    def _tracker_events(self, tracker: Any) -> list[CarrierEvent]:
        if not isinstance(tracker, dict) or tracker.get("object") != "Tracker":
            raise MalformedWebhook("EasyPost Event result is not a Tracker")
        tracking_number = tracker.get("tracking_code")
        if not isinstance(tracking_number, str) or not tracking_number.strip():
            raise MalformedWebhook("EasyPost Tracker without a tracking_code")
        details = tracker.get("tracking_details") or []
        if not isinstance(details, list):
            raise MalformedWebhook("EasyPost tracking_details is not a list")

        if not details:
            # A brand-new tracker has no scans yet: its own status is all there is.
            raw = _status(tracker.get("status"))
            return [
                CarrierEvent(
                    carrier=self.name,
                    tracking_number=tracking_number,
                    status=map_status(STATUS_MAP, raw),
                    raw_status=raw,
                    occurred_at=iso_utc(tracker.get("updated_at") or tracker.get("created_at")),
                    description=text_of(tracker.get("status_detail")),
                )
            ]

        events = []
        for detail in details:
            if not isinstance(detail, dict):
                raise MalformedWebhook("EasyPost tracking detail is not an object")
            raw = _status(detail.get("status"))
            events.append(
                CarrierEvent(
                    carrier=self.name,
                    tracking_number=tracking_number,
                    status=map_status(STATUS_MAP, raw),
                    raw_status=raw,
                    occurred_at=iso_utc(detail.get("datetime")),
                    description=text_of(detail.get("message")),
                    location=place(detail.get("tracking_location")),
                )
            )
        return events
