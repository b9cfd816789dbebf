"""The intake stage: a return is opened at once, with a number, after the checks a desk would
make (each refusal names its field), and authorised on the spot when the rules allow."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from core.db import UnitOfWork, insert_ignoring_conflicts
from core.errors import N_, InvalidInput
from inventory import ledger, serials
from inventory.models import Part
from returns.authorisation import Authorisation
from returns.commands import AuthoriseRma, OpenRma, ReturnLine
from returns.context import ReturnsContext
from returns.customer_address import address_columns, check_address
from returns.messages import normalise_language
from returns.models import RmaSequence
from returns.queries import rma_detail
from returns.rma import SYSTEM, Rma, RmaLine, check_return_policy
from returns.routing import route_in, routed_text
from returns.service_levels import ServiceLevels
from returns.status import RefundStatus, Resolution, RmaStatus, raised
from returns.views import RmaDetail


class Intake:
    def __init__(self, ctx: ReturnsContext, authorisation: Authorisation):
        self.ctx = ctx
        self.authorisation = authorisation

    def open(self, actor: str, command: OpenRma, *, supervisor: bool = False) -> RmaDetail:
        """Open an RMA at once, with a number, after the intake checks (each names its field)."""
        self.check(command, supervisor=supervisor)
        with UnitOfWork(self.ctx.session_factory) as uow:
            rma = self.open_in(uow.session, actor, command)
            uow.commit()
            return rma_detail(uow.session, rma.number, self.ctx.clock.now().date())

    def check(self, command: OpenRma, *, supervisor: bool = False) -> None:
        """The intake checks that need no database."""
        today = self.ctx.clock.now().date()
        if command.purchase_date and command.purchase_date > today:
            raise InvalidInput("purchase_date", N_("The purchase date is in the future."))
        if command.resolution is Resolution.REFUND and not command.payment_reference:
            raise InvalidInput(
                "payment_reference", N_("A refund needs the payment to refund (e.g. pi_...).")
            )
        if command.customer.address is not None:
            check_address(command.customer.address)
        if command.override_reason and not supervisor:
            raise InvalidInput(
                "override_reason",
                N_("Only a supervisor (admin) can override the policy."),
                code="override_not_allowed",
            )

    def open_in(self, session: Session, actor: str, command: OpenRma) -> Rma:
        """The RMA opened inside the caller's transaction, after ``check`` (a return from an
        order holds the order's row lock meanwhile, so two cannot both take the last unit)."""
        today = self.ctx.clock.now().date()
        parts = self._check_lines(session, command.lines)
        shipped = self._units_shipped(session, command.lines)
        if (command.purchase_date or shipped) and not command.override_reason:
            skus = [part.sku for part in parts]
            check_return_policy(
                self.ctx.policy, command.purchase_date, command.reason, skus, today, shipped
            )
        now = self.ctx.clock.now()
        rma = self._new_rma(session, actor, command, parts, now)
        session.add(rma)
        session.flush()
        rma.opened(actor, now)
        route_new(session, rma, now)
        if self._auto_authorisable(rma, now):
            self.authorisation.authorise_in(
                session,
                rma,
                SYSTEM,
                AuthoriseRma(reason=N_("Within the automatic authorisation rules")),
            )
            rma.first_response_at = now  # the customer has the authorisation at once
        elif not self.ctx.levels.desk(command.channel).is_open(now):
            self.acknowledge_out_of_hours(session, rma)
        return rma

    def _auto_authorisable(self, rma: Rma, now: datetime) -> bool:
        """Within the rules, and the prepaid label it orders can be bought: without the
        customer's address a real provider would refuse it, so the RMA waits for the desk
        (which says why on the timeline)."""
        if not rma.auto_authorisable(self.ctx.policy):
            return False
        refusal = self.authorisation.labels.address_refusal(rma)
        if refusal is None:
            return True
        missing = ", ".join(refusal.details["missing"])
        text = N_(
            "Not authorised automatically: a prepaid %(value)s label needs the "
            "customer's complete address (missing or wrong: %(fields)s). "
            "Complete it, then authorise.",
            value=refusal.details["provider"],
            fields=missing,
        )
        rma.note("authorisation", SYSTEM, text, now)
        return False

    @staticmethod
    def _units_shipped(session: Session, lines: Sequence[ReturnLine]) -> dict[str, date]:
        """When each returned unit named by serial left us, where the serial table knows:
        its warranty counts from then (the earliest, when one SKU names several)."""
        shipped: dict[str, date] = {}
        for line in lines:
            if not line.serial:
                continue
            at = serials.shipped_on(session, line.sku, line.serial)
            if at is not None:
                part = ledger.find_part(session, line.sku)
                sku = part.sku if part else line.sku
                shipped[sku] = min(at.date(), shipped.get(sku, at.date()))
        return shipped

    def _new_rma(
        self, session: Session, actor: str, command: OpenRma, parts: list[Part], now: datetime
    ) -> Rma:
        customer = command.customer
        override = command.override_reason
        rma = Rma(
            number=next_number(session, now),
            status=RmaStatus.REQUESTED,
            customer_name=customer.name,
            customer_email=customer.email.strip().lower(),
            customer_phone=customer.phone,
            vip=customer.vip,
            order_number=command.order_number,
            payment_reference=command.payment_reference,
            purchase_date=command.purchase_date,
            channel=command.channel,
            reason=command.reason,
            description=command.description,
            resolution=command.resolution,
            priority=raised(command.priority) if customer.vip else command.priority,
            policy_override_reason=override,
            policy_override_by=actor if override else None,
            currency=self.ctx.policy.currency,
            refund_status=RefundStatus.NONE,
            refund_amount_minor=0,
            customer_language=normalise_language(customer.language),
            **address_columns(customer.address),
            created_by=actor,
            created_at=now,
            updated_at=now,
        )
        start_clocks(self.ctx.levels, rma, now)
        for part, line in zip(parts, command.lines, strict=True):
            rma.lines.append(
                RmaLine(
                    part_id=part.id,
                    sku=part.sku,
                    qty=line.qty,
                    serial=line.serial,
                    unit_price=line.unit_price,
                    received_qty=0,
                )
            )
        if rma.owes_refund:
            rma.refund_amount_minor = rma.refund_amount(self.ctx.policy)
        return rma

    def acknowledge_out_of_hours(self, session: Session, rma: Rma) -> None:
        """Nobody is at the desk: tell the customer the request is in, and when to expect us."""
        if self.ctx.messages is None:
            return
        self.ctx.messages.to_customer(
            session,
            rma,
            "acknowledged",
            first_response_due=f"{rma.first_response_due_at:%Y-%m-%d %H:%M} UTC",
        )
        now = self.ctx.clock.now()
        rma.acknowledged_at = now
        rma.note("email", SYSTEM, N_("Out of hours: automatic acknowledgement queued"), now)

    @staticmethod
    def _check_lines(session: Session, lines: tuple[ReturnLine, ...]) -> list[Part]:
        parts = []
        for index, line in enumerate(lines):
            part = ledger.find_part(session, line.sku)
            if part is None:
                raise InvalidInput(
                    f"lines.{index}.sku",
                    N_("No part with SKU %(sku)s.", sku=repr(line.sku)),
                    code="unknown_sku",
                )
            if line.ordered_qty is not None and line.qty > line.ordered_qty:
                raise InvalidInput(
                    f"lines.{index}.qty",
                    N_(
                        "%(qty)s returned but only %(ordered_qty)s on the order line.",
                        qty=line.qty,
                        ordered_qty=line.ordered_qty,
                    ),
                    code="qty_above_order",
                )
            parts.append(part)
        return parts


def next_number(session: Session, now: datetime) -> str:
    """RMA-<day>-<n>, for every kind of case: one counter row per day, bumped under its row
    lock."""
    day = now.strftime("%Y%m%d")
    insert_ignoring_conflicts(session, RmaSequence.__table__, {"day": day, "last": 0})
    last = session.execute(
        update(RmaSequence)
        .where(RmaSequence.day == day)
        .values(last=RmaSequence.last + 1)
        .returning(RmaSequence.last)
    ).scalar_one()
    return f"RMA-{day}-{last:04d}"


def start_clocks(levels: ServiceLevels, rma: Rma, now: datetime) -> None:
    """The service-level deadlines of a case opened ``now`` (any kind: the same targets)."""
    deadlines = levels.deadlines(rma.channel, rma.priority, now)
    rma.first_response_due_at = deadlines.first_response
    rma.resolution_due_at = deadlines.resolution


def route_new(session: Session, rma: Rma, now: datetime) -> None:
    """Give a new case of any kind its owner by the routing rules, noted on its timeline."""
    owner = route_in(session, rma, now)
    if owner.team_id is not None or owner.user_id is not None:
        rma.note("owner", SYSTEM, routed_text(session, owner), now)
