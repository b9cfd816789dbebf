"""Stripe's refund webhooks: ``refund.updated``, ``charge.refund.updated``, ``refund.failed``.

A refund Stripe answered ``pending`` is ``processing`` here until one of these says
``succeeded`` (released: only now the customer's "refunded" e-mail) or ``failed`` /
``canceled`` (back to the desk's queue with an alert; the customer is told nothing).

Authenticity, as Stripe documents it (https://docs.stripe.com/webhooks#verify-events): the
``Stripe-Signature`` header is ``t=<unix time>,v1=<hex>[,v1=<hex>...]``; each ``v1`` is
HMAC-SHA256 of ``"<t>.<raw body>"`` under the endpoint's secret (``whsec_...``). One
matching ``v1`` is enough (several while a secret is rolled), compared in constant time, and
``t`` must be within 300 seconds of now, so a captured delivery cannot be replayed later.

Each event is stored once (by its id) before it is applied, in the transaction that applies
it: a replayed or repeated delivery applies nothing twice. An event for a refund whose id the
outbox has not recorded yet waits (``unmatched``) and is applied when it does.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from carriers.events import MalformedWebhook, WebhookRejected
from core.clock import Clock
from core.db import UnitOfWork, insert_ignoring_conflicts
from returns.models import RefundProviderEvent
from returns.refund_outcomes import RefundOutcomes
from returns.rma import Rma

PROVIDER = "stripe"
SIGNATURE_HEADER = "Stripe-Signature"
TOLERANCE_SECONDS = 300
#: The events that carry a refund object whose ``status`` may have changed.
REFUND_EVENTS = frozenset({"refund.updated", "charge.refund.updated", "refund.failed"})


def signature_header(secret: str, body: bytes, timestamp: int) -> str:
    """The ``Stripe-Signature`` value Stripe sends for ``body`` at ``timestamp``."""
    return f"t={timestamp},v1={_digest(secret, body, str(timestamp))}"


def _digest(secret: str, body: bytes, timestamp: str) -> str:
    signed = timestamp.encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def verify_signature(
    header: str | None, body: bytes, secret: str, now: datetime, tolerance: int = TOLERANCE_SECONDS
) -> None:
    """Raise WebhookRejected unless ``header`` proves Stripe signed ``body`` recently."""
    if not secret:
        raise WebhookRejected("Stripe webhooks are not configured (STRIPE_WEBHOOK_SECRET).")
    if not header:
        raise WebhookRejected(f"The {SIGNATURE_HEADER} header is missing.")
    timestamp, signatures = "", []
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t":
            timestamp = value
        elif key == "v1":
            signatures.append(value)
    if not timestamp.isdigit() or not signatures:
        raise WebhookRejected(f"The {SIGNATURE_HEADER} header has no t= and v1= values.")
    if abs(now.timestamp() - int(timestamp)) > tolerance:
        raise WebhookRejected("The signature's timestamp is outside the tolerance.")
    expected = _digest(secret, body, timestamp)
    # Every candidate is compared (no early exit), each in constant time.
    matches = [hmac.compare_digest(expected, candidate) for candidate in signatures]
    if not any(matches):
        raise WebhookRejected("No signature matches the body.")


def _read(body: bytes) -> dict[str, Any]:
    try:
        event = json.loads(body)
    except (ValueError, RecursionError):
        raise MalformedWebhook("The body is not JSON.") from None
    if not isinstance(event, dict) or not isinstance(event.get("id"), str):
        raise MalformedWebhook("The body is not a Stripe event.")
    if not isinstance(event.get("type"), str) or not isinstance(event.get("created"), int):
        raise MalformedWebhook("The event has no type or created time.")
    return event


def _refund_of(event: dict[str, Any]) -> dict[str, Any] | None:
    if event["type"] not in REFUND_EVENTS:
        return None
    data = event.get("data")
    refund = data.get("object") if isinstance(data, dict) else None
    if not isinstance(refund, dict) or refund.get("object") != "refund":
        raise MalformedWebhook("A refund event without a refund object.")
    if not isinstance(refund.get("id"), str) or not isinstance(refund.get("status"), str):
        raise MalformedWebhook("The refund has no id or status.")
    return refund


class StripeRefundWebhooks:
    """``receive`` one delivery: verify, store once, apply."""

    def __init__(
        self,
        session_factory: Callable[[], Session],
        clock: Clock,
        outcomes: RefundOutcomes,
        secret: str,
    ):
        self.session_factory = session_factory
        self.clock = clock
        self.outcomes = outcomes
        self.secret = secret

    def receive(self, body: bytes, signature: str | None) -> bool:
        """True when the event was new (and applied or stored to wait); False for a replay."""
        verify_signature(signature, body, self.secret, self.clock.now())
        event = _read(body)
        refund = _refund_of(event)
        with UnitOfWork(self.session_factory) as uow:
            session = uow.session
            new = insert_ignoring_conflicts(
                session,
                RefundProviderEvent.__table__,
                {
                    "provider": PROVIDER,
                    "event_id": event["id"][:255],
                    "event_type": event["type"][:100],
                    "refund_id": refund["id"][:100] if refund else None,
                    "refund_status": refund["status"][:40] if refund else None,
                    "created": datetime.fromtimestamp(event["created"], UTC),
                    "body": body,
                    "outcome": "pending" if refund else "recorded",
                    "received_at": self.clock.now(),
                },
            )
            if new and refund:
                stored = session.scalars(
                    select(RefundProviderEvent).where(
                        RefundProviderEvent.provider == PROVIDER,
                        RefundProviderEvent.event_id == event["id"][:255],
                    )
                ).one()
                rma = session.scalars(
                    select(Rma).where(Rma.refund_reference == stored.refund_id).with_for_update()
                ).first()
                if rma is None:
                    stored.outcome = "unmatched"  # applied when the outbox records this refund
                else:
                    self.outcomes.apply_event(session, rma, stored)
            uow.commit()
            return new
