"""The repair stage: an RMA resolved by ``repair`` gets a repair order once its unit is booked
in; parts are issued from stock on the ledger (reference ``<RMA>/REP<id>``), labour and the
test are recorded, and the repaired unit ships back to the customer, which closes the RMA.

A part that is short is not lost: its line waits on the order (``waiting_for_parts``, the
missing SKUs shown on the RMA page and in the API) and :func:`fill_waiting_repairs` issues it
once stock is there, oldest request first. Today the desk calls it (``retry``); the automatic
"stock became available" hook of the backorder work is meant to call the same function in the
transaction of the move that freed the stock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from carriers.models import Direction, Shipment
from core import audit
from core.db import UnitOfWork
from core.errors import N_, Conflict, InvalidInput, NotFound
from inventory import ledger
from inventory.errors import InsufficientStock
from inventory.models import Location, Part, StockLevel
from inventory.status import PICKABLE_KINDS
from returns.context import ReturnsContext, load_rma
from returns.repair_orders import RepairOrder, RepairPart, RepairPartStatus, RepairStatus
from returns.rma import SYSTEM, Rma, RmaTransition
from returns.status import Resolution, RmaStatus

# --- commands and views -------------------------------------------------------------------


@dataclass(frozen=True)
class OpenRepair:
    diagnosis: str
    technician: str | None = None


@dataclass(frozen=True)
class UseRepairPart:
    sku: str
    qty: int
    #: The bin to take it from; None: the pickable bin with the most free stock.
    location: str | None = None


@dataclass(frozen=True)
class RecordLabour:
    minutes: int
    technician: str | None = None
    diagnosis: str | None = None


@dataclass(frozen=True)
class RecordRepairTest:
    passed: bool
    result: str


@dataclass(frozen=True)
class ShipRepair:
    """By hand (carrier and tracking number of a label bought elsewhere)."""

    carrier: str
    tracking_number: str


@dataclass(frozen=True)
class RepairPartView:
    id: int
    sku: str
    qty: int
    status: RepairPartStatus
    location: str | None
    stock_move_id: int | None
    requested_by: str
    requested_at: datetime
    issued_at: datetime | None


@dataclass(frozen=True)
class RepairView:
    id: int
    rma_number: str
    status: RepairStatus
    diagnosis: str
    technician: str | None
    labour_minutes: int
    test_passed: bool | None
    test_result: str | None
    missing_skus: list[str]
    received_at: datetime | None
    opened_by: str
    opened_at: datetime
    tested_at: datetime | None
    carrier: str | None
    tracking_number: str | None
    shipped_by: str | None
    shipped_at: datetime | None
    parts: list[RepairPartView] = field(default_factory=list)

    @property
    def turnaround_hours(self) -> float | None:
        """Received to shipped back, in hours (None until shipped)."""
        if self.received_at is None or self.shipped_at is None:
            return None
        return round((self.shipped_at - self.received_at).total_seconds() / 3600, 2)


def repair_reference(rma_number: str, repair_id: int) -> str:
    """The ledger reference of a repair's part issues: the RMA and the repair order."""
    return f"{rma_number}/REP{repair_id}"


def repair_view(rma_number: str, repair: RepairOrder) -> RepairView:
    return RepairView(
        id=repair.id,
        rma_number=rma_number,
        status=repair.status,
        diagnosis=repair.diagnosis,
        technician=repair.technician,
        labour_minutes=repair.labour_minutes,
        test_passed=repair.test_passed,
        test_result=repair.test_result,
        missing_skus=repair.missing_skus,
        received_at=repair.received_at,
        opened_by=repair.opened_by,
        opened_at=repair.opened_at,
        tested_at=repair.tested_at,
        carrier=repair.carrier,
        tracking_number=repair.tracking_number,
        shipped_by=repair.shipped_by,
        shipped_at=repair.shipped_at,
        parts=[
            RepairPartView(
                id=p.id,
                sku=p.sku,
                qty=p.qty,
                status=p.status,
                location=p.location,
                stock_move_id=p.stock_move_id,
                requested_by=p.requested_by,
                requested_at=p.requested_at,
                issued_at=p.issued_at,
            )
            for p in repair.parts
        ],
    )


