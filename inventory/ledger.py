"""Stock operations on an open session: every change is a ledger row plus guarded level updates.

These functions flush but never commit; a use case in :mod:`inventory.services` (or another
domain package, such as returns) owns the transaction.

No oversell: levels change only through one conditional ``UPDATE`` per location whose
``WHERE`` clause re-checks the rules (on hand and reserved never negative, reserved never
above on hand). Two concurrent requests for the last unit cannot both match it, on
PostgreSQL or SQLite, so the loser gets :class:`InsufficientStock` instead of a negative level.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    CursorResult,
    and_,
    func,
    select,
    update,
)
from sqlalchemy.orm import Session

from core.clock import Clock
from core.db import insert_ignoring_conflicts
from core.errors import N_, InvalidInput
from inventory import serials as serial_units
from inventory.errors import (
    CountBelowReserved,
    InactivePart,
    InsufficientStock,
    ReservationMismatch,
    ReservationNotActive,
    ReservationNotFound,
    SameLocation,
    UnknownLocation,
    UnknownPart,
)
from inventory.models import Location, Part, Reservation, StockLevel, StockMove, sku_key
from inventory.status import MOVE_EFFECTS, PICKABLE_KINDS, MoveKind, ReservationStatus

levels = StockLevel.__table__


@dataclass(frozen=True)
class Who:
    """Who acts and when: every ledger row records both."""

    actor: str
    clock: Clock


def find_part(session: Session, sku: str) -> Part | None:
    return session.scalar(select(Part).where(Part.sku_key == sku_key(sku)))


def find_part_by_scan(session: Session, code: str) -> Part | None:
    """What a scanner read: a SKU (any case) or a barcode."""
    code = code.strip()
    return find_part(session, code) or session.scalar(select(Part).where(Part.barcode == code))


def part_for_stock(session: Session, sku: str, field: str = "sku") -> Part:
    part = find_part(session, sku)
    if part is None:
        raise UnknownPart(sku, field)
    if not part.active:
        raise InactivePart(part.sku)
    return part


def normalise_location_code(code: str) -> str:
    return code.strip().upper()


def location_by_code(session: Session, code: str, field: str = "location") -> Location:
    location = session.scalar(
        select(Location).where(Location.code == normalise_location_code(code))
    )
    if location is None:
        raise UnknownLocation(code, field)
    if not location.active:
        raise InvalidInput(
            field,
            N_("Location %(code)s is inactive.", code=location.code),
            code="inactive_location",
        )
    return location


def _available_at(session: Session, part_id: int, location_id: int) -> int:
    level = session.get(StockLevel, (part_id, location_id), populate_existing=True)
    return level.unreserved if level else 0


def _apply(session: Session, move: StockMove, part: Part, codes: dict[int, str]) -> None:
    """Apply ``move`` to the levels it touches, refusing any change that would break a rule."""
    changes: dict[int, tuple[int, int]] = {}
    for effect in MOVE_EFFECTS[move.kind]:
        location_id = move.from_location_id if effect.side == "from" else move.to_location_id
        if location_id is None:
            continue
        on_hand, reserved = changes.get(location_id, (0, 0))
        changes[location_id] = (
            on_hand + effect.on_hand * move.qty,
            reserved + effect.reserved * move.qty,
        )
    # Lock rows in a fixed order so two opposite transfers cannot deadlock.
    for location_id in sorted(changes):
        d_on_hand, d_reserved = changes[location_id]
        if d_on_hand == 0 and d_reserved == 0:
            continue
        if d_on_hand > 0:
            insert_ignoring_conflicts(
                session,
                levels,
                {"part_id": part.id, "location_id": location_id, "on_hand": 0, "reserved": 0},
            )
        new_on_hand = levels.c.on_hand + d_on_hand
        new_reserved = levels.c.reserved + d_reserved
        # An UPDATE's result is a CursorResult (the one with rowcount); execute() says Result.
        result: CursorResult[Any] = session.execute(  # type: ignore[assignment]
            update(levels)
            .where(
                and_(
                    levels.c.part_id == part.id,
                    levels.c.location_id == location_id,
                    new_on_hand >= 0,
                    new_reserved >= 0,
                    new_reserved <= new_on_hand,
                )
            )
            .values(on_hand=new_on_hand, reserved=new_reserved)
        )
        if result.rowcount != 1:
            raise InsufficientStock(
                part.sku,
                codes.get(location_id),
                move.qty,
                _available_at(session, part.id, location_id),
            )


def _move(
    who: Who,
    part: Part,
    kind: MoveKind,
    qty: int,
    *,
    from_location: Location | None = None,
    to_location: Location | None = None,
    reason: str = "",
    reference: str | None = None,
    reservation: Reservation | None = None,
    counted_qty: int | None = None,
    serials: Sequence[str] | None = None,
) -> tuple[StockMove, tuple[str, ...]]:
    """A new move, not yet applied nor added; and the serials it carries (checked)."""
    names = serial_units.checked(part, kind, qty, serials)
    move = StockMove(
        part_id=part.id,
        part=part,
        kind=kind,
        qty=qty,
        from_location_id=from_location.id if from_location else None,
        from_location=from_location,
        to_location_id=to_location.id if to_location else None,
        to_location=to_location,
        reason=reason or kind.value,
        reference=reference,
        reservation_id=reservation.id if reservation else None,
        counted_qty=counted_qty,
        serials="\n".join(names) or None,
        actor=who.actor,
        created_at=who.clock.now(),
    )
    return move, names


def _record(
    session: Session,
    who: Who,
    part: Part,
    kind: MoveKind,
    qty: int,
    **details: Any,
) -> StockMove:
    move, names = _move(who, part, kind, qty, **details)
    _apply(session, move, part, _codes(move))
    session.add(move)
    session.flush()
    serial_units.follow(session, move, names)
    return move


def _codes(move: StockMove) -> dict[int, str]:
    return {loc.id: loc.code for loc in (move.from_location, move.to_location) if loc is not None}


def receive(
    session: Session,
    who: Who,
    *,
    sku: str,
    location: str,
    qty: int,
    reference: str | None = None,
    reason: str = "",
    serials: Sequence[str] | None = None,
) -> StockMove:
    part = part_for_stock(session, sku)
    to_location = location_by_code(session, location)
    return _record(
        session,
        who,
        part,
        MoveKind.RECEIPT,
        qty,
        to_location=to_location,
        reason=reason,
        reference=reference,
        serials=serials,
    )


def issue(
    session: Session,
    who: Who,
    *,
    sku: str,
    location: str,
    qty: int,
    reference: str | None = None,
    reason: str = "",
    serials: Sequence[str] | None = None,
) -> StockMove:
    """Take unreserved stock out of a location."""
    part = part_for_stock(session, sku)
    from_location = location_by_code(session, location)
    return _record(
        session,
        who,
        part,
        MoveKind.ISSUE,
        qty,
        from_location=from_location,
        reason=reason,
        reference=reference,
        serials=serials,
    )


def transfer(
    session: Session,
    who: Who,
    *,
    sku: str,
    from_location: str,
    to_location: str,
    qty: int,
    reference: str | None = None,
    reason: str = "",
    serials: Sequence[str] | None = None,
) -> StockMove:
    part = part_for_stock(session, sku)
    source = location_by_code(session, from_location, "from_location")
    target = location_by_code(session, to_location, "to_location")
    if source.id == target.id:
        raise SameLocation(source.code)
    return _record(
        session,
        who,
        part,
        MoveKind.TRANSFER,
        qty,
        from_location=source,
        to_location=target,
        reason=reason,
        reference=reference,
        serials=serials,
    )


def adjust(
    session: Session,
    who: Who,
    *,
    sku: str,
    location: str,
    counted_qty: int,
    reference: str | None = None,
    reason: str = "",
    serials: Sequence[str] | None = None,
) -> StockMove:
    """Record a cycle count: the books become ``counted_qty``, the difference is a ledger row."""
    part = part_for_stock(session, sku)
    at = location_by_code(session, location)
    insert_ignoring_conflicts(
        session, levels, {"part_id": part.id, "location_id": at.id, "on_hand": 0, "reserved": 0}
    )
    on_hand, reserved = session.execute(
        select(levels.c.on_hand, levels.c.reserved)
        .where(levels.c.part_id == part.id, levels.c.location_id == at.id)
        .with_for_update()
    ).one()
    if counted_qty < reserved:
        raise CountBelowReserved(part.sku, at.code, counted_qty, reserved)
    difference = counted_qty - on_hand
    return _record(
        session,
        who,
        part,
        MoveKind.ADJUSTMENT,
        abs(difference),
        from_location=at if difference < 0 else None,
        to_location=at if difference >= 0 else None,
        reason=reason or "cycle count",
        reference=reference,
        counted_qty=counted_qty,
        serials=serials,
    )


def _largest_free_in_one_bin(session: Session, part_id: int) -> int:
    return (
        session.scalar(
            select(func.coalesce(func.max(StockLevel.on_hand - StockLevel.reserved), 0))
            .join(Location, Location.id == StockLevel.location_id)
            .where(StockLevel.part_id == part_id, Location.kind.in_(PICKABLE_KINDS))
        )
        or 0
    )


def available_to_promise(session: Session, part_id: int) -> int:

    return (
        session.scalar(
            select(func.coalesce(func.sum(StockLevel.on_hand - StockLevel.reserved), 0))
            .join(Location, Location.id == StockLevel.location_id)
            .where(StockLevel.part_id == part_id, Location.kind.in_(PICKABLE_KINDS))
        )
        or 0
    )


def _close_reservation(
    session: Session, who: Who, reservation_id: int, to: ReservationStatus
) -> Reservation:
    reservation = session.get(Reservation, reservation_id, populate_existing=True)
    if reservation is None:
        raise ReservationNotFound(reservation_id)
    # Conditional on still being active: two concurrent releases cannot both succeed.
    result: CursorResult[Any] = session.execute(  # type: ignore[assignment]  # see above
        update(Reservation.__table__)
        .where(
            Reservation.__table__.c.id == reservation_id,
            Reservation.__table__.c.status == ReservationStatus.ACTIVE.value,
        )
        .values(status=to.value, closed_at=who.clock.now())
    )
    if result.rowcount != 1:
        session.refresh(reservation)
        raise ReservationNotActive(reservation_id, reservation.status.value)
    session.refresh(reservation)
    return reservation


def release(session: Session, who: Who, reservation_id: int, reason: str = "") -> Reservation:
    reservation = _close_reservation(session, who, reservation_id, ReservationStatus.RELEASED)
    _record(
        session,
        who,
        reservation.part,
        MoveKind.RELEASE,
        reservation.qty,
        from_location=reservation.location,
        reason=reason or "release",
        reference=reservation.reference,
        reservation=reservation,
    )
    return reservation


def reserved_serials(
    session: Session, reservation_id: int, serials: Sequence[str] | None
) -> tuple[str, ...]:
    """Check, without moving anything, the serials that will later issue a reservation
    (:func:`issue_reserved`): one per unit, each in stock at the reservation's location."""
    reservation = session.get(Reservation, reservation_id)
    if reservation is None:
        raise InvalidInput(
            "reservation_id",
            N_("No reservation %(reservation_id)s.", reservation_id=reservation_id),
            code="unknown_reservation",
        )
    return serial_units.ready_to_leave(
        session, reservation.part, reservation.location_id, reservation.qty, serials
    )


