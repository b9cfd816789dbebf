"""Returns opened from a sales order: the lines, prices, serials, dates, payment and customer
come from the order (sales/), not from what someone types.

What can still come back is counted per SKU over the order's units in line order: each unit
already on a live RMA of the order (anything but rejected, cancelled or expired) is taken, by
its serial where the RMA named one, else the first one free. The order's row is locked while
a return is opened, so two returns racing for the last unit cannot both have it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import UnitOfWork
from core.errors import N_, InvalidInput, NotFound
from returns.commands import Customer, CustomerAddress, OpenRma, ReturnLine
from returns.context import ReturnsContext
from returns.intake import Intake
from returns.policy import ReturnPolicy
from returns.queries import rma_detail
from returns.rma import WARRANTY_REASONS, Rma, RmaLine, months_later
from returns.status import Channel, Priority, Reason, Resolution, RmaStatus
from returns.views import RmaDetail
from sales.models import SalesOrder
from sales.orders import OrderView, order_view

#: RMAs whose units are not coming back (so they can be returned again).
ENDED_WITHOUT_RETURN = (RmaStatus.REJECTED, RmaStatus.CANCELLED, RmaStatus.EXPIRED)


@dataclass(frozen=True)
class OrderReturnLine:
    sku: str
    qty: int
    #: The serials of units sent back; units without one are the first still returnable.
    serials: tuple[str, ...] = ()


@dataclass(frozen=True)
class OpenRmaFromOrder:
    order_number: str
    lines: tuple[OrderReturnLine, ...]
    reason: Reason
    resolution: Resolution
    channel: Channel
    priority: Priority = Priority.MEDIUM
    description: str = ""
    #: A Babel locale id for the customer's messages; None: the default language.
    language: str | None = None
    override_reason: str | None = None
    #: Where the customer is now, when not at the order's delivery address.
    address: CustomerAddress | None = None
    vip: bool = False


@dataclass(frozen=True)
class ReturnableLine:
    sku: str
    ordered_qty: int
    returned_qty: int
    returnable_qty: int
    unit_price: Decimal
    #: The serials shipped that have not come back (or are not on their way).
    serials: tuple[str, ...]
    #: The last day a change of mind is accepted, and the last day of the part's warranty.
    window_ends: date
    warranty_ends: date


@dataclass(frozen=True)
class ReturnableOrder:
    order: OrderView
    #: The day the return window and the warranty count from: shipped, else ordered.
    purchase_date: date
    lines: tuple[ReturnableLine, ...]

    def accepts(self, line: ReturnableLine, reason: Reason, today: date) -> bool:
        """A defect is judged by the warranty, anything else by the return window."""
        if reason in WARRANTY_REASONS:
            return today <= line.warranty_ends
        return today <= line.window_ends


@dataclass(frozen=True)
class RequestedLine:
    """A line of ``POST /api/v1/returns``: priced for a typed RMA, bare for an order's."""

    sku: str
    qty: int
    unit_price: Decimal | None = None
    serial: str | None = None
    serials: tuple[str, ...] = ()
    ordered_qty: int | None = None


@dataclass(frozen=True)
class ReturnRequest:
    """What ``POST /api/v1/returns`` asks: an RMA from a stored order when ``order_number``
    names one (the order gives customer, prices, serials, dates and payment), else an RMA as
    typed (every field given, as before orders were kept)."""

    channel: Channel
    lines: tuple[RequestedLine, ...]
    reason: Reason
    resolution: Resolution
    customer: Customer | None = None
    priority: Priority = Priority.MEDIUM
    order_number: str | None = None
    payment_reference: str | None = None
    purchase_date: date | None = None
    description: str = ""
    override_reason: str | None = None


#: What a stored order says itself, so a request may not say it too.
FROM_THE_ORDER = ("payment_reference", "purchase_date")
FROM_THE_ORDER_LINE = ("unit_price", "ordered_qty")


@dataclass
class _Unit:
    price: Decimal
    serial: str | None


