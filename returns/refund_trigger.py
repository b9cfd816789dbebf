"""What releases a refund and what holds it.

- The carrier's own scan releases it (within the automatic limits).
- A pickup a person entered by hand (a phone call), or a parcel booked in before any carrier
  scan, holds it for a supervisor, unless that person is a supervisor (admin); the timeline,
  the refund and the audit log name them.
- A second return parcel for an authorised RMA is a supervisor's act, with a reason.
- With no refund provider configured, refunds are held, never "paid" to a sandbox.
- A provider that answers ``pending`` has not refunded yet: the refund is ``processing``
  until its webhook says ``succeeded`` (released, customer told) or ``failed`` (back to the
  desk, customer told nothing).

Functions for ReturnsService on an open session, inside its transaction: they never commit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from carriers.models import Direction, Shipment
from carriers.services import Registration
from carriers.status import PROVES_PICKUP
from carriers.tracking import ShipmentChange
from core import audit
from core.errors import Conflict, InvalidInput
from core.outbox import OutboxMessage
from returns.models import Rma
from returns.notifications import SYSTEM, notify
from returns.status import RefundStatus, RmaStatus

if TYPE_CHECKING:
    from returns.services import ReturnsService

NO_PROVIDER = "no refund provider configured"
#: The end of the hold reason of a pickup entered by hand: the carrier's own scan, or a
#: supervisor, lifts it.
HAND_HOLD = "waits for a supervisor or the carrier's own scan"
#: What the provider answers while a refund is under way (Stripe's refund ``status``).
PROVIDER_PENDING = frozenset({"pending", "requires_action"})
PROVIDER_FAILED = frozenset({"failed", "canceled"})
#: RMA states from which a second return parcel needs a supervisor: authorised onwards.
AUTHORISED_ONWARDS = frozenset(RmaStatus) - {
    RmaStatus.REQUESTED,
    RmaStatus.REJECTED,
    RmaStatus.CANCELLED,
}


def hold(svc: ReturnsService, session: Session, rma: Rma, actor: str, reason: str) -> None:
    """Hold the refund for a supervisor, saying who and why."""
    rma.refund_status = RefundStatus.HELD
    rma.refund_hold_reason = reason[:300]
    rma.refund_held_by = actor
    svc._note(session, rma, "refund", actor, f"Refund held for a supervisor: {reason}")


def require_provider(svc: ReturnsService) -> None:
    if svc.refunds is None:
        raise Conflict(
            "No refund provider is configured (SPAREFLOW_REFUNDS_API_BASE): an admin must "
            "configure one before refunds can be released.",
            code="no_refund_provider",
        )


def _audit(
    svc: ReturnsService,
    session: Session,
    rma: Rma,
    actor: str,
    action: str,
    reason: str,
    **details: Any,
) -> None:
    audit.record(
        session,
        at=svc.clock.now(),
        actor=actor,
        action=action,
        target_type="rma",
        target=rma.number,
        reason=reason,
        details=details,
    )


def audit_release(
    svc: ReturnsService, session: Session, rma: Rma, actor: str, reason: str, cause: str
) -> None:
    if rma.refund_status is not RefundStatus.PENDING:
        return  # held again (no provider, or the limits), nothing released
    _audit(
        svc,
        session,
        rma,
        actor,
        "refund.released_by_hand",
        reason,
        cause=cause,
        amount_minor=rma.refund_amount_minor,
        currency=rma.currency,
    )


def hold_by_hand(
    svc: ReturnsService,
    session: Session,
    rma: Rma,
    actor: str,
    why: str,
    reason: str,
    **details: Any,
) -> None:
    """Hold the refund because a person's word is all there is (the carrier's own scan or a
    supervisor lifts it), and audit the hold."""
    hold(svc, session, rma, actor, f"{why}; {HAND_HOLD}")
    _audit(
        svc,
        session,
        rma,
        actor,
        "refund.held",
        reason,
        amount_minor=rma.refund_amount_minor,
        **details,
    )


# --- carrier events ------------------------------------------------------------------------


def actor_and_words(change: ShipmentChange) -> tuple[str, str]:
    """Who moved the RMA (the carrier, or the person who entered the event), and what the
    timeline adds for an event entered by hand."""
    if change.hand is None:
        return SYSTEM, ""
    return change.hand.actor, f"; entered by hand by {change.hand.actor}: {change.hand.reason}"


def on_pickup(svc: ReturnsService, session: Session, rma: Rma, change: ShipmentChange) -> None:
    """The first proof of pickup: release the refund, or hold it when a person's word is all."""
    hand = change.hand
    if hand is None:
        svc._release_refund(session, rma, SYSTEM, "carrier pickup")
        return
    if rma.refund_status not in (RefundStatus.AWAITING_PICKUP, RefundStatus.HELD):
        return
    what = f"{change.event.status.value.replace('_', ' ')} entered by hand by {hand.actor}"
    if not hand.supervisor:
        hold_by_hand(
            svc,
            session,
            rma,
            hand.actor,
            f"{what} ({hand.reason[:120]})",
            hand.reason,
            cause="hand-entered carrier event",
            carrier=change.shipment.carrier,
            tracking_number=change.shipment.tracking_number,
            status=change.event.status.value,
        )
        return
    svc._release_refund(session, rma, hand.actor, f"{what}: {hand.reason}")
    audit_release(svc, session, rma, hand.actor, hand.reason, "carrier event entered by an admin")


