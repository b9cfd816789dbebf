"""Backordered advance replacements: filled by themselves when stock arrives, and dated.

Filling: inventory tells :meth:`Backorders.on_stock_available` which parts gained promisable
stock, inside the transaction that moved it (inventory/availability.py). The waiting
replacements of each part are reserved in *promise order* (the RMA's priority, urgent first,
then the oldest replacement), each in full from one bin, as at authorisation. One that does
not fit what is free (a replacement is one reservation, never split) is passed over for the
next that does; it keeps its place for the next arrival.

Locks, in the ledger's order: the stock levels the freeing move touched (held already), then
the part's row (``FOR NO KEY UPDATE``: fillers of one part take turns, while plain ledger
moves, which only share-lock it through their foreign key, go on), then the replacements
(``FOR UPDATE``), then the levels each reservation takes (the ledger's guarded update). A
filler that waited for the part sees what the one before it committed: a replacement it
filled is no longer backordered, a unit it took is no longer free. So no unit is reserved
twice and no backorder is filled twice. Authorisation takes the same part lock before it
backorders (:meth:`Backorders.backorder_or_reserve`), so stock that arrives meanwhile is
never left free beside a waiting replacement.

Dating: a backordered replacement is expected with the open purchase order whose arrival
would fill it (the orders arriving soonest first, each filling as above); one no order fills
is *estimated* at today plus the part's lead time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import case, select
from sqlalchemy.orm import Session

from core.errors import N_
from inventory import ledger, reserving
from inventory.errors import InsufficientStock
from inventory.models import Location, Part, StockLevel, Supplier
from inventory.status import PICKABLE_KINDS
from purchasing.models import PurchaseOrder, PurchaseOrderLine
from purchasing.status import PurchaseOrderStatus
from returns.context import ReturnsContext
from returns.rma import SYSTEM, Replacement, Rma, RmaLine
from returns.status import PRIORITY_ORDER, ReplacementStatus

#: Orders whose outstanding units are on their way (a draft is not with the supplier yet).
OPEN_ORDERS = (PurchaseOrderStatus.SENT, PurchaseOrderStatus.PARTIALLY_RECEIVED)
#: The lead time of a part with none of its own and no supplier (as purchasing sends orders).
DEFAULT_LEAD_TIME_DAYS = 14

#: Urgent first: 0 for urgent, 3 for low.
_PRIORITY_RANK = case(
    {priority: rank for rank, priority in enumerate(reversed(PRIORITY_ORDER))},
    value=Rma.priority,
    else_=len(PRIORITY_ORDER),
)
#: The promise order of backordered replacements.
PROMISE_ORDER = (_PRIORITY_RANK, Replacement.queued_at, Replacement.id)


@dataclass(frozen=True)
class Expected:
    """When a backordered replacement should be reservable."""

    on: date
    #: No open purchase order covers it: today plus the part's lead time.
    estimated: bool
    #: The purchase order expected to bring it (None when estimated).
    purchase_order: str | None = None


def _lock_part(session: Session, part_id: int) -> None:
    session.execute(
        select(Part.id).where(Part.id == part_id).with_for_update(key_share=True)
    ).first()


def _reserve_without_waiting(
    session: Session,
    who: ledger.Who,
    part_id: int,
    sku: str,
    qty: int,
    reference: str,
    reason: str,
) -> reserving.ReservedLine:
    """Reserve ``qty`` in one bin, as the ledger does, but only from bins no other
    transaction holds: whoever holds the part's filler lock must never wait for a level,
    or a receipt holding that level while waiting for the part would deadlock with it. A
    bin skipped here is held by a move still running; if that move frees stock, it fills
    the backorders itself once it has the part."""
    codes = session.scalars(
        select(Location.code)
        .join(StockLevel, StockLevel.location_id == Location.id)
        .where(
            StockLevel.part_id == part_id,
            Location.kind.in_(PICKABLE_KINDS),
            Location.active.is_(True),
            StockLevel.on_hand - StockLevel.reserved >= qty,
        )
        .order_by((StockLevel.on_hand - StockLevel.reserved).desc(), Location.code)
        .with_for_update(of=StockLevel, skip_locked=True)
    ).all()
    for code in codes:
        try:
            return reserving.reserve(
                session, who, sku=sku, qty=qty, location=code, reference=reference, reason=reason
            )
        except InsufficientStock:
            continue
    raise InsufficientStock(sku, None, qty, ledger.available_to_promise(session, part_id))


class Backorders:
    def __init__(self, ctx: ReturnsContext):
        self.ctx = ctx

    # --- at authorisation ----------------------------------------------------------------

    def backorder_or_reserve(
        self, session: Session, who: ledger.Who, part_id: int, sku: str, qty: int, reference: str
    ) -> reserving.ReservedLine:
        """Reserve after a first attempt found no stock, now holding the part's filler lock.

        A receipt committing between the first attempt and the backorder would otherwise
        look for backorders before this one is visible, and leave its units free. Raises
        :class:`InsufficientStock` when the replacement has to wait."""
        _lock_part(session, part_id)
        return _reserve_without_waiting(
            session, who, part_id, sku, qty, reference, "advance replacement"
        )

    # --- when stock arrives --------------------------------------------------------------

    def on_stock_available(self, session: Session, part_ids: frozenset[int]) -> None:
        """The inventory's listener: fill what waits for these parts (ids in order, like the
        ledger's locks)."""
        for part_id in sorted(part_ids):
            self.fill(session, part_id)

    def fill(self, session: Session, part_id: int) -> list[Replacement]:
        """Reserve the part's backordered replacements that now fit, in promise order."""
        _lock_part(session, part_id)
        free = ledger.available_to_promise(session, part_id)  # read after the lock: committed
        if free <= 0:
            return []
        waiting = list(
            session.scalars(
                select(Replacement)
                .join(RmaLine, RmaLine.id == Replacement.line_id)
                .join(Rma, Rma.id == Replacement.rma_id)
                .where(
                    RmaLine.part_id == part_id,
                    Replacement.status == ReplacementStatus.BACKORDERED,
                )
                .order_by(*PROMISE_ORDER)
                .with_for_update(of=Replacement)
                .execution_options(populate_existing=True)
            )
        )
        filled = []
        who = ledger.Who(SYSTEM, self.ctx.clock)
        for replacement in waiting:
            if free <= 0:
                break
            if replacement.qty > free:
                continue  # passed over, not split: the next that fits goes first
            rma = session.get(Rma, replacement.rma_id)
            assert rma is not None
            try:
                reservation = _reserve_without_waiting(
                    session,
                    who,
                    part_id,
                    replacement.sku,
                    replacement.qty,
                    rma.number,
                    "backorder filled",
                )
            except InsufficientStock:
                continue  # enough in all, but not in one bin (or that bin is busy)
            free -= replacement.qty
            self._reserved(session, rma, replacement, reservation)
            filled.append(replacement)
        return filled

    def _reserved(
        self,
        session: Session,
        rma: Rma,
        replacement: Replacement,
        reservation: reserving.ReservedLine,
    ) -> None:
        now = self.ctx.clock.now()
        replacement.status = ReplacementStatus.QUEUED
        replacement.reservation_id = reservation.id
        rma.note(
            "replacement",
            SYSTEM,
            N_(
                "Backordered replacement %(qty)s x %(sku)s reserved at %(code)s",
                qty=replacement.qty,
                sku=replacement.sku,
                code=reservation.location,
            ),
            now,
        )
        if self.ctx.messages:
            self.ctx.messages.to_customer(
                session,
                rma,
                "replacement_reserved",
                step=str(replacement.id),
                sku=replacement.sku,
                qty=replacement.qty,
            )


