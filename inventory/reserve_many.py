"""Reserving every line of an order at once: all lines or none, in a handful of statements.

The same rules as :func:`inventory.ledger.reserve`, per line: a named location must be an
active pickable one, else the pickable bin with most free stock that holds the whole line;
the same no-oversell guarantee: the levels change only through a conditional ``UPDATE`` whose
``WHERE`` re-checks ``reserved + qty <= on_hand``, and if any row does not match, nothing is
reserved. What differs is the cost: the parts, the locations and the levels are read with one
query each (the levels locked in (part, location) order, so two orders for the same parts
queue instead of deadlocking), the levels updated with one statement, the reservations and
the ledger rows inserted with one statement each, whatever the number of lines.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Integer, column, select, update, values
from sqlalchemy.orm import Session

from core.errors import InvalidInput
from inventory.errors import InactivePart, InsufficientStock, UnknownLocation, UnknownPart
from inventory.ledger import (
    ReservedLine,
    Who,
    insert_reserve_rows,
    normalise_location_code,
    take_free,
)
from inventory.models import Location, Part, StockLevel, sku_key
from inventory.status import PICKABLE_KINDS, ReservationStatus

#: Lines in one request: an order, not an import.
MAX_LINES = 500


@dataclass(frozen=True)
class _Line:
    part: Part
    location: Location
    qty: int
    reference: str | None
    reason: str


def _parts(session: Session, skus: Sequence[str]) -> dict[str, Part]:
    found = {
        part.sku_key: part
        for part in session.scalars(
            select(Part).where(Part.sku_key.in_({sku_key(s) for s in skus}))
        )
    }
    for index, sku in enumerate(skus):
        part = found.get(sku_key(sku))
        if part is None:
            raise UnknownPart(sku, f"lines.{index}.sku")
        if not part.active:
            raise InactivePart(part.sku)
    return found


def _named_locations(session: Session, codes: Sequence[str | None]) -> dict[str, Location]:
    wanted = {normalise_location_code(code) for code in codes if code is not None}
    found = (
        {
            loc.code: loc
            for loc in session.scalars(select(Location).where(Location.code.in_(wanted)))
        }
        if wanted
        else {}
    )
    for index, code in enumerate(codes):
        if code is None:
            continue
        location = found.get(normalise_location_code(code))
        field = f"lines.{index}.location"
        if location is None:
            raise UnknownLocation(code, field)
        if not location.active:
            raise InvalidInput(
                field, f"Location {location.code} is inactive.", code="inactive_location"
            )
        if location.kind not in PICKABLE_KINDS:
            raise InvalidInput(
                field,
                f"Stock in {location.code} ({location.kind.value}) cannot be reserved.",
                code="location_not_pickable",
            )
    return found


def reserve_many(
    session: Session,
    who: Who,
    lines: Sequence[tuple[str, int, str | None]],
    *,
    reference: str | None = None,
    reason: str = "",
) -> list[ReservedLine]:
    """Reserve every ``(sku, qty, location or None)`` line, or none (raises; the caller rolls
    back). Flushes nothing through the ORM: plain statements, the caller commits."""
    if not lines:
        raise InvalidInput("lines", "Send at least one line.")
    if len(lines) > MAX_LINES:
        raise InvalidInput("lines", f"At most {MAX_LINES} lines in one request.")
    parts = _parts(session, [sku for sku, _, _ in lines])
    named = _named_locations(session, [location for _, _, location in lines])
    part_ids = sorted({part.id for part in parts.values()})
    # Every pickable level of these parts, locked in a fixed order, with its free stock now.
    rows = session.execute(
        select(StockLevel.part_id, StockLevel.on_hand - StockLevel.reserved, Location)
        .join(Location, Location.id == StockLevel.location_id)
        .where(
            StockLevel.part_id.in_(part_ids),
            Location.kind.in_(PICKABLE_KINDS),
            Location.active.is_(True),
        )
        .order_by(StockLevel.part_id, StockLevel.location_id)
        .with_for_update(of=StockLevel)
    ).all()
    free: dict[tuple[int, int], int] = {}
    bins: dict[int, list[Location]] = {}
    for part_id, available, location in rows:
        free[(part_id, location.id)] = available
        bins.setdefault(part_id, []).append(location)
    chosen: list[_Line] = []
    for sku, qty, code in lines:
        part = parts[sku_key(sku)]
        if code is not None:
            location = named[normalise_location_code(code)]
            if free.get((part.id, location.id), 0) < qty:
                raise InsufficientStock(
                    part.sku, location.code, qty, free.get((part.id, location.id), 0)
                )
        else:
            # The bin with most free stock (what is left after this order's earlier lines).
            candidates = sorted(
                bins.get(part.id, []), key=lambda loc: (-free[(part.id, loc.id)], loc.code)
            )
            if not candidates or free[(part.id, candidates[0].id)] < qty:
                total = sum(free[(part.id, loc.id)] for loc in bins.get(part.id, []))
                largest = free[(part.id, candidates[0].id)] if candidates else 0
                raise InsufficientStock(
                    part.sku,
                    None,
                    qty,
                    total,
                    largest_in_one_location=largest if total >= qty else None,
                )
            location = candidates[0]
        free[(part.id, location.id)] -= qty
        chosen.append(_Line(part, location, qty, reference, reason))
    _update_levels(session, chosen)
    return _write_rows(session, who, chosen)


def _update_levels(session: Session, chosen: Sequence[_Line]) -> None:
    """One conditional UPDATE for every (part, location): all match, or nothing is reserved."""
    totals: dict[tuple[int, int], int] = {}
    for line in chosen:
        key = (line.part.id, line.location.id)
        totals[key] = totals.get(key, 0) + line.qty
    levels = StockLevel.__table__
    rows = [(part_id, location_id, qty) for (part_id, location_id), qty in sorted(totals.items())]
    if session.get_bind().dialect.name == "postgresql":
        wanted = values(
            column("part_id", Integer), column("location_id", Integer), column("qty", Integer),
            name="wanted",
        ).data(rows)  # fmt: skip
        updated: list[tuple[int, int]] = [
            (part_id, location_id)
            for part_id, location_id in session.execute(
                update(levels)
                .where(
                    levels.c.part_id == wanted.c.part_id,
                    levels.c.location_id == wanted.c.location_id,
                    levels.c.reserved + wanted.c.qty <= levels.c.on_hand,
                )
                .values(reserved=levels.c.reserved + wanted.c.qty)
                .returning(levels.c.part_id, levels.c.location_id)
            )
        ]
    else:  # SQLite has no column names on VALUES: the same guarded UPDATE, level by level
        connection = session.connection()
        updated = [
            (part_id, location_id)
            for part_id, location_id, qty in rows
            if take_free(connection, part_id, location_id, qty)
        ]
    if len(updated) != len(totals):  # never, with the rows locked above; the rule holds anyway
        missing = next(key for key in sorted(totals) if key not in set(updated))
        line = next(line for line in chosen if (line.part.id, line.location.id) == missing)
        raise InsufficientStock(line.part.sku, line.location.code, totals[missing], 0)


def _write_rows(session: Session, who: Who, chosen: Sequence[_Line]) -> list[ReservedLine]:
    now = who.clock.now()
    ids = insert_reserve_rows(
        session.connection(),
        who,
        now,
        [
            (line.part.id, line.location.id, line.qty, line.reference, line.reason)
            for line in chosen
        ],
    )
    return [
        ReservedLine(
            id=reservation_id,
            part_id=line.part.id,
            sku=line.part.sku,
            location_id=line.location.id,
            location=line.location.code,
            qty=line.qty,
            reference=line.reference,
            status=ReservationStatus.ACTIVE,
            created_by=who.actor,
            created_at=now,
        )
        for line, reservation_id in zip(chosen, ids, strict=True)
    ]
