"""The returns stages wired together: what the app (web, CLI, scheduler, workers) calls.

One object per stage, sharing one ReturnsContext. ``build_returns`` also connects returns to
the carriers service: the carrier-events stage listens to shipment changes, and guards the
registration of a second return parcel.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from core.db import UnitOfWork
from core.outbox import Handler
from returns.authorisation import Authorisation
from returns.carrier_events import CarrierEvents
from returns.closing import Closing
from returns.context import ReturnsContext, RmaView, rma_view
from returns.intake import Intake
from returns.labels import LABEL_TOPIC, Labels
from returns.messages import EMAIL_TOPIC
from returns.refund_outcomes import RefundOutcomes
from returns.refunds import REFUND_TOPIC, Refunds
from returns.rma import Replacement, Rma
from returns.status import (
    OPEN,
    WAITING_FOR_PARCEL,
    Priority,
    RefundStatus,
    ReplacementStatus,
    RmaStatus,
)
from returns.warehouse import Warehouse


@dataclass(frozen=True)
class DeskSummary:
    open_by_state: dict[RmaStatus, int]
    need_attention: int
    refunds_released_today: int
    refunded_today_minor: int
    replacements_to_pick: int
    currency: str


@dataclass(frozen=True)
class Returns:
    ctx: ReturnsContext
    intake: Intake
    authorisation: Authorisation
    labels: Labels
    carrier_events: CarrierEvents
    refunds: Refunds
    refund_outcomes: RefundOutcomes
    warehouse: Warehouse
    closing: Closing

    def get(self, number: str) -> RmaView:
        with UnitOfWork(self.ctx.session_factory) as uow:
            return rma_view(uow.session, number)

    # The read side (interim: returns/queries.py takes these over).

    def list(
        self,
        *,
        status: RmaStatus | None = None,
        priority: Priority | None = None,
        customer: str | None = None,
        overdue: bool | None = None,
        after: int | None = None,
        limit: int = 50,
    ) -> list[Rma]:
        """Newest first (keyset on id). ``overdue``: waiting for a parcel past its expiry."""
        with UnitOfWork(self.ctx.session_factory) as uow:
            query = select(Rma)
            if status:
                query = query.where(Rma.status == status)
            if priority:
                query = query.where(Rma.priority == priority)
            if customer:
                needle = f"%{customer.strip().casefold()}%"
                query = query.where(
                    func.lower(Rma.customer_email).like(needle)
                    | func.lower(Rma.customer_name).like(needle)
                )
            if overdue is True:
                query = query.where(
                    Rma.status.in_(WAITING_FOR_PARCEL), Rma.expires_at < self.ctx.clock.now()
                )
            if after is not None:
                query = query.where(Rma.id < after)
            return list(uow.session.scalars(query.order_by(Rma.id.desc()).limit(limit)))

    def desk_summary(self) -> DeskSummary:
        """Open RMAs by state, refunds needing a person, refunds released today (UTC)."""
        with UnitOfWork(self.ctx.session_factory) as uow:
            session = uow.session
            by_state = dict(
                session.execute(
                    select(Rma.status, func.count())
                    .where(Rma.status.in_(OPEN))
                    .group_by(Rma.status)
                ).all()
            )
            attention = (
                session.scalar(
                    select(func.count()).where(
                        Rma.refund_status.in_([RefundStatus.HELD, RefundStatus.FAILED])
                        | Rma.needs_recovery.is_not(None)
                        | Rma.needs_chase.is_not(None)
                    )
                )
                or 0
            )
            midnight = self.ctx.clock.now().replace(hour=0, minute=0, second=0, microsecond=0)
            released_count, released_minor = session.execute(
                select(func.count(), func.coalesce(func.sum(Rma.refund_amount_minor), 0)).where(
                    Rma.refund_status == RefundStatus.RELEASED, Rma.refund_released_at >= midnight
                )
            ).one()
            to_pick = (
                session.scalar(
                    select(func.count()).where(Replacement.status == ReplacementStatus.QUEUED)
                )
                or 0
            )
            return DeskSummary(
                by_state,
                attention,
                released_count,
                int(released_minor),
                to_pick,
                self.ctx.policy.currency,
            )

    def pick_queue(self) -> list[Replacement]:
        with UnitOfWork(self.ctx.session_factory) as uow:
            return list(
                uow.session.scalars(
                    select(Replacement)
                    .options(selectinload(Replacement.rma), selectinload(Replacement.reservation))
                    .where(
                        Replacement.status.in_(
                            [ReplacementStatus.QUEUED, ReplacementStatus.BACKORDERED]
                        )
                    )
                    .order_by(Replacement.queued_at, Replacement.id)
                )
            )

    def outbox_handlers(self) -> dict[str, Handler]:
        """What the outbox worker does for returns: refunds, labels, and e-mail if set up."""
        handlers = {
            REFUND_TOPIC: self.refund_outcomes.handler(),
            LABEL_TOPIC: self.labels.handler(),
        }
        if self.ctx.messages:
            handlers[EMAIL_TOPIC] = self.ctx.messages.handler(self.ctx.session_factory)
        return handlers


def build_returns(ctx: ReturnsContext) -> Returns:
    refunds = Refunds(ctx)
    warehouse = Warehouse(ctx, refunds)
    labels = Labels(ctx)
    authorisation = Authorisation(ctx, warehouse, labels)
    carrier_events = CarrierEvents(ctx, refunds)
    # Carriers know nothing of returns: returns listens, and guards a second return parcel.
    ctx.carriers.listeners.append(carrier_events.on_shipment_change)
    ctx.carriers.registration_guards.append(carrier_events.guard_registration)
    return Returns(
        ctx=ctx,
        intake=Intake(ctx, authorisation),
        authorisation=authorisation,
        labels=labels,
        carrier_events=carrier_events,
        refunds=refunds,
        refund_outcomes=RefundOutcomes(ctx),
        warehouse=warehouse,
        closing=Closing(ctx),
    )
