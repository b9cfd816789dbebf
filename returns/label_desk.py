"""The desk's hand on a prepaid return label that could not be bought.

A label purchase fails for good when the provider refuses it (a bad address, no funds, every
rate above ``SPAREFLOW_RETURNS_LABEL_CEILING_MINOR``) or stays unreachable for
``MAX_ATTEMPTS`` tries; the desk gets a ``label_failed`` alert (returns/labels.py). Here:

- ``failure``: why the RMA's label failed (for the RMA page), or None.
- ``retry_label``: anyone on the desk tries again, after fixing the address or topping up the
  provider's funds.
- ``approve_dearer_label``: a supervisor (admin), with a reason, approves a label above the
  ceiling, up to an amount at least the cheapest rate the provider quoted. The audit log and
  the timeline name them.

Exactly once still holds. A refused purchase is queued again under a *new* outbox key
(``return-label:<RMA>:<n>``), which the provider takes as its idempotency key: the refused
request bought nothing (the provider refuses before it buys, and ``choose_rate`` refuses
before any purchase is asked for), so no label can exist under the old key, and the provider
must not answer the new request with its cached refusal. A purchase that *gave up* on an
unreachable provider may have bought a label the answer to which was lost, so it runs again
under its own key, looking for that label first (``Labels.retried``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from core import audit
from core.db import UnitOfWork
from core.errors import N_, Conflict, InvalidInput
from core.outbox import OutboxMessage, OutboxStatus, enqueue
from returns.context import ReturnsContext, load_rma
from returns.labels import LABEL_TOPIC, Labels
from returns.models import Notification
from returns.queries import rma_detail
from returns.rma import Rma
from returns.status import RmaStatus
from returns.views import LabelFailure, RmaDetail


def label_messages(number: str) -> tuple[Any, ...]:
    """The outbox rows of an RMA's return label purchases (the first, and any again)."""
    return (
        OutboxMessage.topic == LABEL_TOPIC,
        or_(
            OutboxMessage.key == f"return-label:{number}",
            OutboxMessage.key.like(f"return-label:{number}:%"),
        ),
    )


def last_purchase(session: Session, number: str, *, lock: bool = False) -> OutboxMessage | None:
    query = select(OutboxMessage).where(*label_messages(number)).order_by(OutboxMessage.id.desc())
    return session.scalars(query.with_for_update() if lock else query).first()


