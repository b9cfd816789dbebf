"""The authorisation stage: authorise (with the customer's own parcel or a prepaid label),
reject or cancel, and the authorisations that run out (a reminder, then expiry).

Authorising reserves advance replacements at once and sets the refund to wait for the
carrier's pickup scan. The return parcel is attached in explicit steps: the RMA first waits
for it, then the carrier's events that came before we knew its number are applied (and may
release the refund at once).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from carriers.models import Direction
from core.db import UnitOfWork
from core.errors import N_, InvalidInput
from returns.commands import AuthoriseRma
from returns.context import ReturnsContext, load_rma
from returns.labels import Labels, send_return_instructions
from returns.queries import rma_detail
from returns.rma import SYSTEM, Rma
from returns.status import WAITING_FOR_PARCEL, Resolution, RmaStatus
from returns.views import RmaDetail
from returns.warehouse import Warehouse


class Authorisation:
    def __init__(self, ctx: ReturnsContext, warehouse: Warehouse, labels: Labels):
        self.ctx = ctx
        self.warehouse = warehouse
        self.labels = labels

    def authorise(self, actor: str, number: str, command: AuthoriseRma) -> RmaDetail:
        if bool(command.carrier) != bool(command.tracking_number):
            raise InvalidInput(
                "tracking_number" if command.carrier else "carrier",
                N_("Give both the carrier and the tracking number, or neither."),
            )
        with UnitOfWork(self.ctx.session_factory) as uow:
            rma = load_rma(uow.session, number, lock=True, step="authorise")
            self.authorise_in(uow.session, rma, actor, command)
            uow.commit()
            return rma_detail(uow.session, number, self.ctx.clock.now().date())

    def authorise_in(self, session: Session, rma: Rma, actor: str, command: AuthoriseRma) -> None:
        """Within a use case's transaction (intake's automatic authorisation calls it too)."""
        address = self.ctx.addresses.lines()  # a partial address blocks authorisation
        if not command.carrier:
            # Refused now, not by the provider later: the desk can still fix the address.
            refusal = self.labels.address_refusal(rma)
            if refusal is not None:
                raise refusal
        rma.authorise(actor, command.reason, self.ctx.clock.now(), self.ctx.policy)
        if rma.resolution is Resolution.REPLACEMENT:
            self.warehouse.reserve_replacements(session, rma, actor)
        if command.carrier and command.tracking_number:
            self._attach_customers_parcel(
                session, rma, command.carrier, command.tracking_number, actor
            )
            send_return_instructions(self.ctx, session, rma, address, label=False)
        else:
            self.labels.order(session, rma, actor)

    def _attach_customers_parcel(
        self, session: Session, rma: Rma, carrier: str, tracking_number: str, actor: str
    ) -> None:
        """The customer ships with their own carrier: the RMA waits for that parcel."""
        text = N_(
            "Return parcel: %(carrier)s %(tracking_number)s",
            carrier=carrier,
            tracking_number=tracking_number,
        )
        rma.move_to(RmaStatus.AWAITING_PICKUP, actor, text, self.ctx.clock.now())
        rma.return_carrier = carrier
        shipment = self.ctx.carriers.add_shipment(
            session,
            direction=Direction.INBOUND,
            carrier=carrier,
            tracking_number=tracking_number,
            reference=rma.number,
        )
        rma.return_tracking_number = shipment.tracking_number
        # Now that the RMA waits for this parcel, the events the carrier sent before we knew
        # its number reach the carrier-events stage (a pickup among them releases the refund).
        self.ctx.carriers.apply_waiting_events(session, shipment)

    def reject(self, actor: str, number: str, reason: str) -> RmaDetail:
        return self._end(actor, number, RmaStatus.REJECTED, reason)

    def cancel(self, actor: str, number: str, reason: str) -> RmaDetail:
        return self._end(actor, number, RmaStatus.CANCELLED, reason)

    def _end(self, actor: str, number: str, to: RmaStatus, reason: str) -> RmaDetail:
        if not reason.strip():
            raise InvalidInput("reason", N_("Say why."))
        with UnitOfWork(self.ctx.session_factory) as uow:
            rma = load_rma(uow.session, number, lock=True, step="authorise")
            rma.end(to, actor, reason, self.ctx.clock.now())
            self.warehouse.release_replacements(uow.session, rma, actor, f"RMA {to.value}")
            self.labels.refund_unused(uow.session, rma)
            uow.commit()
            return rma_detail(uow.session, number, self.ctx.clock.now().date())

    # --- authorisations that run out (scheduled) -------------------------------------------

    def remind_expiring(self) -> int:
        """Remind customers whose authorisation expires soon and whose parcel is not moving."""
        messages = self.ctx.messages
        if messages is None:
            return 0
        with UnitOfWork(self.ctx.session_factory) as uow:
            session = uow.session
            now = self.ctx.clock.now()
            due = session.scalars(
                select(Rma)
                .where(
                    Rma.status.in_(WAITING_FOR_PARCEL),
                    Rma.reminded_at.is_(None),
                    Rma.expires_at > now,
                    Rma.expires_at <= now + timedelta(days=self.ctx.policy.reminder_days),
                )
                .with_for_update(skip_locked=True)
            ).all()
            for rma in due:
                messages.to_customer(
                    session,
                    rma,
                    "reminder",
                    deadline=f"{rma.expires_at:%Y-%m-%d}",
                    carrier=rma.return_carrier or "",
                    tracking_number=rma.return_tracking_number or "",
                )
                rma.reminded_at = now
                text = N_(
                    "Reminder queued: the authorisation expires %(expires_at)s",
                    expires_at=format(rma.expires_at, "%Y-%m-%d"),
                )
                rma.note("email", SYSTEM, text, now)
            uow.commit()
            return len(due)

    def expire_overdue(self) -> int:
        """Authorisations whose parcel never reached the carrier in time expire."""
        with UnitOfWork(self.ctx.session_factory) as uow:
            session = uow.session
            now = self.ctx.clock.now()
            overdue = session.scalars(
                select(Rma)
                .where(Rma.status.in_(WAITING_FOR_PARCEL), Rma.expires_at < now)
                .with_for_update(skip_locked=True)
            ).all()
            for rma in overdue:
                rma.expire(now)
                self.warehouse.release_replacements(session, rma, SYSTEM, "RMA expired")
                self.labels.refund_unused(session, rma)
            uow.commit()
            return len(overdue)