class ReturnsFromOrders:
    def __init__(self, ctx: ReturnsContext, intake: Intake):
        self.ctx = ctx
        self.intake = intake

    def returnable(self, number: str) -> ReturnableOrder:
        """What of the order can still come back, with each line's window and warranty."""
        with UnitOfWork(self.ctx.session_factory) as uow:
            order = _order(uow.session, number, lock=False)
            return returnable_in(uow.session, order, self.ctx.policy)

    def open(self, actor: str, command: OpenRmaFromOrder, *, supervisor: bool = False) -> RmaDetail:
        with UnitOfWork(self.ctx.session_factory) as uow:
            rma = self.open_in(uow.session, actor, command, supervisor=supervisor)
            uow.commit()
            return rma_detail(uow.session, rma.number, self.ctx.clock.now().date())

    def open_in(
        self, session: Session, actor: str, command: OpenRmaFromOrder, *, supervisor: bool = False
    ) -> Rma:
        """The RMA opened inside the caller's transaction (the portal adds its status link and
        photos in the same one)."""
        order = _order(session, command.order_number, lock=True)
        if order.currency.lower() != self.ctx.policy.currency.lower():
            raise InvalidInput(
                "order_number",
                N_(
                    "The order is in %(currency)s; returns are refunded in %(value)s.",
                    currency=order.currency,
                    value=self.ctx.policy.currency.upper(),
                ),
                code="order_currency",
            )
        lines = _take(_free_units(session, order), command.lines)
        open_rma = _open_command(order, command, lines)
        self.intake.check(open_rma, supervisor=supervisor)
        return self.intake.open_in(session, actor, open_rma)

    def open_request(
        self, actor: str, request: ReturnRequest, *, supervisor: bool = False
    ) -> RmaDetail:
        """Open the RMA a request asks for: from the stored order it names, or as typed."""
        if request.order_number and self._stored(request.order_number):
            return self.open(actor, _from_order_command(request), supervisor=supervisor)
        return self.intake.open(actor, _typed_command(request), supervisor=supervisor)

    def _stored(self, number: str) -> bool:
        with UnitOfWork(self.ctx.session_factory) as uow:
            found = uow.session.scalar(
                select(SalesOrder.id).where(SalesOrder.number == number.strip())
            )
            return found is not None


def returnable_in(session: Session, order: SalesOrder, policy: ReturnPolicy) -> ReturnableOrder:
    """What of ``order`` can still come back, inside the caller's transaction."""
    return _returnable(order, _free_units(session, order), policy)


def _from_order_command(request: ReturnRequest) -> OpenRmaFromOrder:
    """Refuses what the stored order says itself, rather than ignoring a different value."""
    for name in FROM_THE_ORDER:
        if getattr(request, name) is not None:
            raise InvalidInput(
                name,
                N_(
                    "Order %(order_number)s is stored: its %(name)s comes from the order;"
                    " leave it out.",
                    order_number=request.order_number,
                    name=name,
                ),
                code="given_by_order",
            )
    for index, line in enumerate(request.lines):
        for name in FROM_THE_ORDER_LINE:
            if getattr(line, name) is not None:
                raise InvalidInput(
                    f"lines.{index}.{name}",
                    N_(
                        "Order %(order_number)s is stored: the %(name)s comes from the order;"
                        " send only sku, qty and serials.",
                        order_number=request.order_number,
                        name=name,
                    ),
                    code="given_by_order",
                )
    customer = request.customer
    return OpenRmaFromOrder(
        order_number=request.order_number or "",
        lines=tuple(
            OrderReturnLine(
                sku=line.sku,
                qty=line.qty,
                serials=tuple(dict.fromkeys((*line.serials, *filter(None, [line.serial])))),
            )
            for line in request.lines
        ),
        reason=request.reason,
        resolution=request.resolution,
        channel=request.channel,
        priority=request.priority,
        description=request.description,
        language=customer.language if customer else None,
        override_reason=request.override_reason,
        address=customer.address if customer else None,
        vip=customer.vip if customer else False,
    )


def _typed_command(request: ReturnRequest) -> OpenRma:
    """The RMA as typed: the customer and each line's price are then required."""
    if request.customer is None:
        raise InvalidInput(
            "customer",
            N_("Give the customer: the order number names no stored order."),
            code="validation_error",
        )
    lines = []
    for index, line in enumerate(request.lines):
        if line.unit_price is None:
            raise InvalidInput(
                f"lines.{index}.unit_price",
                N_("Give the price paid: the order number names no stored order."),
                code="validation_error",
            )
        if len(line.serials) > 1 or (line.serials and line.serial):
            raise InvalidInput(
                f"lines.{index}.serials",
                N_("One serial per line (serial) when the RMA is typed."),
                code="validation_error",
            )
        lines.append(
            ReturnLine(
                sku=line.sku,
                qty=line.qty,
                unit_price=line.unit_price,
                serial=line.serial or next(iter(line.serials), None),
                ordered_qty=line.ordered_qty,
            )
        )
    return OpenRma(
        customer=request.customer,
        channel=request.channel,
        lines=tuple(lines),
        reason=request.reason,
        resolution=request.resolution,
        priority=request.priority,
        order_number=request.order_number,
        payment_reference=request.payment_reference,
        purchase_date=request.purchase_date,
        description=request.description,
        override_reason=request.override_reason,
    )


def purchase_date(order: SalesOrder | OrderView) -> date:
    return (order.shipped_at or order.ordered_at).date()


def _order(session: Session, number: str, *, lock: bool) -> SalesOrder:
    statement = select(SalesOrder).where(SalesOrder.number == number.strip())
    order = session.scalars(statement.with_for_update() if lock else statement).one_or_none()
    if order is None:
        raise NotFound(N_("No order %(number)s.", number=number), code="order_not_found")
    return order


