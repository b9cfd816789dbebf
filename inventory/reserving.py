"""Reserving stock: the single reservation, an order's lines, and the statements behind both.

Split from :mod:`inventory.ledger` (the other stock operations), on the same rule: no
oversell, because a level changes only through a conditional ``UPDATE`` that re-checks it.
These functions flush or execute but never commit; the use case owns the transaction.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    and_,
    bindparam,
    insert,
    select,
    text,
    true,
    update,
)
from sqlalchemy.orm import Session

from core.errors import N_, InvalidInput
from inventory.errors import (
    InactivePart,
    InsufficientStock,
    UnknownLocation,
    UnknownPart,
)
from inventory.ledger import (
    Who,
    _available_at,
    _largest_free_in_one_bin,
    available_to_promise,
    levels,
    normalise_location_code,
)
from inventory.models import Location, Part, Reservation, StockMove, sku_key
from inventory.status import PICKABLE_KINDS, MoveKind, ReservationStatus


@dataclass(frozen=True)
class ReservedLine:
    """A reservation just made, as the API shows it: plain values, no ORM object to load or
    keep (its row is written with plain inserts, see :func:`reserve_rows`)."""

    id: int
    part_id: int
    sku: str
    location_id: int
    location: str
    qty: int
    reference: str | None
    status: ReservationStatus
    created_by: str
    created_at: datetime
    closed_at: datetime | None = None

    @classmethod
    def of(cls, reservation: Reservation) -> ReservedLine:
        """The same values from a loaded reservation (its part and location loaded too)."""
        return cls(
            id=reservation.id,
            part_id=reservation.part_id,
            sku=reservation.part.sku,
            location_id=reservation.location_id,
            location=reservation.location.code,
            qty=reservation.qty,
            reference=reservation.reference,
            status=reservation.status,
            created_by=reservation.created_by,
            created_at=reservation.created_at,
            closed_at=reservation.closed_at,
        )


_parts = Part.__table__
_locations = Location.__table__
_free = levels.c.on_hand - levels.c.reserved

#: The part (one row even without stock) and its pickable bins holding ``qty`` free, the most
#: free first: what a reservation without a location needs, in one statement.
_PART_AND_BINS = (
    select(_parts.c.id, _parts.c.sku, _parts.c.active, _locations.c.id, _locations.c.code)
    .select_from(
        _parts.outerjoin(
            levels.join(
                _locations,
                and_(
                    _locations.c.id == levels.c.location_id,
                    _locations.c.kind.in_(PICKABLE_KINDS),
                    _locations.c.active.is_(True),
                ),
            ),
            and_(levels.c.part_id == _parts.c.id, _free >= bindparam("qty")),
        )
    )
    .where(_parts.c.sku_key == bindparam("key"))
    .order_by(_free.desc(), _locations.c.code)
)

_PARTS_BY_KEY = select(_parts.c.id, _parts.c.sku, _parts.c.sku_key, _parts.c.active).where(
    _parts.c.sku_key.in_(bindparam("keys", expanding=True))
)
_LOCATIONS_BY_CODE = select(
    _locations.c.id, _locations.c.code, _locations.c.kind, _locations.c.active
).where(_locations.c.code.in_(bindparam("codes", expanding=True)))


def parts_for_stock(
    connection: Connection, skus: Sequence[str], field: Callable[[int], str]
) -> dict[str, Any]:
    """The parts these SKUs name (``{sku key: row}`` with id, sku, sku_key, active), each
    known and active; ``field(index)`` names the field of one that is not."""
    found = {
        row.sku_key: row
        for row in connection.execute(_PARTS_BY_KEY, {"keys": sorted({sku_key(s) for s in skus})})
    }
    for index, sku in enumerate(skus):
        _checked_part(found.get(sku_key(sku)), sku, field(index))
    return found


def reservable_locations(
    connection: Connection, codes: Sequence[str | None], field: Callable[[int], str]
) -> dict[str, Any]:
    """The locations these codes name (``{code: row}`` with id, code, kind, active), each
    known, active and pickable; ``field(index)`` names the field of one that is not. ``None``
    (no location named) is skipped."""
    wanted = sorted({normalise_location_code(code) for code in codes if code is not None})
    found = (
        {row.code: row for row in connection.execute(_LOCATIONS_BY_CODE, {"codes": wanted})}
        if wanted
        else {}
    )
    for index, code in enumerate(codes):
        if code is None:
            continue
        location = found.get(normalise_location_code(code))
        if location is None:
            raise UnknownLocation(code, field(index))
        if not location.active:
            raise InvalidInput(
                field(index),
                N_("Location %(code)s is inactive.", code=location.code),
                code="inactive_location",
            )
        if location.kind not in PICKABLE_KINDS:
            raise InvalidInput(
                field(index),
                N_(
                    "Stock in %(code)s (%(value)s) cannot be reserved.",
                    code=location.code,
                    value=location.kind.value,
                ),
                code="location_not_pickable",
            )
    return found


def _checked_part(found: Any, sku: str, field: str = "sku") -> Any:

    if found is None:
        raise UnknownPart(sku, field)
    if not found.active:
        raise InactivePart(found.sku)
    return found


def _postgresql_reserve_in_best_bin() -> Any:
    """PostgreSQL, no location named: :data:`_PART_AND_BINS`'s first bin taken and both rows
    written in one statement (the part, its best bin and the new reservation's id, ``made``,
    NULL when nothing was taken: unknown or inactive part, no bin with the stock free, or
    that bin's stock taken by another transaction meanwhile)."""
    best = _PART_AND_BINS.limit(1).cte("best")
    qty = bindparam("qty", type_=levels.c.reserved.type)
    taken = (
        update(levels)
        .where(
            levels.c.part_id == best.c.id,
            levels.c.location_id == best.c.id_1,
            best.c.active.is_(True),
            levels.c.reserved + qty <= levels.c.on_hand,
        )
        .values(reserved=levels.c.reserved + qty)
        .returning(levels.c.part_id, levels.c.location_id)
        .cte("taken")
    )
    reservations, moves = Reservation.__table__, StockMove.__table__

    def value(name: str, table: Any, column: str) -> Any:
        return bindparam(name, type_=table.c[column].type)

    made = (
        insert(reservations)
        .from_select(
            ["part_id", "location_id", "qty", "reference", "status", "created_by", "created_at"],
            select(
                taken.c.part_id,
                taken.c.location_id,
                value("qty", reservations, "qty"),
                value("reference", reservations, "reference"),
                value("active", reservations, "status"),
                value("actor", reservations, "created_by"),
                value("now", reservations, "created_at"),
            ),
        )
        .returning(reservations.c.id, reservations.c.part_id, reservations.c.location_id)
        .cte("made")
    )
    moved = insert(moves).from_select(
        [
            "part_id",
            "kind",
            "qty",
            "from_location_id",
            "reason",
            "reference",
            "reservation_id",
            "actor",
            "created_at",
        ],
        select(
            made.c.part_id,
            value("kind", moves, "kind"),
            value("qty", moves, "qty"),
            made.c.location_id,
            value("reason", moves, "reason"),
            value("reference", moves, "reference"),
            made.c.id,
            value("actor", moves, "actor"),
            value("now", moves, "created_at"),
        ),
    )
    return (
        select(best.c.id, best.c.sku, best.c.id_1, best.c.code, made.c.id.label("made"))
        .select_from(best.outerjoin(made, true()))
        .add_cte(moved.cte("moved"))
    )


_POSTGRESQL_RESERVE_IN_BEST_BIN = _postgresql_reserve_in_best_bin()


def reserve_in_best_bin(
    connection: Connection,
    who: Who,
    *,
    sku: str,
    qty: int,
    reference: str | None = None,
    reason: str = "",
) -> ReservedLine | None:
    """PostgreSQL: the usual reservation (no location named) in one statement, which takes
    the most free bin's stock and writes the reservation and its ledger row; None when it
    took nothing (an unknown or inactive part, no bin with ``qty`` free, or that bin's stock
    taken meanwhile), and :func:`reserve` then finds out which. One statement is atomic on
    its own, so it may run autocommitted."""
    now = who.clock.now()
    best = connection.execute(
        _POSTGRESQL_RESERVE_IN_BEST_BIN,
        {
            "key": sku_key(sku),
            "qty": qty,
            "reference": reference,
            "reason": reason or "reserve",
            "active": ReservationStatus.ACTIVE,
            "kind": MoveKind.RESERVE,
            "actor": who.actor,
            "now": now,
        },
    ).first()
    if best is None or best.made is None:
        return None
    return _reserved_line(
        who, now, best.made, best.id, best.sku, best.id_1, best.code, qty, reference
    )


def _reserved_line(
    who: Who,
    now: datetime,
    reservation_id: int,
    part_id: int,
    part_sku: str,
    location_id: int,
    code: str,
    qty: int,
    reference: str | None,
) -> ReservedLine:
    return ReservedLine(
        id=reservation_id,
        part_id=part_id,
        sku=part_sku,
        location_id=location_id,
        location=code,
        qty=qty,
        reference=reference,
        status=ReservationStatus.ACTIVE,
        created_by=who.actor,
        created_at=now,
    )


def reserve(
    session: Session,
    who: Who,
    *,
    sku: str,
    qty: int,
    location: str | None = None,
    reference: str | None = None,
    reason: str = "",
) -> ReservedLine:
    """Earmark ``qty`` units at one location: the one given, else the pickable bin with most
    free stock. On PostgreSQL, without a location, :func:`reserve_in_best_bin` first (the
    usual case in one round trip); anything else (an error to report, another bin to try)
    takes :func:`reserve_after_reading`, in the same transaction (nothing was taken)."""
    if location is None and session.connection().dialect.name == "postgresql":
        line = reserve_in_best_bin(
            session.connection(), who, sku=sku, qty=qty, reference=reference, reason=reason
        )
        if line is not None:
            return line
    return reserve_after_reading(
        session, who, sku=sku, qty=qty, location=location, reference=reference, reason=reason
    )


def reserve_after_reading(
    session: Session,
    who: Who,
    *,
    sku: str,
    qty: int,
    location: str | None = None,
    reference: str | None = None,
    reason: str = "",
) -> ReservedLine:
    """:func:`reserve`'s general path, on the session's connection: the part and its
    candidate bins read at once, then the level taken and the reservation and its ledger row
    written by :func:`reserve_rows`, bin after bin until one has the stock; else the error
    that says why. A reserve move frees no stock, so nothing listens for it."""
    connection = session.connection()
    now = who.clock.now()

    def made(reservation_id: int, part_id: int, part_sku: str, at: int, code: str) -> ReservedLine:
        return _reserved_line(who, now, reservation_id, part_id, part_sku, at, code, qty, reference)

    if location is None:
        rows = connection.execute(_PART_AND_BINS, {"key": sku_key(sku), "qty": qty}).all()
        part = _checked_part(rows[0] if rows else None, sku)
        candidates = [(row[3], row[4]) for row in rows if row[3] is not None]
    else:
        part = parts_for_stock(connection, [sku], lambda _: "sku")[sku_key(sku)]
        named = reservable_locations(connection, [location], lambda _: "location")[
            normalise_location_code(location)
        ]
        candidates = [(named.id, named.code)]
    for location_id, code in candidates:
        # Losing a race for a bin (its free stock gone since the read) changes no row, so
        # the next bin is tried in the same transaction.
        taken = reserve_rows(
            connection, who, now, [(part.id, location_id, qty)], reference=reference, reason=reason
        )
        if not taken.ids:
            if location is not None:
                raise InsufficientStock(
                    part.sku, code, qty, _available_at(session, part.id, location_id)
                )
            continue
        (reservation_id,) = taken.ids
        return made(reservation_id, part.id, part.sku, location_id, code)
    total = available_to_promise(session, part.id)
    if location is None and total >= qty:
        # Enough in all, but a reservation is picked from one bin.
        raise InsufficientStock(
            part.sku,
            None,
            qty,
            total,
            largest_in_one_location=_largest_free_in_one_bin(session, part.id),
        )
    raise InsufficientStock(part.sku, location, qty, total)


# --- taking free stock and writing the reservations ---------------------------------------
#
# The no-oversell rule for reservations: a level's reserved count rises only through an
# UPDATE whose WHERE re-checks ``reserved + qty <= on_hand``, so two transactions cannot both
# take the last units. On PostgreSQL the levels' UPDATE and the two INSERTs are one statement
# of constant text (the rows as arrays: the server plans it once per connection); the INSERTs
# read the UPDATE's RETURNING and write nothing unless every level was taken. On SQLite (one
# writer at a time, in this process) the UPDATE, then two INSERTs.

_SQLITE_TAKE_ONE = (
    update(levels)
    .where(
        levels.c.part_id == bindparam("part"),
        levels.c.location_id == bindparam("at"),
        levels.c.reserved + bindparam("qty") <= levels.c.on_hand,
    )
    .values(reserved=levels.c.reserved + bindparam("qty"))
    .returning(levels.c.part_id, levels.c.location_id)
)

# SQLite >= 3.35 (UPDATE FROM, RETURNING): the levels as a JSON list, one statement.
_SQLITE_TAKE_MANY = text(
    """
    UPDATE stock_levels SET reserved = stock_levels.reserved + w.w_qty
    FROM (SELECT json_extract(value, '$[0]') AS w_part,
                 json_extract(value, '$[1]') AS w_at,
                 json_extract(value, '$[2]') AS w_qty
          FROM json_each(:levels)) AS w
    WHERE stock_levels.part_id = w.w_part AND stock_levels.location_id = w.w_at
      AND stock_levels.reserved + w.w_qty <= stock_levels.on_hand
    RETURNING part_id, location_id
    """
)

_POSTGRESQL_RESERVE = text(
    """
    WITH taken AS (
        UPDATE stock_levels SET reserved = stock_levels.reserved + w.w_qty
        FROM unnest(CAST(:level_parts AS integer[]), CAST(:level_ats AS integer[]),
                    CAST(:level_qtys AS bigint[])) AS w (w_part, w_at, w_qty)
        WHERE stock_levels.part_id = w.w_part AND stock_levels.location_id = w.w_at
          AND stock_levels.reserved + w.w_qty <= stock_levels.on_hand
        RETURNING part_id, location_id
    ), made AS (
        INSERT INTO reservations
            (part_id, location_id, qty, reference, status, created_by, created_at)
        SELECT r.part_id, r.location_id, r.qty, :reference, :active, :actor, :now
        FROM unnest(CAST(:parts AS integer[]), CAST(:ats AS integer[]),
                    CAST(:qtys AS integer[])) AS r (part_id, location_id, qty)
        WHERE (SELECT count(*) FROM taken) = :level_count
        RETURNING id, part_id, location_id, qty
    ), moved AS (
        INSERT INTO stock_moves
            (part_id, kind, qty, from_location_id, reason, reference, reservation_id, actor,
             created_at)
        SELECT made.part_id, :kind, made.qty, made.location_id, :reason, :reference, made.id,
               :actor, :now
        FROM made
    )
    SELECT id, part_id, location_id, qty FROM made
    UNION ALL
    SELECT NULL, part_id, location_id, NULL FROM taken
    """
)

_reservations = Reservation.__table__
_moves = StockMove.__table__
_SQLITE_INSERT_RESERVATIONS = insert(_reservations).returning(
    _reservations.c.id, sort_by_parameter_order=True
)
# RETURNING, though the ids are not needed: it makes many rows one INSERT ("insertmanyvalues").
_SQLITE_INSERT_MOVES = insert(_moves).returning(_moves.c.id)

#: One reservation to write: part id, location id, quantity.
ReserveRow = tuple[int, int, int]


@dataclass(frozen=True)
class Taken:
    """What :func:`reserve_rows` did: the levels it took, and the reservations' ids in the
    order of the rows (none unless every level was taken)."""

    levels: set[tuple[int, int]]
    ids: list[int]


def reserve_rows(
    connection: Connection,
    who: Who,
    now: datetime,
    rows: Sequence[ReserveRow],
    *,
    reference: str | None,
    reason: str,
) -> Taken:
    """Take the free stock of every row (rows may share a level) and write each row's
    reservation and ``reserve`` ledger row, or write nothing when a level has not the stock
    free. Then other levels may have been taken: the caller rolls back (with a single level,
    nothing changed, and another bin may be tried in the same transaction)."""
    wanted: dict[tuple[int, int], int] = {}
    for part_id, location_id, qty in rows:
        wanted[(part_id, location_id)] = wanted.get((part_id, location_id), 0) + qty
    reason = reason or "reserve"
    if connection.dialect.name == "postgresql":
        return _reserve_rows_postgresql(connection, who, now, rows, wanted, reference, reason)
    if len(wanted) == 1:
        ((part_id, location_id), qty), *_ = wanted.items()
        result = connection.execute(
            _SQLITE_TAKE_ONE, {"part": part_id, "at": location_id, "qty": qty}
        )
    else:
        result = connection.execute(
            _SQLITE_TAKE_MANY, {"levels": json.dumps([[*key, qty] for key, qty in wanted.items()])}
        )
    taken = {(part_id, location_id) for part_id, location_id in result}
    if len(taken) != len(wanted):
        return Taken(taken, [])
    return Taken(taken, _insert_reserve_rows(connection, who, now, rows, reference, reason))


def _reserve_rows_postgresql(
    connection: Connection,
    who: Who,
    now: datetime,
    rows: Sequence[ReserveRow],
    wanted: dict[tuple[int, int], int],
    reference: str | None,
    reason: str,
) -> Taken:
    result = connection.execute(
        _POSTGRESQL_RESERVE,
        {
            "level_parts": [part_id for part_id, _ in wanted],
            "level_ats": [location_id for _, location_id in wanted],
            "level_qtys": list(wanted.values()),
            "level_count": len(wanted),
            "parts": [part_id for part_id, _, _ in rows],
            "ats": [location_id for _, location_id, _ in rows],
            "qtys": [qty for _, _, qty in rows],
            "reference": reference,
            "reason": reason,
            "active": ReservationStatus.ACTIVE.value,
            "kind": MoveKind.RESERVE.value,
            "actor": who.actor,
            "now": now,
        },
    ).all()
    taken = {(part_id, location_id) for made, part_id, location_id, _ in result if made is None}
    # Rows alike (same part, bin and quantity) are interchangeable: give out their ids in
    # increasing order, as one insert per row would have.
    ids: dict[ReserveRow, list[int]] = {}
    for made, part_id, location_id, qty in sorted(
        (row for row in result if row[0] is not None), reverse=True
    ):
        ids.setdefault((part_id, location_id, qty), []).append(made)
    return Taken(taken, [ids[row].pop() for row in rows] if ids else [])


def _insert_reserve_rows(
    connection: Connection,
    who: Who,
    now: datetime,
    rows: Sequence[ReserveRow],
    reference: str | None,
    reason: str,
) -> list[int]:
    """SQLite: the reservations, then their ledger rows (one INSERT each); their ids."""
    reservations = [
        {
            "part_id": part_id,
            "location_id": location_id,
            "qty": qty,
            "reference": reference,
            "status": ReservationStatus.ACTIVE.value,
            "created_by": who.actor,
            "created_at": now,
            "closed_at": None,
        }
        for part_id, location_id, qty in rows
    ]
    # One row is a plain execute: the many-rows path costs more than it saves there.
    ids = (
        [connection.execute(_SQLITE_INSERT_RESERVATIONS, reservations[0]).scalar_one()]
        if len(rows) == 1
        else list(connection.execute(_SQLITE_INSERT_RESERVATIONS, reservations).scalars())
    )
    moves = [
        {
            "part_id": part_id,
            "kind": MoveKind.RESERVE.value,
            "qty": qty,
            "from_location_id": location_id,
            "to_location_id": None,
            "reason": reason,
            "reference": reference,
            "reservation_id": reservation_id,
            "counted_qty": None,
            "serials": None,
            "actor": who.actor,
            "created_at": now,
        }
        for (part_id, location_id, qty), reservation_id in zip(rows, ids, strict=True)
    ]
    connection.execute(_SQLITE_INSERT_MOVES, moves[0] if len(moves) == 1 else moves)
    return ids
