"""What the refund provider answers, and what it says later.

- The outbox sends a queued refund (``handler``): made (released; only now the customer's
  "refunded" e-mail), ``pending`` (``processing`` until the provider's webhook says more), or
  refused (``failed``: back to the desk with an alert).
- The provider's webhook events (returns/stripe_webhooks.py stores them) apply here in the
  provider's order; an event for a refund whose id the outbox has not recorded yet waits and
  applies when it does.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.errors import N_, filled
from core.outbox import Handler, OutboxMessage, PermanentFailure
from returns.context import ReturnsContext, load_rma
from returns.messages import word
from returns.models import RefundProviderEvent
from returns.notifications import notify
from returns.refund_providers import DEFAULT
from returns.refunds import PROVIDER_FAILED, REFUND_TOPIC, refund_messages
from returns.rma import SYSTEM, Rma
from returns.rma_texts import NO_PROVIDER, REFUND_REFUSED
from returns.status import RefundStatus

#: What the provider answers while a refund is under way (Stripe's refund ``status``).
PROVIDER_PENDING = frozenset({"pending", "requires_action"})
#: A refund the provider has not settled yet: its later word may still change it.
UNSETTLED = (RefundStatus.PENDING, RefundStatus.PROCESSING)
#: A refund the provider refused, with its reason or none, after it had succeeded or not (the
#: timeline's line), and the desk's alert quoting it.
REFUSED = N_(
    "Refund %(refund_reference)s %(status)s at the provider, desk alerted: %(failure_reason)s"
)
REFUSED_AFTER_SUCCESS = N_(
    "Refund %(refund_reference)s %(status)s at the provider, desk alerted: "
    "%(failure_reason)s (after it had succeeded: tell the customer)"
)
NO_REASON = N_(
    "Refund %(refund_reference)s %(status)s at the provider, desk alerted: no reason given"
)
NO_REASON_AFTER_SUCCESS = N_(
    "Refund %(refund_reference)s %(status)s at the provider, desk alerted: "
    "no reason given (after it had succeeded: tell the customer)"
)
REFUND_FAILED_ALERT = N_("%(number)s: %(text)s")

__all__ = ["PROVIDER_PENDING", "REFUND_TOPIC", "RefundOutcomes"]


class RefundOutcomes:
    def __init__(self, ctx: ReturnsContext):
        self.ctx = ctx

    # --- the outbox sends the refund --------------------------------------------------------

    def handler(self) -> Handler:
        return Handler(self._perform, self._succeeded, self._failed, self._delayed)

    def _perform(self, payload: Mapping[str, Any], key: str) -> dict[str, Any]:
        provider = self.ctx.refund_provider_named(payload.get("provider") or DEFAULT)
        if provider is None:  # queued before the provider's settings were removed
            raise PermanentFailure(NO_PROVIDER)
        return provider.refund(
            payment_reference=payload["payment_reference"],
            amount_minor=int(payload["amount_minor"]),
            idempotency_key=key,
            metadata={"rma": payload["rma"]},
        )

    def _succeeded(self, session: Session, message: OutboxMessage) -> None:
        rma = load_rma(session, message.payload["rma"], lock=True)
        result = message.result or {}
        rma.refund_reference = result.get("id")
        rma.refund_error = None
        if result.get("status") in PROVIDER_PENDING:
            self._processing(session, rma, str(result.get("status")))
        else:
            self.made(session, rma)

    def _failed(self, session: Session, message: OutboxMessage) -> None:
        rma = load_rma(session, message.payload["rma"], lock=True)
        rma.refund_status = RefundStatus.FAILED
        rma.refund_error = message.last_error
        text = N_("Refund failed, desk alerted: %(last_error)s", last_error=message.last_error)
        rma.note("refund", SYSTEM, text, self.ctx.clock.now())

    def _delayed(self, session: Session, message: OutboxMessage) -> None:
        """Told once per refund: the provider is not answering, the refund waits for it."""
        rma = load_rma(session, message.payload["rma"], lock=True)
        text = N_(
            "Refund delayed, the payment provider is not answering (%(last_error)s): "
            "spareflow keeps trying and sends it once when the provider is back",
            last_error=message.last_error,
        )
        rma.note("refund", SYSTEM, text, self.ctx.clock.now())

    def _processing(self, session: Session, rma: Rma, status: str) -> None:
        """The provider took the refund but has not made it: record that, and apply any
        webhook events that came before we knew the refund's id."""
        rma.refund_status = RefundStatus.PROCESSING
        rma.note(
            "refund",
            SYSTEM,
            N_(
                "Refund %(refund_reference)s accepted by the payment provider, "
                "%(status)s: released when the provider confirms it",
                refund_reference=rma.refund_reference,
                status=status,
            ),
            self.ctx.clock.now(),
        )
        self.apply_waiting(session, rma)

    def made(self, session: Session, rma: Rma) -> None:
        """The provider made the refund: only now is the customer told it is refunded."""
        rma.refund_made(rma.refund_reference, self.ctx.clock.now())
        if self.ctx.messages:
            self.ctx.messages.to_customer(
                session,
                rma,
                "refunded",
                refund_amount=self.ctx.money(rma),
                refund_method=word(rma.customer_language, "card"),
                refund_reference=rma.refund_reference or "",
            )

    # --- the provider's later word (webhook events) ----------------------------------------

    def apply_event(self, session: Session, rma: Rma, stored: RefundProviderEvent) -> None:
        """Apply one stored event to its RMA's refund, unless a later one was applied already."""
        later = session.scalar(
            select(func.count())
            .select_from(RefundProviderEvent)
            .where(
                RefundProviderEvent.refund_id == stored.refund_id,
                RefundProviderEvent.outcome == "applied",
                RefundProviderEvent.created > stored.created,
            )
        )
        refund = json.loads(stored.body)["data"]["object"]
        changed = not later and self.provider_says(
            session, rma, str(refund["status"]), refund.get("failure_reason")
        )
        stored.outcome = "applied" if changed else "recorded"

    def apply_waiting(self, session: Session, rma: Rma) -> None:
        """Events that came before the outbox recorded the refund's id, in the provider's order."""
        if not rma.refund_reference:
            return
        waiting = session.scalars(
            select(RefundProviderEvent)
            .where(
                RefundProviderEvent.refund_id == rma.refund_reference,
                RefundProviderEvent.outcome == "unmatched",
            )
            .order_by(RefundProviderEvent.created, RefundProviderEvent.id)
            .with_for_update()
        ).all()
        for stored in waiting:
            self.apply_event(session, rma, stored)

    def provider_says(
        self, session: Session, rma: Rma, status: str, failure_reason: str | None
    ) -> bool:
        """Apply the provider's later word on a refund; True when it changed something."""
        if status == "succeeded" and rma.refund_status in UNSETTLED:
            self.made(session, rma)
            return True
        if status in PROVIDER_FAILED and rma.refund_status in (*UNSETTLED, RefundStatus.RELEASED):
            self._refused(session, rma, status, failure_reason)
            return True
        if status in PROVIDER_PENDING and rma.refund_status is RefundStatus.PENDING:
            rma.refund_status = RefundStatus.PROCESSING
            text = N_(
                "Refund %(refund_reference)s %(status)s",
                refund_reference=rma.refund_reference,
                status=status,
            )
            rma.note("refund", SYSTEM, text, self.ctx.clock.now())
            return True
        return False

    def _refused(self, session: Session, rma: Rma, status: str, failure_reason: str | None) -> None:
        """Back to the desk's queue: FAILED, on the timeline, a desk alert; the customer is
        told nothing (no "refunded" e-mail was sent for a refund that was still pending)."""
        was_released = rma.refund_status is RefundStatus.RELEASED
        rma.refund_status = RefundStatus.FAILED
        rma.refund_error = filled(
            REFUND_REFUSED, status=status, failure_reason=failure_reason or "—"
        )
        said = {"refund_reference": rma.refund_reference, "status": status}
        if failure_reason:
            said["failure_reason"] = failure_reason
            text = filled(REFUSED_AFTER_SUCCESS if was_released else REFUSED, **said)
        else:
            text = filled(NO_REASON_AFTER_SUCCESS if was_released else NO_REASON, **said)
        now = self.ctx.clock.now()
        rma.note("refund", SYSTEM, text, now)
        notify(
            session,
            key=f"refund-failed:{rma.number}:{rma.refund_reference}",
            rma_id=rma.id,
            kind="refund_failed",
            audience="desk",
            message=filled(REFUND_FAILED_ALERT, number=rma.number, text=text),
            now=now,
        )
        # Sending it again must not replay this refused refund: mark the last request refused,
        # so a retry goes out under a new idempotency key.
        last = session.scalars(
            select(OutboxMessage)
            .where(*refund_messages(rma.number))
            .order_by(OutboxMessage.id.desc())
        ).first()
        if last is not None:
            last.result = {**(last.result or {}), "status": status}
