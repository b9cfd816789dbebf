"""The refund stage: what releases a refund, what holds it, and a supervisor's hand on it.

- The carrier's own pickup scan releases it (within the automatic limits): ``release``,
  called by the carrier-events stage.
- A pickup a person entered by hand, or a parcel booked in before any carrier scan, holds it
  for a supervisor unless that person is a supervisor (admin): ``hold_by_hand``. The timeline,
  the refund and the audit log name them.
- With no refund provider configured, refunds are held, never "paid" to a sandbox.
- A supervisor releases a held refund (``release_by_supervisor``) or sends a failed one again
  (``retry``), always with a reason.

What the provider answers afterwards is returns/refund_outcomes.py. The rules themselves (is a
refund owed, how much, may it go out by itself) are the aggregate's: returns/rma.py.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from core import audit
from core.db import UnitOfWork
from core.errors import N_, Conflict, InvalidInput
from core.outbox import MAX_ATTEMPTS, OutboxMessage, OutboxStatus, enqueue
from returns import carrier_batch
from returns.commands import RetryRefund
from returns.context import ReturnsContext, load_rma
from returns.errors import IllegalTransition
from returns.queries import rma_detail
from returns.refund_providers import DEFAULT, SHOPIFY, RefundRoute
from returns.rma import RELEASABLE, SYSTEM, Rma
from returns.rma_texts import HAND_HOLD
from returns.status import REFUND_UNDER_WAY, RefundStatus, RmaStatus
from returns.views import RmaDetail

REFUND_TOPIC = "refund.create"
#: What the provider answers for a refund it made and then refused (Stripe's ``status``).
PROVIDER_FAILED = frozenset({"failed", "canceled"})
#: RMA states a refund can never be released from.
NEVER_REFUNDED_FROM = frozenset({RmaStatus.REQUESTED, RmaStatus.REJECTED, RmaStatus.CANCELLED})


def refund_messages(number: str) -> tuple[Any, ...]:
    """The outbox rows of an RMA's refund requests (the first, and any sent again)."""
    return (
        OutboxMessage.topic == REFUND_TOPIC,
        or_(OutboxMessage.key == f"refund:{number}", OutboxMessage.key.like(f"refund:{number}:%")),
    )


def refused_by_provider(message: OutboxMessage) -> bool:
    """The provider made this request's refund and then refused it: replaying its key would
    only fetch the failed refund again."""
    return (message.result or {}).get("status") in PROVIDER_FAILED


def _supervisor_with_reason(supervisor: bool, reason: str, action: str, why: str) -> None:
    """Refunds by hand are a supervisor's, and always say why."""
    if not supervisor:
        raise Conflict(
            N_("Only a supervisor (admin) can %(action)s.", action=action),
            code="supervisor_required",
        )
    if not reason.strip():
        raise InvalidInput("reason", N_("Say why %(why)s.", why=why))


