"""AfterShip Tracking: ``tracking_update`` webhooks, one event per checkpoint.

Formats follow AfterShip's documentation:
- body: ``{"event", "event_id", "is_tracking_first_tag", "msg": <Tracking>, "ts"}``
  (https://www.aftership.com/docs/tracking/webhook/webhook-specifications);
- checkpoint fields (``checkpoint_time``, ``tag``, ``subtag``, ``message``, ``location``,
  ``city``, ``state``, ``country_region_name`` / older ``country_name``, ``hash``)
  (https://www.aftership.com/docs/tracking/model/checkpoint, webhook changelog 2026-07);
- signature: header ``aftership-hmac-sha256`` = base64(HMAC-SHA256(secret, raw body))
  (https://www.aftership.com/docs/tracking/webhook/webhook-signature).
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

from carriers.adapters.base import (
    TrackingOnly,
    iso_utc,
    map_status,
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

# checkpoint_time is the carrier's local time; without an offset the zone is unknowable, so
# iso_utc takes it as UTC (a documented limitation).

SIGNATURE_HEADER = "aftership-hmac-sha256"

#: The nine delivery statuses (``tag``) of
#: https://www.aftership.com/docs/tracking/enum/delivery-statuses
TAG_MAP: dict[str, TrackingStatus] = {
    # "pending to track, or without tracking information available yet": no scan yet.
    "Pending": TrackingStatus.PRE_TRANSIT,
    "InfoReceived": TrackingStatus.PRE_TRANSIT,
    "InTransit": TrackingStatus.IN_TRANSIT,
    "OutForDelivery": TrackingStatus.OUT_FOR_DELIVERY,
    "AttemptFail": TrackingStatus.EXCEPTION,
    "Delivered": TrackingStatus.DELIVERED,
    "AvailableForPickup": TrackingStatus.AVAILABLE_FOR_PICKUP,
    "Exception": TrackingStatus.EXCEPTION,
    # "no tracking information for 30 days since added": says nothing about the parcel.
    "Expired": TrackingStatus.UNKNOWN,
}

#: Sub-statuses (``subtag``) that change the outcome of their tag, from
#: https://www.aftership.com/docs/tracking/enum/delivery-sub-statuses (and the help-center
#: article on the sub-statuses added 2026-03-27). Every other subtag follows its tag.
SUBTAG_MAP: dict[str, TrackingStatus] = {
    "InTransit_002": TrackingStatus.PICKED_UP,  # "Acceptance scan": accepted by the carrier
    "Exception_010": TrackingStatus.RETURNED_TO_SENDER,  # "Returning to sender"
    "Exception_011": TrackingStatus.RETURNED_TO_SENDER,  # "Returned to sender"
    "Exception_020": TrackingStatus.CANCELLED,  # "Shipment cancelled" (voided by sender/carrier)
}

# Only this event reports a delivery status; ``edd_revise`` and ``tracking_pending_time``
# carry nothing new for the timeline and are acknowledged without events.
STATUS_EVENT = "tracking_update"

_UNREADABLE = (
    TypeError,
    ValueError,
    KeyError,
    AttributeError,
    OverflowError,
    OSError,  # datetime.fromtimestamp on an absurd ts
    RecursionError,
)


def signature_for(secret: str, body: bytes) -> str:
    """The ``aftership-hmac-sha256`` value AfterShip sends for ``body``."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def map_checkpoint(tag: str | None, subtag: str | None) -> TrackingStatus:
    """A checkpoint's status: its subtag where that matters, else its tag."""
    if subtag and subtag.strip() in SUBTAG_MAP:
        return SUBTAG_MAP[subtag.strip()]
    return map_status(TAG_MAP, tag)


