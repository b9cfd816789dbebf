"""Pruning raw webhook deliveries (a log); the normalised events (the timelines) stay.

A delivery whose events still wait (pending, unmatched, failed) is kept whatever its age: it
may still be applied or reviewed. Events of a pruned delivery keep everything but the link to
it (``delivery_id`` becomes NULL). See core/retention.py for what else is pruned and why.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, exists, select, update
from sqlalchemy.orm import Session

from carriers.models import CarrierEventRecord, EventOutcome, WebhookDelivery

#: Outcomes of events that may still be acted on: their delivery is kept.
WAITING = (EventOutcome.PENDING, EventOutcome.UNMATCHED, EventOutcome.FAILED)


def prune_webhook_deliveries(session: Session, cutoff: datetime, limit: int) -> int:
    """Delete up to ``limit`` deliveries received before ``cutoff``; returns how many."""
    waiting = exists().where(
        CarrierEventRecord.delivery_id == WebhookDelivery.id,
        CarrierEventRecord.outcome.in_(WAITING),
    )
    ids = list(
        session.scalars(
            select(WebhookDelivery.id)
            .where(WebhookDelivery.received_at < cutoff, ~waiting)
            .order_by(WebhookDelivery.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    if not ids:
        return 0
    session.execute(
        update(CarrierEventRecord)
        .where(CarrierEventRecord.delivery_id.in_(ids))
        .values(delivery_id=None)
    )
    session.execute(delete(WebhookDelivery).where(WebhookDelivery.id.in_(ids)))
    return len(ids)
