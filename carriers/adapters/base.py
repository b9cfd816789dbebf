"""The carrier adapter interface."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import ClassVar, Protocol

from carriers.events import (
    Acknowledgement,
    CarrierEvent,
    Label,
    LabelsNotSupported,
    PollingNotSupported,
    WebhookRequest,
)
from carriers.status import TrackingStatus


class CarrierAdapter(Protocol):
    """What spareflow needs from a carrier or tracking aggregator.

    ``settings`` is the app's configuration (secrets such as
    ``SPAREFLOW_EASYPOST_WEBHOOK_SECRET`` arrive as ``EASYPOST_WEBHOOK_SECRET``).
    """

    name: ClassVar[str]
    #: Whether spareflow can buy labels / create shipments through this adapter.
    creates_labels: ClassVar[bool]
    #: Whether open shipments can be polled (for carriers that do not push).
    polls: ClassVar[bool]

    def verify_webhook(self, request: WebhookRequest, now: datetime) -> None:
        """Raise WebhookRejected unless the request provably comes from the provider."""
        ...

    def parse_webhook(self, request: WebhookRequest) -> list[CarrierEvent]:
        """The events the webhook carries (MalformedWebhook if it is not the documented format)."""
        ...

    def acknowledge(
        self, events: list[CarrierEvent], request: WebhookRequest | None = None
    ) -> Acknowledgement:
        """The answer the provider expects once the webhook is stored (in the request's format)."""
        ...

    def fetch_tracking(self, tracking_number: str) -> list[CarrierEvent]:
        """Poll the provider for a parcel's events (only where ``polls``)."""
        ...

    def create_label(
        self,
        *,
        reference: str,
        from_address: Mapping[str, str],
        to_address: Mapping[str, str],
        idempotency_key: str | None = None,
    ) -> Label:
        """Buy or create a label (only where ``creates_labels``); the same key never buys twice."""
        ...


def map_status(table: Mapping[str, TrackingStatus], raw: str | None) -> TrackingStatus:
    """Look a provider status up in its mapping table; unknown values never crash."""
    if raw is None:
        return TrackingStatus.UNKNOWN
    return table.get(raw.strip(), table.get(raw.strip().lower(), TrackingStatus.UNKNOWN))


def secret_setting(settings: Mapping[str, object], name: str) -> str | None:
    """A secret from configuration, always as text.

    Settings from the environment are parsed as JSON, so a token made only of digits arrives
    as a number; it is still the same secret.
    """
    value = settings.get(name)
    if value is None or value == "":
        return None
    return str(value)


def same_secret(given: str | None, expected: str | None) -> bool:
    """Constant-time comparison; a missing secret on either side never matches."""
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


class TrackingOnly:
    """What adapters that only receive tracking share: a plain acknowledgement, no polling
    (unless they say otherwise) and no labels, each refused with the adapter's own reason."""

    name: ClassVar[str]
    polls: ClassVar[bool] = False
    creates_labels: ClassVar[bool] = False
    no_polling_reason: ClassVar[str] = "it pushes tracking updates; it is not polled"
    no_labels_reason: ClassVar[str] = "it only tracks parcels; it does not buy labels"

    def acknowledge(
        self, events: list[CarrierEvent], request: WebhookRequest | None = None
    ) -> Acknowledgement:
        return Acknowledgement()

    def fetch_tracking(self, tracking_number: str) -> list[CarrierEvent]:
        raise PollingNotSupported(f"{self.name}: {self.no_polling_reason}")

    def create_label(
        self,
        *,
        reference: str,
        from_address: Mapping[str, str],
        to_address: Mapping[str, str],
        idempotency_key: str | None = None,
    ) -> Label:
        raise LabelsNotSupported(f"{self.name}: {self.no_labels_reason}", carrier=self.name)


# --- small readers the provider formats share --------------------------------------------


def iso_utc(value: object) -> datetime:
    """An ISO 8601 time as aware UTC; a time without an offset is taken as UTC.

    (Each adapter's module says what its provider's times mean when they carry no offset.)
    """
    if not isinstance(value, str) or not value:
        raise ValueError(f"not a datetime: {value!r}")
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def text_of(value: object) -> str:
    """A trimmed string, or "" for anything that is not one."""
    return value.strip() if isinstance(value, str) else ""


def place(raw: object) -> str | None:
    """ "City, state, country" from a location object, or None."""
    if not isinstance(raw, Mapping):
        return None
    parts = [text_of(raw.get(key)) for key in ("city", "state", "country")]
    return ", ".join(part for part in parts if part) or None


def seconds_setting(value: object) -> float | None:
    """A positive number of seconds from config (environment values arrive as strings)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if 0 < seconds < float("inf") else None