class LabelDesk:
    def __init__(self, ctx: ReturnsContext, labels: Labels):
        self.ctx = ctx
        self.labels = labels

    # --- what the RMA page shows -----------------------------------------------------------

    @staticmethod
    def waiting_for_label(status: RmaStatus, return_tracking_number: str | None) -> bool:
        """Only an authorised RMA without a parcel can be waiting for its prepaid label (so a
        page need not ask ``failure`` for any other)."""
        return status is RmaStatus.AUTHORISED and not return_tracking_number

    def failure(self, number: str) -> LabelFailure | None:
        """Why the RMA's prepaid label could not be bought, while the desk can still act."""
        with UnitOfWork(self.ctx.session_factory) as uow:
            rma = load_rma(uow.session, number)
            last = last_purchase(uow.session, rma.number)
            return self._failure(rma, last)

    def _failure(self, rma: Rma, last: OutboxMessage | None) -> LabelFailure | None:
        if last is None or last.status is not OutboxStatus.FAILED:
            return None
        if not self.waiting_for_label(rma.status, rma.return_tracking_number):
            return None  # ended, or the customer's own parcel came after all
        refusal = last.result or {}
        cheapest = refusal.get("cheapest_minor")
        ceiling = refusal.get("ceiling_minor")
        return LabelFailure(
            error=last.last_error or "",
            code=str(refusal.get("code") or "gave_up"),
            cheapest_minor=int(cheapest) if cheapest is not None else None,
            ceiling_minor=int(ceiling) if ceiling is not None else None,
            currency=str(last.payload.get("currency") or rma.currency).upper(),
            attempts=last.attempts,
        )

    # --- the desk's use cases --------------------------------------------------------------

    def retry_label(self, actor: str, number: str, note: str = "") -> RmaDetail:
        """Try a failed label again (after fixing the address, topping up funds, or once the
        provider is back), with the same rules and ceiling as before; ``note``: what changed
        (on the timeline)."""
        with UnitOfWork(self.ctx.session_factory) as uow:
            session = uow.session
            rma, last, failure = self._failed(session, number)
            now = self.ctx.clock.now()
            if failure.code == "gave_up":
                # The same request under the same key: an attempt whose answer was lost may
                # have bought it, and the provider (or find_label) gives that label back.
                # ``attempts`` 1, not 0: the next attempt looks for that label first.
                last.status, last.attempts, last.next_attempt_at = OutboxStatus.PENDING, 1, now
                last.last_error = None
            else:
                # Refused: a new request (the address as it is now), so a new key.
                # A supervisor's approval of a dearer label still holds.
                ceiling = last.payload.get("approved_ceiling_minor")
                approver = last.payload.get("approved_by")
                self._enqueue(session, rma, ceiling_minor=ceiling, approved_by=approver)
            text = (
                N_("Prepaid return label tried again: %(note)s", note=note.strip())
                if note.strip()
                else N_("Prepaid return label tried again")
            )
            rma.note("return_label", actor, text, now)
            self._clear_alerts(session, rma, actor)
            uow.commit()
            return rma_detail(session, rma.number, self.ctx.clock.now().date())

    def approve_dearer_label(
        self, actor: str, number: str, ceiling_minor: int, reason: str, *, supervisor: bool
    ) -> RmaDetail:
        """A supervisor lets the label cost up to ``ceiling_minor`` (this once, this RMA)."""
        if not supervisor:
            raise Conflict(
                N_("Only a supervisor (admin) can approve a label above the ceiling."),
                code="supervisor_required",
            )
        if not reason.strip():
            raise InvalidInput("reason", N_("Say why the dearer label is approved."))
        with UnitOfWork(self.ctx.session_factory) as uow:
            session = uow.session
            rma, _last, failure = self._failed(session, number)
            if failure.code != "above_ceiling" or failure.cheapest_minor is None:
                raise Conflict(
                    N_(
                        "%(number)s's label was not refused for its price; try it again instead.",
                        number=rma.number,
                    ),
                    code="label_not_above_ceiling",
                )
            if ceiling_minor < failure.cheapest_minor:
                cheapest = self.labels.amount(failure.cheapest_minor, failure.currency)
                raise InvalidInput(
                    "ceiling_minor",
                    N_("Approve at least the cheapest quote, %(cheapest)s.", cheapest=cheapest),
                    code="below_cheapest",
                    cheapest_minor=failure.cheapest_minor,
                )
            self._enqueue(session, rma, ceiling_minor=ceiling_minor, approved_by=actor)
            now = self.ctx.clock.now()
            amount = self.labels.amount(ceiling_minor, failure.currency)
            text = N_(
                "Prepaid return label up to %(amount)s approved: %(value)s",
                amount=amount,
                value=reason.strip(),
            )
            rma.note("return_label", actor, text, now)
            audit.record(
                session,
                at=now,
                actor=actor,
                action="return_label.dearer_approved",
                target_type="rma",
                target=rma.number,
                reason=reason.strip(),
                details={
                    "ceiling_minor": ceiling_minor,
                    "cheapest_minor": failure.cheapest_minor,
                    "default_ceiling_minor": failure.ceiling_minor,
                    "currency": failure.currency,
                },
            )
            self._clear_alerts(session, rma, actor)
            uow.commit()
            return rma_detail(session, rma.number, self.ctx.clock.now().date())

    # --- steps ---------------------------------------------------------------------------

    def _failed(self, session: Session, number: str) -> tuple[Rma, OutboxMessage, LabelFailure]:
        """The RMA (locked: two desks acting at once queue one purchase) and its failed one."""
        rma = load_rma(session, number, lock=True, step="return label")
        last = last_purchase(session, rma.number, lock=True)
        failure = self._failure(rma, last)
        if last is None or failure is None:
            raise Conflict(
                N_("%(number)s has no failed return label to act on.", number=rma.number),
                code="label_not_failed",
            )
        return rma, last, failure

    def _enqueue(
        self, session: Session, rma: Rma, *, ceiling_minor: int | None, approved_by: str | None
    ) -> None:
        refusal = self.labels.address_refusal(rma)
        if refusal is not None:  # the provider would refuse this one too
            raise refusal
        tries = session.scalar(
            select(func.count()).select_from(OutboxMessage).where(*label_messages(rma.number))
        )
        payload = self.labels.payload(rma, self.ctx.default_return_carrier, inbound=True)
        if ceiling_minor is not None:
            payload["ceiling_minor"] = payload["approved_ceiling_minor"] = int(ceiling_minor)
            payload["approved_by"] = approved_by or ""
        enqueue(
            session,
            topic=LABEL_TOPIC,
            key=f"return-label:{rma.number}:{(tries or 0) + 1}",
            now=self.ctx.clock.now(),
            payload=payload,
        )

    def _clear_alerts(self, session: Session, rma: Rma, actor: str) -> None:
        """The desk acted: its label_failed alerts for this RMA are read."""
        alerts = session.scalars(
            select(Notification).where(
                Notification.rma_id == rma.id,
                Notification.kind == "label_failed",
                or_(  # not the replacement's outbound label alerts
                    Notification.key == f"label-failed:{rma.number}",
                    Notification.key.like(f"label-failed:{rma.number}:%"),
                ),
                Notification.read_at.is_(None),
            )
        ).all()
        for alert in alerts:
            alert.read_at, alert.read_by = self.ctx.clock.now(), actor