def issue_reserved(
    session: Session,
    who: Who,
    reservation_id: int,
    *,
    sku: str | None = None,
    location: str | None = None,
    qty: int | None = None,
    reference: str | None = None,
    reason: str = "",
    serials: Sequence[str] | None = None,
) -> StockMove:
    """Ship what a reservation earmarked (all of it): on hand and reserved drop together."""
    reservation = session.get(Reservation, reservation_id)
    if reservation is None:
        raise InvalidInput(
            "reservation_id",
            N_("No reservation %(reservation_id)s.", reservation_id=reservation_id),
            code="unknown_reservation",
        )
    if sku is not None and sku_key(sku) != reservation.part.sku_key:
        raise ReservationMismatch(
            reservation_id,
            N_(
                "Reservation %(id)s is for %(sku)s, not %(given)s.",
                id=reservation_id,
                sku=reservation.part.sku,
                given=sku,
            ),
        )
    if location is not None and normalise_location_code(location) != reservation.location.code:
        raise ReservationMismatch(
            reservation_id,
            N_(
                "Reservation %(id)s holds stock at %(location)s.",
                id=reservation_id,
                location=reservation.location.code,
            ),
        )
    if qty is not None and qty != reservation.qty:
        raise ReservationMismatch(
            reservation_id,
            N_(
                "Reservation %(id)s is for %(qty)s units, not %(given)s.",
                id=reservation_id,
                qty=reservation.qty,
                given=qty,
            ),
        )
    reservation = _close_reservation(session, who, reservation_id, ReservationStatus.ISSUED)
    return _record(
        session,
        who,
        reservation.part,
        MoveKind.RESERVED_ISSUE,
        reservation.qty,
        from_location=reservation.location,
        reason=reason or "issue reserved",
        reference=reference or reservation.reference,
        serials=serials,
        reservation=reservation,
    )