# --- filling parts (also for the automatic "stock became available" hook) ----------------


def _bins_with_stock(session: Session, part_id: int, qty: int, first: str | None) -> list[str]:
    """Pickable bins holding ``qty`` free units, the asked-for bin first, then most free."""
    free = StockLevel.on_hand - StockLevel.reserved
    codes = list(
        session.scalars(
            select(Location.code)
            .join(StockLevel, StockLevel.location_id == Location.id)
            .where(
                StockLevel.part_id == part_id,
                Location.kind.in_(PICKABLE_KINDS),
                Location.active.is_(True),
                free >= qty,
            )
            .order_by(free.desc(), Location.code)
        )
    )
    if first and first.upper() in codes:
        codes.remove(first.upper())
        codes.insert(0, first.upper())
    return codes


def _try_issue(session: Session, who: ledger.Who, line: RepairPart, reference: str) -> bool:
    """Issue a waiting (or new) part line from any bin that has it; False when none does."""
    for code in _bins_with_stock(session, line.part_id, line.qty, line.location):
        try:
            with session.begin_nested():  # a bin emptied meanwhile: try the next
                move = ledger.issue(
                    session,
                    who,
                    sku=line.sku,
                    location=code,
                    qty=line.qty,
                    reference=reference,
                    reason="repair part",
                )
        except InsufficientStock:
            continue
        line.status, line.stock_move_id = RepairPartStatus.ISSUED, move.id
        line.location, line.issued_at = code, who.clock.now()
        return True
    return False


def fill_waiting_repairs(session: Session, sku: str, who: ledger.Who) -> list[str]:
    """Within the caller's transaction: issue the waiting repair part lines of ``sku`` that
    stock now covers, oldest request first; returns the RMA numbers whose repair moved on.

    ``Repairs.on_stock_available`` calls it in the transaction of the move that freed the
    stock (after the backordered replacements); the desk's retry calls it too."""
    part = ledger.find_part(session, sku)
    if part is None:
        return []
    waiting = session.scalars(
        select(RepairPart)
        .where(RepairPart.part_id == part.id, RepairPart.status == RepairPartStatus.WAITING)
        .order_by(RepairPart.requested_at, RepairPart.id)
        .with_for_update(skip_locked=True)
    ).all()
    moved: list[str] = []
    for line in waiting:
        repair = session.get(RepairOrder, line.repair_id, with_for_update=True)
        assert repair is not None
        rma = session.get(Rma, repair.rma_id)
        assert rma is not None
        if not _try_issue(session, who, line, repair_reference(rma.number, repair.id)):
            break  # promise order: a later request does not jump an unfilled earlier one
        now = who.clock.now()
        repair.after_parts_change(now)
        text = N_(
            "Repair part %(qty)s x %(sku)s issued from %(location)s (was waiting)",
            qty=line.qty,
            sku=line.sku,
            location=line.location,
        )
        rma.note("repair", who.actor, text, now)
        _audit(session, who.actor, now, "repair.part_filled", rma.number, sku=line.sku)
        if rma.number not in moved:
            moved.append(rma.number)
    return moved


def _audit(
    session: Session, actor: str, now: datetime, action: str, number: str, **facts: object
) -> None:
    audit.record(
        session,
        at=now,
        actor=actor,
        action=action,
        target_type="rma",
        target=number,
        details=dict(facts),
    )


# --- the stage ----------------------------------------------------------------------------


