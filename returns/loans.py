"""Loaners: the desk lends a unit from a loan pool to an RMA's customer while theirs is
repaired or replaced, and gets it back, charges for it or writes it off.

The ledger stays the truth. Each warehouse has one on-loan location (kind ``on_loan``, made
on first use): lending is a transfer from the pool to it, a return a transfer back (or to
quarantine when damaged), a charge an issue out of it (the customer keeps the unit), a
write-off an adjustment out of it. Every move carries the reference ``LOAN-<id>``.

Charging records the amount only: no payment is taken (there is no payment integration).
The overdue reminder goes once per loan (``overdue_reminded_at``), through the outbox.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, aliased

from core import audit
from core.db import UnitOfWork, insert_ignoring_conflicts
from core.errors import N_, Conflict, InvalidInput, NotFound
from inventory import ledger
from inventory.models import Location, Part, StockLevel
from inventory.status import LocationKind
from returns.context import ReturnsContext, load_rma
from returns.messages import Messages
from returns.models import Loan, LoanStatus
from returns.rma import SYSTEM, Rma
from returns.status import TERMINAL

#: How long a loan runs when the desk gives no due date.
DEFAULT_LOAN_DAYS = 14
#: The longest loan the desk may give.
MAX_LOAN_DAYS = 180


class LoanNotFound(NotFound):
    code = "loan_not_found"

    def __init__(self, loan_id: int):
        super().__init__(N_("No loan %(id)s.", id=loan_id), loan_id=loan_id)


class LoanerUnavailable(Conflict):
    code = "loaner_unavailable"

    def __init__(self, sku: str, pool: str | None):
        message = (
            N_("No %(sku)s is free in loan pool %(pool)s.", sku=sku, pool=pool)
            if pool
            else N_("No %(sku)s is free in any loan pool.", sku=sku)
        )
        super().__init__(message, sku=sku, pool=pool)


@dataclass(frozen=True)
class LendLoaner:
    sku: str
    pool: str | None = None  # a loan-pool location code; none: the pool with most free units
    serial: str = ""
    due_at: datetime | None = None  # none: DEFAULT_LOAN_DAYS from now


@dataclass(frozen=True)
class LoanView:
    id: int
    rma: str
    customer_name: str
    sku: str
    part_name: str
    serial: str
    pool: str
    status: str
    lent_at: datetime
    due_at: datetime
    lent_by: str
    returned_at: datetime | None
    closed_by: str | None
    reason: str
    charge_amount: Decimal | None
    charge_currency: str | None
    overdue: bool


def reference(loan: Loan) -> str:
    return f"LOAN-{loan.id}"


def _check_supervisor(supervisor: bool, reason: str, action: str) -> None:
    if not supervisor:
        raise Conflict(
            N_("Only a supervisor (admin) can %(action)s.", action=action),
            code="supervisor_required",
        )
    if not reason.strip():
        raise InvalidInput("reason", N_("Say why you %(action)s.", action=action))


class Loans:
    def __init__(self, ctx: ReturnsContext):
        self.ctx = ctx

    # --- use cases --------------------------------------------------------------------------

    def lend(self, actor: str, number: str, command: LendLoaner) -> LoanView:
        now = self.ctx.clock.now()
        due = command.due_at or now + timedelta(days=DEFAULT_LOAN_DAYS)
        if due <= now or due > now + timedelta(days=MAX_LOAN_DAYS):
            raise InvalidInput(
                "due_at",
                N_(
                    "Give a due date after now and within %(MAX_LOAN_DAYS)s days.",
                    MAX_LOAN_DAYS=MAX_LOAN_DAYS,
                ),
            )
        with UnitOfWork(self.ctx.session_factory) as uow:
            session = uow.session
            rma = load_rma(session, number, lock=True, step="loaner")
            if rma.status in TERMINAL:
                raise Conflict(
                    N_(
                        "%(number)s is %(status)s; no loaner can go out on it.",
                        number=rma.number,
                        status=rma.status.value,
                    ),
                    code="rma_not_open",
                )
            part = ledger.part_for_stock(session, command.sku)
            pool = self._pool(session, part, command.pool)
            on_loan = self._on_loan_location(session, pool.warehouse)
            loan = Loan(
                rma_id=rma.id,
                part_id=part.id,
                serial=command.serial.strip(),
                pool_location_id=pool.id,
                on_loan_location_id=on_loan.id,
                status=LoanStatus.OUT,
                lent_at=now,
                due_at=due,
                lent_by=actor,
                reason="",
            )
            session.add(loan)
            session.flush()
            try:
                ledger.transfer(
                    session,
                    self._who(actor),
                    sku=part.sku,
                    from_location=pool.code,
                    to_location=on_loan.code,
                    qty=1,
                    reference=reference(loan),
                    reason=f"loaner out on {rma.number}",
                )
            except Conflict as error:  # the guarded UPDATE found no free unit (a race)
                raise LoanerUnavailable(part.sku, pool.code) from error
            rma.note(
                "loan",
                actor,
                N_("Loaner %(sku)s lent, due %(due)s.", sku=part.sku, due=format(due, "%Y-%m-%d")),
                now,
            )
            if self.ctx.messages:
                _mail(self.ctx.messages, session, rma, "loaner_sent", loan, part)
            uow.commit()
            return _view(session, loan.id, self.ctx.clock.now())

    def return_loaner(
        self,
        actor: str,
        loan_id: int,
        *,
        damaged: bool = False,
        quarantine: str = "",
        note: str = "",
    ) -> LoanView:
        """Back into its pool, or into quarantine (a location of that kind) when damaged."""
        with UnitOfWork(self.ctx.session_factory) as uow:
            session = uow.session
            loan = self._open_loan(session, loan_id)
            target = session.get(Location, loan.pool_location_id)
            assert target is not None
            if damaged:
                target = self._quarantine(session, quarantine)
            self._move_out(session, actor, loan, "transfer", target.code, "loaner returned")
            self._close(loan, LoanStatus.RETURNED, actor, note.strip())
            uow.commit()
            return _view(session, loan.id, self.ctx.clock.now())

    def charge(
        self, actor: str, loan_id: int, amount: Decimal, reason: str, *, supervisor: bool
    ) -> LoanView:
        """The customer keeps the loaner and is charged ``amount`` (recorded, not collected)."""
        _check_supervisor(supervisor, reason, "charge for a loaner")
        if amount <= 0:
            raise InvalidInput("amount", N_("Charge an amount above zero."))
        with UnitOfWork(self.ctx.session_factory) as uow:
            session = uow.session
            loan = self._open_loan(session, loan_id)
            rma = session.get(Rma, loan.rma_id)
            assert rma is not None
            self._move_out(session, actor, loan, "issue", "", f"loaner charged: {reason}")
            self._close(loan, LoanStatus.CHARGED, actor, reason.strip())
            loan.charge_amount = amount
            loan.charge_currency = rma.currency
            audit.record(
                session,
                at=self.ctx.clock.now(),
                actor=actor,
                action="loan.charged",
                target_type="loan",
                target=loan.id,
                reason=reason.strip(),
                details={"rma": rma.number, "amount": amount, "currency": rma.currency},
            )
            uow.commit()
            return _view(session, loan.id, self.ctx.clock.now())

    def write_off(self, actor: str, loan_id: int, reason: str, *, supervisor: bool) -> LoanView:
        """The unit is lost: it leaves stock by an adjustment at the on-loan location."""
        _check_supervisor(supervisor, reason, "write off a loaner")
        with UnitOfWork(self.ctx.session_factory) as uow:
            session = uow.session
            loan = self._open_loan(session, loan_id)
            self._move_out(session, actor, loan, "adjust", "", f"loaner written off: {reason}")
            self._close(loan, LoanStatus.WRITTEN_OFF, actor, reason.strip())
            audit.record(
                session,
                at=self.ctx.clock.now(),
                actor=actor,
                action="loan.written_off",
                target_type="loan",
                target=loan.id,
                reason=reason.strip(),
            )
            uow.commit()
            return _view(session, loan.id, self.ctx.clock.now())

    def remind_overdue(self) -> int:
        """Daily: one reminder per overdue loan (``overdue_reminded_at`` marks it; the outbox
        key ``email:<RMA>:loaner_overdue:loan-<id>`` holds even if two schedulers race)."""
        messages = self.ctx.messages
        if messages is None:
            return 0
        with UnitOfWork(self.ctx.session_factory) as uow:
            session = uow.session
            now = self.ctx.clock.now()
            due = session.scalars(
                select(Loan)
                .where(
                    Loan.status == LoanStatus.OUT,
                    Loan.due_at < now,
                    Loan.overdue_reminded_at.is_(None),
                )
                .order_by(Loan.id)
                .with_for_update(skip_locked=True)
            ).all()
            sent = 0
            for loan in due:
                rma = session.get(Rma, loan.rma_id)
                part = session.get(Part, loan.part_id)
                assert rma is not None and part is not None
                sent += _mail(messages, session, rma, "loaner_overdue", loan, part)
                loan.overdue_reminded_at = now
            uow.commit()
            return sent

    # --- reading ----------------------------------------------------------------------------

    def get(self, loan_id: int) -> LoanView:
        with UnitOfWork(self.ctx.session_factory) as uow:
            return _view(uow.session, loan_id, self.ctx.clock.now())

    def listing(self, status: str = "out", rma: str | None = None) -> list[LoanView]:
        """``out`` (all lent), ``overdue`` (out past due), a closed status, or ``all``."""
        with UnitOfWork(self.ctx.session_factory) as uow:
            return _views(uow.session, status, self.ctx.clock.now(), rma)

    # --- steps ------------------------------------------------------------------------------

    def _who(self, actor: str) -> ledger.Who:
        return ledger.Who(actor or SYSTEM, self.ctx.clock)

    def _pool(self, session: Session, part: Part, code: str | None) -> Location:
        if code:
            pool = ledger.location_by_code(session, code, "pool")
            if pool.kind != LocationKind.LOAN_POOL:
                raise InvalidInput(
                    "pool", N_("%(code)s is not a loan pool.", code=pool.code), code="not_a_pool"
                )
            return pool
        free = StockLevel.on_hand - StockLevel.reserved
        found = session.scalars(
            select(Location)
            .join(StockLevel, StockLevel.location_id == Location.id)
            .where(
                StockLevel.part_id == part.id,
                Location.kind == LocationKind.LOAN_POOL,
                Location.active.is_(True),
                free > 0,
            )
            .order_by(free.desc(), Location.code)
            .limit(1)
        ).first()
        if found is None:
            raise LoanerUnavailable(part.sku, None)
        return found

    def _on_loan_location(self, session: Session, warehouse: str) -> Location:
        """The warehouse's ``ON-LOAN`` location, created on first use. Two first lends at once
        both insert it: the loser's insert is ignored (it waits for the winner's commit on
        PostgreSQL) and both read the one row back, instead of one failing on the unique code."""
        code = ledger.normalise_location_code(f"{warehouse}/ON-LOAN")
        location = session.scalar(select(Location).where(Location.code == code))
        if location is None:
            insert_ignoring_conflicts(
                session,
                Location.__table__,
                {
                    "code": code,
                    "warehouse": warehouse,
                    "bin": "ON-LOAN",
                    "kind": LocationKind.ON_LOAN,
                    "description": "Loaners with customers",
                    "active": True,
                    "created_at": self.ctx.clock.now(),
                },
            )
            location = session.scalars(select(Location).where(Location.code == code)).one()
        return location

    def _quarantine(self, session: Session, code: str) -> Location:
        if not code.strip():
            raise InvalidInput(
                "quarantine", N_("Name the quarantine location for a damaged loaner.")
            )
        location = ledger.location_by_code(session, code, "quarantine")
        if location.kind != LocationKind.QUARANTINE:
            raise InvalidInput(
                "quarantine",
                N_("%(code)s is not a quarantine location.", code=location.code),
                code="not_quarantine",
            )
        return location

    def _open_loan(self, session: Session, loan_id: int) -> Loan:
        loan = session.scalars(select(Loan).where(Loan.id == loan_id).with_for_update()).first()
        if loan is None:
            raise LoanNotFound(loan_id)
        session.refresh(loan)
        if loan.status != LoanStatus.OUT:
            raise Conflict(
                N_(
                    "Loan %(loan_id)s is %(status)s, no longer out.",
                    loan_id=loan_id,
                    status=loan.status.value,
                ),
                code="loan_not_out",
            )
        return loan

    def _move_out(
        self, session: Session, actor: str, loan: Loan, how: str, target: str, reason: str
    ) -> None:
        """Take the unit off the on-loan location: back to ``target``, issued, or adjusted."""
        part = session.get(Part, loan.part_id)
        held = session.get(Location, loan.on_loan_location_id)
        assert part is not None and held is not None
        who, ref = self._who(actor), reference(loan)
        if how == "transfer":
            ledger.transfer(
                session, who, sku=part.sku, from_location=held.code, to_location=target,
                qty=1, reference=ref, reason=reason[:200],
            )  # fmt: skip
        elif how == "issue":
            ledger.issue(
                session, who, sku=part.sku, location=held.code, qty=1, reference=ref,
                reason=reason[:200],
            )  # fmt: skip
        else:
            # Locked before counting, so two write-offs at once each take one unit off.
            on_hand = session.scalar(
                select(StockLevel.on_hand)
                .where(StockLevel.part_id == part.id, StockLevel.location_id == held.id)
                .with_for_update()
            )
            ledger.adjust(
                session, who, sku=part.sku, location=held.code,
                counted_qty=(on_hand or 0) - 1, reference=ref,
                reason=reason[:200],
            )  # fmt: skip

    def _close(self, loan: Loan, status: LoanStatus, actor: str, reason: str) -> None:
        loan.status = status
        loan.returned_at = self.ctx.clock.now() if status == LoanStatus.RETURNED else None
        loan.closed_by = actor
        loan.reason = reason


def _mail(
    messages: Messages, session: Session, rma: Rma, kind: str, loan: Loan, part: Part
) -> bool:
    """Queue a loaner e-mail, once per loan and kind (the step names the loan)."""
    return messages.to_customer(
        session,
        rma,
        kind,
        step=f"loan-{loan.id}",
        sku=part.sku,
        part_name=part.name,
        serial=loan.serial,
        due_date=f"{loan.due_at:%Y-%m-%d}",
    )


def _query() -> Select[Loan, str, str, str, str, str]:
    pool = aliased(Location)
    return (
        select(Loan, Rma.number, Rma.customer_name, Part.sku, Part.name, pool.code)
        .join(Rma, Rma.id == Loan.rma_id)
        .join(Part, Part.id == Loan.part_id)
        .join(pool, pool.id == Loan.pool_location_id)
    )


def _row_view(row: tuple[Loan, str, str, str, str, str], now: datetime) -> LoanView:
    loan, number, customer, sku, name, pool = row
    return LoanView(
        id=loan.id,
        rma=number,
        customer_name=customer,
        sku=sku,
        part_name=name,
        serial=loan.serial,
        pool=pool,
        status=loan.status.value,
        lent_at=loan.lent_at,
        due_at=loan.due_at,
        lent_by=loan.lent_by,
        returned_at=loan.returned_at,
        closed_by=loan.closed_by,
        reason=loan.reason,
        charge_amount=loan.charge_amount,
        charge_currency=loan.charge_currency,
        overdue=loan.status == LoanStatus.OUT and loan.due_at < now,
    )


def _view(session: Session, loan_id: int, now: datetime) -> LoanView:
    row = session.execute(_query().where(Loan.id == loan_id)).first()
    if row is None:
        raise LoanNotFound(loan_id)
    return _row_view(row, now)


def _views(session: Session, status: str, now: datetime, rma: str | None) -> list[LoanView]:
    query = _query()
    if status == "overdue":
        query = query.where(Loan.status == LoanStatus.OUT, Loan.due_at < now)
    elif status != "all":
        try:
            query = query.where(Loan.status == LoanStatus(status))
        except ValueError:
            raise InvalidInput(
                "status", N_("Ask for out, overdue, returned, charged, written_off or all.")
            ) from None
    if rma:
        query = query.where(Rma.number == rma.strip().upper())
    rows = session.execute(query.order_by(Loan.due_at, Loan.id).limit(500)).all()
    return [_row_view(row, now) for row in rows]