# --- expected dates ----------------------------------------------------------------------


def expected_dates(
    session: Session, replacement_ids: Iterable[int], today: date
) -> dict[int, Expected]:
    """The expected date of each of these replacements that is backordered.

    Every backorder of the same parts counts: the units on order go to the earlier promises
    first, whichever RMA is being shown."""
    wanted = set(replacement_ids)
    if not wanted:
        return {}
    part_ids = set(
        session.scalars(
            select(RmaLine.part_id)
            .join(Replacement, Replacement.line_id == RmaLine.id)
            .where(Replacement.id.in_(wanted), Replacement.status == ReplacementStatus.BACKORDERED)
        )
    )
    if not part_ids:
        return {}
    queues: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for replacement_id, part_id, qty in session.execute(
        select(Replacement.id, RmaLine.part_id, Replacement.qty)
        .join(RmaLine, RmaLine.id == Replacement.line_id)
        .join(Rma, Rma.id == Replacement.rma_id)
        .where(RmaLine.part_id.in_(part_ids), Replacement.status == ReplacementStatus.BACKORDERED)
        .order_by(*PROMISE_ORDER)
    ):
        queues[part_id].append((replacement_id, qty))
    arriving = _arriving(session, part_ids)
    # Columns, not entities: the read side loads nothing into the session.
    lead_times = {
        part_id: own if own is not None else supplier_default
        for part_id, own, supplier_default in session.execute(
            select(Part.id, Part.lead_time_days, Supplier.default_lead_time_days)
            .outerjoin(Supplier, Supplier.id == Part.supplier_id)
            .where(Part.id.in_(part_ids))
        )
    }
    result = {}
    for part_id, queue in queues.items():
        lead = lead_times.get(part_id)
        estimate = Expected(
            today + timedelta(days=DEFAULT_LEAD_TIME_DAYS if lead is None else lead), True
        )
        for replacement_id, expected in zip(
            (rid for rid, _ in queue),
            _hand_out(queue, arriving.get(part_id, []), estimate),
            strict=True,
        ):
            if replacement_id in wanted:
                result[replacement_id] = expected
    return result


