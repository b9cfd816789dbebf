"""The returns stages wired together: what the app (web, CLI, scheduler, workers) calls.

One object per stage, sharing one ReturnsContext. ``build_returns`` also connects returns to
the carriers service: the carrier-events stage listens to shipment changes, and guards the
registration of a second return parcel.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.db import UnitOfWork
from core.outbox import Handler
from inventory.availability import watch
from returns import carrier_batch
from returns.authorisation import Authorisation
from returns.carrier_events import CarrierEvents
from returns.cases import Cases
from returns.closing import Closing
from returns.context import ReturnsContext
from returns.customer_address import CustomerAddresses
from returns.followup_desk import FollowUps
from returns.from_orders import ReturnsFromOrders
from returns.intake import Intake
from returns.label_desk import LabelDesk
from returns.labels import LABEL_REFUND_TOPIC, LABEL_TOPIC, Labels
from returns.loans import Loans
from returns.messages import EMAIL_TOPIC
from returns.outbound_labels import OUTBOUND_LABEL_TOPIC, OutboundLabels
from returns.pickups import PICKUP_CANCEL_TOPIC, Pickups
from returns.queries import rma_detail
from returns.refund_outcomes import RefundOutcomes
from returns.refunds import REFUND_TOPIC, Refunds
from returns.repairs import Repairs
from returns.solved import SolvedWithoutReturn
from returns.views import RmaDetail
from returns.warehouse import Warehouse


@dataclass(frozen=True)
class Returns:
    ctx: ReturnsContext
    intake: Intake
    from_orders: ReturnsFromOrders
    authorisation: Authorisation
    labels: Labels
    label_desk: LabelDesk
    outbound_labels: OutboundLabels
    pickups: Pickups
    carrier_events: CarrierEvents
    refunds: Refunds
    refund_outcomes: RefundOutcomes
    warehouse: Warehouse
    closing: Closing
    customer_addresses: CustomerAddresses
    repairs: Repairs
    loans: Loans
    cases: Cases
    followups: FollowUps
    solved: SolvedWithoutReturn

    def get(self, number: str) -> RmaDetail:
        """The RMA as the stages answer it (pages read through returns/queries.py)."""
        with UnitOfWork(self.ctx.session_factory) as uow:
            return rma_detail(uow.session, number, self.ctx.clock.now().date())

    def outbox_handlers(self) -> dict[str, Handler]:
        """What the outbox worker does for returns: refunds, labels, pickups, and e-mail if
        set up."""
        handlers = {
            PICKUP_CANCEL_TOPIC: self.pickups.cancel_handler(),
            REFUND_TOPIC: self.refund_outcomes.handler(),
            LABEL_TOPIC: self.labels.handler(),
            LABEL_REFUND_TOPIC: self.labels.refund_handler(),
            OUTBOUND_LABEL_TOPIC: self.outbound_labels.handler(),
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
    # A batch of stored events: its RMAs loaded at once, its outbox rows in one insert.
    ctx.carriers.batch_scopes.append(carrier_batch.batch_scope(ctx))
    # Inventory knows nothing of returns either: stock that becomes available fills the
    # backordered replacements, in the transaction that moved it.
    watch(ctx.session_factory, "returns.backorders", warehouse.backorders.on_stock_available)
    repairs = Repairs(ctx)
    # ... and then the repairs waiting for parts (listeners run in the order they are watched).
    watch(ctx.session_factory, "returns.repairs", repairs.on_stock_available)
    intake = Intake(ctx, authorisation)
    closing = Closing(ctx)
    cases = Cases(ctx, intake)
    return Returns(
        ctx=ctx,
        intake=intake,
        from_orders=ReturnsFromOrders(ctx, intake),
        authorisation=authorisation,
        labels=labels,
        label_desk=LabelDesk(ctx, labels),
        outbound_labels=OutboundLabels(ctx, warehouse, labels, repairs),
        pickups=Pickups(ctx),
        carrier_events=carrier_events,
        refunds=refunds,
        refund_outcomes=RefundOutcomes(ctx),
        warehouse=warehouse,
        closing=closing,
        customer_addresses=CustomerAddresses(ctx),
        repairs=repairs,
        loans=Loans(ctx),
        cases=cases,
        followups=FollowUps(ctx),
        solved=SolvedWithoutReturn(cases, closing, authorisation),
    )