def on_booked_in(
    svc: ReturnsService, session: Session, rma: Rma, actor: str, *, supervisor: bool
) -> None:
    """The parcel is booked in before any carrier scan proved its pickup. Only a person says
    so: a supervisor's word releases the refund (within the limits), anyone else's holds it
    until a supervisor or the carrier's own scan confirms."""
    if supervisor:
        svc._release_refund(session, rma, actor, "parcel received")
        audit_release(svc, session, rma, actor, "parcel booked in", "parcel booked in by an admin")
        return
    hold_by_hand(
        svc,
        session,
        rma,
        actor,
        f"parcel booked in by {actor} before any carrier scan",
        "parcel booked in before any carrier pickup scan",
        cause="parcel booked in",
    )


def on_carrier_confirms(
    svc: ReturnsService, session: Session, rma: Rma, change: ShipmentChange
) -> None:
    """The carrier's own scan after a pickup entered by hand lifts that hand's hold."""
    if (
        change.hand is None
        and change.event.status in PROVES_PICKUP
        and rma.refund_status is RefundStatus.HELD
        and (rma.refund_hold_reason or "").endswith(HAND_HOLD)
    ):
        svc._release_refund(session, rma, SYSTEM, "carrier pickup")


def guard_registration(svc: ReturnsService, session: Session, registration: Registration) -> None:
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
    if not existing:
        svc._note(session, rma, "status", registration.actor, f"Return parcel registered: {parcel}")
        return
    if not registration.supervisor:
        raise Conflict(
            f"{rma.number} already has a return parcel "
            f"({', '.join(f'{s.carrier} {s.tracking_number}' for s in existing)}); only a "
            "supervisor (admin) can register another, with a reason.",
            code="second_return_parcel",
            rma=rma.number,
        )
    if not registration.reason:
        raise InvalidInput("reason", "Say why this RMA needs a second return parcel.")
    svc._note(
        session,
        rma,
        "status",
        registration.actor,
        f"Second return parcel registered by a supervisor: {parcel}: {registration.reason}",
    )
    _audit(
        svc,
        session,
        rma,
        registration.actor,
        "rma.second_return_parcel",
        registration.reason,
        carrier=registration.carrier,
        tracking_number=registration.tracking_number,
    )


# --- the provider's answer -----------------------------------------------------------------


def still_processing(
    svc: ReturnsService, session: Session, rma: Rma, result: Mapping[str, Any]
) -> bool:
    """The provider took the refund but has not made it (``pending``): record that, and apply
    any webhook events that came before we knew the refund's id. True: not released yet."""
    if result.get("status") not in PROVIDER_PENDING:
        return False
    rma.refund_status = RefundStatus.PROCESSING
    svc._note(
        session,
        rma,
        "refund",
        SYSTEM,
        f"Refund {rma.refund_reference} accepted by the payment provider, "
        f"{result.get('status')}: released when the provider confirms it",
    )
    from returns.stripe_webhooks import apply_waiting  # the webhook module imports this one

    apply_waiting(svc, session, rma)
    return True


def provider_says(
    svc: ReturnsService, session: Session, rma: Rma, status: str, failure_reason: str | None
) -> bool:
    """Apply the provider's later word on a refund; True when it changed something."""
    if status == "succeeded" and rma.refund_status in (
        RefundStatus.PENDING,
        RefundStatus.PROCESSING,
    ):
        svc._refund_released(session, rma)
        return True
    if status in PROVIDER_FAILED and rma.refund_status in (
        RefundStatus.PENDING,
        RefundStatus.PROCESSING,
        RefundStatus.RELEASED,
    ):
        provider_failed(svc, session, rma, status, failure_reason)
        return True
    if status in PROVIDER_PENDING and rma.refund_status is RefundStatus.PENDING:
        rma.refund_status = RefundStatus.PROCESSING
        svc._note(session, rma, "refund", SYSTEM, f"Refund {rma.refund_reference} {status}")
        return True
    return False


def provider_failed(
    svc: ReturnsService, session: Session, rma: Rma, status: str, failure_reason: str | None
) -> None:
    """Back to the desk's queue: FAILED, on the timeline, a desk alert; the customer is told
    nothing (no "refunded" e-mail was sent for a refund that was still pending)."""
    was_released = rma.refund_status is RefundStatus.RELEASED
    rma.refund_status = RefundStatus.FAILED
    rma.refund_error = f"The payment provider reports the refund {status}: {failure_reason or '—'}"
    text = f"Refund {rma.refund_reference} {status} at the provider, desk alerted: " + (
        failure_reason or "no reason given"
    )
    if was_released:
        text += " (after it had succeeded: tell the customer)"
    svc._note(session, rma, "refund", SYSTEM, text)
    notify(
        session,
        key=f"refund-failed:{rma.number}:{rma.refund_reference}",
        rma_id=rma.id,
        kind="refund_failed",
        audience="desk",
        message=f"{rma.number}: {text}",
        now=svc.clock.now(),
    )
    # Sending it again must not replay this refused refund: mark the last request refused, so
    # a retry goes out under a new idempotency key.
    last = session.scalars(
        select(OutboxMessage)
        .where(
            or_(
                OutboxMessage.key == f"refund:{rma.number}",
                OutboxMessage.key.like(f"refund:{rma.number}:%"),
            )
        )
        .order_by(OutboxMessage.id.desc())
    ).first()
    if last is not None:
        last.result = {**(last.result or {}), "status": status}


def refused_by_provider(message: OutboxMessage) -> bool:
    """The provider made this request's refund and then refused it: replaying its key would
    only fetch the failed refund again."""
    return (message.result or {}).get("status") in PROVIDER_FAILED
