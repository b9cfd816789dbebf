"""Serialised units: each unit of a serialised part is named by its serial on every move.

The ledger row carries the serials it moved (``stock_moves.serials``); ``serial_units`` holds
where each unit is now (a location, or gone: with a customer, scrapped, issued) and who has
it. Both change in the ledger's transaction: :func:`checked` runs before the row is written,
:func:`follow` right after, and a unit's row only changes through a guarded ``UPDATE`` whose
``WHERE`` re-checks where the unit is, so two moves of one unit cannot both succeed.

These functions flush but never commit, like :mod:`inventory.ledger`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.orm import Session

from core.db import insert_ignoring_conflicts
from core.errors import N_, Text
from inventory.errors import SerialNotFound, SerialProblem
from inventory.models import Location, Part, SerialUnit, StockMove, sku_key
from inventory.status import MoveKind, SerialState

units = SerialUnit.__table__

#: Moves that change on hand, and so must name the units they move.
COUNTED = (
    MoveKind.RECEIPT,
    MoveKind.ISSUE,
    MoveKind.TRANSFER,
    MoveKind.ADJUSTMENT,
    MoveKind.RESERVED_ISSUE,
)


def parse_serials(text: str | Iterable[str] | None) -> tuple[str, ...]:
    """What a scanner typed (one per line) or a list: trimmed, blanks dropped, order kept."""
    if text is None:
        return ()
    lines = text.replace(",", "\n").splitlines() if isinstance(text, str) else text
    return tuple(serial.strip() for serial in lines if serial and serial.strip())


@dataclass(frozen=True)
class Customer:
    """Who a unit went to: from the sales order or the RMA."""

    name: str
    email: str
    order_number: str | None


def checked(part: Part, kind: MoveKind, qty: int, serials: Sequence[str] | None) -> tuple[str, ...]:
    """The serials a move of ``qty`` units must carry: refused unless exactly ``qty`` distinct
    ones for a serialised part, and none for another part."""
    names = parse_serials(serials)
    if not part.serialised or kind not in COUNTED or qty == 0:
        if names:
            raise SerialProblem(
                "part_not_serialised",
                N_(
                    "%(sku)s is not serialised (or this move moves no units); send no serials.",
                    sku=part.sku,
                ),
                sku=part.sku,
            )
        return ()
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        raise SerialProblem(
            "serial_duplicated",
            N_("Serial %(serial)s is named twice in one move.", serial=duplicated[0]),
            serials=duplicated,
        )
    if len(names) != qty:
        raise SerialProblem(
            "serials_required",
            N_(
                "%(sku)s is serialised: a move of %(qty)s units names %(qty)s serials "
                "(%(given)s given).",
                sku=part.sku,
                qty=qty,
                given=len(names),
            ),
            sku=part.sku,
            qty=qty,
            given=len(names),
        )
    return names


def ready_to_leave(
    session: Session, part: Part, location_id: int, qty: int, serials: Sequence[str] | None
) -> tuple[str, ...]:
    """The serials an issue of ``qty`` units from ``location_id`` would carry, checked now
    without moving anything (a label ordered before the parcel ships): the same rules as
    :func:`checked`, and each unit in stock at that location."""
    names = checked(part, MoveKind.RESERVED_ISSUE, qty, serials)
    for serial in names:
        unit = session.scalar(
            select(SerialUnit).where(SerialUnit.part_id == part.id, SerialUnit.serial == serial)
        )
        if unit is None:
            raise SerialProblem("serial_unknown", _no_unit(serial), serial=serial)
        if unit.state is not SerialState.IN_STOCK or unit.location_id != location_id:
            where = _where_is(session, part.id, serial)
            raise SerialProblem(
                "serial_not_here",
                _not_here(serial, where),
                serial=serial,
                location=where,
            )
    return names


def follow(session: Session, move: StockMove, names: Sequence[str]) -> None:
    """Bring each named unit to where ``move`` (written and flushed) put it."""
    if not names:
        return
    now = move.created_at
    for serial in names:
        if move.to_location_id is not None and move.from_location_id is None:
            _arrive(session, move, serial, now)
        else:
            _leave(session, move, serial, now)


def _arrive(session: Session, move: StockMove, serial: str, now: datetime) -> None:
    """A receipt (or a count that found it): the unit is new, or back from outside."""
    insert_ignoring_conflicts(
        session,
        units,
        {
            "part_id": move.part_id,
            "serial": serial,
            "state": SerialState.ISSUED.value,
            "location_id": None,
            "updated_at": now,
        },
    )
    result: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(units)
        .where(
            units.c.part_id == move.part_id,
            units.c.serial == serial,
            units.c.state != SerialState.IN_STOCK.value,
        )
        .values(
            state=SerialState.IN_STOCK.value,
            location_id=move.to_location_id,
            last_move_id=move.id,
            updated_at=now,
        )
    )
    if result.rowcount != 1:
        where = _where_is(session, move.part_id, serial)
        raise SerialProblem(
            "serial_in_stock",
            N_(
                "Serial %(serial)s is already in stock at %(location)s; it cannot be received "
                "again.",
                serial=serial,
                location=where,
            ),
            serial=serial,
            location=where,
        )


def _leave(session: Session, move: StockMove, serial: str, now: datetime) -> None:
    """A transfer, issue or count that lost it: the unit must be in stock where it leaves."""
    to_location = move.to_location_id if move.from_location_id is not None else None
    state = SerialState.IN_STOCK if to_location is not None else SerialState.ISSUED
    result: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(units)
        .where(
            units.c.part_id == move.part_id,
            units.c.serial == serial,
            units.c.state == SerialState.IN_STOCK.value,
            units.c.location_id == move.from_location_id,
        )
        .values(state=state.value, location_id=to_location, last_move_id=move.id, updated_at=now)
    )
    if result.rowcount == 1:
        return
    known = session.scalar(
        select(func.count()).where(units.c.part_id == move.part_id, units.c.serial == serial)
    )
    if not known:
        raise SerialProblem("serial_unknown", _no_unit(serial), serial=serial)
    where = _where_is(session, move.part_id, serial)
    raise SerialProblem(
        "serial_not_here",
        _not_here(serial, where),
        serial=serial,
        location=where,
    )


def _no_unit(serial: str) -> Text:
    return N_("No unit with serial %(serial)s.", serial=serial)


def _not_here(serial: str, where: str) -> Text:
    """A unit elsewhere: at another location (its code), or out of stock (its state, which a
    page shows by its label)."""
    if where in {state.value for state in SerialState} or where == "unknown":
        return N_(
            "Serial %(serial)s is not at the from-location; it is %(status)s.",
            serial=serial,
            status=where,
        )
    return N_(
        "Serial %(serial)s is not at the from-location; it is %(location)s.",
        serial=serial,
        location=where,
    )


def _where_is(session: Session, part_id: int, serial: str) -> str:
    row = session.execute(
        select(units.c.state, Location.code)
        .outerjoin(Location, Location.id == units.c.location_id)
        .where(units.c.part_id == part_id, units.c.serial == serial)
    ).first()
    if row is None:
        return "unknown"
    return row.code if row.code else str(row.state)


def hand_over(session: Session, move: StockMove, customer: Customer, shipped_at: datetime) -> None:
    """The units ``move`` issued went to ``customer`` (a shipment)."""
    _settle(session, move, SerialState.WITH_CUSTOMER, customer, shipped_at)


def scrap(session: Session, move: StockMove) -> None:
    """The units ``move`` issued were scrapped."""
    _settle(session, move, SerialState.SCRAPPED, None, None)


def _settle(
    session: Session,
    move: StockMove,
    state: SerialState,
    customer: Customer | None,
    shipped_at: datetime | None,
) -> None:
    values: dict[str, Any] = {"state": state.value}
    if customer is not None:
        values.update(
            customer_name=customer.name,
            customer_email=customer.email,
            order_number=customer.order_number,
            shipped_at=shipped_at,
        )
    session.execute(
        update(units)
        .where(units.c.last_move_id == move.id, units.c.state == SerialState.ISSUED.value)
        .values(**values)
    )


def link_shipped(
    session: Session,
    sku: str,
    serials: Sequence[str],
    customer: Customer,
    shipped_at: datetime,
    now: datetime,
) -> int:
    """The order feed says these units of ``sku`` shipped to ``customer``.

    A unit not known yet is recorded as with the customer; a unit outside stock is marked
    with the customer. A unit the ledger still holds in stock keeps its place: stock leaves
    only through a ledger move. Serials of a part that is not serialised (or not in the
    catalogue) stay on the order only. Returns how many units were linked."""
    part = session.scalar(select(Part).where(Part.sku_key == sku_key(sku)))
    if part is None or not part.serialised:
        return 0
    linked = 0
    for serial in parse_serials(serials):
        insert_ignoring_conflicts(
            session,
            units,
            {
                "part_id": part.id,
                "serial": serial,
                "state": SerialState.WITH_CUSTOMER.value,
                "location_id": None,
                "updated_at": now,
            },
        )
        result: CursorResult[Any] = session.execute(  # type: ignore[assignment]
            update(units)
            .where(
                units.c.part_id == part.id,
                units.c.serial == serial,
                units.c.state != SerialState.IN_STOCK.value,
            )
            .values(
                state=SerialState.WITH_CUSTOMER.value,
                customer_name=customer.name,
                customer_email=customer.email,
                order_number=customer.order_number,
                shipped_at=shipped_at,
                updated_at=now,
            )
        )
        linked += result.rowcount
    return linked


def received_on(session: Session, part_id: int, location_id: int, reference: str) -> list[str]:
    """Serials of ``part`` still at ``location`` that a receipt under ``reference`` brought in
    (a return's units, waiting for inspection)."""
    return list(
        session.scalars(
            select(SerialUnit.serial)
            .join(StockMove, StockMove.id == SerialUnit.last_move_id)
            .where(
                SerialUnit.part_id == part_id,
                SerialUnit.location_id == location_id,
                SerialUnit.state == SerialState.IN_STOCK,
                StockMove.kind == MoveKind.RECEIPT,
                StockMove.reference == reference,
            )
            .order_by(SerialUnit.serial)
        )
    )


def shipped_on(session: Session, sku: str, serial: str) -> datetime | None:
    """When the unit left us for its customer, if we know."""
    return session.scalar(
        select(SerialUnit.shipped_at)
        .join(Part, Part.id == SerialUnit.part_id)
        .where(Part.sku_key == sku_key(sku), SerialUnit.serial == serial.strip())
    )


# --- look-ups ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SerialMove:
    id: int
    kind: str
    from_location: str | None
    to_location: str | None
    reason: str
    reference: str | None
    actor: str
    created_at: datetime


@dataclass(frozen=True)
class SerialView:
    sku: str
    part_name: str
    serial: str
    state: str
    location: str | None
    customer_name: str | None
    customer_email: str | None
    order_number: str | None
    shipped_at: datetime | None
    history: tuple[SerialMove, ...]


def look_up(session: Session, serial: str, sku: str | None = None) -> list[SerialView]:
    """Where the unit(s) with this serial are, who has them, and their moves (oldest first).
    A serial is unique per part, so two parts may each have one."""
    query = select(SerialUnit).where(SerialUnit.serial == serial.strip())
    if sku:
        query = query.join(Part, Part.id == SerialUnit.part_id).where(Part.sku_key == sku_key(sku))
    found = list(session.scalars(query.order_by(SerialUnit.part_id)))
    if not found:
        raise SerialNotFound(serial)
    views = []
    for unit in found:
        moves = session.scalars(
            select(StockMove)
            .where(
                StockMove.part_id == unit.part_id,
                # A cheap filter first, then the exact line match below.
                StockMove.serials.contains(unit.serial),
            )
            .order_by(StockMove.id)
        )
        history = tuple(
            SerialMove(
                move.id,
                move.kind.value,
                move.from_location.code if move.from_location else None,
                move.to_location.code if move.to_location else None,
                move.reason,
                move.reference,
                move.actor,
                move.created_at,
            )
            for move in moves
            if unit.serial in move.serial_list
        )
        views.append(
            SerialView(
                unit.part.sku,
                unit.part.name,
                unit.serial,
                unit.state.value,
                unit.location.code if unit.location else None,
                unit.customer_name,
                unit.customer_email,
                unit.order_number,
                unit.shipped_at,
                history,
            )
        )
    return views


def serial_key(serial: str) -> tuple[tuple[int, int, str], ...]:
    """Serials in the order a person reads them: runs of digits compare as numbers, so
    SN99 < SN100 and A10 < B1 (natural order)."""
    return tuple(
        (0, int(chunk), "") if chunk.isdigit() else (1, 0, chunk.casefold())
        for chunk in re.split(r"(\d+)", serial)
        if chunk
    )


@dataclass(frozen=True)
class RecallRow:
    sku: str
    serial: str
    state: str
    customer_name: str | None
    customer_email: str | None
    order_number: str | None
    shipped_at: datetime | None


def recall(session: Session, sku: str, first: str, last: str) -> list[RecallRow]:
    """Units of ``sku`` with serials from ``first`` to ``last`` that went to a customer
    (and are there still, or came back: the customer got one either way)."""
    low, high = serial_key(first.strip()), serial_key(last.strip())
    rows = session.execute(
        select(SerialUnit, Part.sku)
        .join(Part, Part.id == SerialUnit.part_id)
        .where(Part.sku_key == sku_key(sku), SerialUnit.customer_email.is_not(None))
    )
    # Natural order is not SQL's; one part's units that went to customers are few enough.
    chosen = sorted(
        ((unit, part_sku) for unit, part_sku in rows if low <= serial_key(unit.serial) <= high),
        key=lambda row: serial_key(row[0].serial),
    )
    return [
        RecallRow(
            part_sku,
            unit.serial,
            unit.state.value,
            unit.customer_name,
            unit.customer_email,
            unit.order_number,
            unit.shipped_at,
        )
        for unit, part_sku in chosen
    ]
