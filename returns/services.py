"""Return use cases: intake, authorisation, the refund on pickup, receipt, inspection, closing.

One transaction per use case. External effects (the refund, a return label) are outbox
messages written in the transaction that decides them, carried out by the outbox worker.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any
from urllib.parse import quote

from sqlalchemy import func, inspect, or_, select, update
from sqlalchemy.orm import Session, lazyload

from carriers.models import Direction
from carriers.services import CarrierService
from carriers.status import TrackingStatus
from carriers.tracking import ShipmentChange
from core.clock import Clock
from core.db import UnitOfWork, insert_ignoring_conflicts
from core.errors import Conflict, InvalidInput, NotFound
from core.outbox import (
    MAX_ATTEMPTS,
    Handler,
    OutboxMessage,
    OutboxStatus,
    PermanentFailure,
    enqueue,
)
from inventory import ledger
from inventory.errors import InsufficientStock
from inventory.models import Part
from purchasing.claims import SupplierClaim
from returns import queries, refund_trigger
from returns.errors import IllegalTransition, ReplacementNotFound, RmaNotFound
from returns.messages import EMAIL_TOPIC, Messages, normalise_language, word
from returns.models import (
    OutgoingEmail,
    Replacement,
    Rma,
    RmaLine,
    RmaSequence,
    RmaTransition,
)
from returns.notifications import SYSTEM, notify
from returns.policy import ReturnPolicy
from returns.refunds import StripeRefunds
from returns.service_levels import ServiceLevels
from returns.status import (
    REFUND_UNDER_WAY,
    TERMINAL,
    TRANSITIONS,
    WAITING_FOR_PARCEL,
    Channel,
    Disposition,
    Priority,
    Reason,
    RefundStatus,
    ReplacementStatus,
    Resolution,
    RmaStatus,
    raised,
)
from returns.views import DeskSummary, PickItem, RmaDetail, RmaRow

REFUND_TOPIC = "refund.create"
LABEL_TOPIC = "return_label.buy"
#: A return address without any of these is refused (see ``return_address_lines``).
ADDRESS_FIELDS = ("name", "street", "city", "postcode", "country")
#: Public tracking pages by carrier (``{number}`` is the tracking number); more, or other
#: pages, from ``SPAREFLOW_CARRIER_TRACKING_URLS``.
TRACKING_URLS = {
    "sfexpress": "https://www.sf-express.com/chn/sc/waybill/waybill-detail/{number}",
    "ups": "https://www.ups.com/track?tracknum={number}",
    "usps": "https://tools.usps.com/go/TrackConfirmAction?tLabels={number}",
    "fedex": "https://www.fedex.com/fedextrack/?trknbr={number}",
    "dhl": "https://www.dhl.com/global-en/home/tracking.html?tracking-id={number}",
}
#: Reasons judged against the warranty rather than the no-questions return window.
WARRANTY_REASONS = {Reason.DEFECTIVE, Reason.DAMAGED_IN_TRANSIT, Reason.MISSING_ITEM}
#: What the carrier's progress means for the RMA (forward moves only; see TRANSITIONS).
CARRIER_PROGRESS = {
    TrackingStatus.IN_TRANSIT: RmaStatus.IN_TRANSIT,
    TrackingStatus.OUT_FOR_DELIVERY: RmaStatus.IN_TRANSIT,
    TrackingStatus.AVAILABLE_FOR_PICKUP: RmaStatus.IN_TRANSIT,
    TrackingStatus.DELIVERED: RmaStatus.IN_TRANSIT,  # at our dock; "received" is our own scan
}


def _months_later(start: date, months: int) -> date:
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    for day in (start.day, 30, 29, 28):
        try:
            return date(year, month, day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def _supervisor_with_reason(supervisor: bool, reason: str, action: str, why: str) -> None:
    """Refunds by hand are a supervisor's, and always say why."""
    if not supervisor:
        raise Conflict(f"Only a supervisor (admin) can {action}.", code="supervisor_required")
    if not reason.strip():
        raise InvalidInput("reason", f"Say why {why}.")


