"""Purchase orders: numbering, drafting, sending, cancelling and receiving into stock.

These functions flush but never commit. Receiving goes through :func:`inventory.ledger.receive`
with the order number as the ledger reference, in the same transaction as the order's
status change, under a row lock on the order.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.db import insert_ignoring_conflicts
from core.errors import N_
from inventory import ledger
from inventory import serials as serial_units
from inventory.catalog import supplier_by_code
from inventory.errors import SerialProblem
from inventory.ledger import Who
from inventory.models import Part, StockMove, Supplier, sku_key
from inventory.status import MoveKind
from purchasing.commands import ReceivePurchaseOrder
from purchasing.errors import NotOnOrder, OverReceipt, PurchaseOrderNotFound
from purchasing.models import (
    NumberSequence,
    PurchaseOrder,
    PurchaseOrderLine,
)
from purchasing.status import PurchaseOrderStatus

sequences = NumberSequence.__table__


def next_number(session: Session, series: str) -> int:
    """The next number of ``series``; concurrent callers never get the same one."""
    insert_ignoring_conflicts(session, sequences, {"name": series, "last_value": 0})
    number: int = session.execute(
        update(sequences)
        .where(sequences.c.name == series)
        .values(last_value=sequences.c.last_value + 1)
        .returning(sequences.c.last_value)
    ).scalar_one()
    return number


def new_po_number(session: Session, who: Who) -> str:
    year = who.clock.now().year
    return f"PO-{year}-{next_number(session, f'PO-{year}'):05d}"


@dataclass(frozen=True)
class DraftLine:
    part: Part
    qty: int
    unit_cost: Decimal


def create_draft(
    session: Session, who: Who, supplier: Supplier, lines: Sequence[DraftLine], source: str
) -> PurchaseOrder:
    """A draft order with ``lines`` (one per part), numbered and with its creation recorded."""
    now = who.clock.now()
    order = PurchaseOrder(
        number=new_po_number(session, who),
        supplier_id=supplier.id,
        supplier=supplier,
        status=PurchaseOrderStatus.DRAFT,
        source=source[:200],
        notes="",
        created_by=who.actor,
        created_at=now,
        updated_at=now,
    )
    for number, line in enumerate(lines, start=1):
        order.lines.append(
            PurchaseOrderLine(
                line_no=number,
                part_id=line.part.id,
                part=line.part,
                qty_ordered=line.qty,
                qty_received=0,
                unit_cost=line.unit_cost,
            )
        )
    order.record_creation(who, source or "created")
    session.add(order)
    session.flush()
    return order


def get_order(session: Session, number: str, *, lock: bool = False) -> PurchaseOrder:
    query = select(PurchaseOrder).where(PurchaseOrder.number == number.strip().upper())
    if lock:
        # Receipts, sends and cancels of one order queue up behind each other.
        query = query.with_for_update(of=PurchaseOrder).execution_options(populate_existing=True)
    order = session.scalar(query)
    if order is None:
        raise PurchaseOrderNotFound(number)
    return order


def list_orders(
    session: Session,
    *,
    supplier: str | None = None,
    status: PurchaseOrderStatus | None = None,
    before: int | None = None,
    limit: int = 50,
) -> list[PurchaseOrder]:
    """Newest first."""
    query = select(PurchaseOrder)
    if supplier:
        query = query.where(PurchaseOrder.supplier_id == supplier_by_code(session, supplier).id)
    if status:
        query = query.where(PurchaseOrder.status == status)
    if before is not None:
        query = query.where(PurchaseOrder.id < before)
    return list(session.scalars(query.order_by(PurchaseOrder.id.desc()).limit(limit)).unique())


def send(
    session: Session, who: Who, number: str, reason: str = "", default_lead_time_days: int = 14
) -> PurchaseOrder:
    """Place a draft with the supplier; it is expected after the longest lead time of its parts."""
    order = get_order(session, number, lock=True)
    lead = max(
        (
            line.part.lead_time_days
            if line.part.lead_time_days is not None
            else order.supplier.default_lead_time_days
            for line in order.lines
        ),
        default=default_lead_time_days,
    )
    order.send(who, who.clock.now().date() + timedelta(days=lead), reason)
    session.flush()
    return order


def cancel(session: Session, who: Who, number: str, reason: str = "") -> PurchaseOrder:
    order = get_order(session, number, lock=True)
    order.cancel(who, reason)
    session.flush()
    return order


def receive(
    session: Session, who: Who, command: ReceivePurchaseOrder
) -> tuple[PurchaseOrder, list[StockMove]]:
    """Book goods in against an order's lines: ledger receipts, then the order's new status."""
    order = get_order(session, command.number, lock=True)
    order.ensure_receivable()
    lines = {line.part.sku_key: line for line in order.lines}
    wanted: dict[str, int] = defaultdict(int)
    plan = []
    for index, receipt in enumerate(command.lines):
        line = lines.get(sku_key(receipt.sku))
        if line is None:
            raise NotOnOrder(order.number, receipt.sku, f"lines.{index}.sku")
        where = receipt.location or command.location or ""
        field = f"lines.{index}.location" if receipt.location else "location"
        ledger.location_by_code(session, where, field)  # unknown or inactive: name the field
        with _serials_of_line(index, line):
            names = serial_units.checked(line.part, MoveKind.RECEIPT, receipt.qty, receipt.serials)
        wanted[line.part.sku_key] += receipt.qty
        plan.append((index, line, receipt.qty, where, names))
    for key, qty in wanted.items():
        line = lines[key]
        if qty > line.qty_outstanding:
            raise OverReceipt(order.number, line.part.sku, qty, line.qty_outstanding)
    moves = []
    for index, line, qty, where, names in plan:
        with _serials_of_line(index, line):
            moves.append(
                ledger.receive(
                    session,
                    who,
                    sku=line.part.sku,
                    location=where,
                    qty=qty,
                    reference=order.number,
                    reason=command.reason or f"receipt against {order.number} line {line.line_no}",
                    serials=names,
                )
            )
        line.qty_received += qty
    units = sum(qty for _, _, qty, _, _ in plan)
    order.after_receipt(who, f"received {units} unit(s) on {len(plan)} line(s)")
    session.flush()
    return order, moves


@contextmanager
def _serials_of_line(index: int, line: PurchaseOrderLine) -> Iterator[None]:
    """A serials problem (missing, duplicated, already in stock) names the receipt line."""
    try:
        yield
    except SerialProblem as problem:
        details = {k: v for k, v in problem.details.items() if k != "field"}
        raise SerialProblem(
            problem.code,
            N_(
                "Line %(line)s (%(sku)s): %(problem)s",
                line=line.line_no,
                sku=line.part.sku,
                problem=problem.text,
            ),
            field=f"lines.{index}.serials",
            line_no=line.line_no,
            **details,
        ) from problem
