"""Sales orders: create or update by number (idempotent), read one, find one for a customer.

An order is the customer's word on what they bought; returns check against it. Feeds send the
whole order each time (the API, a workbook, Shopify's webhooks), so an update replaces the
order's fields and lines with what was sent. A repeated request changes nothing.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import IO

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.addresses import ADDRESS_LENGTHS, PostalAddress, address_problems, normalise_postcode
from core.clock import Clock
from core.db import UnitOfWork
from core.errors import N_, InvalidInput, NotFound
from core.spreadsheets import SpreadsheetRejected, UploadLimits, rejected
from sales.commands import UpsertOrder
from sales.models import OrderSource, SalesOrder, SalesOrderLine

MAX_LINES = 500
#: Units on one order: returns count them one by one (serials), so a typo of 10**9 is refused.
MAX_UNITS = 100_000

#: Told, inside the transaction, about an order stored with its shipped serials: the wiring
#: (bootstrap) links those units to the customer in the serial table, which sales cannot import.
ShippedUnits = Callable[[Session, SalesOrder], None]


@dataclass(frozen=True)
class OrderLineView:
    position: int
    sku: str
    qty: int
    unit_price: Decimal
    serials: tuple[str, ...]
    external_id: str | None


@dataclass(frozen=True)
class OrderView:
    number: str
    channel: str
    source: OrderSource
    external_id: str | None
    customer_name: str
    customer_email: str
    customer_phone: str | None
    address: PostalAddress | None
    ordered_at: datetime
    shipped_at: datetime | None
    payment_reference: str | None
    currency: str
    lines: tuple[OrderLineView, ...]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class OrderRow:
    """An order in a list (the desk's search, ``GET /api/v1/orders``)."""

    id: int
    number: str
    channel: str
    source: OrderSource
    customer_name: str
    customer_email: str
    ordered_at: datetime
    shipped_at: datetime | None
    currency: str


@dataclass(frozen=True)
class OrderSearch:
    """``email``: the customer's, any case; ``text``: part of the number, name or e-mail;
    ``after``: the id the previous page ended on."""

    email: str | None = None
    text: str | None = None
    after: int | None = None
    limit: int = 50


@dataclass(frozen=True)
class SavedOrder:
    order: OrderView
    #: False when an order with this number was already stored (updated, or a repeat).
    created: bool


def normalise_email(value: str) -> str:
    return value.strip().lower()


def check_order(command: UpsertOrder) -> None:
    """The rules an order must meet whatever fed it (the API's schema checks shapes first)."""
    if not command.number.strip():
        raise InvalidInput("number", N_("An order needs its number."))
    if not command.customer.name.strip():
        raise InvalidInput("customer.name", N_("An order needs the customer's name."))
    if "@" not in command.customer.email:
        raise InvalidInput("customer.email", N_("An order needs the customer's e-mail address."))
    if len(command.currency) != 3 or not command.currency.isalpha():
        raise InvalidInput("currency", N_("The currency is a three-letter ISO 4217 code."))
    if not command.lines:
        raise InvalidInput("lines", N_("An order has at least one line."))
    if len(command.lines) > MAX_LINES:
        raise InvalidInput(
            "lines", N_("An order has at most %(MAX_LINES)s lines.", MAX_LINES=MAX_LINES)
        )
    for index, line in enumerate(command.lines):
        if not line.sku.strip():
            raise InvalidInput(f"lines.{index}.sku", N_("Each line needs a SKU."))
        if line.qty <= 0:
            raise InvalidInput(f"lines.{index}.qty", N_("Each line's quantity is at least 1."))
        if line.unit_price < 0:
            raise InvalidInput(f"lines.{index}.unit_price", N_("A price cannot be negative."))
        if len(line.serials) > line.qty:
            raise InvalidInput(
                f"lines.{index}.serials", N_("A line cannot ship more serials than its quantity.")
            )
    if sum(line.qty for line in command.lines) > MAX_UNITS:
        raise InvalidInput(
            "lines",
            N_(
                "An order has at most %(MAX_UNITS)s units in all.", MAX_UNITS=format(MAX_UNITS, ",")
            ),
        )
    if command.shipped_at is not None and command.shipped_at < command.ordered_at:
        raise InvalidInput("shipped_at", N_("An order cannot ship before it was placed."))
    address = command.customer.address
    if address is not None:
        problems = address_problems(address.as_mapping())
        if problems:
            field, code = next(iter(problems.items()))
            raise InvalidInput(
                f"customer.address.{field}",
                N_("The address's %(field)s is not valid (%(code)s).", field=field, code=code),
                code="invalid_address",
                problems=problems,
            )


def upsert_in(
    session: Session,
    command: UpsertOrder,
    now: datetime,
    shipped_units: ShippedUnits | None = None,
) -> SalesOrder:
    """Create the order, or bring the stored one up to date, inside the caller's transaction.

    Two feeds racing to create the same new number: the loser's insert fails on the unique
    number inside a savepoint, and it updates the winner's row instead.
    """
    check_order(command)
    number = command.number.strip()
    order = _locked(session, number)
    if order is None:
        try:
            with session.begin_nested():
                order = SalesOrder(number=number, created_at=now, lines=[])
                _apply(order, command, now)
                session.add(order)
            _tell_shipped(session, order, shipped_units)
            return order
        except IntegrityError:
            order = _locked(session, number)
            if order is None:  # pragma: no cover - the conflict was on another constraint
                raise
    if _older_than_stored(order, command):
        return order  # a late copy of an older version of the order (webhooks reorder)
    _apply(order, command, now)
    session.flush()
    _tell_shipped(session, order, shipped_units)
    return order


def _tell_shipped(session: Session, order: SalesOrder, shipped: ShippedUnits | None) -> None:
    if shipped is not None and any(line.serials for line in order.lines):
        shipped(session, order)


def _older_than_stored(order: SalesOrder, command: UpsertOrder) -> bool:
    stored, sent = order.provider_updated_at, command.provider_updated_at
    return stored is not None and sent is not None and sent < stored


def _locked(session: Session, number: str) -> SalesOrder | None:
    return session.scalars(
        select(SalesOrder).where(SalesOrder.number == number).with_for_update()
    ).one_or_none()


def _apply(order: SalesOrder, command: UpsertOrder, now: datetime) -> None:
    before = _snapshot(order)
    _apply_fields(order, command)
    if order.updated_at is None or _snapshot(order) != before:
        order.updated_at = now  # a repeated feed leaves the order as it was, times included


def _snapshot(order: SalesOrder) -> tuple[object, ...]:
    columns = tuple(getattr(order, column.key) for column in SalesOrder.__table__.columns)
    lines = tuple(
        (line.sku, line.qty, line.unit_price, line.serials, line.external_id)
        for line in order.lines
    )
    return (*columns, lines)


def _apply_fields(order: SalesOrder, command: UpsertOrder) -> None:
    customer = command.customer
    order.channel = command.channel.strip().lower() or "unknown"
    order.source = command.source
    order.external_id = command.external_id
    order.customer_name = customer.name.strip()
    order.customer_email = normalise_email(customer.email)
    order.customer_phone = customer.phone
    address = customer.address.as_mapping() if customer.address else {}
    for field in ADDRESS_LENGTHS:
        value = (address.get(field) or "").strip() or None
        if field == "postcode" and value:
            value = normalise_postcode(value)
        if field == "country" and value:
            value = value.upper()
        setattr(order, f"address_{field}", value)
    order.ordered_at = command.ordered_at
    order.shipped_at = command.shipped_at
    order.payment_reference = command.payment_reference
    order.currency = command.currency.upper()
    order.provider_updated_at = command.provider_updated_at or order.provider_updated_at
    wanted = [
        (line.sku.strip(), line.qty, line.unit_price, "\n".join(line.serials), line.external_id)
        for line in command.lines
    ]
    current = [
        (line.sku, line.qty, line.unit_price, line.serials, line.external_id)
        for line in order.lines
    ]
    if wanted != current:  # a repeated feed leaves the lines alone
        # Rewritten in place, position by position: deleting and re-inserting would put the
        # inserts before the deletes in one flush, against the unique (order, position).
        del order.lines[len(wanted) :]
        for position, (sku, qty, price, serials, external_id) in enumerate(wanted, start=1):
            if position > len(order.lines):
                order.lines.append(SalesOrderLine(position=position))
            line = order.lines[position - 1]
            line.sku, line.qty, line.unit_price = sku, qty, price
            line.serials, line.external_id = serials, external_id


def order_view(order: SalesOrder) -> OrderView:
    address = None
    if order.address_street:
        address = PostalAddress(
            **{field: getattr(order, f"address_{field}") or "" for field in ADDRESS_LENGTHS}
        )
    return OrderView(
        number=order.number,
        channel=order.channel,
        source=order.source,
        external_id=order.external_id,
        customer_name=order.customer_name,
        customer_email=order.customer_email,
        customer_phone=order.customer_phone,
        address=address,
        ordered_at=order.ordered_at,
        shipped_at=order.shipped_at,
        payment_reference=order.payment_reference,
        currency=order.currency,
        lines=tuple(
            OrderLineView(
                position=line.position,
                sku=line.sku,
                qty=line.qty,
                unit_price=line.unit_price,
                serials=tuple(s for s in line.serials.split("\n") if s),
                external_id=line.external_id,
            )
            for line in order.lines
        ),
        created_at=order.created_at,
        updated_at=order.updated_at,
    )


def customer_matches(order: OrderView, *, email: str | None, postcode: str | None) -> bool:
    """The portal's proof that the customer placed the order: its e-mail (any case) or its
    postcode (any spacing), compared in constant time."""
    if email:
        return hmac.compare_digest(normalise_email(email).encode(), order.customer_email.encode())
    if postcode and order.address and order.address.postcode:
        return hmac.compare_digest(
            normalise_postcode(postcode).replace(" ", "").encode(),
            order.address.postcode.replace(" ", "").encode(),
        )
    return False


@dataclass(frozen=True)
class ImportSummary:
    created: int
    updated: int
    unchanged: int


def _same_order(before: OrderView, after: OrderView) -> bool:
    """Equal in everything the feed sends (the times of our own bookkeeping aside)."""
    return replace(before, updated_at=after.updated_at) == after


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class Orders:
    """The sales-order use cases, each one transaction."""

    def __init__(
        self,
        session_factory: Callable[[], Session],
        clock: Clock,
        shipped_units: ShippedUnits | None = None,
    ):
        self.session_factory = session_factory
        self.clock = clock
        self.shipped_units = shipped_units

    def upsert(self, command: UpsertOrder) -> OrderView:
        with UnitOfWork(self.session_factory) as uow:
            order = upsert_in(uow.session, command, self.clock.now(), self.shipped_units)
            view = order_view(order)
            uow.commit()
        return view

    def save(self, command: UpsertOrder) -> SavedOrder:
        """Like :meth:`upsert`, saying whether the order is new (the API answers 201 or 200)."""
        with UnitOfWork(self.session_factory) as uow:
            existed = uow.session.scalar(
                select(SalesOrder.id).where(SalesOrder.number == command.number.strip())
            )
            order = upsert_in(uow.session, command, self.clock.now())
            view = order_view(order)
            uow.commit()
        return SavedOrder(view, created=existed is None)

    def search(self, wanted: OrderSearch) -> list[OrderRow]:
        """Newest first (keyset on id), one query."""
        query = select(
            SalesOrder.id,
            SalesOrder.number,
            SalesOrder.channel,
            SalesOrder.source,
            SalesOrder.customer_name,
            SalesOrder.customer_email,
            SalesOrder.ordered_at,
            SalesOrder.shipped_at,
            SalesOrder.currency,
        )
        if wanted.email and wanted.email.strip():
            query = query.where(SalesOrder.customer_email == normalise_email(wanted.email))
        if wanted.text and wanted.text.strip():
            needle = "%" + _escape_like(wanted.text.strip().casefold()) + "%"
            query = query.where(
                func.lower(SalesOrder.number).like(needle, escape="\\")
                | func.lower(SalesOrder.customer_name).like(needle, escape="\\")
                | SalesOrder.customer_email.like(needle, escape="\\")
            )
        if wanted.after is not None:
            query = query.where(SalesOrder.id < wanted.after)
        query = query.order_by(SalesOrder.id.desc()).limit(wanted.limit)
        with UnitOfWork(self.session_factory) as uow:
            return [OrderRow(**row._mapping) for row in uow.session.execute(query)]

    def get(self, number: str) -> OrderView:
        view = self.find(number)
        if view is None:
            raise NotFound(N_("No order %(number)s.", number=number), code="order_not_found")
        return view

    def import_workbook(self, data: bytes, limits: UploadLimits | None = None) -> ImportSummary:
        """Every order in the workbook created or updated, in one transaction; any problem in
        any row refuses the whole file (SpreadsheetRejected lists them all)."""
        from sales.order_workbook import read_orders_workbook  # it imports the rules from here

        orders, problems = read_orders_workbook(data, limits or UploadLimits())
        if problems:
            problems.sort(key=lambda problem: (problem.sheet or "", problem.row or 0))
            raise SpreadsheetRejected(problems)
        if not orders:
            raise rejected("no_orders", N_("The workbook has no order rows."))
        counts = {"created": 0, "updated": 0, "unchanged": 0}
        with UnitOfWork(self.session_factory) as uow:
            now = self.clock.now()
            for order in orders:
                before = self._snapshot(uow.session, order.command.number)
                after = order_view(upsert_in(uow.session, order.command, now, self.shipped_units))
                if before is None:
                    counts["created"] += 1
                elif _same_order(before, after):
                    counts["unchanged"] += 1
                else:
                    counts["updated"] += 1
            uow.commit()
        return ImportSummary(**counts)

    def export_workbook(self, stream: IO[bytes], *, template: bool = False) -> int:
        """The stored orders (newest first) as an orders workbook; ``template``: no rows."""
        from sales.order_workbook import write_orders_workbook  # it imports the rules from here

        with UnitOfWork(self.session_factory) as uow:
            orders = [] if template else [
                order_view(order)
                for order in uow.session.scalars(
                    select(SalesOrder).order_by(SalesOrder.ordered_at.desc(), SalesOrder.id)
                )
            ]  # fmt: skip
        return write_orders_workbook(stream, orders, self.clock.now())

    @staticmethod
    def _snapshot(session: Session, number: str) -> OrderView | None:
        order = session.scalars(
            select(SalesOrder).where(SalesOrder.number == number.strip())
        ).one_or_none()
        return order_view(order) if order else None

    def find(self, number: str) -> OrderView | None:
        with UnitOfWork(self.session_factory) as uow:
            order = uow.session.scalars(
                select(SalesOrder).where(SalesOrder.number == number.strip())
            ).one_or_none()
            return order_view(order) if order else None

    def find_for_customer(
        self, number: str, *, email: str | None = None, postcode: str | None = None
    ) -> OrderView | None:
        """The order, only when the e-mail or postcode given is the order's: None otherwise,
        the same answer for a wrong number as for a wrong e-mail (no order enumeration)."""
        view = self.find(number)
        if view is None or not customer_matches(view, email=email, postcode=postcode):
            return None
        return view
