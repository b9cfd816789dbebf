"""Purchase orders as pages and the API read them: plain values, built by queries made for them.

A page of orders is three queries whatever its length (the orders with their suppliers, then
the lines and the events of all of them); the views are read after the transaction has ended,
so nothing there may load lazily.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from inventory.models import Part
from purchasing.models import PurchaseOrder, PurchaseOrderEvent, PurchaseOrderLine
from purchasing.status import PurchaseOrderStatus


@dataclass(frozen=True)
class SupplierRef:
    code: str
    name: str
    email: str | None


@dataclass(frozen=True)
class PurchaseOrderLineView:
    id: int
    line_no: int
    sku: str
    name: str
    qty_ordered: int
    qty_received: int
    unit_cost: Decimal
    #: Receipts of this line name one serial per unit (docs/serials.md).
    serialised: bool = False

    @property
    def qty_outstanding(self) -> int:
        return self.qty_ordered - self.qty_received

    @property
    def line_value(self) -> Decimal:
        return (self.unit_cost * self.qty_ordered).quantize(Decimal("0.01"), ROUND_HALF_UP)


@dataclass(frozen=True)
class PurchaseOrderEventView:
    from_status: PurchaseOrderStatus | None
    to_status: PurchaseOrderStatus
    actor: str
    created_at: datetime
    reason: str


@dataclass(frozen=True)
class PurchaseOrderView:
    id: int
    number: str
    supplier: SupplierRef
    status: PurchaseOrderStatus
    source: str
    created_by: str
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None
    closed_at: datetime | None
    expected_on: date | None
    lines: tuple[PurchaseOrderLineView, ...]
    #: Every transition, oldest first.
    events: tuple[PurchaseOrderEventView, ...]

    @property
    def total_value(self) -> Decimal:
        return sum((line.line_value for line in self.lines), Decimal("0.00"))


def order_views(session: Session, orders: Sequence[PurchaseOrder]) -> list[PurchaseOrderView]:
    """Views of ``orders`` (loaded with their suppliers), in their order: two more queries
    fetch the lines and events of all of them."""
    ids = [order.id for order in orders]
    lines = _lines_of(session, ids)
    events = _events_of(session, ids)
    return [
        PurchaseOrderView(
            id=order.id,
            number=order.number,
            supplier=SupplierRef(order.supplier.code, order.supplier.name, order.supplier.email),
            status=order.status,
            source=order.source,
            created_by=order.created_by,
            created_at=order.created_at,
            updated_at=order.updated_at,
            sent_at=order.sent_at,
            closed_at=order.closed_at,
            expected_on=order.expected_on,
            lines=tuple(lines[order.id]),
            events=tuple(events[order.id]),
        )
        for order in orders
    ]


def order_view(session: Session, order: PurchaseOrder) -> PurchaseOrderView:
    return order_views(session, [order])[0]


def _lines_of(session: Session, ids: Sequence[int]) -> dict[int, list[PurchaseOrderLineView]]:
    found: dict[int, list[PurchaseOrderLineView]] = defaultdict(list)
    if not ids:
        return found
    line = PurchaseOrderLine
    rows = session.execute(
        select(
            line.purchase_order_id,
            line.id,
            line.line_no,
            Part.sku,
            Part.name,
            line.qty_ordered,
            line.qty_received,
            line.unit_cost,
            Part.serialised,
        )
        .join(Part, Part.id == line.part_id)
        .where(line.purchase_order_id.in_(ids))
        .order_by(line.purchase_order_id, line.line_no)
    )
    for order_id, line_id, line_no, sku, name, ordered, received, cost, serialised in rows:
        found[order_id].append(
            PurchaseOrderLineView(line_id, line_no, sku, name, ordered, received, cost, serialised)
        )
    return found


def _events_of(session: Session, ids: Sequence[int]) -> dict[int, list[PurchaseOrderEventView]]:
    found: dict[int, list[PurchaseOrderEventView]] = defaultdict(list)
    if not ids:
        return found
    event = PurchaseOrderEvent
    rows = session.execute(
        select(
            event.purchase_order_id,
            event.from_status,
            event.to_status,
            event.actor,
            event.created_at,
            event.reason,
        )
        .where(event.purchase_order_id.in_(ids))
        .order_by(event.id)
    )
    for order_id, from_status, to_status, actor, created_at, reason in rows:
        found[order_id].append(
            PurchaseOrderEventView(from_status, to_status, actor, created_at, reason)
        )
    return found