def _free_units(session: Session, order: SalesOrder) -> dict[str, list[_Unit]]:
    """The order's units per SKU in line order, less those on live RMAs of the order."""
    units: dict[str, list[_Unit]] = defaultdict(list)
    for line in order.lines:
        serials = [serial for serial in line.serials.split("\n") if serial]
        for index in range(line.qty):
            serial = serials[index] if index < len(serials) else None
            units[line.sku].append(_Unit(line.unit_price, serial))
    returned = session.execute(
        select(RmaLine.sku, RmaLine.qty, RmaLine.serial)
        .join(Rma, Rma.id == RmaLine.rma_id)
        .where(Rma.order_number == order.number, Rma.status.not_in(ENDED_WITHOUT_RETURN))
        .order_by(RmaLine.id)
    ).all()
    # Units returned by serial first, so a count-only return cannot take a named unit.
    for sku, qty, serial in sorted(returned, key=lambda row: row.serial is None):
        free = units.get(sku, [])
        for _ in range(qty):
            named = next((unit for unit in free if serial and unit.serial == serial), None)
            if named is None:
                named = next((unit for unit in free if unit.serial is None), None)
            if named is None and free:
                named = free[0]
            if named is not None:
                free.remove(named)
    return units


def _returnable(
    order: SalesOrder, free: dict[str, list[_Unit]], policy: ReturnPolicy
) -> ReturnableOrder:
    start = purchase_date(order)
    ordered: dict[str, int] = defaultdict(int)
    first_price: dict[str, Decimal] = {}
    for line in order.lines:
        ordered[line.sku] += line.qty
        first_price.setdefault(line.sku, line.unit_price)
    lines = []
    for sku, qty in ordered.items():
        units = free.get(sku, [])
        lines.append(
            ReturnableLine(
                sku=sku,
                ordered_qty=qty,
                returned_qty=qty - len(units),
                returnable_qty=len(units),
                unit_price=units[0].price if units else first_price[sku],
                serials=tuple(unit.serial for unit in units if unit.serial),
                window_ends=start + timedelta(days=policy.return_window_days),
                warranty_ends=months_later(start, policy.warranty_for(sku)),
            )
        )
    return ReturnableOrder(order=order_view(order), purchase_date=start, lines=tuple(lines))


def _take(
    free: dict[str, list[_Unit]], wanted: tuple[OrderReturnLine, ...]
) -> tuple[ReturnLine, ...]:
    """The RMA lines for the units asked for: one line per serial, one per price otherwise."""
    if not wanted:
        raise InvalidInput("lines", N_("Say what comes back: at least one line."))
    taken: list[tuple[str, _Unit]] = []
    for index, line in enumerate(wanted):
        units = free.get(line.sku)
        if units is None:
            raise InvalidInput(
                f"lines.{index}.sku",
                N_("%(sku)s is not on the order.", sku=line.sku),
                code="not_on_order",
            )
        if line.qty <= 0:
            raise InvalidInput(f"lines.{index}.qty", N_("Return at least one unit."))
        if line.qty > len(units):
            raise InvalidInput(
                f"lines.{index}.qty",
                N_(
                    "Only %(value)s of %(sku)s can still be returned on this order.",
                    value=len(units),
                    sku=line.sku,
                ),
                code="qty_above_returnable",
                returnable=len(units),
            )
        if len(line.serials) > line.qty:
            raise InvalidInput(
                f"lines.{index}.serials", N_("More serials than units returned."), code="serials"
            )
        for serial in line.serials:
            unit = next((unit for unit in units if unit.serial == serial), None)
            if unit is None:
                raise InvalidInput(
                    f"lines.{index}.serials",
                    N_(
                        "Serial %(serial)s was not shipped on this order, or is already returned.",
                        serial=serial,
                    ),
                    code="serial_not_on_order",
                )
            units.remove(unit)
            taken.append((line.sku, unit))
        for _ in range(line.qty - len(line.serials)):
            taken.append((line.sku, units.pop(0)))
    by_price: dict[tuple[str, Decimal], int] = defaultdict(int)
    lines = []
    for sku, unit in taken:
        if unit.serial:
            lines.append(ReturnLine(sku=sku, qty=1, unit_price=unit.price, serial=unit.serial))
        else:
            by_price[(sku, unit.price)] += 1
    lines += [
        ReturnLine(sku=sku, qty=qty, unit_price=price) for (sku, price), qty in by_price.items()
    ]
    return tuple(lines)


def _open_command(
    order: SalesOrder, command: OpenRmaFromOrder, lines: tuple[ReturnLine, ...]
) -> OpenRma:
    view = order_view(order)
    return OpenRma(
        customer=Customer(
            name=order.customer_name,
            email=order.customer_email,
            phone=order.customer_phone,
            vip=command.vip,
            language=command.language,
            address=command.address or view.address,
        ),
        channel=command.channel,
        lines=lines,
        reason=command.reason,
        resolution=command.resolution,
        priority=command.priority,
        order_number=order.number,
        payment_reference=order.payment_reference,
        purchase_date=purchase_date(order),
        description=command.description,
        override_reason=command.override_reason,
    )
