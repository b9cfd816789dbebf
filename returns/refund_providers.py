"""Which provider refunds an RMA: Shopify for an order that came from Shopify, the configured
(Stripe-shaped) provider for every other.

Chosen when the refund is released, in that transaction, and written into the outbox payload
(``provider``, ``payment_reference``), so the message that runs later, however often, goes
where it was sent. A payload without ``provider`` (queued before this existed) is the default.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from returns import carrier_batch
from returns.rma import Rma
from returns.rma_texts import NO_PROVIDER, NO_SHOPIFY_ORDER_ID, NO_SHOPIFY_PROVIDER
from sales.models import OrderSource, SalesOrder

DEFAULT = "default"
SHOPIFY = "shopify"


class RefundProvider(Protocol):
    def refund(
        self,
        *,
        payment_reference: str,
        amount_minor: int,
        idempotency_key: str,
        metadata: Any,
    ) -> dict[str, Any]: ...


@dataclass(frozen=True)
class RefundRoute:
    """Where an RMA's refund goes: ``provider`` (DEFAULT or SHOPIFY) and what it refunds
    against; ``missing`` says why it cannot go anywhere (the refund is then held)."""

    provider: str
    payment_reference: str | None
    missing: str | None = None

    def payload(self) -> dict[str, Any]:
        """The outbox payload's part (the default provider's payload stays as it was)."""
        extra: dict[str, Any] = {"payment_reference": self.payment_reference}
        if self.provider != DEFAULT:
            extra["provider"] = self.provider
        return extra


def shopify_order_id(session: Session, order_number: str | None) -> tuple[bool, str | None]:
    """(whether the RMA's order came from Shopify, Shopify's order id)."""
    if not order_number:
        return False, None
    batch = carrier_batch.current(session)
    known = batch.shopify_order(order_number) if batch else None
    if known is not None:
        return known
    row = session.execute(
        select(SalesOrder.source, SalesOrder.external_id).where(
            SalesOrder.number == order_number.strip()
        )
    ).first()
    if row is None or row.source is not OrderSource.SHOPIFY:
        return False, None
    return True, (row.external_id or "").strip() or None


def choose_route(
    session: Session,
    rma: Rma,
    *,
    default: RefundProvider | None,
    shopify: RefundProvider | None,
) -> RefundRoute:
    from_shopify, order_id = shopify_order_id(session, rma.order_number)
    if from_shopify:
        missing = None
        if shopify is None:
            missing = NO_SHOPIFY_PROVIDER
        elif order_id is None:
            missing = NO_SHOPIFY_ORDER_ID
        return RefundRoute(SHOPIFY, order_id, missing)
    return RefundRoute(DEFAULT, rma.payment_reference, None if default else NO_PROVIDER)
