"""The warehouse stage: advance replacements (reserved, picked, shipped), and the returned
parcel booked in and inspected, each part's fate a move on the stock ledger."""

from __future__ import annotations

from sqlalchemy.orm import Session

from carriers.models import Direction, Shipment
from core.db import UnitOfWork
from core.errors import N_, Conflict, InvalidInput, filled
from core.errors import Text as Message
from inventory import ledger, reserving, serials
from inventory.errors import InsufficientStock
from inventory.models import Part
from purchasing.claims import ClaimStatus, SupplierClaim, opened_claim_event
from returns.backorders import Backorders
from returns.commands import InspectParcel, ReceiveParcel, ShipReplacement
from returns.context import ReturnsContext, load_rma
from returns.errors import IllegalTransition, ReplacementNotFound
from returns.messages import word
from returns.personal_data import known_details, scrub
from returns.queries import rma_detail
from returns.refunds import Refunds
from returns.rma import Replacement, Rma, RmaLine
from returns.rma_texts import BOOKED_IN_HOLD
from returns.status import REFUND_UNDER_WAY, Disposition, RefundStatus, ReplacementStatus, RmaStatus
from returns.views import RmaDetail


class Warehouse:
    def __init__(self, ctx: ReturnsContext, refunds: Refunds):
        self.ctx = ctx
        self.refunds = refunds
        self.backorders = Backorders(ctx)

    # --- advance replacements --------------------------------------------------------------

    def reserve_replacements(self, session: Session, rma: Rma, actor: str) -> None:
        """One replacement per line, reserved now; without stock it waits, backordered."""
        who = ledger.Who(actor, self.ctx.clock)
        for line in rma.lines:
            replacement = Replacement(
                rma_id=rma.id,
                line_id=line.id,
                sku=line.sku,
                qty=line.qty,
                queued_at=self.ctx.clock.now(),
                status=ReplacementStatus.QUEUED,
            )
            try:
                try:
                    reservation = reserving.reserve(
                        session,
                        who,
                        sku=line.sku,
                        qty=line.qty,
                        reference=rma.number,
                        reason="advance replacement",
                    )
                except InsufficientStock:
                    # Once more under the part's filler lock (returns/backorders.py).
                    reservation = self.backorders.backorder_or_reserve(
                        session, who, line.part_id, line.sku, line.qty, rma.number
                    )
                replacement.reservation_id = reservation.id
                text = N_(
                    "Replacement %(qty)s x %(sku)s reserved at %(code)s",
                    qty=line.qty,
                    sku=line.sku,
                    code=reservation.location,
                )
            except InsufficientStock as short:
                replacement.status = ReplacementStatus.BACKORDERED
                text = N_(
                    "Replacement %(qty)s x %(sku)s backordered: %(message)s",
                    qty=line.qty,
                    sku=line.sku,
                    message=short.message,
                )
            rma.replacements.append(replacement)
            rma.note("replacement", actor, text, self.ctx.clock.now())

    def release_replacements(self, session: Session, rma: Rma, actor: str, why: str) -> None:
        """The RMA ended: replacements not yet shipped are cancelled, their stock freed."""
        who = ledger.Who(actor, self.ctx.clock)
        for replacement in rma.replacements:
            if replacement.status in (ReplacementStatus.QUEUED, ReplacementStatus.BACKORDERED):
                if replacement.reservation_id is not None:
                    ledger.release(session, who, replacement.reservation_id, why)
                replacement.status = ReplacementStatus.CANCELLED
                text = N_("Replacement %(sku)s cancelled", sku=replacement.sku)
                rma.note("replacement", actor, text, self.ctx.clock.now())

    def ship_replacement(
        self, actor: str, replacement_id: int, command: ShipReplacement
    ) -> RmaDetail:
        with UnitOfWork(self.ctx.session_factory) as uow:
            session = uow.session
            replacement, rma = self.queued_replacement(session, replacement_id)
            shipment = self.ctx.carriers.add_shipment(
                session,
                direction=Direction.OUTBOUND,
                carrier=command.carrier,
                tracking_number=command.tracking_number,
                reference=rma.number,
            )
            self.shipped(session, replacement, rma, shipment, actor, command.serials)
            uow.commit()
            return rma_detail(session, rma.number, self.ctx.clock.now().date())

    def queued_replacement(self, session: Session, replacement_id: int) -> tuple[Replacement, Rma]:
        """The replacement, locked, and its RMA; refused unless it is queued and reserved."""
        replacement = session.get(Replacement, replacement_id, with_for_update=True)
        if replacement is None:
            raise ReplacementNotFound(replacement_id)
        if replacement.status is not ReplacementStatus.QUEUED or replacement.reservation_id is None:
            raise Conflict(
                N_(
                    "Replacement %(replacement_id)s is %(status)s; only a queued, reserved"
                    " replacement can ship.",
                    replacement_id=replacement_id,
                    status=replacement.status.value,
                ),
                code="replacement_not_queued",
            )
        rma = session.get(Rma, replacement.rma_id)
        assert rma is not None
        return replacement, rma

    def shipped(
        self,
        session: Session,
        replacement: Replacement,
        rma: Rma,
        shipment: Shipment,
        actor: str,
        unit_serials: tuple[str, ...] = (),
    ) -> None:
        """Within a use case's transaction: the replacement leaves in ``shipment``; the
        units of a serialised part, named in ``unit_serials``, are then the customer's."""
        assert replacement.reservation_id is not None
        move = ledger.issue_reserved(
            session,
            ledger.Who(actor, self.ctx.clock),
            replacement.reservation_id,
            reference=rma.number,
            reason="advance replacement shipped",
            serials=unit_serials,
        )
        now = self.ctx.clock.now()
        customer = serials.Customer(rma.customer_name, rma.customer_email, rma.number)
        serials.hand_over(session, move, customer, now)
        carrier = shipment.carrier
        replacement.status = ReplacementStatus.SHIPPED
        replacement.carrier, replacement.tracking_number = carrier, shipment.tracking_number
        replacement.shipped_at, replacement.shipped_by = now, actor
        rma.note(
            "replacement",
            actor,
            N_(
                "Replacement %(qty)s x %(sku)s shipped: %(carrier)s %(tracking_number)s",
                qty=replacement.qty,
                sku=replacement.sku,
                carrier=carrier,
                tracking_number=shipment.tracking_number,
            ),
            now,
        )
        if rma.replacements_settled:
            rma.resolve(now)
        if self.ctx.messages:
            self.ctx.messages.to_customer(
                session,
                rma,
                "replacement_shipped",
                step=str(replacement.id),
                carrier=carrier,
                tracking_number=shipment.tracking_number,
                tracking_url=self.ctx.addresses.tracking_url(carrier, shipment.tracking_number),
                sku=replacement.sku,
                qty=replacement.qty,
            )
        # Events the carrier sent before the parcel was registered apply now.
        self.ctx.carriers.apply_waiting_events(session, shipment)

    # --- the returned parcel ---------------------------------------------------------------

    def receive(
        self, actor: str, number: str, command: ReceiveParcel, *, supervisor: bool = False
    ) -> RmaDetail:
        """Book the returned parcel in: each line into the returns location, through the ledger.

        A refund still waiting for the carrier's pickup scan is held for a supervisor: booking
        in is a person's word, not the carrier's (unless that person is a supervisor)."""
        with UnitOfWork(self.ctx.session_factory) as uow:
            session = uow.session
            rma = load_rma(session, number, lock=True, step="warehouse")
            now = self.ctx.clock.now()
            rma.move_to(RmaStatus.RECEIVED, actor, command.note or N_("Parcel received"), now)
            who = ledger.Who(actor, self.ctx.clock)
            by_sku = {line.sku.casefold(): line for line in rma.lines}
            wrong = []
            for index, received in enumerate([] if command.empty else command.lines):
                line = by_sku.get(received.sku.casefold())
                if line is None:
                    wrong.append(received.sku)
                    continue
                if line.received_qty + received.qty > line.qty:
                    raise InvalidInput(
                        f"lines.{index}.qty",
                        N_(
                            "Only %(value)s more of %(sku)s expected.",
                            value=line.qty - line.received_qty,
                            sku=line.sku,
                        ),
                    )
                ledger.receive(
                    session,
                    who,
                    sku=line.sku,
                    location=self.ctx.policy.returns_location,
                    qty=received.qty,
                    reference=rma.number,
                    reason="customer return",
                    serials=self._returned_serials(session, line, received.serial),
                )
                line.received_qty += received.qty
                line.condition = received.condition
                if line.serial and received.serial:
                    line.serial_matches = line.serial.strip() == received.serial.strip()
            if rma.refund_status is RefundStatus.AWAITING_PICKUP:
                self._booked_in_before_pickup(session, rma, actor, supervisor=supervisor)
            refunded = rma.refund_status in REFUND_UNDER_WAY
            nothing_back = not any(line.received_qty for line in rma.lines)
            if refunded and (command.empty or wrong or nothing_back):
                text = (
                    N_("Refunded, but the parcel held empty")
                    if command.empty or not wrong
                    else N_(
                        "Refunded, but the parcel held the wrong item (%(skus)s)",
                        skus=", ".join(wrong),
                    )
                )
                rma.move_to(RmaStatus.DISPUTED, actor, text, now)
            if self.ctx.messages:
                self.ctx.messages.to_customer(session, rma, "received")
            uow.commit()
            return rma_detail(session, number, self.ctx.clock.now().date())

    @staticmethod
    def _returned_serials(session: Session, line: RmaLine, scanned: str | None) -> tuple[str, ...]:
        """A serialised part comes back by serial: the one scanned, else the one the RMA
        named (the ledger refuses a receipt that names too few)."""
        part = session.get(Part, line.part_id)
        if part is None or not part.serialised:
            return ()
        return serials.parse_serials(scanned or line.serial)

    def _booked_in_before_pickup(
        self, session: Session, rma: Rma, actor: str, *, supervisor: bool
    ) -> None:
        """No carrier scan proved the pickup; only a person says the parcel is here. A
        supervisor's word releases the refund (within the limits), anyone else's holds it
        until a supervisor or the carrier's own scan confirms."""
        if supervisor:
            self.refunds.release(session, rma, actor, N_("parcel received"))
            self.refunds.audit_release(
                session, rma, actor, "parcel booked in", "parcel booked in by an admin"
            )
            return
        self.refunds.hold_by_hand(
            session,
            rma,
            actor,
            filled(BOOKED_IN_HOLD, who=actor),
            "parcel booked in before any carrier pickup scan",
            cause="parcel booked in",
        )

    def inspect(self, actor: str, number: str, command: InspectParcel) -> RmaDetail:
        """Decide what becomes of each received line; each decision is a ledger move."""
        with UnitOfWork(self.ctx.session_factory) as uow:
            session = uow.session
            rma = load_rma(session, number, lock=True, step="warehouse")
            if rma.status is not RmaStatus.RECEIVED:
                raise IllegalTransition(rma.number, rma.status.value, RmaStatus.INSPECTED.value)
            who = ledger.Who(actor, self.ctx.clock)
            by_sku = {line.sku.casefold(): line for line in rma.lines}
            for index, decision in enumerate(command.lines):
                line = by_sku.get(decision.sku.casefold())
                if line is None or line.received_qty == 0:
                    raise InvalidInput(
                        f"lines.{index}.sku",
                        N_(
                            "%(sku)s was not received on %(number)s.",
                            sku=decision.sku,
                            number=rma.number,
                        ),
                    )
                self._dispose(
                    session, who, rma, line, decision.disposition, decision.location, index
                )
            rma.move_to(RmaStatus.INSPECTED, actor, _outcomes(rma), self.ctx.clock.now())
            if self.ctx.messages:
                self.ctx.messages.to_customer(
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
            return rma_detail(session, number, self.ctx.clock.now().date())

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
        source, qty = self.ctx.policy.returns_location, line.received_qty
        if disposition is Disposition.RESTOCK and not location:
            raise InvalidInput(
                f"lines.{index}.location", N_("Restocking needs the bin to put the part in.")
            )
        if disposition is Disposition.RESTOCK:
            destination, why = location, "restocked after inspection"
        elif disposition in (Disposition.QUARANTINE, Disposition.REFURBISH):
            destination = location or self.ctx.policy.quarantine_location
            why = f"{disposition.value} after inspection"
        else:  # scrap, or back to the supplier under a claim: it leaves our stock
            destination, why = None, disposition.value.replace("_", " ")
        unit_serials: list[str] = []
        part = session.get(Part, line.part_id)
        if part is not None and part.serialised:
            returns_location = ledger.location_by_code(session, source)
            unit_serials = serials.received_on(session, part.id, returns_location.id, rma.number)
        if destination:
            ledger.transfer(
                session,
                who,
                sku=line.sku,
                qty=qty,
                reference=rma.number,
                reason=why,
                from_location=source,
                to_location=destination,
                serials=unit_serials,
            )
        else:
            move = ledger.issue(
                session,
                who,
                sku=line.sku,
                qty=qty,
                reference=rma.number,
                reason=why,
                location=source,
                serials=unit_serials,
            )
            if disposition is Disposition.SCRAP:
                serials.scrap(session, move)
        if disposition is Disposition.RETURN_TO_VENDOR:
            part = session.get(Part, line.part_id)
            rma.claims.add(
                SupplierClaim(
                    line_id=line.id,
                    part_id=line.part_id,
                    supplier_id=part.supplier_id if part else None,
                    sku=line.sku,
                    qty=qty,
                    # The claim goes to the vendor: the customer's words, not who they are.
                    fault=scrub(rma.description, known_details(rma)) or "",
                    status=ClaimStatus.OPEN.value,
                    created_by=who.actor,
                    created_at=self.ctx.clock.now(),
                    events=[opened_claim_event(who.actor, self.ctx.clock.now(), rma.number)],
                )
            )
            text = N_("Supplier claim opened for %(qty)s x %(sku)s", qty=qty, sku=line.sku)
            rma.note("supplier_claim", who.actor, text, self.ctx.clock.now())
        line.disposition = disposition


def _outcomes(rma: Rma) -> Message:
    """ "SKU: restock; SKU-2: scrap": each part's disposition, a code the page shows as its label
    (numbered ``disposition_<n>`` parameters; the template is only punctuation)."""
    decided = [line for line in rma.lines if line.disposition]
    template = "; ".join(f"%(sku_{n})s: %(disposition_{n})s" for n in range(len(decided)))
    params: dict[str, str] = {}
    for n, line in enumerate(decided):
        assert line.disposition is not None
        params[f"sku_{n}"], params[f"disposition_{n}"] = line.sku, line.disposition.value
    return Message(template, params)