def _arriving(session: Session, part_ids: set[int]) -> dict[int, list[tuple[date, str, int]]]:
    """Per part, what open orders still bring: (expected on, order number, units), soonest
    first."""
    rows = session.execute(
        select(
            PurchaseOrderLine.part_id,
            PurchaseOrder.expected_on,
            PurchaseOrder.number,
            PurchaseOrderLine.qty_ordered - PurchaseOrderLine.qty_received,
        )
        .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.purchase_order_id)
        .where(
            PurchaseOrderLine.part_id.in_(part_ids),
            PurchaseOrder.status.in_(OPEN_ORDERS),
            PurchaseOrder.expected_on.is_not(None),
            PurchaseOrderLine.qty_ordered > PurchaseOrderLine.qty_received,
        )
        .order_by(PurchaseOrder.expected_on, PurchaseOrder.id, PurchaseOrderLine.line_no)
    )
    arriving: dict[int, list[tuple[date, str, int]]] = defaultdict(list)
    for part_id, expected_on, number, units in rows:
        if expected_on is not None:  # filtered above; this tells the type checker
            arriving[part_id].append((expected_on, number, int(units)))
    return arriving


def _hand_out(
    queue: Sequence[tuple[int, int]],
    arriving: Sequence[tuple[date, str, int]],
    estimate: Expected,
) -> list[Expected]:
    """The orders arrive one after the other, soonest first, and each fills the backorders as
    :meth:`Backorders.fill` will: in promise order, passing over one that does not fit. A
    backorder is expected with the order that fills it; one none fills is estimated."""
    dated: list[Expected | None] = [None] * len(queue)
    free = 0
    for expected_on, number, units in arriving:
        free += units
        for index, (_, qty) in enumerate(queue):
            if dated[index] is None and qty <= free:
                dated[index] = Expected(expected_on, False, number)
                free -= qty
    return [when or estimate for when in dated]