class Refunds:
    def __init__(self, ctx: ReturnsContext):
        self.ctx = ctx

    # --- within another stage's transaction ------------------------------------------------

    def release(
        self,
        session: Session,
        rma: Rma,
        actor: str,
        why: str,
        supervisor_reason: str | None = None,
    ) -> None:
        """Queue the refund, unless the aggregate's rules hold it for a supervisor."""
        if not rma.refund_releasable:
            return
        route = self.ctx.refund_route(session, rma)
        decision = rma.refund_decision(
            self.ctx.policy,
            earlier_refunds_minor=self._earlier_refunds(session, rma),
            provider_configured=route.missing is None,
            by_supervisor=supervisor_reason is not None,
        )
        if not decision.release:
            # A Shopify order without Shopify configured says so, not just "no provider".
            reason = route.missing if route.missing else decision.hold_reason
            rma.hold_refund(actor, reason or "", self.ctx.clock.now())
            return
        rma.release_refund(actor)
        batch = carrier_batch.current(session)
        if batch is not None:
            batch.refund_released(rma)
        enqueue(
            session,
            topic=REFUND_TOPIC,
            key=f"refund:{rma.number}",
            now=self.ctx.clock.now(),
            payload=self._payload(rma, route),
        )
        to = "Shopify" if route.provider == SHOPIFY else N_("the payment provider")
        amount = self.ctx.money(rma)
        text = (
            N_(
                "Refund of %(amount)s sent to %(to)s (%(why)s); released by hand: %(reason)s",
                amount=amount,
                to=to,
                why=why,
                reason=supervisor_reason,
            )
            if supervisor_reason
            else N_("Refund of %(amount)s sent to %(to)s (%(why)s)", amount=amount, to=to, why=why)
        )
        rma.note("refund", actor, text, self.ctx.clock.now())

    def _earlier_refunds(self, session: Session, rma: Rma) -> int:
        """The customer's other refunds under way or made within the policy's period."""
        batch = carrier_batch.current(session)
        if batch is not None and batch.rma(rma.number) is rma:
            return batch.earlier_refunds(rma)  # loaded with the batch of carrier events
        since = self.ctx.clock.now() - timedelta(days=self.ctx.policy.customer_limit_days)
        total = session.scalar(
            select(func.coalesce(func.sum(Rma.refund_amount_minor), 0)).where(
                Rma.customer_email == rma.customer_email,
                Rma.id != rma.id,
                Rma.refund_status.in_(REFUND_UNDER_WAY),
                Rma.created_at >= since,
            )
        )
        return int(total or 0)

    @staticmethod
    def _payload(rma: Rma, route: RefundRoute) -> dict[str, Any]:
        return {
            "rma": rma.number,
            "amount_minor": rma.refund_amount_minor,
            "currency": rma.currency,
            **route.payload(),
        }

    def hold_by_hand(
        self, session: Session, rma: Rma, actor: str, held: str, reason: str, **details: Any
    ) -> None:
        """Hold the refund because a person's word is all there is (the carrier's own scan or
        a supervisor lifts it), and audit the hold. ``held`` ends with HAND_HOLD."""
        rma.hold_refund(actor, held, self.ctx.clock.now())
        self.audit(
            session,
            rma,
            actor,
            "refund.held",
            reason,
            amount_minor=rma.refund_amount_minor,
            **details,
        )

    def lift_hand_hold(self, session: Session, rma: Rma) -> None:
        """The carrier's own scan confirms what a person entered by hand."""
        if rma.refund_status is RefundStatus.HELD and (rma.refund_hold_reason or "").endswith(
            HAND_HOLD
        ):
            self.release(session, rma, SYSTEM, N_("carrier pickup"))

    def audit_release(
        self, session: Session, rma: Rma, actor: str, reason: str, cause: str
    ) -> None:
        if rma.refund_status is not RefundStatus.PENDING:
            return  # held again (no provider), nothing released
        self.audit(
            session,
            rma,
            actor,
            "refund.released_by_hand",
            reason,
            cause=cause,
            amount_minor=rma.refund_amount_minor,
            currency=rma.currency,
        )

    def audit(
        self, session: Session, rma: Rma, actor: str, action: str, reason: str, **details: Any
    ) -> None:
        audit.record(
            session,
            at=self.ctx.clock.now(),
            actor=actor,
            action=action,
            target_type="rma",
            target=rma.number,
            reason=reason,
            details=details,
        )

    def require_provider(self, session: Session, rma: Rma) -> None:
        route = self.ctx.refund_route(session, rma)
        if route.provider == SHOPIFY and route.missing:
            raise Conflict(
                N_(
                    "%(number)s's order came from Shopify and %(missing)s: an admin must "
                    "configure Shopify before this refund can be released.",
                    number=rma.number,
                    missing=route.missing,
                ),
                code="no_refund_provider",
            )
        if route.missing:
            raise Conflict(
                N_(
                    "No refund provider is configured (SPAREFLOW_REFUNDS_API_BASE): an admin must "
                    "configure one before refunds can be released."
                ),
                code="no_refund_provider",
            )

    # --- a supervisor's use cases ----------------------------------------------------------

    def release_by_supervisor(
        self, actor: str, number: str, reason: str, *, supervisor: bool
    ) -> RmaDetail:
        """A supervisor releases a held refund, or one whose pickup scan never came."""
        _supervisor_with_reason(
            supervisor, reason, "release a refund by hand", "the refund is released by hand"
        )
        with UnitOfWork(self.ctx.session_factory) as uow:
            rma = load_rma(uow.session, number, lock=True, step="refund")
            if rma.refund_status not in RELEASABLE:
                raise Conflict(
                    N_(
                        "%(number)s's refund is %(status)s; nothing to release.",
                        number=rma.number,
                        status=rma.refund_status.value,
                    ),
                    code="refund_not_releasable",
                    refund_status=rma.refund_status.value,
                )
            if rma.status in NEVER_REFUNDED_FROM:
                raise IllegalTransition(rma.number, rma.status.value, "refunded")
            self.require_provider(uow.session, rma)
            self.release(uow.session, rma, actor, N_("released by a supervisor"), reason.strip())
            self.audit_release(uow.session, rma, actor, reason.strip(), "supervisor release")
            uow.commit()
            return rma_detail(uow.session, number, self.ctx.clock.now().date())

    def retry(
        self, actor: str, number: str, command: RetryRefund, *, supervisor: bool
    ) -> RmaDetail:
        """A supervisor sends a failed refund again, optionally to a corrected payment.

        Unchanged, the same outbox message runs again with the same idempotency key: if an
        earlier attempt did reach the provider, the provider answers with that refund instead
        of making a second. A corrected payment is a new request, so it gets a new key; that
        is only allowed when the provider refused the last one (nothing was refunded).
        """
        reason = command.reason
        _supervisor_with_reason(
            supervisor, reason, "send a failed refund again", "the refund is sent again"
        )
        with UnitOfWork(self.ctx.session_factory) as uow:
            session = uow.session
            rma = load_rma(session, number, lock=True, step="refund")
            if rma.refund_status is not RefundStatus.FAILED:
                raise Conflict(
                    N_(
                        "%(number)s's refund is %(status)s; "
                        "only a failed refund can be sent again.",
                        number=rma.number,
                        status=rma.refund_status.value,
                    ),
                    code="refund_not_failed",
                    refund_status=rma.refund_status.value,
                )
            last = session.scalars(
                select(OutboxMessage)
                .where(*refund_messages(rma.number))
                .order_by(OutboxMessage.id.desc())
                .with_for_update()
            ).first()
            assert last is not None, "a failed refund has its outbox message"
            now = self.ctx.clock.now()
            refused = refused_by_provider(last)
            corrected = (command.payment_reference or "").strip()
            corrected = corrected or (rma.payment_reference or "" if refused else "")
            if not refused and (not corrected or corrected == rma.payment_reference):
                # The same request again, under the same key.
                last.status, last.attempts, last.next_attempt_at = OutboxStatus.PENDING, 0, now
                last.last_error = None
                text = N_(
                    "Refund sent again with the same idempotency key: %(value)s",
                    value=reason.strip(),
                )
            else:
                if last.attempts >= MAX_ATTEMPTS and not refused:
                    raise Conflict(
                        N_(
                            "The last attempt gave up on errors that may have reached the "
                            "provider: send it again unchanged first, so it cannot be paid twice."
                        ),
                        code="refund_outcome_unknown",
                    )
                tries = session.scalar(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(*refund_messages(rma.number))
                )
                route = self.ctx.refund_route(session, rma)
                if route.provider == SHOPIFY:
                    # Shopify refunds the order's own payment: nothing to correct here.
                    text = N_(
                        "Refund sent again to Shopify (order %(order)s): %(value)s",
                        order=route.payment_reference,
                        value=reason.strip(),
                    )
                else:
                    rma.payment_reference = corrected
                    route = RefundRoute(DEFAULT, corrected)
                    text = N_(
                        "Refund sent again to the corrected payment %(payment)s: %(value)s",
                        payment=corrected,
                        value=reason.strip(),
                    )
                enqueue(
                    session,
                    topic=REFUND_TOPIC,
                    key=f"refund:{rma.number}:{(tries or 0) + 1}",
                    now=now,
                    payload=self._payload(rma, route),
                )
            rma.refund_status, rma.refund_error = RefundStatus.PENDING, None
            rma.note("refund", actor, text, now)
            uow.commit()
            return rma_detail(session, number, self.ctx.clock.now().date())
