"""What adapters produce and consume: plain values, no database, no HTTP framework."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from carriers.status import TrackingStatus
from core.errors import DomainError

#: What no database text column (PostgreSQL refuses NUL) and no UTF-8 encoder (lone surrogates)
#: can take: an event carrying them is unreadable, whatever the carrier meant.
_NOT_TEXT = re.compile(r"[\x00\ud800-\udfff]")


@dataclass(frozen=True)
class CarrierEvent:
    """One tracking event, normalised. ``raw_status`` keeps the provider's own words."""

    carrier: str
    tracking_number: str
    status: TrackingStatus
    raw_status: str
    occurred_at: datetime  # timezone-aware UTC
    description: str = ""
    location: str | None = None
    provider_event_id: str | None = None  # the provider's id for this event, where it sends one

    def __post_init__(self) -> None:
        # Every adapter, pushed or polled, builds its events here: one check for all of them.
        texts = ("carrier", "tracking_number", "raw_status", "description", "location")
        for name in (*texts, "provider_event_id"):
            value = getattr(self, name)
            if isinstance(value, str) and _NOT_TEXT.search(value):
                raise MalformedWebhook(
                    f"The event's {name} holds a NUL character or a lone surrogate: not text."
                )

    def dedupe_key(self) -> str:
        """Stable identity of the event: the same scan delivered twice has the same key.

        Built from what the scan *is* (carrier, parcel, status, time), not from the
        delivery (a provider may re-send one event under a new delivery id).
        """
        parts = [
            self.carrier,
            "".join(self.tracking_number.split()).upper(),  # as shipments store it
            self.raw_status,
            self.occurred_at.isoformat(),
        ]
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


@dataclass(frozen=True)
class WebhookRequest:
    """An inbound webhook as received: the adapter verifies and parses it."""

    body: bytes
    headers: Mapping[str, str]  # case-insensitive lookups: use header()
    query: Mapping[str, str] = field(default_factory=dict)
    content_type: str = ""

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        for key, value in self.headers.items():
            if key.lower() == wanted:
                return value
        return None


@dataclass(frozen=True)
class Acknowledgement:
    """What to answer the provider once the webhook is safely stored."""

    status: int = 200
    body: bytes = b'{"received": true}'
    content_type: str = "application/json"


@dataclass(frozen=True)
class Label:
    tracking_number: str
    document: bytes  # the printable label (PDF)
    media_type: str = "application/pdf"


class WebhookRejected(DomainError):
    """Authenticity could not be proven (missing/wrong signature, stale timestamp, bad token)."""

    code = "webhook_rejected"


class MalformedWebhook(DomainError):
    """Authentic but unreadable: not the provider's documented format."""

    code = "malformed_webhook"


class CarrierUnavailable(DomainError):
    """The carrier's API could not be reached or answered with an error."""

    code = "carrier_unavailable"


class LabelsNotSupported(DomainError):
    """This adapter cannot buy or create labels (``creates_labels`` is False)."""

    code = "labels_not_supported"


class PollingNotSupported(DomainError):
    """This adapter only receives pushes; it cannot be polled (``polls`` is False)."""

    code = "polling_not_supported"
