"""The returns portal: a customer with no account opens a return against their own order.

Proof of the order is its number and the e-mail (any case) or postcode on it. A wrong number
and a wrong e-mail are one answer (``order_not_found``), after the same work: the order is
always looked up and a constant-time comparison always runs (against a stand-in when there
is no order), so neither the answer nor its timing tells which one was wrong.

The return is opened through ``returns.from_orders`` (the order's prices, serials and dates)
with channel ``portal``; each line is judged by its own reason (a defect by the warranty,
anything else by the return window), the RMA's reason is the first line's, and the lines'
descriptions go into the RMA's description. The status-page link and the photos are written
in the same transaction as the RMA.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.addresses import normalise_postcode
from core.db import UnitOfWork
from core.errors import N_, InvalidInput, NotFound, filled
from inventory.models import Part
from returns.context import ReturnsContext
from returns.from_orders import (
    OpenRmaFromOrder,
    OrderReturnLine,
    ReturnableOrder,
    ReturnsFromOrders,
    returnable_in,
)
from returns.models import RmaAttachment
from returns.photos import Photo, check_count, clean_photo
from returns.rma import WARRANTY_REASONS, Rma
from returns.rma_texts import PORTAL_LINE, PORTAL_LINE_SAID
from returns.status import Channel, Reason, Resolution, RmaStatus
from returns.status_links import StatusLinks
from sales.models import SalesOrder
from sales.orders import normalise_email

#: Who opened the RMA, on its timeline and in the audit log.
PORTAL_ACTOR = "customer (returns portal)"
#: What the portal offers; a refund also needs the order's payment to refund.
PORTAL_RESOLUTIONS = (Resolution.REFUND, Resolution.REPLACEMENT)
MAX_DESCRIPTION = 2000
#: Compared with when there is no order, so both paths do the same work.
_STAND_IN = b"no-such-order@portal.invalid"
NOT_FOUND_MESSAGE = "No order matches that number with that e-mail address or postcode."


@dataclass(frozen=True)
class CustomerProof:
    order_number: str
    email: str | None = None
    postcode: str | None = None


@dataclass(frozen=True)
class PortalLine:
    sku: str
    qty: int
    reason: Reason
    description: str = ""


@dataclass(frozen=True)
class PortalReturn:
    proof: CustomerProof
    lines: tuple[PortalLine, ...]
    resolution: Resolution
    #: (file name as sent, bytes): checked and cleaned before anything is stored.
    photos: tuple[tuple[str, bytes], ...] = ()
    #: A Babel locale id for the customer's e-mails and status page.
    language: str | None = None


@dataclass(frozen=True)
class PortalLineView:
    sku: str
    name: str
    ordered_qty: int
    returnable_qty: int
    window_ends: date
    warranty_ends: date
    in_window: bool
    in_warranty: bool

    @property
    def returnable_now(self) -> bool:
        """Something can still come back for some reason today."""
        return self.returnable_qty > 0 and (self.in_window or self.in_warranty)


@dataclass(frozen=True)
class PortalOrder:
    number: str
    purchase_date: date
    lines: tuple[PortalLineView, ...]
    resolutions: tuple[Resolution, ...]


@dataclass(frozen=True)
class PortalOutcome:
    rma_number: str
    status: RmaStatus
    status_url: str
    #: The status link's token (the label download is reached with it too).
    status_token: str
    authorised: bool
    #: A prepaid label is being bought (else the customer sends with a carrier of their own).
    prepaid_label: bool
    return_address: tuple[str, ...]
    ship_by: datetime | None
    first_response_due_at: datetime | None
    photos: int


class Portal:
    def __init__(
        self,
        ctx: ReturnsContext,
        from_orders: ReturnsFromOrders,
        links: StatusLinks,
        resolutions: tuple[Resolution, ...] = PORTAL_RESOLUTIONS,
    ):
        self.ctx = ctx
        self.from_orders = from_orders
        self.links = links
        self.resolutions = resolutions

    def lookup(self, proof: CustomerProof) -> PortalOrder:
        """The order's returnable lines with their window and warranty; ``order_not_found``
        for a wrong number and a wrong e-mail or postcode alike."""
        with UnitOfWork(self.ctx.session_factory) as uow:
            order = _matching_order(uow.session, proof, lock=False)
            returnable = returnable_in(uow.session, order, self.ctx.policy)
            return self._view(uow.session, order, returnable)

    def open(self, command: PortalReturn) -> PortalOutcome:
        check_count(len(command.photos))
        photos = [clean_photo(name, data, i) for i, (name, data) in enumerate(command.photos)]
        _check_lines(command)
        now = self.ctx.clock.now()
        with UnitOfWork(self.ctx.session_factory) as uow:
            session = uow.session
            order = _matching_order(session, command.proof, lock=True)
            if command.resolution not in self._resolutions(order):
                raise InvalidInput(
                    "resolution",
                    N_("This order cannot be refunded here; choose a replacement."),
                    code="resolution_not_offered",
                )
            _check_window_and_warranty(
                returnable_in(session, order, self.ctx.policy), command, now.date()
            )
            rma = self.from_orders.open_in(session, PORTAL_ACTOR, _open_command(order, command))
            token = self.links.new_token()
            self.links.keep(session, rma, token, now)
            _attach(session, rma, photos, now)
            outcome = self._outcome(rma, token, len(photos))
            uow.commit()
        return outcome

    def _resolutions(self, order: SalesOrder) -> tuple[Resolution, ...]:
        return tuple(
            r for r in self.resolutions if r is not Resolution.REFUND or order.payment_reference
        )

    def _view(
        self, session: Session, order: SalesOrder, returnable: ReturnableOrder
    ) -> PortalOrder:
        today = self.ctx.clock.now().date()
        skus = [line.sku for line in returnable.lines]
        names = dict(session.execute(select(Part.sku, Part.name).where(Part.sku.in_(skus))).all())
        return PortalOrder(
            number=order.number,
            purchase_date=returnable.purchase_date,
            lines=tuple(
                PortalLineView(
                    sku=line.sku,
                    name=str(names.get(line.sku) or line.sku),
                    ordered_qty=line.ordered_qty,
                    returnable_qty=line.returnable_qty,
                    window_ends=line.window_ends,
                    warranty_ends=line.warranty_ends,
                    in_window=today <= line.window_ends,
                    in_warranty=today <= line.warranty_ends,
                )
                for line in returnable.lines
            ),
            resolutions=self._resolutions(order),
        )

    def _outcome(self, rma: Rma, token: str, photos: int) -> PortalOutcome:
        authorised = rma.status in (RmaStatus.AUTHORISED, RmaStatus.AWAITING_PICKUP)
        return PortalOutcome(
            rma_number=rma.number,
            status=rma.status,
            status_url=self.links.url(token),
            status_token=token,
            authorised=authorised,
            prepaid_label=authorised and bool(self.ctx.default_return_carrier),
            return_address=tuple(self.ctx.addresses.lines()) if authorised else (),
            ship_by=rma.expires_at if authorised else None,
            first_response_due_at=None if authorised else rma.first_response_due_at,
            photos=photos,
        )


def _matching_order(session: Session, proof: CustomerProof, *, lock: bool) -> SalesOrder:
    statement = select(SalesOrder).where(SalesOrder.number == proof.order_number.strip())
    order = session.scalars(statement.with_for_update() if lock else statement).one_or_none()
    if proof.email:
        given = normalise_email(proof.email).encode()
        expected = order.customer_email.encode() if order else _STAND_IN
    else:
        given = _postcode(proof.postcode or "").encode()
        stored = order.address_postcode if order else None
        # An order without a postcode matches no postcode (not even an empty one).
        expected = _postcode(stored).encode() if stored else _STAND_IN
    matches = hmac.compare_digest(given, expected)
    if order is None or not matches or not (proof.email or proof.postcode):
        raise NotFound(NOT_FOUND_MESSAGE, code="order_not_found")
    return order


def _postcode(value: str) -> str:
    return normalise_postcode(value).replace(" ", "").upper()


def _check_lines(command: PortalReturn) -> None:
    if not command.lines:
        raise InvalidInput("lines", N_("Choose at least one part to return."))
    seen: set[str] = set()
    for index, line in enumerate(command.lines):
        if line.sku in seen:
            raise InvalidInput(
                f"lines.{index}.sku", N_("Each part once, with its quantity."), code="duplicate_sku"
            )
        seen.add(line.sku)
        if len(line.description) > MAX_DESCRIPTION:
            raise InvalidInput(f"lines.{index}.description", N_("The description is too long."))


def _check_window_and_warranty(
    returnable: ReturnableOrder, command: PortalReturn, today: date
) -> None:
    """Each line by its own reason: a defect by the warranty, anything else by the window."""
    by_sku = {line.sku: line for line in returnable.lines}
    for index, wanted in enumerate(command.lines):
        line = by_sku.get(wanted.sku)
        if line is None or returnable.accepts(line, wanted.reason, today):
            continue  # not on the order: from_orders refuses it with its own code
        if wanted.reason in WARRANTY_REASONS:
            raise InvalidInput(
                f"lines.{index}.reason",
                N_(
                    "The warranty of %(sku)s ended on %(warranty_ends)s.",
                    sku=line.sku,
                    warranty_ends=line.warranty_ends.isoformat(),
                ),
                code="warranty_expired",
                ended=line.warranty_ends.isoformat(),
            )
        raise InvalidInput(
            f"lines.{index}.reason",
            N_(
                "The return window for %(sku)s ended on %(window_ends)s.",
                sku=line.sku,
                window_ends=line.window_ends.isoformat(),
            ),
            code="return_window_expired",
            ended=line.window_ends.isoformat(),
        )


def description_of(lines: tuple[PortalLine, ...]) -> str:
    """The RMA's description: each line's own words under its SKU and reason."""
    parts = []
    for line in lines:
        said = {"qty": line.qty, "sku": line.sku, "return_reason": line.reason.value}
        text = line.description.strip()
        parts.append(
            filled(PORTAL_LINE_SAID, **said, text=text) if text else filled(PORTAL_LINE, **said)
        )
    return "\n".join(parts)


def _open_command(order: SalesOrder, command: PortalReturn) -> OpenRmaFromOrder:
    return OpenRmaFromOrder(
        order_number=order.number,
        lines=tuple(OrderReturnLine(sku=line.sku, qty=line.qty) for line in command.lines),
        # One reason per RMA: the first line's (the others are in the description).
        reason=command.lines[0].reason,
        resolution=command.resolution,
        channel=Channel.PORTAL,
        description=description_of(command.lines),
        language=command.language,
    )


def _attach(session: Session, rma: Rma, photos: list[Photo], now: datetime) -> None:
    for photo in photos:
        session.add(
            RmaAttachment(
                rma_id=rma.id,
                filename=photo.filename,
                media_type=photo.media_type,
                size_bytes=len(photo.data),
                sha256=photo.sha256,
                data=photo.data,
                created_at=now,
            )
        )
    if photos:
        rma.note(
            "attachment",
            PORTAL_ACTOR,
            N_("%(value)s photo(s) from the customer", value=len(photos)),
            now,
        )


@dataclass(frozen=True)
class AttachmentInfo:
    id: int
    filename: str
    media_type: str
    size_bytes: int


class Attachments:
    """The photos of an RMA, for the desk (served to staff only)."""

    def __init__(self, session_factory: Callable[[], Session]):
        self.session_factory = session_factory

    def of(self, number: str) -> list[AttachmentInfo]:
        with UnitOfWork(self.session_factory) as uow:
            rows = uow.session.execute(
                select(
                    RmaAttachment.id,
                    RmaAttachment.filename,
                    RmaAttachment.media_type,
                    RmaAttachment.size_bytes,
                )
                .join(Rma, Rma.id == RmaAttachment.rma_id)
                .where(Rma.number == number)
                .order_by(RmaAttachment.id)
            ).all()
            return [AttachmentInfo(*row) for row in rows]

    def get(self, number: str, attachment_id: int) -> tuple[str, str, bytes]:
        with UnitOfWork(self.session_factory) as uow:
            row = uow.session.execute(
                select(RmaAttachment.filename, RmaAttachment.media_type, RmaAttachment.data)
                .join(Rma, Rma.id == RmaAttachment.rma_id)
                .where(Rma.number == number, RmaAttachment.id == attachment_id)
            ).first()
            if row is None:
                raise NotFound(
                    N_(
                        "No photo %(attachment_id)s on %(number)s.",
                        attachment_id=attachment_id,
                        number=number,
                    ),
                    code="no_attachment",
                )
            return str(row.filename), str(row.media_type), bytes(row.data)