class Repairs:
    def __init__(self, ctx: ReturnsContext):
        self.ctx = ctx

    def on_stock_available(self, session: Session, part_ids: frozenset[int]) -> None:
        """The inventory's listener (after the backordered replacements, which were promised
        first): repairs waiting for these parts take them in the same transaction."""
        who = ledger.Who(SYSTEM, self.ctx.clock)
        for part_id in sorted(part_ids):
            part = session.get(Part, part_id)
            if part is not None:
                fill_waiting_repairs(session, part.sku, who)

    def get(self, number: str) -> RepairView:
        with UnitOfWork(self.ctx.session_factory) as uow:
            rma = load_rma(uow.session, number, step="repair")
            return repair_view(rma.number, self._repair(uow.session, rma))

    def find(self, number: str) -> RepairView | None:
        """The repair order of an RMA, or None (pages show the "open" form then)."""
        with UnitOfWork(self.ctx.session_factory) as uow:
            rma = load_rma(uow.session, number)
            repair = self._find(uow.session, rma)
            return repair_view(rma.number, repair) if repair else None

    def open(self, actor: str, number: str, command: OpenRepair) -> RepairView:
        """Open the repair order of a received unit (resolution ``repair``)."""
        if not command.diagnosis.strip():
            raise InvalidInput("diagnosis", N_("Describe the fault found."))
        with UnitOfWork(self.ctx.session_factory) as uow:
            session = uow.session
            rma = load_rma(session, number, lock=True, step="repair")
            if rma.resolution is not Resolution.REPAIR:
                raise Conflict(
                    N_(
                        "%(number)s is resolved by %(value)s, not repair.",
                        number=rma.number,
                        value=rma.resolution.value if rma.resolution else "",
                    ),
                    code="not_a_repair",
                )
            if rma.status is not RmaStatus.RECEIVED or not any(
                line.received_qty for line in rma.lines
            ):
                raise Conflict(
                    N_(
                        "%(number)s is %(status)s; a repair starts on a received unit.",
                        number=rma.number,
                        status=rma.status.value,
                    ),
                    code="unit_not_received",
                )
            if self._find(session, rma) is not None:
                raise Conflict(
                    N_("%(number)s already has a repair order.", number=rma.number),
                    code="repair_exists",
                )
            now = self.ctx.clock.now()
            received_at = session.scalar(
                select(RmaTransition.at)
                .where(
                    RmaTransition.rma_id == rma.id,
                    RmaTransition.kind == "status",
                    RmaTransition.to_status == RmaStatus.RECEIVED,
                )
                .order_by(RmaTransition.at.desc())
                .limit(1)
            )
            repair = RepairOrder(
                rma_id=rma.id,
                status=RepairStatus.OPEN,
                diagnosis=command.diagnosis.strip(),
                technician=(command.technician or "").strip() or actor,
                labour_minutes=0,
                received_at=received_at,
                opened_by=actor,
                opened_at=now,
                updated_at=now,
            )
            session.add(repair)
            session.flush()
            rma.note(
                "repair",
                actor,
                N_("Repair order opened: %(diagnosis)s", diagnosis=repair.diagnosis),
                now,
            )
            _audit(session, actor, now, "repair.opened", rma.number, repair=repair.id)
            uow.commit()
            return repair_view(rma.number, repair)

    def use_part(self, actor: str, number: str, command: UseRepairPart) -> RepairView:
        """Issue a part for the repair; short, the line waits and the answer is ``parts_short``
        (the order is then ``waiting_for_parts``, kept even though the request is refused)."""
        if command.qty < 1:
            raise InvalidInput("qty", N_("Use at least one."))
        with UnitOfWork(self.ctx.session_factory) as uow:
            session = uow.session
            rma, repair = self._locked(session, number, "part used")
            part = ledger.part_for_stock(session, command.sku)
            if command.location:
                ledger.location_by_code(session, command.location)  # unknown bins refused now
            now = self.ctx.clock.now()
            line = RepairPart(
                part_id=part.id,
                sku=part.sku,
                qty=command.qty,
                status=RepairPartStatus.WAITING,
                location=ledger.normalise_location_code(command.location)
                if command.location
                else None,
                requested_by=actor,
                requested_at=now,
            )
            repair.parts.append(line)
            who = ledger.Who(actor, self.ctx.clock)
            issued = _try_issue(session, who, line, repair_reference(rma.number, repair.id))
            repair.after_parts_change(now)
            if issued:
                text = N_(
                    "Repair part %(qty)s x %(sku)s issued from %(location)s",
                    qty=line.qty,
                    sku=line.sku,
                    location=line.location,
                )
                _audit(session, actor, now, "repair.part_used", rma.number, sku=line.sku)
            else:
                text = N_(
                    "Repair waits for parts: %(qty)s x %(sku)s short", qty=line.qty, sku=line.sku
                )
                _audit(session, actor, now, "repair.part_short", rma.number, sku=line.sku)
            rma.note("repair", actor, text, now)
            uow.commit()
            if not issued:
                raise Conflict(
                    N_(
                        "Not enough %(sku)s in stock for %(qty)s; the repair waits for parts "
                        "and takes them when stock arrives (or retry).",
                        sku=line.sku,
                        qty=line.qty,
                    ),
                    code="parts_short",
                    missing_skus=repair.missing_skus,
                )
            return repair_view(rma.number, repair)

    def retry_parts(self, actor: str, number: str) -> RepairView:
        """The desk retries a waiting repair: each missing SKU is filled where stock exists
        (for every repair waiting for it, oldest first, so none jumps the queue)."""
        with UnitOfWork(self.ctx.session_factory) as uow:
            session = uow.session
            rma, repair = self._locked(session, number, "parts retried")
            who = ledger.Who(actor, self.ctx.clock)
            for sku in repair.missing_skus:
                fill_waiting_repairs(session, sku, who)
            uow.commit()
            return repair_view(rma.number, repair)

    def record_labour(self, actor: str, number: str, command: RecordLabour) -> RepairView:
        if not 1 <= command.minutes <= 10_000:
            raise InvalidInput("minutes", N_("Book 1 to 10,000 minutes at a time."))
        with UnitOfWork(self.ctx.session_factory) as uow:
            session = uow.session
            rma, repair = self._locked(session, number, "labour booked")
            now = self.ctx.clock.now()
            repair.labour_minutes += command.minutes
            if command.technician and command.technician.strip():
                repair.technician = command.technician.strip()
            if command.diagnosis and command.diagnosis.strip():
                repair.diagnosis = command.diagnosis.strip()
            if repair.status in (RepairStatus.OPEN, RepairStatus.FAILED_TEST):
                repair.move_to(RepairStatus.IN_REPAIR, now)
            repair.updated_at = now
            who = repair.technician or actor
            rma.note(
                "repair",
                actor,
                N_("Labour %(minutes)s min by %(who)s", minutes=command.minutes, who=who),
                now,
            )
            _audit(session, actor, now, "repair.labour", rma.number, minutes=command.minutes)
            uow.commit()
            return repair_view(rma.number, repair)

    def record_test(self, actor: str, number: str, command: RecordRepairTest) -> RepairView:
        if not command.result.strip():
            raise InvalidInput("result", N_("Say what the test showed."))
        with UnitOfWork(self.ctx.session_factory) as uow:
            session = uow.session
            rma, repair = self._locked(session, number, "tested")
            if repair.status is RepairStatus.OPEN:
                repair.move_to(RepairStatus.IN_REPAIR, self.ctx.clock.now())
            now = self.ctx.clock.now()
            repair.record_test(command.passed, command.result.strip(), now)
            text = (
                N_("Repair test passed: %(test_result)s", test_result=repair.test_result)
                if command.passed
                else N_("Repair test failed: %(test_result)s", test_result=repair.test_result)
            )
            rma.note("repair", actor, text, now)
            _audit(session, actor, now, "repair.tested", rma.number, passed=command.passed)
            uow.commit()
            return repair_view(rma.number, repair)

    def ship(self, actor: str, number: str, command: ShipRepair) -> RepairView:
        """The repaired, tested unit ships back by hand (carrier and tracking number of a label
        bought elsewhere); for a label bought here see OutboundLabels.order_for_repair."""
        with UnitOfWork(self.ctx.session_factory) as uow:
            session = uow.session
            rma, repair = self.ready_to_ship(session, number)
            shipment = self.ctx.carriers.add_shipment(
                session,
                direction=Direction.OUTBOUND,
                carrier=command.carrier,
                tracking_number=command.tracking_number,
                reference=rma.number,
            )
            self.shipped(session, rma, repair, shipment, actor)
            uow.commit()
            return repair_view(rma.number, repair)

    def ready_to_ship(self, session: Session, number: str) -> tuple[Rma, RepairOrder]:
        """The RMA and its repair, locked; refused unless the unit passed its test."""
        rma, repair = self._locked(session, number, "shipped")
        if repair.status is not RepairStatus.TESTED_OK:
            raise Conflict(
                N_(
                    "The repair of %(number)s is %(status)s; only a unit that passed its "
                    "test ships back.",
                    number=rma.number,
                    status=repair.status.value,
                ),
                code="repair_not_tested",
            )
        return rma, repair

    def shipped(
        self, session: Session, rma: Rma, repair: RepairOrder, shipment: Shipment, actor: str
    ) -> None:
        """Within a use case's transaction: the unit leaves the returns location on the
        ledger in ``shipment``, the customer's request is met and the RMA closes."""
        now = self.ctx.clock.now()
        who = ledger.Who(actor, self.ctx.clock)
        for line in rma.lines:
            if line.received_qty:
                ledger.issue(
                    session,
                    who,
                    sku=line.sku,
                    location=self.ctx.policy.returns_location,
                    qty=line.received_qty,
                    reference=rma.number,
                    reason="repaired unit shipped back",
                )
        repair.move_to(RepairStatus.SHIPPED, now)
        repair.carrier, repair.tracking_number = shipment.carrier, shipment.tracking_number
        repair.shipped_by, repair.shipped_at = actor, now
        text = N_(
            "Repaired unit shipped: %(carrier)s %(tracking_number)s",
            carrier=shipment.carrier,
            tracking_number=shipment.tracking_number,
        )
        rma.note("repair", actor, text, now)
        rma.resolve(now)
        rma.close(actor, N_("Repaired unit shipped back"), now, self.ctx.policy)
        _audit(session, actor, now, "repair.shipped", rma.number, carrier=shipment.carrier)
        if self.ctx.messages:
            self.ctx.messages.to_customer(session, rma, "closed")
        self.ctx.carriers.apply_waiting_events(session, shipment)

    def for_label(self, session: Session, repair_id: int) -> tuple[Rma, RepairOrder] | None:
        """The RMA and repair a bought outbound label belongs to (None when gone)."""
        repair = session.get(RepairOrder, repair_id, with_for_update=True)
        rma = session.get(Rma, repair.rma_id) if repair else None
        return (rma, repair) if rma and repair else None

    # --- loading ---------------------------------------------------------------------------

    @staticmethod
    def _find(session: Session, rma: Rma, *, lock: bool = False) -> RepairOrder | None:
        query = select(RepairOrder).where(RepairOrder.rma_id == rma.id)
        return session.scalar(query.with_for_update() if lock else query)

    def _repair(self, session: Session, rma: Rma) -> RepairOrder:
        repair = self._find(session, rma)
        if repair is None:
            raise NotFound(
                N_("%(number)s has no repair order.", number=rma.number), code="no_repair"
            )
        return repair

    def _locked(self, session: Session, number: str, what: str) -> tuple[Rma, RepairOrder]:
        rma = load_rma(session, number, lock=True, step="repair")
        repair = self._find(session, rma, lock=True)
        if repair is None:
            raise NotFound(
                N_("%(number)s has no repair order.", number=rma.number), code="no_repair"
            )
        repair.require_workable(what)
        return rma, repair
