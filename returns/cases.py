"""Cases that are not returns: enquiries (technical questions) and complaints.

They are ``rmas`` rows of another ``kind``: one numbering (RMA-<day>-<n>), one queue, the same
priority (raised for VIPs), channels, service-level clocks, timeline and customer messages as a
return, but no return lines, labels, refunds or warehouse steps (those refuse with
``NotAReturn``). Their lifecycle is ``CASE_TRANSITIONS``: open -> waiting for the customer /
answered -> resolved -> closed, and reopen. A complaint has a root cause and can be turned into
a return: a new RMA linked to it, with a line on both timelines.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from core.db import UnitOfWork
from core.errors import N_, InvalidInput
from returns.commands import Customer, OpenRma, ReturnLine
from returns.context import ReturnsContext, load_rma
from returns.errors import NotACase
from returns.followups import cancel_due
from returns.intake import Intake, next_number, route_new, start_clocks
from returns.messages import normalise_language
from returns.queries import rma_detail
from returns.rma import SYSTEM, Rma
from returns.status import (
    CaseKind,
    Channel,
    Priority,
    Reason,
    RefundStatus,
    Resolution,
    RmaStatus,
    RootCause,
    raised,
)
from returns.views import RmaDetail

#: The longest description of a case.
MAX_DESCRIPTION = 5000


@dataclass(frozen=True)
class OpenCase:
    kind: CaseKind
    customer: Customer
    channel: Channel
    description: str
    priority: Priority = Priority.MEDIUM
    order_number: str | None = None
    purchase_date: date | None = None
    #: A complaint's root cause (required for a complaint, refused for an enquiry).
    root_cause: RootCause | None = None


#: The desk's moves on a case, by the name the API and the pages use.
MOVES = {
    "wait": RmaStatus.WAITING_FOR_CUSTOMER,
    "answer": RmaStatus.ANSWERED,
    "resolve": RmaStatus.RESOLVED,
    "reopen": RmaStatus.OPEN,
}
#: The timeline's line for a move made without a note.
MOVED = {
    "wait": N_("Wait"),
    "answer": N_("Answer"),
    "resolve": N_("Resolve"),
    "reopen": N_("Reopen"),
}


class Cases:
    def __init__(self, ctx: ReturnsContext, intake: Intake):
        self.ctx = ctx
        self.intake = intake

    def open(self, actor: str, command: OpenCase) -> RmaDetail:
        """Open an enquiry or a complaint at once, with the next RMA number and its clocks."""
        self.check(command)
        with UnitOfWork(self.ctx.session_factory) as uow:
            rma = self.open_in(uow.session, actor, command)
            uow.commit()
            return rma_detail(uow.session, rma.number, self.ctx.clock.now().date())

    @staticmethod
    def check(command: OpenCase) -> None:
        if command.kind is CaseKind.RETURN:
            raise InvalidInput("kind", N_("Open a return with its lines (POST /returns)."))
        if not command.description.strip():
            raise InvalidInput("description", N_("Say what the customer asks or complains about."))
        if len(command.description) > MAX_DESCRIPTION:
            raise InvalidInput("description", N_("Keep the description under 5,000 characters."))
        if command.kind is CaseKind.COMPLAINT and command.root_cause is None:
            raise InvalidInput("root_cause", N_("A complaint needs its root cause."))
        if command.kind is CaseKind.ENQUIRY and command.root_cause is not None:
            raise InvalidInput("root_cause", N_("Only a complaint has a root cause."))

    def open_in(self, session: Session, actor: str, command: OpenCase) -> Rma:
        now = self.ctx.clock.now()
        customer = command.customer
        rma = Rma(
            number=next_number(session, now),
            kind=command.kind,
            status=RmaStatus.OPEN,
            root_cause=command.root_cause,
            customer_name=customer.name,
            customer_email=customer.email.strip().lower(),
            customer_phone=customer.phone,
            vip=customer.vip,
            order_number=command.order_number,
            purchase_date=command.purchase_date,
            channel=command.channel,
            description=command.description.strip(),
            priority=raised(command.priority) if customer.vip else command.priority,
            currency=self.ctx.policy.currency,
            refund_status=RefundStatus.NONE,
            refund_amount_minor=0,
            customer_language=normalise_language(customer.language),
            created_by=actor,
            created_at=now,
            updated_at=now,
        )
        start_clocks(self.ctx.levels, rma, now)
        session.add(rma)
        session.flush()
        rma.opened(actor, now)
        route_new(session, rma, now)
        if not self.ctx.levels.desk(command.channel).is_open(now):
            self.intake.acknowledge_out_of_hours(session, rma)
        return rma

    def move(self, actor: str, number: str, move: str, reason: str = "") -> RmaDetail:
        """wait (for the customer), answer, resolve or reopen; each on the timeline."""
        if move not in MOVES:
            raise InvalidInput("move", N_("One of: %(moves)s.", moves=", ".join(MOVES)))
        with UnitOfWork(self.ctx.session_factory) as uow:
            rma = load_rma(uow.session, number, lock=True)
            if rma.is_return:
                raise NotACase(rma.number, move)
            to, now = MOVES[move], self.ctx.clock.now()
            if to is RmaStatus.OPEN and not reason.strip():
                raise InvalidInput("reason", N_("Say why the case is reopened."))
            rma.move_to(to, actor, reason.strip() or MOVED[move], now)
            if to is RmaStatus.RESOLVED:
                rma.resolve(now)
            elif to is RmaStatus.OPEN:
                # Reopened: the resolution clock runs again, a follow-up still due is off.
                rma.resolved_at = rma.ended_at = None
                cancel_due(uow.session, rma)
            uow.commit()
            return rma_detail(uow.session, rma.number, now.date())

    def convert(self, actor: str, number: str, command: ConvertComplaint) -> RmaDetail:
        """Turn a complaint into a return: a new RMA for the complaint's customer (its channel,
        order and priority too), linked to the complaint, with a line on both timelines."""
        with UnitOfWork(self.ctx.session_factory) as uow:
            session = uow.session
            complaint = load_rma(session, number, lock=True)
            if complaint.kind is not CaseKind.COMPLAINT:
                raise InvalidInput(
                    "rma",
                    N_("%(number)s is not a complaint.", number=complaint.number),
                    code="not_a_complaint",
                )
            if complaint.status is RmaStatus.CLOSED:
                raise InvalidInput(
                    "rma",
                    N_("%(number)s is closed: reopen it first.", number=complaint.number),
                    code="case_closed",
                )
            opening = command.for_customer_of(complaint)
            self.intake.check(opening)
            rma = self.intake.open_in(session, actor, opening)
            rma.origin_case_id = complaint.id
            now = self.ctx.clock.now()
            rma.note(
                "case", SYSTEM, N_("Opened from complaint %(number)s", number=complaint.number), now
            )
            complaint.note(
                "case", actor, N_("Turned into return %(number)s", number=rma.number), now
            )
            uow.commit()
            return rma_detail(session, rma.number, now.date())


@dataclass(frozen=True)
class ConvertComplaint:
    """What the return opened from a complaint needs besides what the complaint knows."""

    lines: tuple[ReturnLine, ...]
    reason: Reason
    resolution: Resolution
    payment_reference: str | None = None
    purchase_date: date | None = None
    order_number: str | None = None
    description: str = ""

    def for_customer_of(self, complaint: Rma) -> OpenRma:
        return OpenRma(
            customer=Customer(
                name=complaint.customer_name,
                email=complaint.customer_email,
                phone=complaint.customer_phone,
                vip=False,  # the complaint's priority is already raised for a VIP
                language=complaint.customer_language,
            ),
            channel=complaint.channel,
            lines=self.lines,
            reason=self.reason,
            resolution=self.resolution,
            priority=complaint.priority,
            order_number=self.order_number or complaint.order_number,
            payment_reference=self.payment_reference,
            purchase_date=self.purchase_date,
            description=self.description or complaint.description,
        )