class ReturnsService:
    def __init__(
        self,
        session_factory: Callable[[], Session],
        clock: Clock,
        policy: ReturnPolicy,
        carriers: CarrierService,
        refunds: StripeRefunds | None,
        return_address: Mapping[str, str] | None = None,
        default_return_carrier: str = "sandbox",
        *,
        warehouse_addresses: Mapping[str, Mapping[str, str]] | None = None,
        levels: ServiceLevels | None = None,
        messages: Messages | None = None,
        tracking_urls: Mapping[str, str] | None = None,
    ):
        self.session_factory = session_factory
        self.clock = clock
        self.policy = policy
        self.carriers = carriers
        #: None: no provider configured; refunds are then held, never sent anywhere.
        self.refunds = refunds
        self.return_address = dict(return_address or {})
        self.warehouse_addresses = {
            code.upper(): dict(address) for code, address in (warehouse_addresses or {}).items()
        }
        self.default_return_carrier = default_return_carrier
        self.levels = levels or ServiceLevels()
        #: None when no SMTP server is configured: then no e-mail is queued at all.
        self.messages = messages
        self.tracking_urls = {**TRACKING_URLS, **(tracking_urls or {})}
        # A second return parcel for an authorised RMA is a supervisor's act.
        carriers.registration_guards.append(partial(refund_trigger.guard_registration, self))

    # --- reading -------------------------------------------------------------------------

    def get(self, number: str) -> RmaDetail:
        with UnitOfWork(self.session_factory) as uow:
            return self._view(uow.session, number)

    def _view(self, session: Session, number: str) -> RmaDetail:
        return queries.rma_detail(session, number)

    def list(self, wanted: queries.RmaFilter = queries.NEWEST) -> list[RmaRow]:
        with UnitOfWork(self.session_factory) as uow:
            return queries.list_rmas(uow.session, self.clock.now(), wanted)

    def desk_summary(self) -> DeskSummary:
        """Open RMAs by state, refunds needing a person, refunds released today (UTC)."""
        with UnitOfWork(self.session_factory) as uow:
            return queries.desk_summary(uow.session, self.clock.now(), self.policy.currency)

    def pick_queue(self) -> list[PickItem]:
        with UnitOfWork(self.session_factory) as uow:
            return queries.pick_queue(uow.session)

    def _rma(self, session: Session, number: str, *, lock: bool = False) -> Rma:
        query = select(Rma).where(Rma.number == number.strip().upper())
        rma = session.scalars(query.with_for_update() if lock else query).first()
        if rma is None:
            raise RmaNotFound(number)
        if lock:
            session.refresh(rma)
        return rma

    # --- intake --------------------------------------------------------------------------

    def create(
        self,
        actor: str,
        *,
        customer: Mapping[str, Any],
        channel: Channel,
        lines: Sequence[Mapping[str, Any]],
        reason: Reason,
        resolution: Resolution,
        priority: Priority = Priority.MEDIUM,
        order_number: str | None = None,
        payment_reference: str | None = None,
        purchase_date: date | None = None,
        description: str = "",
        override_reason: str | None = None,
        supervisor: bool = False,
    ) -> RmaDetail:
        """Open an RMA at once, with a number, after the intake checks (each names its field)."""
        language = normalise_language(customer.get("language"))
        today = self.clock.now().date()
        if purchase_date and purchase_date > today:
            raise InvalidInput("purchase_date", "The purchase date is in the future.")
        if resolution is Resolution.REFUND and not payment_reference:
            raise InvalidInput(
                "payment_reference", "A refund needs the payment to refund (e.g. pi_...)."
            )
        if override_reason and not supervisor:
            raise InvalidInput(
                "override_reason",
                "Only a supervisor (admin) can override the policy.",
                code="override_not_allowed",
            )
        with UnitOfWork(self.session_factory) as uow:
            session = uow.session
            parts = self._check_lines(session, lines)
            if purchase_date and not override_reason:
                self._check_policy(purchase_date, reason, [part.sku for part in parts], today)
            now = self.clock.now()
            rma = Rma(
                number=self._next_number(session, now),
                status=RmaStatus.REQUESTED,
                customer_name=customer["name"],
                customer_email=customer["email"].strip().lower(),
                customer_phone=customer.get("phone"),
                vip=bool(customer.get("vip")),
                order_number=order_number,
                payment_reference=payment_reference,
                purchase_date=purchase_date,
                channel=channel,
                reason=reason,
                description=description,
                resolution=resolution,
                priority=raised(priority) if customer.get("vip") else priority,
                policy_override_reason=override_reason,
                policy_override_by=actor if override_reason else None,
                currency=self.policy.currency,
                refund_status=RefundStatus.NONE,
                refund_amount_minor=0,
                customer_language=language,
                created_by=actor,
                created_at=now,
                updated_at=now,
            )
            deadlines = self.levels.deadlines(channel, rma.priority, now)
            rma.first_response_due_at = deadlines.first_response
            rma.resolution_due_at = deadlines.resolution
            for part, line in zip(parts, lines, strict=True):
                rma.lines.append(
                    RmaLine(
                        part_id=part.id,
                        sku=part.sku,
                        qty=line["qty"],
                        serial=line.get("serial"),
                        unit_price=line["unit_price"],
                        received_qty=0,
                    )
                )
            if self._refund_due(rma):
                rma.refund_amount_minor = self._refund_amount(rma)
            session.add(rma)
            session.flush()
            self._record(
                session,
                rma,
                None,
                RmaStatus.REQUESTED,
                actor,
                f"Opened via {channel.value}"
                + (f"; policy overridden: {override_reason}" if override_reason else ""),
            )
            if self._auto_authorisable(rma):
                self._authorise(
                    session, rma, SYSTEM, None, None, "Within the automatic authorisation rules"
                )
                rma.first_response_at = now  # the customer has the authorisation at once
            elif not self.levels.desk(channel).is_open(now):
                self._acknowledge_out_of_hours(session, rma)
            uow.commit()
            return self._view(session, rma.number)

    def _acknowledge_out_of_hours(self, session: Session, rma: Rma) -> None:
        """Nobody is at the desk: tell the customer the request is in, and when to expect us."""
        if self.messages is None:
            return
        self.messages.to_customer(
            session,
            rma,
            "acknowledged",
            first_response_due=f"{rma.first_response_due_at:%Y-%m-%d %H:%M} UTC",
        )
        rma.acknowledged_at = self.clock.now()
        self._note(session, rma, "email", SYSTEM, "Out of hours: automatic acknowledgement queued")

    def _check_lines(self, session: Session, lines: Sequence[Mapping[str, Any]]) -> list[Part]:
        parts = []
        for index, line in enumerate(lines):
            part = ledger.find_part(session, line["sku"])
            if part is None:
                raise InvalidInput(
                    f"lines.{index}.sku", f"No part with SKU {line['sku']!r}.", code="unknown_sku"
                )
            ordered = line.get("ordered_qty")
            if ordered is not None and line["qty"] > ordered:
                raise InvalidInput(
                    f"lines.{index}.qty",
                    f"{line['qty']} returned but only {ordered} on the order line.",
                    code="qty_above_order",
                )
            parts.append(part)
        return parts

    def _check_policy(self, purchased: date, reason: Reason, skus: list[str], today: date) -> None:
        if reason in WARRANTY_REASONS:
            for sku in skus:
                months = self.policy.warranty_for(sku)
                if today > _months_later(purchased, months):
                    raise InvalidInput(
                        "purchase_date",
                        f"The {months}-month warranty of {sku} ended on "
                        f"{_months_later(purchased, months).isoformat()}; a supervisor "
                        "can override with a reason.",
                        code="warranty_expired",
                    )
        elif (today - purchased).days > self.policy.return_window_days:
            raise InvalidInput(
                "purchase_date",
                f"The {self.policy.return_window_days}-day return window has passed; "
                "a supervisor can override with a reason.",
                code="return_window_expired",
            )

    @staticmethod
    def _refund_due(rma: Rma) -> bool:
        """A refund, or an exchange: a replacement with the original payment to refund.

        As DOMAIN.md describes, an exchange refunds the original on pickup and ships the
        replacement at once as a new order. A replacement without a payment reference is a
        free (warranty) replacement; a repair refunds nothing.
        """
        if rma.resolution is Resolution.REFUND:
            return True
        return rma.resolution is Resolution.REPLACEMENT and bool(rma.payment_reference)

    def _refund_amount(self, rma: Rma) -> int:
        paid = sum((line.unit_price * line.qty for line in rma.lines), Decimal(0))
        fee_percent = self.policy.restocking_fee_percent.get(rma.reason, Decimal(0))
        return self.policy.to_minor(paid - paid * fee_percent / 100)

    def _auto_authorisable(self, rma: Rma) -> bool:
        limit = self.policy.auto_authorise_limit_minor
        value = self.policy.to_minor(sum((ln.unit_price * ln.qty for ln in rma.lines), Decimal(0)))
        return (
            limit > 0
            and not rma.policy_override_reason
            and not self.policy.is_flagged(rma.customer_email)
            and value <= limit
        )

    def _next_number(self, session: Session, now: datetime) -> str:
        day = now.strftime("%Y%m%d")
        insert_ignoring_conflicts(session, RmaSequence.__table__, {"day": day, "last": 0})
        last = session.execute(
            update(RmaSequence)
            .where(RmaSequence.day == day)
            .values(last=RmaSequence.last + 1)
            .returning(RmaSequence.last)
        ).scalar_one()
        return f"RMA-{day}-{last:04d}"

    # --- the state machine ---------------------------------------------------------------

    def _record(
        self,
        session: Session,
        rma: Rma,
        from_status: RmaStatus | None,
        to_status: RmaStatus,
        actor: str,
        reason: str,
        kind: str = "status",
    ) -> None:
        now = self.clock.now()
        transition = RmaTransition(
            kind=kind,
            from_status=from_status,
            to_status=to_status,
            actor=actor,
            reason=reason,
            at=now,
        )
        if "transitions" in inspect(rma).unloaded:
            # Carrier events lock the RMA without its timeline: add to it without loading it.
            transition.rma_id = rma.id
            session.add(transition)
        else:
            rma.transitions.append(transition)
        rma.updated_at = now
        if from_status is not None and actor != SYSTEM and rma.first_response_at is None:
            rma.first_response_at = now  # an agent replied or acted: the customer has an answer
        if to_status in TERMINAL and kind == "status":
            rma.ended_at = now
            self._resolved(rma)

    def _resolved(self, rma: Rma) -> None:
        """The customer's request is met (refund out, replacement shipped, or the RMA ended)."""
        if rma.resolved_at is None:
            rma.resolved_at = self.clock.now()

    def _move(
        self, session: Session, rma: Rma, to: RmaStatus, actor: str, reason: str = ""
    ) -> None:
        if to not in TRANSITIONS[rma.status]:
            raise IllegalTransition(rma.number, rma.status.value, to.value)
        previous, rma.status = rma.status, to
        self._record(session, rma, previous, to, actor, reason)

    def _note(self, session: Session, rma: Rma, kind: str, actor: str, text: str) -> None:
        self._record(session, rma, rma.status, rma.status, actor, text, kind=kind)

    def authorise(
        self,
        actor: str,
        number: str,
        *,
        carrier: str | None = None,
        tracking_number: str | None = None,
        reason: str = "",
    ) -> RmaDetail:
        if bool(carrier) != bool(tracking_number):
            raise InvalidInput(
                "tracking_number" if carrier else "carrier",
                "Give both the carrier and the tracking number, or neither.",
            )
        with UnitOfWork(self.session_factory) as uow:
            rma = self._rma(uow.session, number, lock=True)
            self._authorise(uow.session, rma, actor, carrier, tracking_number, reason)
            uow.commit()
            return self._view(uow.session, number)

    def _authorise(
        self,
        session: Session,
        rma: Rma,
        actor: str,
        carrier: str | None,
        tracking_number: str | None,
        reason: str,
    ) -> None:
        address = self.return_address_lines()  # a partial address blocks authorisation
        self._move(session, rma, RmaStatus.AUTHORISED, actor, reason)
        now = self.clock.now()
        rma.expires_at = now + timedelta(days=self.policy.authorisation_days)
        if self._refund_due(rma):
            rma.refund_status = RefundStatus.AWAITING_PICKUP
        if rma.resolution is Resolution.REPLACEMENT:
            self._reserve_replacements(session, rma, actor)
        if tracking_number and carrier:
            self._attach_return_shipment(session, rma, carrier, tracking_number, actor)
            self._send_authorisation(session, rma, address, label=False)
        else:
            enqueue(
                session,
                topic=LABEL_TOPIC,
                key=f"return-label:{rma.number}",
                now=now,
                payload={
                    "rma": rma.number,
                    "carrier": self.default_return_carrier,
                    "from": {"name": rma.customer_name, "email": rma.customer_email},
                    "to": self.receiving_address(),
                },
            )
            self._note(
                session,
                rma,
                "return_label",
                actor,
                f"Prepaid return label ordered from {self.default_return_carrier}",
            )

    def tracking_url(self, carrier: str, tracking_number: str) -> str:
        template = self.tracking_urls.get(carrier.lower())
        return template.format(number=quote(tracking_number, safe="")) if template else ""

    def receiving_address(self) -> dict[str, str]:
        """The address of the warehouse that receives returns (its returns location's)."""
        warehouse = self.policy.returns_location.split("/", 1)[0].upper()
        return dict(self.warehouse_addresses.get(warehouse) or self.return_address)

    def return_address_lines(self) -> list[str]:
        """The complete return address as printed lines; refuses a partial one.

        Marketplace disputes come from unclear return addresses: better to stop the desk
        than to send a customer half an address.
        """
        address = self.receiving_address()
        missing = [name for name in ADDRESS_FIELDS if not str(address.get(name) or "").strip()]
        if missing:
            warehouse = self.policy.returns_location.split("/", 1)[0].upper()
            raise Conflict(
                f"The return address of warehouse {warehouse} is incomplete (missing: "
                f"{', '.join(missing)}). An admin must complete it (SPAREFLOW_WAREHOUSE_ADDRESSES)"
                " before returns can be authorised.",
                code="return_address_incomplete",
                missing=missing,
            )
        order = ["name", "company", "street", "street2", "city", "state", "postcode", "country"]
        extra = [key for key in address if key not in order and key != "phone"]
        return [
            str(address[key]).strip()
            for key in [*order, *extra]
            if str(address.get(key) or "").strip()
        ]

    def _send_authorisation(
        self, session: Session, rma: Rma, address: list[str], *, label: bool
    ) -> None:
        if self.messages is None:
            return
        parts = {
            part.id: part
            for part in session.scalars(
                select(Part).where(Part.id.in_([line.part_id for line in rma.lines]))
            )
        }
        self.messages.to_customer(
            session,
            rma,
            "authorised",
            attach_label=label,
            lines=[
                {
                    "sku": line.sku,
                    "qty": line.qty,
                    "serial": line.serial or "",
                    "description": parts[line.part_id].name if line.part_id in parts else "",
                }
                for line in rma.lines
            ],
            return_address=address,
            deadline=f"{rma.expires_at:%Y-%m-%d}" if rma.expires_at else "",
            carrier=rma.return_carrier or "",
            tracking_number=rma.return_tracking_number or "",
            label_attached=label,
            refund_amount=self._money(rma) if rma.refund_amount_minor else "",
        )

    def _attach_return_shipment(
        self, session: Session, rma: Rma, carrier: str, tracking_number: str, actor: str
    ) -> None:
        rma.return_carrier = carrier
        self._move(
            session,
            rma,
            RmaStatus.AWAITING_PICKUP,
            actor,
            f"Return parcel: {carrier} {tracking_number}",
        )
        # Events that came before we knew the number are applied now (and may release the refund).
        shipment = self.carriers.add_shipment(
            session,
            direction=Direction.INBOUND,
            carrier=carrier,
            tracking_number=tracking_number,
            reference=rma.number,
        )
        rma.return_tracking_number = shipment.tracking_number

    def _reserve_replacements(self, session: Session, rma: Rma, actor: str) -> None:
        who = ledger.Who(actor, self.clock)
        for line in rma.lines:
            replacement = Replacement(
                rma_id=rma.id,
                line_id=line.id,
                sku=line.sku,
                qty=line.qty,
                queued_at=self.clock.now(),
                status=ReplacementStatus.QUEUED,
            )
            try:
                reservation = ledger.reserve(
                    session,
                    who,
                    sku=line.sku,
                    qty=line.qty,
                    reference=rma.number,
                    reason="advance replacement",
                )
                replacement.reservation_id = reservation.id
                text = (
                    f"Replacement {line.qty} x {line.sku} reserved at {reservation.location.code}"
                )
            except InsufficientStock as short:
                replacement.status = ReplacementStatus.BACKORDERED
                text = f"Replacement {line.qty} x {line.sku} backordered: {short.message}"
            rma.replacements.append(replacement)
            self._note(session, rma, "replacement", actor, text)

    def reject(self, actor: str, number: str, reason: str) -> RmaDetail:
        return self._end(actor, number, RmaStatus.REJECTED, reason)

    def cancel(self, actor: str, number: str, reason: str) -> RmaDetail:
        return self._end(actor, number, RmaStatus.CANCELLED, reason)

    def _end(self, actor: str, number: str, to: RmaStatus, reason: str) -> RmaDetail:
        if not reason.strip():
            raise InvalidInput("reason", "Say why.")
        with UnitOfWork(self.session_factory) as uow:
            rma = self._rma(uow.session, number, lock=True)
            self._move(uow.session, rma, to, actor, reason)
            self._release_replacements(uow.session, rma, actor, f"RMA {to.value}")
            if rma.refund_status in (RefundStatus.AWAITING_PICKUP, RefundStatus.HELD):
                rma.refund_status = RefundStatus.NONE
            uow.commit()
            return self._view(uow.session, number)

    def _release_replacements(self, session: Session, rma: Rma, actor: str, why: str) -> None:
        who = ledger.Who(actor, self.clock)
        for replacement in rma.replacements:
            if replacement.status in (ReplacementStatus.QUEUED, ReplacementStatus.BACKORDERED):
                if replacement.reservation_id is not None:
                    ledger.release(session, who, replacement.reservation_id, why)
                replacement.status = ReplacementStatus.CANCELLED
                self._note(
                    session, rma, "replacement", actor, f"Replacement {replacement.sku} cancelled"
                )

    # --- carrier events (a listener of the carriers service) -----------------------------

    def on_shipment_change(self, session: Session, change: ShipmentChange) -> None:
        """Runs inside the transaction that stored the carrier event: all or nothing with it."""
        shipment = change.shipment
        if shipment.direction is not Direction.INBOUND or not shipment.reference:
            return
        rma = session.scalars(
            select(Rma)
            .where(Rma.number == shipment.reference)
            # Carrier events touch the state and the timeline; the rest loads only if asked.
            .options(lazyload("*"))
            .with_for_update()
        ).first()
        if rma is None:
            return
        source = f"{shipment.carrier} {shipment.tracking_number}: {change.event.raw_status}"
        actor, by_hand = refund_trigger.actor_and_words(change)
        if change.picked_up_now and RmaStatus.PICKED_UP in TRANSITIONS[rma.status]:
            text = f"Carrier has the parcel ({source}){by_hand}"
            self._move(session, rma, RmaStatus.PICKED_UP, actor, text)
            refund_trigger.on_pickup(self, session, rma, change)
            if self.messages:
                self.messages.to_customer(
                    session,
                    rma,
                    "picked_up",
                    carrier=shipment.carrier,
                    tracking_number=shipment.tracking_number,
                    # "Your refund is on its way" only when it is (not held).
                    refund_amount=self._money(rma)
                    if rma.refund_amount_minor and rma.refund_status is RefundStatus.PENDING
                    else "",
                )
        else:
            refund_trigger.on_carrier_confirms(self, session, rma, change)
        target = CARRIER_PROGRESS.get(shipment.status)
        if target and target in TRANSITIONS[rma.status]:
            self._move(session, rma, target, actor, f"Carrier: {source}{by_hand}")
        if change.ended_badly and rma.refund_status in REFUND_UNDER_WAY:
            rma.needs_recovery = (
                f"Refunded, but the parcel was {shipment.status.value.replace('_', ' ')}"
            )
            self._note(session, rma, "refund", SYSTEM, rma.needs_recovery)
        elif change.exception and rma.refund_status in REFUND_UNDER_WAY:
            # Lost, damaged, held: the carrier may recover it, but the desk must know now.
            rma.needs_recovery = (
                f"Refunded, but the carrier reports a problem: {shipment.last_exception}"
            )
            self._note(session, rma, "refund", SYSTEM, rma.needs_recovery)

    # --- the refund ------------------------------------------------------------------------

    def _release_refund(
        self, session: Session, rma: Rma, actor: str, why: str, supervisor_reason: str | None = None
    ) -> None:
        """Queue the refund, unless a release rule holds it for a supervisor."""
        if rma.refund_status not in (RefundStatus.AWAITING_PICKUP, RefundStatus.HELD):
            return
        hold = refund_trigger.NO_PROVIDER if self.refunds is None else None
        if supervisor_reason is None:
            hold = hold or self._hold_reason(session, rma)
        if hold:
            refund_trigger.hold(self, session, rma, actor, hold)
            return
        rma.refund_status, rma.refund_hold_reason = RefundStatus.PENDING, None
        rma.refund_released_by = actor
        enqueue(
            session,
            topic=REFUND_TOPIC,
            key=f"refund:{rma.number}",
            now=self.clock.now(),
            payload={
                "rma": rma.number,
                "payment_reference": rma.payment_reference,
                "amount_minor": rma.refund_amount_minor,
                "currency": rma.currency,
            },
        )
        text = f"Refund of {self._money(rma)} sent to the payment provider ({why})"
        if supervisor_reason:
            text += f"; released by hand: {supervisor_reason}"
        self._note(session, rma, "refund", actor, text)

    def _hold_reason(self, session: Session, rma: Rma) -> str | None:
        if self.policy.is_flagged(rma.customer_email):
            return "the customer is flagged for review"
        if rma.refund_amount_minor > self.policy.auto_refund_limit_minor:
            return f"{self._money(rma)} is above the automatic limit"
        since = self.clock.now() - timedelta(days=self.policy.customer_limit_days)
        earlier = (
            session.scalar(
                select(func.coalesce(func.sum(Rma.refund_amount_minor), 0)).where(
                    Rma.customer_email == rma.customer_email,
                    Rma.id != rma.id,
                    Rma.refund_status.in_(REFUND_UNDER_WAY),
                    Rma.created_at >= since,
                )
            )
            or 0
        )
        if earlier + rma.refund_amount_minor > self.policy.customer_refund_limit_minor:
            return (
                f"the customer's refunds over {self.policy.customer_limit_days} days would pass "
                "the automatic limit"
            )
        return None

    def _money(self, rma: Rma) -> str:
        amount = Decimal(rma.refund_amount_minor).scaleb(-self.policy.minor_units)
        return f"{amount} {rma.currency.upper()}"

    def release_refund(
        self, actor: str, number: str, reason: str, *, supervisor: bool
    ) -> RmaDetail:
        """A supervisor releases a held refund, or one whose pickup scan never came."""
        _supervisor_with_reason(
            supervisor, reason, "release a refund by hand", "the refund is released by hand"
        )
        with UnitOfWork(self.session_factory) as uow:
            rma = self._rma(uow.session, number, lock=True)
            if rma.refund_status not in (RefundStatus.AWAITING_PICKUP, RefundStatus.HELD):
                raise Conflict(
                    f"{rma.number}'s refund is {rma.refund_status.value}; nothing to release.",
                    code="refund_not_releasable",
                    refund_status=rma.refund_status.value,
                )
            if rma.status in (RmaStatus.REQUESTED, RmaStatus.REJECTED, RmaStatus.CANCELLED):
                raise IllegalTransition(rma.number, rma.status.value, "refunded")
            refund_trigger.require_provider(self)
            self._release_refund(
                uow.session, rma, actor, "released by a supervisor", reason.strip()
            )
            refund_trigger.audit_release(
                self, uow.session, rma, actor, reason.strip(), "supervisor release"
            )
            uow.commit()
            return self._view(uow.session, number)

    def retry_refund(
        self,
        actor: str,
        number: str,
        reason: str,
        *,
        supervisor: bool,
        payment_reference: str | None = None,
    ) -> RmaDetail:
        """A supervisor sends a failed refund again, optionally to a corrected payment.

        Unchanged, the same outbox message runs again with the same idempotency key: if an
        earlier attempt did reach the provider, the provider answers with that refund instead
        of making a second. A corrected payment is a new request, so it gets a new key; that
        is only allowed when the provider refused the last one (nothing was refunded).
        """
        _supervisor_with_reason(
            supervisor, reason, "send a failed refund again", "the refund is sent again"
        )
        with UnitOfWork(self.session_factory) as uow:
            session = uow.session
            rma = self._rma(session, number, lock=True)
            if rma.refund_status is not RefundStatus.FAILED:
                raise Conflict(
                    f"{rma.number}'s refund is {rma.refund_status.value}; only a failed refund "
                    "can be sent again.",
                    code="refund_not_failed",
                    refund_status=rma.refund_status.value,
                )
            refund_messages = (
                OutboxMessage.topic == REFUND_TOPIC,
                or_(
                    OutboxMessage.key == f"refund:{rma.number}",
                    OutboxMessage.key.like(f"refund:{rma.number}:%"),
                ),
            )
            last = session.scalars(
                select(OutboxMessage)
                .where(*refund_messages)
                .order_by(OutboxMessage.id.desc())
                .with_for_update()
            ).first()
            assert last is not None, "a failed refund has its outbox message"
            corrected = (payment_reference or "").strip()
            now = self.clock.now()
            refused = refund_trigger.refused_by_provider(last)
            corrected = corrected or (rma.payment_reference or "" if refused else "")
            if not refused and (not corrected or corrected == rma.payment_reference):
                # The same request again, under the same key.
                last.status, last.attempts, last.next_attempt_at = OutboxStatus.PENDING, 0, now
                last.last_error = None
                what = "sent again with the same idempotency key"
            else:
                if last.attempts >= MAX_ATTEMPTS and not refused:
                    raise Conflict(
                        "The last attempt gave up on errors that may have reached the provider: "
                        "send it again unchanged first, so it cannot be paid twice.",
                        code="refund_outcome_unknown",
                    )
                tries = session.scalar(
                    select(func.count()).select_from(OutboxMessage).where(*refund_messages)
                )
                rma.payment_reference = corrected
                enqueue(
                    session,
                    topic=REFUND_TOPIC,
                    key=f"refund:{rma.number}:{(tries or 0) + 1}",
                    now=now,
                    payload={
                        "rma": rma.number,
                        "payment_reference": corrected,
                        "amount_minor": rma.refund_amount_minor,
                        "currency": rma.currency,
                    },
                )
                what = f"sent again to the corrected payment {corrected}"
            rma.refund_status, rma.refund_error = RefundStatus.PENDING, None
            self._note(session, rma, "refund", actor, f"Refund {what}: {reason.strip()}")
            uow.commit()
            return self._view(session, number)

    def outbox_handlers(self) -> dict[str, Handler]:
        handlers = {
            REFUND_TOPIC: Handler(
                self._perform_refund, self._refund_succeeded, self._refund_failed
            ),
            LABEL_TOPIC: Handler(self._perform_label, self._label_succeeded, self._label_failed),
        }
        if self.messages:
            handlers[EMAIL_TOPIC] = self.messages.handler(self.session_factory)
        return handlers

    def _perform_refund(self, payload: Mapping[str, Any], key: str) -> dict[str, Any]:
        if self.refunds is None:  # queued before the provider's settings were removed
            raise PermanentFailure(refund_trigger.NO_PROVIDER)
        return self.refunds.refund(
            payment_reference=payload["payment_reference"],
            amount_minor=int(payload["amount_minor"]),
            idempotency_key=key,
            metadata={"rma": payload["rma"]},
        )

    def _refund_succeeded(self, session: Session, message: OutboxMessage) -> None:
        rma = self._rma(session, message.payload["rma"], lock=True)
        rma.refund_reference = (message.result or {}).get("id")
        rma.refund_error = None
        if not refund_trigger.still_processing(self, session, rma, message.result or {}):
            self._refund_released(session, rma)

    def _refund_released(self, session: Session, rma: Rma) -> None:
        """The provider made the refund: only now is the customer told it is refunded."""
        rma.refund_status = RefundStatus.RELEASED
        rma.refund_released_at = self.clock.now()
        self._note(session, rma, "refund", SYSTEM, f"Refund {rma.refund_reference} released")
        self._resolved(rma)
        if self.messages:
            self.messages.to_customer(
                session,
                rma,
                "refunded",
                refund_amount=self._money(rma),
                refund_method=word(rma.customer_language, "card"),
                refund_reference=rma.refund_reference or "",
            )

    def _refund_failed(self, session: Session, message: OutboxMessage) -> None:
        rma = self._rma(session, message.payload["rma"], lock=True)
        rma.refund_status = RefundStatus.FAILED
        rma.refund_error = message.last_error
        self._note(
            session, rma, "refund", SYSTEM, f"Refund failed, desk alerted: {message.last_error}"
        )

    def _perform_label(self, payload: Mapping[str, Any], key: str) -> dict[str, Any]:
        try:
            shipment = self.carriers.buy_label(
                direction=Direction.INBOUND,
                carrier=payload["carrier"],
                reference=payload["rma"],
                from_address=payload["from"],
                to_address=payload["to"],
                idempotency_key=key,
            )
        except (InvalidInput, NotFound) as error:
            # A carrier that cannot sell labels, or none configured: retrying will not help.
            raise PermanentFailure(error.message) from error
        return {"carrier": shipment.carrier, "tracking_number": shipment.tracking_number}

    def _label_succeeded(self, session: Session, message: OutboxMessage) -> None:
        rma = self._rma(session, message.payload["rma"], lock=True)
        result = message.result or {}
        rma.return_carrier = result.get("carrier")
        rma.return_tracking_number = result.get("tracking_number")
        if RmaStatus.AWAITING_PICKUP in TRANSITIONS[rma.status]:
            self._move(
                session,
                rma,
                RmaStatus.AWAITING_PICKUP,
                SYSTEM,
                f"Return label: {rma.return_carrier} {rma.return_tracking_number}",
            )
            self._send_authorisation(session, rma, self.return_address_lines(), label=True)

    def _label_failed(self, session: Session, message: OutboxMessage) -> None:
        rma = self._rma(session, message.payload["rma"], lock=True)
        text = f"Return label failed: {message.last_error}"
        self._note(session, rma, "return_label", SYSTEM, text)
        # The customer's instructions wait for the label: the desk must step in.
        notify(
            session,
            key=f"label-failed:{rma.number}",
            rma_id=rma.id,
            kind="label_failed",
            audience="desk",
            message=f"{rma.number}: {text}. The customer has no return instructions yet.",
            now=self.clock.now(),
        )

    # --- the warehouse -------------------------------------------------------------------

    def ship_replacement(
        self, actor: str, replacement_id: int, *, carrier: str, tracking_number: str
    ) -> RmaDetail:
        with UnitOfWork(self.session_factory) as uow:
            session = uow.session
            replacement = session.get(Replacement, replacement_id, with_for_update=True)
            if replacement is None:
                raise ReplacementNotFound(replacement_id)
            if (
                replacement.status is not ReplacementStatus.QUEUED
                or replacement.reservation_id is None
            ):
                raise Conflict(
                    f"Replacement {replacement_id} is {replacement.status.value}; only a "
                    "queued, reserved replacement can ship.",
                    code="replacement_not_queued",
                )
            rma = session.get(Rma, replacement.rma_id)
            assert rma is not None
            ledger.issue_reserved(
                session,
                ledger.Who(actor, self.clock),
                replacement.reservation_id,
                reference=rma.number,
                reason="advance replacement shipped",
            )
            shipment = self.carriers.add_shipment(
                session,
                direction=Direction.OUTBOUND,
                carrier=carrier,
                tracking_number=tracking_number,
                reference=rma.number,
            )
            replacement.status = ReplacementStatus.SHIPPED
            replacement.carrier, replacement.tracking_number = carrier, shipment.tracking_number
            replacement.shipped_at, replacement.shipped_by = self.clock.now(), actor
            self._note(
                session,
                rma,
                "replacement",
                actor,
                f"Replacement {replacement.qty} x {replacement.sku} shipped: {carrier} "
                f"{shipment.tracking_number}",
            )
            ended = (ReplacementStatus.SHIPPED, ReplacementStatus.CANCELLED)
            if all(r.status in ended for r in rma.replacements):
                self._resolved(rma)
            if self.messages:
                self.messages.to_customer(
                    session,
                    rma,
                    "replacement_shipped",
                    step=str(replacement.id),
                    carrier=carrier,
                    tracking_number=shipment.tracking_number,
                    tracking_url=self.tracking_url(carrier, shipment.tracking_number),
                    sku=replacement.sku,
                    qty=replacement.qty,
                )
            uow.commit()
            return self._view(session, rma.number)

    def receive(
        self,
        actor: str,
        number: str,
        *,
        lines: Sequence[Mapping[str, Any]],
        empty: bool = False,
        note: str = "",
        supervisor: bool = False,
    ) -> RmaDetail:
        """Book the returned parcel in: each line into the returns location, through the ledger.

        A refund still waiting for the carrier's pickup scan is held for a supervisor: booking
        in is a person's word, not the carrier's (unless that person is a supervisor)."""
        with UnitOfWork(self.session_factory) as uow:
            session = uow.session
            rma = self._rma(session, number, lock=True)
            self._move(session, rma, RmaStatus.RECEIVED, actor, note or "Parcel received")
            who = ledger.Who(actor, self.clock)
            by_sku = {line.sku.casefold(): line for line in rma.lines}
            wrong = []
            for index, received in enumerate([] if empty else lines):
                line = by_sku.get(received["sku"].casefold())
                if line is None:
                    wrong.append(received["sku"])
                    continue
                if line.received_qty + received["qty"] > line.qty:
                    raise InvalidInput(
                        f"lines.{index}.qty",
                        f"Only {line.qty - line.received_qty} more of {line.sku} expected.",
                    )
                ledger.receive(
                    session,
                    who,
                    sku=line.sku,
                    location=self.policy.returns_location,
                    qty=received["qty"],
                    reference=rma.number,
                    reason="customer return",
                )
                line.received_qty += received["qty"]
                line.condition = received.get("condition")
                if line.serial and received.get("serial"):
                    line.serial_matches = line.serial.strip() == str(received["serial"]).strip()
            if rma.refund_status is RefundStatus.AWAITING_PICKUP:
                refund_trigger.on_booked_in(self, session, rma, actor, supervisor=supervisor)
            refunded = rma.refund_status in REFUND_UNDER_WAY
            if refunded and (empty or wrong or not any(line.received_qty for line in rma.lines)):
                what = "empty" if empty or not wrong else f"the wrong item ({', '.join(wrong)})"
                self._move(
                    session, rma, RmaStatus.DISPUTED, actor, f"Refunded, but the parcel held {what}"
                )
            if self.messages:
                self.messages.to_customer(session, rma, "received")
            uow.commit()
            return self._view(session, number)

    def inspect(self, actor: str, number: str, *, lines: Sequence[Mapping[str, Any]]) -> RmaDetail:
        """Decide what becomes of each received line; each decision is a ledger move."""
        with UnitOfWork(self.session_factory) as uow:
            session = uow.session
            rma = self._rma(session, number, lock=True)
            if rma.status is not RmaStatus.RECEIVED:
                raise IllegalTransition(rma.number, rma.status.value, RmaStatus.INSPECTED.value)
            who = ledger.Who(actor, self.clock)
            by_sku = {line.sku.casefold(): line for line in rma.lines}
            for index, decision in enumerate(lines):
                line = by_sku.get(decision["sku"].casefold())
                if line is None or line.received_qty == 0:
                    raise InvalidInput(
                        f"lines.{index}.sku", f"{decision['sku']} was not received on {rma.number}."
                    )
                self._dispose(
                    session,
                    who,
                    rma,
                    line,
                    decision["disposition"],
                    decision.get("location"),
                    index,
                )
            self._move(
                session,
                rma,
                RmaStatus.INSPECTED,
                actor,
                "; ".join(
                    f"{line.sku}: {line.disposition.value}"
                    for line in rma.lines
                    if line.disposition
                ),
            )
            if self.messages:
                self.messages.to_customer(
                    session,
                    rma,
                    "inspected",
                    results=[
                        {
                            "sku": line.sku,
                            "qty": line.received_qty,
                            "outcome": word(rma.customer_language, line.disposition.value),
                        }
                        for line in rma.lines
                        if line.disposition
                    ],
                )
            uow.commit()
            return self._view(session, number)

    def _dispose(
        self,
        session: Session,
        who: ledger.Who,
        rma: Rma,
        line: RmaLine,
        disposition: Disposition,
        location: str | None,
        index: int,
    ) -> None:
        source, qty = self.policy.returns_location, line.received_qty
        move = {"sku": line.sku, "qty": qty, "reference": rma.number}
        if disposition is Disposition.RESTOCK:
            if not location:
                raise InvalidInput(
                    f"lines.{index}.location", "Restocking needs the bin to put the part in."
                )
            ledger.transfer(
                session,
                who,
                from_location=source,
                to_location=location,
                reason="restocked after inspection",
                **move,
            )
        elif disposition in (Disposition.QUARANTINE, Disposition.REFURBISH):
            ledger.transfer(
                session,
                who,
                from_location=source,
                to_location=location or self.policy.quarantine_location,
                reason=f"{disposition.value} after inspection",
                **move,
            )
        else:  # scrap, or back to the supplier under a claim
            ledger.issue(
                session,
                who,
                location=source,
                reason=f"{disposition.value.replace('_', ' ')}",
                **move,
            )
        if disposition is Disposition.RETURN_TO_VENDOR:
            part = session.get(Part, line.part_id)
            rma.claims.append(
                SupplierClaim(
                    line_id=line.id,
                    part_id=line.part_id,
                    supplier_id=part.supplier_id if part else None,
                    sku=line.sku,
                    qty=qty,
                    fault=rma.description,
                    status="open",
                    created_by=who.actor,
                    created_at=self.clock.now(),
                )
            )
            self._note(
                session,
                rma,
                "supplier_claim",
                who.actor,
                f"Supplier claim opened for {qty} x {line.sku}",
            )
        line.disposition = disposition

    def close(self, actor: str, number: str, reason: str = "") -> RmaDetail:
        with UnitOfWork(self.session_factory) as uow:
            rma = self._rma(uow.session, number, lock=True)
            self._move(uow.session, rma, RmaStatus.CLOSED, actor, reason or "Closed")
            rma.followup_due_at = self.clock.now() + timedelta(days=self.policy.followup_days)
            if self.messages:
                self.messages.to_customer(uow.session, rma, "closed")
            uow.commit()
            return self._view(uow.session, number)

    def record_followup(
        self,
        actor: str,
        number: str,
        *,
        satisfaction: int,
        comment: str = "",
        confirmed_fixed: bool | None = None,
    ) -> RmaDetail:
        with UnitOfWork(self.session_factory) as uow:
            rma = self._rma(uow.session, number, lock=True)
            if rma.status is not RmaStatus.CLOSED:
                raise IllegalTransition(rma.number, rma.status.value, "followed up")
            rma.satisfaction, rma.satisfaction_comment = satisfaction, comment or None
            rma.confirmed_fixed = confirmed_fixed
            rma.followup_due_at = None
            self._note(uow.session, rma, "followup", actor, f"Satisfaction {satisfaction}/5")
            uow.commit()
            return self._view(uow.session, number)

    # --- talking to the customer --------------------------------------------------------

    def reply(self, actor: str, number: str, message: str) -> RmaDetail:
        """An agent writes to the customer (by e-mail); the first reply is the first response."""
        text = message.strip()
        if not text:
            raise InvalidInput("message", "Write the reply.")
        if len(text) > 5000:
            raise InvalidInput("message", "Keep the reply under 5,000 characters.")
        if self.messages is None:
            raise Conflict(
                "E-mail is not set up (SPAREFLOW_SMTP_HOST), so a reply cannot be sent.",
                code="email_not_configured",
            )
        with UnitOfWork(self.session_factory) as uow:
            rma = self._rma(uow.session, number, lock=True)
            self.messages.to_customer(uow.session, rma, "reply", message=text)
            self._note(uow.session, rma, "reply", actor, f"Replied to the customer: {text}")
            uow.commit()
            return self._view(uow.session, number)

    def record_bounce(self, message_id: str, reason: str) -> OutgoingEmail:
        """A bounce reported after sending (a delivery status notification, a provider hook)."""
        if self.messages is None:
            raise Conflict(
                "E-mail is not set up (SPAREFLOW_SMTP_HOST).", code="email_not_configured"
            )
        if not reason.strip():
            raise InvalidInput("reason", "Give the reason the mail system reported.")
        with UnitOfWork(self.session_factory) as uow:
            email = self.messages.record_bounce(uow.session, message_id.strip(), reason.strip())
            uow.commit()
            return email

    # --- scheduled -----------------------------------------------------------------------

    def remind_expiring(self) -> int:
        """Remind customers whose authorisation expires soon and whose parcel is not moving."""
        if self.messages is None:
            return 0
        with UnitOfWork(self.session_factory) as uow:
            session = uow.session
            now = self.clock.now()
            due = session.scalars(
                select(Rma)
                .where(
                    Rma.status.in_(WAITING_FOR_PARCEL),
                    Rma.reminded_at.is_(None),
                    Rma.expires_at > now,
                    Rma.expires_at <= now + timedelta(days=self.policy.reminder_days),
                )
                .with_for_update(skip_locked=True)
            ).all()
            for rma in due:
                self.messages.to_customer(
                    session,
                    rma,
                    "reminder",
                    deadline=f"{rma.expires_at:%Y-%m-%d}",
                    carrier=rma.return_carrier or "",
                    tracking_number=rma.return_tracking_number or "",
                )
                rma.reminded_at = now
                self._note(
                    session,
                    rma,
                    "email",
                    SYSTEM,
                    f"Reminder queued: the authorisation expires {rma.expires_at:%Y-%m-%d}",
                )
            uow.commit()
            return len(due)

    def expire_overdue(self) -> int:
        """Authorisations whose parcel never reached the carrier in time expire."""
        with UnitOfWork(self.session_factory) as uow:
            session = uow.session
            overdue = session.scalars(
                select(Rma)
                .where(Rma.status.in_(WAITING_FOR_PARCEL), Rma.expires_at < self.clock.now())
                .with_for_update(skip_locked=True)
            ).all()
            for rma in overdue:
                self._move(
                    session,
                    rma,
                    RmaStatus.EXPIRED,
                    SYSTEM,
                    "No pickup before the authorisation expired",
                )
                if rma.refund_status is RefundStatus.AWAITING_PICKUP:
                    rma.refund_status = RefundStatus.NONE
                elif rma.refund_status in REFUND_UNDER_WAY:
                    rma.needs_recovery = (
                        "Refunded by hand, but the parcel never reached the carrier"
                    )
                    self._note(session, rma, "refund", SYSTEM, rma.needs_recovery)
                shipped = [r for r in rma.replacements if r.status is ReplacementStatus.SHIPPED]
                if shipped:
                    rma.needs_chase = (
                        "Advance replacement shipped, return never came: charge or chase"
                    )
                    self._note(session, rma, "replacement", SYSTEM, rma.needs_chase)
                self._release_replacements(session, rma, SYSTEM, "RMA expired")
            uow.commit()
            return len(overdue)