def _optional_str(value: object, field: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise TypeError(f"{field} is not a string: {value!r}")


def _location(checkpoint: Mapping[str, Any]) -> str | None:
    location = text_of(checkpoint.get("location"))
    if location:
        return location
    country = text_of(checkpoint.get("country_region_name")) or text_of(
        checkpoint.get("country_name")
    )
    parts = [text_of(checkpoint.get("city")), text_of(checkpoint.get("state")), country]
    return ", ".join(part for part in parts if part) or None


class AfterShipAdapter(TrackingOnly):
    name: ClassVar[str] = "aftership"
    creates_labels: ClassVar[bool] = False
    polls: ClassVar[bool] = False
    no_labels_reason: ClassVar[str] = "a tracking aggregator; it does not buy labels"

    def __init__(self, settings: Mapping[str, object], http: httpx.Client | None = None):
        # ``http`` is accepted for build_adapters(); pushes need no outgoing calls.
        self._secret = secret_setting(settings, "AFTERSHIP_WEBHOOK_SECRET")
        # Freshness check on the body's ``ts``, off by default. ``ts`` is covered by the
        # signature, but it is when the *event* occurred, and AfterShip retries a failed
        # delivery for about 68 hours (14 attempts, 2^n x 30 s): a late retry and a replay
        # look the same. Replays are absorbed downstream by the dedupe key (event_id /
        # CarrierEvent.dedupe_key). If set, it must exceed the retry window to be safe.
        self._max_age = seconds_setting(settings.get("AFTERSHIP_WEBHOOK_MAX_AGE"))

    # --- webhooks ----------------------------------------------------------------------

    def verify_webhook(self, request: WebhookRequest, now: datetime) -> None:
        if not isinstance(self._secret, str) or not self._secret:
            raise WebhookRejected("AfterShip webhook secret is not configured")
        given = request.header(SIGNATURE_HEADER)
        if not given:
            raise WebhookRejected(f"missing {SIGNATURE_HEADER} header")
        expected = signature_for(self._secret, request.body)
        if not hmac.compare_digest(given.strip().encode("utf-8", "replace"), expected.encode()):
            raise WebhookRejected("AfterShip signature does not match")
        if self._max_age is not None:
            self._check_age(request.body, now)

    def _check_age(self, body: bytes, now: datetime) -> None:
        try:
            ts = json.loads(body)["ts"]
            if isinstance(ts, bool) or not isinstance(ts, int | float):
                raise TypeError("ts is not a number")
            age = now.timestamp() - float(ts)
        except RecursionError:  # signed, so authentic: unreadable, kept for review (a 400)
            raise MalformedWebhook("The body is nested too deeply to read.") from None
        except _UNREADABLE as exc:
            raise WebhookRejected("AfterShip webhook has no readable ts") from exc
        if abs(age) > (self._max_age or 0):
            raise WebhookRejected(f"AfterShip webhook ts is {age:.0f} s away from now")

    def parse_webhook(self, request: WebhookRequest) -> list[CarrierEvent]:
        try:
            payload = json.loads(request.body)
            if not isinstance(payload, dict):
                raise MalformedWebhook("AfterShip webhook is not a JSON object")
            event = payload.get("event")
            if not isinstance(event, str):
                raise MalformedWebhook("AfterShip webhook without an event code")
            if event != STATUS_EVENT:
                return []
            return self._tracking_events(payload.get("msg"), payload.get("ts"))
        except _UNREADABLE as exc:
            raise MalformedWebhook(f"unreadable AfterShip webhook: {exc}") from exc

    # --- mapping -----------------------------------------------------------------------

    def _tracking_events(self, msg: Any, ts: Any) -> list[CarrierEvent]:
        if not isinstance(msg, dict):
            raise MalformedWebhook("AfterShip webhook msg is not a tracking object")
        tracking_number = msg.get("tracking_number")
        if not isinstance(tracking_number, str) or not tracking_number.strip():
            raise MalformedWebhook("AfterShip tracking without a tracking_number")
        checkpoints = msg.get("checkpoints") or []
        if not isinstance(checkpoints, list):
            raise MalformedWebhook("AfterShip checkpoints is not a list")

        if not checkpoints:
            # No scan yet (e.g. Pending): the tracking's own tag is the only news.
            tag = _optional_str(msg.get("tag"), "tag")
            subtag = _optional_str(msg.get("subtag"), "subtag")
            when = msg.get("updated_at")
            occurred_at = iso_utc(when) if when else datetime.fromtimestamp(_number(ts), tz=UTC)
            return [
                CarrierEvent(
                    carrier=self.name,
                    tracking_number=tracking_number,
                    status=map_checkpoint(tag, subtag),
                    raw_status=subtag or tag or "",
                    occurred_at=occurred_at,
                    description=text_of(msg.get("subtag_message")),
                )
            ]

        events = []
        for checkpoint in checkpoints:
            if not isinstance(checkpoint, dict):
                raise MalformedWebhook("AfterShip checkpoint is not an object")
            tag = _optional_str(checkpoint.get("tag"), "tag")
            subtag = _optional_str(checkpoint.get("subtag"), "subtag")
            checkpoint_hash = checkpoint.get("hash")
            events.append(
                CarrierEvent(
                    carrier=self.name,
                    tracking_number=tracking_number,
                    status=map_checkpoint(tag, subtag),
                    raw_status=subtag or tag or "",
                    occurred_at=iso_utc(checkpoint.get("checkpoint_time")),
                    description=text_of(checkpoint.get("message")),
                    location=_location(checkpoint),
                    provider_event_id=checkpoint_hash if isinstance(checkpoint_hash, str) else None,
                )
            )
        return events


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"not a number: {value!r}")
    return float(value)
