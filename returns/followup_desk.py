"""The desk's follow-up queue: the calls to make, recording each, and the overdue reminders."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import UnitOfWork
from core.errors import N_, NotFound, filled
from returns.context import ReturnsContext
from returns.followups import FollowUp, FollowUpOutcome, FollowUpStatus, RecordCall, record_call
from returns.notifications import notify
from returns.rma import Rma
from returns.status import CaseKind, Priority

#: The queue shows at most this many follow-ups.
QUEUE_LIMIT = 200
#: The desk's reminder for a follow-up call overdue.
OVERDUE = N_("%(number)s: the follow-up call to %(customer)s was due %(due)s UTC")


class FollowUpNotFound(NotFound):
    code = "followup_not_found"

    def __init__(self, followup_id: int):
        super().__init__(f"No follow-up {followup_id}.", followup_id=followup_id)


@dataclass(frozen=True)
class FollowUpRow:
    """One call to make (or made), with what the caller needs to hand."""

    id: int
    round: int
    status: FollowUpStatus
    due_at: datetime
    attempts: int
    outcome: FollowUpOutcome | None
    satisfaction: int | None
    notes: str
    called_by: str | None
    called_at: datetime | None
    number: str
    kind: CaseKind
    priority: Priority
    customer_name: str
    customer_phone: str | None
    customer_email: str
    vip: bool
    overdue: bool


class FollowUps:
    def __init__(self, ctx: ReturnsContext):
        self.ctx = ctx

    def queue(self, status: FollowUpStatus = FollowUpStatus.DUE) -> list[FollowUpRow]:
        """Follow-ups in ``status``: due ones soonest (most overdue) first, others newest
        call first."""
        with UnitOfWork(self.ctx.session_factory) as uow:
            return _rows(uow.session, self.ctx.clock.now(), status=status)

    def of_case(self, number: str) -> list[FollowUpRow]:
        with UnitOfWork(self.ctx.session_factory) as uow:
            return _rows(uow.session, self.ctx.clock.now(), number=number.strip().upper())

    def record(self, actor: str, followup_id: int, call: RecordCall) -> FollowUpRow:
        """One call made: its outcome, the customer's score and notes (one transaction)."""
        with UnitOfWork(self.ctx.session_factory) as uow:
            session = uow.session
            followup = session.get(FollowUp, followup_id, with_for_update=True)
            if followup is None:
                raise FollowUpNotFound(followup_id)
            rma = session.get(Rma, followup.rma_id, with_for_update=True)
            assert rma is not None
            now = self.ctx.clock.now()
            record_call(session, followup, rma, actor, call, now, self.ctx.followups)
            uow.commit()
            return _rows(session, now, followup_id=followup_id)[0]

    def remind_overdue(self) -> int:
        """One reminder for the desk per overdue follow-up (``reminded_at`` marks it, and the
        notification's key holds even when two schedulers race)."""
        with UnitOfWork(self.ctx.session_factory) as uow:
            session = uow.session
            now = self.ctx.clock.now()
            overdue = session.execute(
                select(FollowUp, Rma.number, Rma.customer_name)
                .join(Rma, Rma.id == FollowUp.rma_id)
                .where(
                    FollowUp.status == FollowUpStatus.DUE,
                    FollowUp.due_at < now,
                    FollowUp.reminded_at.is_(None),
                )
                .order_by(FollowUp.id)
                .with_for_update(of=FollowUp, skip_locked=True)
            ).all()
            raised = 0
            for followup, number, customer in overdue:
                raised += notify(
                    session,
                    key=f"followup:{followup.id}:overdue",
                    rma_id=followup.rma_id,
                    kind="followup_overdue",
                    audience="desk",
                    message=filled(
                        OVERDUE,
                        number=number,
                        customer=customer,
                        due=f"{followup.due_at:%Y-%m-%d %H:%M}",
                    ),
                    now=now,
                )
                followup.reminded_at = now
            uow.commit()
            return raised


def _rows(
    session: Session,
    now: datetime,
    *,
    status: FollowUpStatus | None = None,
    number: str | None = None,
    followup_id: int | None = None,
) -> list[FollowUpRow]:
    query = select(
        FollowUp.id,
        FollowUp.round,
        FollowUp.status,
        FollowUp.due_at,
        FollowUp.attempts,
        FollowUp.outcome,
        FollowUp.satisfaction,
        FollowUp.notes,
        FollowUp.called_by,
        FollowUp.called_at,
        Rma.number,
        Rma.kind,
        Rma.priority,
        Rma.customer_name,
        Rma.customer_phone,
        Rma.customer_email,
        Rma.vip,
    ).join(Rma, Rma.id == FollowUp.rma_id)
    if status is not None:
        query = query.where(FollowUp.status == status)
    if number is not None:
        query = query.where(Rma.number == number)
    if followup_id is not None:
        query = query.where(FollowUp.id == followup_id)
    if status is FollowUpStatus.DUE:
        query = query.order_by(FollowUp.due_at, FollowUp.id)
    else:
        query = query.order_by(FollowUp.called_at.desc(), FollowUp.id.desc())
    return [
        FollowUpRow(**row, overdue=row["status"] is FollowUpStatus.DUE and row["due_at"] < now)
        for row in session.execute(query.limit(QUEUE_LIMIT)).mappings()
    ]
