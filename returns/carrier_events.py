"""The carrier-events stage: the return parcel's scans move the RMA, and the pickup scan
releases the refund.

Carriers know nothing of returns: the app registers ``on_shipment_change`` as a listener of
the carriers service and ``guard_registration`` as a registration guard. Both run inside the
carriers' transaction, so an event and what it causes here commit together or not at all.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from carriers.models import Direction, Shipment
from carriers.services import Registration
from carriers.status import PROVES_PICKUP, TrackingStatus
from carriers.tracking import ShipmentChange
from core.errors import N_, Conflict, InvalidInput, filled
from core.errors import Text as Message
from returns import carrier_batch
from returns.context import ReturnsContext
from returns.refunds import Refunds
from returns.rma import SYSTEM, Replacement, Rma
from returns.rma_texts import (
    CARRIER_PROBLEM,
    PARCEL_ENDED_BADLY,
    SCAN_BY_HAND_HOLD,
    SCAN_BY_HAND_RELEASE,
)
from returns.status import REFUND_UNDER_WAY, RefundStatus, RmaStatus

#: What the carrier's progress means for the RMA (forward moves only; see TRANSITIONS).
CARRIER_PROGRESS = {
    TrackingStatus.IN_TRANSIT: RmaStatus.IN_TRANSIT,
    TrackingStatus.OUT_FOR_DELIVERY: RmaStatus.IN_TRANSIT,
    TrackingStatus.AVAILABLE_FOR_PICKUP: RmaStatus.IN_TRANSIT,
    TrackingStatus.DELIVERED: RmaStatus.IN_TRANSIT,  # at our dock; "received" is our own scan
}
#: RMA states from which a second return parcel needs a supervisor: authorised onwards.
AUTHORISED_ONWARDS = frozenset(RmaStatus) - {
    RmaStatus.REQUESTED,
    RmaStatus.REJECTED,
    RmaStatus.CANCELLED,
}


def scan_text(change: ShipmentChange, picked_up: bool) -> tuple[str, Message]:
    """Who moved the RMA (the carrier, or the person who entered the event), and the
    timeline's line: the carrier's scan in its normalised word (a page shows it translated:
    ``status``), with who entered it by hand and why."""
    shipment, hand = change.shipment, change.hand
    where = {
        "carrier": shipment.carrier,
        "tracking_number": shipment.tracking_number,
        "status": change.event.status.value,
    }
    if hand is None:
        return SYSTEM, (
            N_("Carrier has the parcel (%(carrier)s %(tracking_number)s: %(status)s)", **where)
            if picked_up
            else N_("Carrier: %(carrier)s %(tracking_number)s: %(status)s", **where)
        )
    by_hand = {**where, "who": hand.actor, "reason": hand.reason}
    return hand.actor, (
        N_(
            "Carrier has the parcel (%(carrier)s %(tracking_number)s: %(status)s); "
            "entered by hand by %(who)s: %(reason)s",
            **by_hand,
        )
        if picked_up
        else N_(
            "Carrier: %(carrier)s %(tracking_number)s: %(status)s; "
            "entered by hand by %(who)s: %(reason)s",
            **by_hand,
        )
    )


class CarrierEvents:
    def __init__(self, ctx: ReturnsContext, refunds: Refunds):
        self.ctx = ctx
        self.refunds = refunds

    def _replacement_progress(self, session: Session, change: ShipmentChange) -> None:
        """A replacement's parcel delivered to the customer: recorded on the replacement."""
        shipment = change.shipment
        if shipment.status is not TrackingStatus.DELIVERED or not change.status_changed:
            return
        session.execute(
            update(Replacement)
            .where(
                Replacement.carrier == shipment.carrier,
                Replacement.tracking_number == shipment.tracking_number,
                Replacement.delivered_at.is_(None),
            )
            .values(delivered_at=change.event.occurred_at)
        )

    def on_shipment_change(self, session: Session, change: ShipmentChange) -> None:
        """Runs inside the transaction that stored the carrier event: all or nothing with it."""
        shipment = change.shipment
        if shipment.direction is Direction.OUTBOUND:
            self._replacement_progress(session, change)
            return
        if not shipment.reference:
            return
        batch = carrier_batch.current(session)
        if batch is not None:  # the batch's RMAs are loaded and locked already
            rma = batch.rma(shipment.reference)
        else:
            rma = session.scalars(
                select(Rma).where(Rma.number == shipment.reference).with_for_update()
            ).first()
        if rma is None:
            return
        now = self.ctx.clock.now()
        if change.picked_up_now and rma.can_move_to(RmaStatus.PICKED_UP):
            actor, text = scan_text(change, picked_up=True)
            rma.move_to(RmaStatus.PICKED_UP, actor, text, now)
            self._on_pickup(session, rma, change)
            if self.ctx.messages:
                self.ctx.messages.to_customer(
                    session,
                    rma,
                    "picked_up",
                    carrier=shipment.carrier,
                    tracking_number=shipment.tracking_number,
                    # "Your refund is on its way" only when it is (not held).
                    refund_amount=self.ctx.money(rma)
                    if rma.refund_amount_minor and rma.refund_status is RefundStatus.PENDING
                    else "",
                )
        elif change.hand is None and change.event.status in PROVES_PICKUP:
            # The carrier's own scan after a pickup entered by hand lifts that hand's hold.
            self.refunds.lift_hand_hold(session, rma)
        target = CARRIER_PROGRESS.get(shipment.status)
        if target and rma.can_move_to(target):
            actor, text = scan_text(change, picked_up=False)
            rma.move_to(target, actor, text, now)
        if rma.refund_status in REFUND_UNDER_WAY and (change.ended_badly or change.exception):
            self._needs_recovery(rma, shipment, ended_badly=change.ended_badly)

    def _on_pickup(self, session: Session, rma: Rma, change: ShipmentChange) -> None:
        """The first proof of pickup: release the refund, or hold it when a person's word
        is all there is."""
        hand = change.hand
        if hand is None:
            self.refunds.release(session, rma, SYSTEM, N_("carrier pickup"))
            return
        if not rma.refund_releasable:
            return
        said = {"status": change.event.status.value.replace("_", " "), "who": hand.actor}
        if not hand.supervisor:
            self.refunds.hold_by_hand(
                session,
                rma,
                hand.actor,
                filled(SCAN_BY_HAND_HOLD, **said, reason=hand.reason[:120]),
                hand.reason,
                cause="hand-entered carrier event",
                carrier=change.shipment.carrier,
                tracking_number=change.shipment.tracking_number,
                status=change.event.status.value,
            )
            return
        self.refunds.release(
            session, rma, hand.actor, filled(SCAN_BY_HAND_RELEASE, **said, reason=hand.reason)
        )
        self.refunds.audit_release(
            session, rma, hand.actor, hand.reason, "carrier event entered by an admin"
        )

    def _needs_recovery(self, rma: Rma, shipment: Shipment, *, ended_badly: bool) -> None:
        """Refunded, and the parcel went wrong: the desk must recover it, now."""
        if ended_badly:
            what = shipment.status.value.replace("_", " ")
            rma.needs_recovery = filled(PARCEL_ENDED_BADLY, status=what)
        else:
            # Lost, damaged, held: the carrier may recover it, but the desk must know now.
            rma.needs_recovery = filled(CARRIER_PROBLEM, exception=shipment.last_exception)
        rma.note("refund", SYSTEM, rma.needs_recovery, self.ctx.clock.now())

    def guard_registration(self, session: Session, registration: Registration) -> None:
        """A second return parcel for an authorised RMA is a supervisor's act, with a reason:
        it could otherwise swap the parcel whose pickup releases the refund."""
        if registration.direction is not Direction.INBOUND or not registration.reference:
            return
        rma = session.scalars(
            select(Rma).where(Rma.number == registration.reference).with_for_update()
        ).first()
        if rma is None or rma.status not in AUTHORISED_ONWARDS:
            return
        existing = session.scalars(
            select(Shipment).where(
                Shipment.reference == rma.number, Shipment.direction == Direction.INBOUND
            )
        ).all()
        parcel = f"{registration.carrier} {registration.tracking_number}"
        now = self.ctx.clock.now()
        if not existing:
            rma.note(
                "status",
                registration.actor,
                N_("Return parcel registered: %(parcel)s", parcel=parcel),
                now,
            )
            return
        if not registration.supervisor:
            raise Conflict(
                N_(
                    "%(number)s already has a return parcel (%(value)s); only a "
                    "supervisor (admin) can register another, with a reason.",
                    number=rma.number,
                    value=", ".join(f"{s.carrier} {s.tracking_number}" for s in existing),
                ),
                code="second_return_parcel",
                rma=rma.number,
            )
        if not registration.reason:
            raise InvalidInput("reason", N_("Say why this RMA needs a second return parcel."))
        rma.note(
            "status",
            registration.actor,
            N_(
                "Second return parcel registered by a supervisor: %(parcel)s: %(reason)s",
                parcel=parcel,
                reason=registration.reason,
            ),
            now,
        )
        self.refunds.audit(
            session,
            rma,
            registration.actor,
            "rma.second_return_parcel",
            registration.reason,
            carrier=registration.carrier,
            tracking_number=registration.tracking_number,
        )
