"""What the carrier-events stage reads for a whole batch of carrier events, loaded at once.

The appliers apply stored carrier events in batches (``CarrierService.apply_pending``). For
each batch, ``batch_scope`` loads, in one query each: the RMAs of the batch's return parcels
(locked, in id order), the refunds already under way for their customers, and where their
orders came from (Shopify or not). The stage's rules (returns/carrier_events.py,
returns/refunds.py, the aggregate's ``refund_decision``) then run as they always do, reading
these instead of asking the database per event; and every outbox row they queue goes out in
one insert at the end (``core.outbox.outbox_batch``). Outside a batch (an event entered by hand,
a poll, a shipment registered late) ``current`` is None and the same rules query as before.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from carriers.models import Direction, Shipment
from core.outbox import outbox_batch
from returns.rma import Rma
from returns.status import REFUND_UNDER_WAY
from sales.models import OrderSource, SalesOrder

if TYPE_CHECKING:
    from returns.context import ReturnsContext

KEY = "returns.carrier_batch"


@dataclass
class CarrierBatch:
    """The batch's RMAs by number, the refunds under way by customer e-mail ({RMA id: amount},
    within the policy's period), and the Shopify order id (or None) of each order that came
    from Shopify."""

    rmas: dict[str, Rma]
    under_way: dict[str, dict[int, int]]
    since: datetime
    #: The orders looked up (stripped numbers), and of those, Shopify's: their Shopify order id.
    orders: set[str] = field(default_factory=set)
    shopify_orders: dict[str, str | None] = field(default_factory=dict)

    def rma(self, number: str) -> Rma | None:
        return self.rmas.get(number)

    def shopify_order(self, order_number: str) -> tuple[bool, str | None] | None:
        """(from Shopify, Shopify's order id) as ``shopify_order_id`` answers; None when the
        order was not looked up with the batch."""
        number = order_number.strip()
        if number not in self.orders:
            return None
        return (number in self.shopify_orders, self.shopify_orders.get(number))

    def earlier_refunds(self, rma: Rma) -> int:
        """The customer's other refunds under way or made within the period: the figure
        ``Refunds._earlier_refunds`` asks the database for, kept up to date within the batch."""
        amounts = self.under_way.get(rma.customer_email, {})
        return sum(amount for rma_id, amount in amounts.items() if rma_id != rma.id)

    def refund_released(self, rma: Rma) -> None:
        """A refund released within the batch counts for the customer's next one."""
        if rma.created_at >= self.since:
            amounts = self.under_way.setdefault(rma.customer_email, {})
            amounts[rma.id] = int(rma.refund_amount_minor or 0)


def current(session: Session) -> CarrierBatch | None:
    """The batch being applied in ``session``'s transaction, if any."""
    return session.info.get(KEY)


def batch_scope(
    ctx: ReturnsContext,
) -> Callable[[Session, Sequence[Shipment]], contextlib.AbstractContextManager[CarrierBatch]]:
    """The ``tracking.BatchScope`` the returns stage registers with the carriers service."""

    @contextlib.contextmanager
    def scope(session: Session, shipments: Sequence[Shipment]) -> Iterator[CarrierBatch]:
        numbers = {
            shipment.reference
            for shipment in shipments
            if shipment.direction is Direction.INBOUND and shipment.reference
        }
        rmas = (
            session.scalars(
                select(Rma).where(Rma.number.in_(numbers)).order_by(Rma.id).with_for_update()
            ).all()
            if numbers
            else []
        )
        since = ctx.clock.now() - timedelta(days=ctx.policy.customer_limit_days)
        under_way: dict[str, dict[int, int]] = {}
        emails = {rma.customer_email for rma in rmas}
        if emails:
            rows = session.execute(
                select(Rma.id, Rma.customer_email, Rma.refund_amount_minor).where(
                    Rma.customer_email.in_(emails),
                    Rma.refund_status.in_(REFUND_UNDER_WAY),
                    Rma.created_at >= since,
                )
            )
            for rma_id, email, amount in rows:
                under_way.setdefault(email, {})[rma_id] = int(amount or 0)
        orders = {rma.order_number.strip() for rma in rmas if rma.order_number}
        shopify: dict[str, str | None] = {}
        if orders:
            found = session.execute(
                select(SalesOrder.number, SalesOrder.external_id).where(
                    SalesOrder.number.in_(orders), SalesOrder.source == OrderSource.SHOPIFY
                )
            )
            shopify = {number: (external or "").strip() or None for number, external in found}
        batch = CarrierBatch({rma.number: rma for rma in rmas}, under_way, since, orders, shopify)
        session.info[KEY] = batch
        try:
            with outbox_batch(session):
                yield batch
        finally:
            session.info.pop(KEY, None)

    return scope
