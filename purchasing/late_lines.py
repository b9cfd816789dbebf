"""Late purchase-order lines: past their order's expected date and not fully received.

A periodic job raises one buyer alert per late line, ever: the alert's key names the line,
and the notifier ignores a key it has seen (a job run twice, or by two schedulers, adds
nothing). The notifier is wired by bootstrap (returns' notifications table), so purchasing
imports nothing of returns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.clock import Clock
from core.db import UnitOfWork
from core.errors import N_, filled
from inventory.models import Part, Supplier
from purchasing.models import PurchaseOrder, PurchaseOrderLine
from purchasing.status import RECEIVABLE

#: Raises an alert for buyers once per ``key``: (session, key, kind, message, now) -> raised?
BuyerNotifier = Callable[[Session, str, str, str, datetime], bool]

ALERT_KIND = "late_po_line"
#: The buyers' alert (the page recognises it to show it in the reader's language).
LATE = N_(
    "%(order)s (%(supplier)s): %(qty)s x %(sku)s still expected, due %(due)s (%(days)s d late)"
)


@dataclass(frozen=True)
class LateLine:
    line_id: int
    order_number: str
    supplier_code: str
    sku: str
    outstanding: int
    expected_on: date

    @property
    def key(self) -> str:
        return f"late-po-line:{self.line_id}"

    def message(self, today: date) -> str:
        return filled(
            LATE,
            order=self.order_number,
            supplier=self.supplier_code,
            qty=self.outstanding,
            sku=self.sku,
            due=self.expected_on.isoformat(),
            days=(today - self.expected_on).days,
        )


def late_lines(session: Session, today: date) -> list[LateLine]:
    """Lines of sent or partly received orders expected before ``today`` with units missing."""
    rows = session.execute(
        select(
            PurchaseOrderLine.id,
            PurchaseOrder.number,
            Supplier.code,
            Part.sku,
            PurchaseOrderLine.qty_ordered - PurchaseOrderLine.qty_received,
            PurchaseOrder.expected_on,
        )
        .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.purchase_order_id)
        .join(Supplier, Supplier.id == PurchaseOrder.supplier_id)
        .join(Part, Part.id == PurchaseOrderLine.part_id)
        .where(
            PurchaseOrder.status.in_(RECEIVABLE),
            PurchaseOrder.expected_on < today,
            PurchaseOrderLine.qty_received < PurchaseOrderLine.qty_ordered,
        )
        .order_by(PurchaseOrder.expected_on, PurchaseOrderLine.id)
    ).all()
    return [
        LateLine(line_id, number, code, sku, int(outstanding), expected_on)
        for line_id, number, code, sku, outstanding, expected_on in rows
        if expected_on is not None
    ]


class LateLineMonitor:
    def __init__(self, session_factory: Callable[[], Session], clock: Clock, notify: BuyerNotifier):
        self.session_factory = session_factory
        self.clock = clock
        self.notify = notify

    def alert(self) -> int:
        """Alert buyers about each late line not alerted before; returns how many are new."""
        now = self.clock.now()
        raised = 0
        with UnitOfWork(self.session_factory) as uow:
            for line in late_lines(uow.session, now.date()):
                if self.notify(uow.session, line.key, ALERT_KIND, line.message(now.date()), now):
                    raised += 1
            uow.commit()
        return raised
