"""Shopify's order webhooks (``POST /webhooks/shopify``): verify, store once, apply.

One delivery, one transaction: the delivery is stored in ``order_webhook_events`` by its
``X-Shopify-Webhook-Id`` and applied in the same transaction, so a repeated delivery (Shopify
sends at least once) applies nothing twice, and a crash applies nothing at all (no 2xx, so
Shopify retries).

- ``orders/create``, ``orders/updated``, ``orders/fulfilled``: the whole Order each time, made
  an ``UpsertOrder`` (sales/shopify.py) and given to ``upsert_in``. Deliveries come out of
  order: a copy whose ``updated_at`` is older than the stored one changes nothing (status
  ``ignored``); ``orders/fulfilled`` before ``orders/create`` simply creates the order.
- ``refunds/create``: the refund's successful ``refund`` transactions are added to the
  order's ``refunded_elsewhere_minor`` once per refund id (a second row, provider
  ``shopify_refund`` and the refund's id, claims it under the table's unique key, so two
  deliveries of one refund, even through two subscriptions, count it once). A refund for an
  order not stored yet waits (status ``received``) and is applied when the order arrives.
- Any other topic: stored ``ignored``.

What is answered (Shopify retries any non-2xx for hours, then may drop the subscription):
an unproven signature 401 and nothing stored; a verified delivery without webhook id or topic
400 (nothing to store it by); a verified body that cannot be applied (not JSON, fields
missing, an order our rules refuse) is stored ``failed`` with the reason and answered 200,
since a retry would carry the same body and fail the same way: the operator reads the row.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.clock import Clock
from core.db import UnitOfWork, insert_ignoring_conflicts
from core.errors import InvalidInput
from sales.models import OrderSource, OrderWebhookEvent, OrderWebhookStatus, SalesOrder
from sales.orders import ShippedUnits, upsert_in
from sales.shopify import (
    HMAC_HEADER,
    TOPIC_HEADER,
    WEBHOOK_ID_HEADER,
    OrderWebhookRejected,
    ShopifyPayloadError,
    order_command,
    refund_of,
    refund_order_id,
    signature_matches,
)

PROVIDER = "shopify"
#: The claim rows that make each Shopify refund count once (event_id: the refund's id).
REFUND_CLAIMS = "shopify_refund"
ORDER_TOPICS = frozenset({"orders/create", "orders/updated", "orders/fulfilled"})
REFUND_TOPIC = "refunds/create"
ERROR_LENGTH = 500


@dataclass(frozen=True)
class WebhookReceipt:
    """What became of a delivery: its stored status, and whether it was a repeat."""

    status: OrderWebhookStatus
    duplicate: bool


def waiting_for(order_id: str) -> str:
    """The note on a refund stored before its order (found again by it)."""
    return f"waiting for Shopify order {order_id}"


class ShopifyOrderWebhooks:
    """``receive`` one delivery; ``secret`` is SHOPIFY_WEBHOOK_SECRET (empty: refuse all)."""

    def __init__(
        self,
        session_factory: Callable[[], Session],
        clock: Clock,
        secret: str,
        shipped_units: ShippedUnits | None = None,
    ):
        self.session_factory = session_factory
        self.clock = clock
        self.secret = secret
        self.shipped_units = shipped_units

    def receive(self, body: bytes, headers: Mapping[str, str]) -> WebhookReceipt:
        sent = {name.lower(): value for name, value in headers.items()}
        if not self.secret:
            raise OrderWebhookRejected(
                "Shopify order webhooks are not configured (SHOPIFY_WEBHOOK_SECRET)."
            )
        signature = sent.get(HMAC_HEADER.lower())
        if not signature:
            raise OrderWebhookRejected(f"The {HMAC_HEADER} header is missing.")
        if not signature_matches(self.secret, body, signature):
            raise OrderWebhookRejected(f"The {HMAC_HEADER} signature does not match the body.")
        webhook_id = sent.get(WEBHOOK_ID_HEADER.lower(), "").strip()[:255]
        topic = sent.get(TOPIC_HEADER.lower(), "").strip().lower()[:100]
        if not webhook_id or not topic:
            raise ShopifyPayloadError(
                f"A Shopify delivery has {WEBHOOK_ID_HEADER} and {TOPIC_HEADER} headers."
            )
        with UnitOfWork(self.session_factory) as uow:
            session = uow.session
            new = insert_ignoring_conflicts(
                session,
                OrderWebhookEvent.__table__,
                {
                    "provider": PROVIDER,
                    "event_id": webhook_id,
                    "topic": topic,
                    "body": body,
                    "status": OrderWebhookStatus.RECEIVED.value,
                    "received_at": self.clock.now(),
                },
            )
            event = session.scalars(
                select(OrderWebhookEvent).where(
                    OrderWebhookEvent.provider == PROVIDER,
                    OrderWebhookEvent.event_id == webhook_id,
                )
            ).one()
            if new:
                self._apply(session, event)
            receipt = WebhookReceipt(status=event.status, duplicate=not new)
            uow.commit()
        return receipt

    # --- applying ---------------------------------------------------------------------------

    def _apply(self, session: Session, event: OrderWebhookEvent) -> None:
        if event.topic not in ORDER_TOPICS and event.topic != REFUND_TOPIC:
            self._mark(event, OrderWebhookStatus.IGNORED, f"topic {event.topic} is not used")
            return
        try:
            with session.begin_nested():  # a failure leaves no half-applied order behind
                payload = _json(event.body)
                if event.topic == REFUND_TOPIC:
                    self._refund(session, event, payload)
                else:
                    self._order(session, event, payload)
        except (ShopifyPayloadError, InvalidInput) as error:
            self._mark(event, OrderWebhookStatus.FAILED, _reason(error))

    def _order(self, session: Session, event: OrderWebhookEvent, payload: Any) -> None:
        mapped = order_command(payload)
        sent_at = mapped.command.provider_updated_at
        order = upsert_in(session, mapped.command, self.clock.now(), self.shipped_units)
        if (
            sent_at is not None
            and order.provider_updated_at
            and order.provider_updated_at > sent_at
        ):
            note = f"older than the stored copy ({order.provider_updated_at.isoformat()})"
            self._mark(event, OrderWebhookStatus.IGNORED, note)
        else:
            self._mark(event, OrderWebhookStatus.APPLIED, "; ".join(mapped.notes) or None)
        if order.external_id:
            self._apply_waiting_refunds(session, order)

    def _refund(self, session: Session, event: OrderWebhookEvent, payload: Any) -> None:
        order_id = refund_order_id(payload)
        refund_of(payload, "XXX")  # a refund that cannot be read fails now, not when it waits
        order = session.scalars(
            select(SalesOrder)
            .where(SalesOrder.external_id == order_id, SalesOrder.source == OrderSource.SHOPIFY)
            .with_for_update()
        ).first()
        if order is None:
            self._mark(event, OrderWebhookStatus.RECEIVED, waiting_for(order_id))
            return
        self._count_refund(session, event, order, payload)

    def _count_refund(
        self, session: Session, event: OrderWebhookEvent, order: SalesOrder, payload: Any
    ) -> None:
        refund = refund_of(payload, order.currency)
        claimed = insert_ignoring_conflicts(
            session,
            OrderWebhookEvent.__table__,
            {
                "provider": REFUND_CLAIMS,
                "event_id": refund.id[:255],
                "topic": REFUND_TOPIC,
                "body": event.body,
                "status": OrderWebhookStatus.APPLIED.value,
                "error": f"order {order.number}: {refund.amount_minor} minor units",
                "received_at": self.clock.now(),
            },
        )
        if not claimed:
            self._mark(event, OrderWebhookStatus.IGNORED, f"refund {refund.id} already counted")
            return
        order.refunded_elsewhere_minor = (order.refunded_elsewhere_minor or 0) + (
            refund.amount_minor
        )
        order.updated_at = self.clock.now()
        note = f"refund {refund.id}: {refund.amount_minor} minor units added to {order.number}"
        self._mark(event, OrderWebhookStatus.APPLIED, note)

    def _apply_waiting_refunds(self, session: Session, order: SalesOrder) -> None:
        assert order.external_id is not None
        waiting = session.scalars(
            select(OrderWebhookEvent)
            .where(
                OrderWebhookEvent.provider == PROVIDER,
                OrderWebhookEvent.topic == REFUND_TOPIC,
                OrderWebhookEvent.status == OrderWebhookStatus.RECEIVED,
                OrderWebhookEvent.error == waiting_for(order.external_id),
            )
            .order_by(OrderWebhookEvent.id)
            .with_for_update()
        ).all()
        for event in waiting:
            try:
                with session.begin_nested():
                    self._count_refund(session, event, order, _json(event.body))
            except ShopifyPayloadError as error:
                self._mark(event, OrderWebhookStatus.FAILED, _reason(error))

    @staticmethod
    def _mark(event: OrderWebhookEvent, status: OrderWebhookStatus, note: str | None) -> None:
        event.status = status
        event.error = note[:ERROR_LENGTH] if note else None


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise ShopifyPayloadError("The body is not JSON.") from None


def _reason(error: ShopifyPayloadError | InvalidInput) -> str:
    if isinstance(error, InvalidInput):
        return f"{error.field}: {error.message}"
    return error.message
