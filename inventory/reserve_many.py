"""Reserving every line of an order at once: all lines or none, in a handful of statements.

The same rules as :func:`inventory.reserving.reserve`, per line: a named location must be an
active pickable one, else the pickable bin with most free stock that holds the whole line;
the same no-oversell guarantee: the levels change only through a conditional ``UPDATE`` whose
``WHERE`` re-checks ``reserved + qty <= on_hand`` (:func:`inventory.reserving.reserve_rows`),
and if any level does not match, nothing is reserved. What differs is the cost, whatever the
number of lines: the parts, the named locations and the levels are read with one query each
(the levels locked in (part, location) order, so two orders for the same parts queue instead
of deadlocking), then the levels updated and the reservations and ledger rows inserted with
one statement on PostgreSQL (three on SQLite). Plain statements throughout, no ORM objects.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from core.errors import N_, InvalidInput
from inventory.errors import InsufficientStock
from inventory.ledger import Who, normalise_location_code
from inventory.models import Location, StockLevel, sku_key
from inventory.reserving import (
    ReservedLine,
    parts_for_stock,
    reservable_locations,
    reserve_rows,
)
from inventory.status import PICKABLE_KINDS, ReservationStatus

#: Lines in one request: an order, not an import.
MAX_LINES = 500

_levels = StockLevel.__table__
_locations = Location.__table__

#: Every pickable level of these parts with its free stock now, locked in a fixed order.
_LEVELS_LOCKED = (
    select(
        _levels.c.part_id,
        _levels.c.location_id,
        _locations.c.code,
        _levels.c.on_hand - _levels.c.reserved,
    )
    .join(_locations, _locations.c.id == _levels.c.location_id)
    .where(
        _levels.c.part_id.in_(bindparam("parts", expanding=True)),
        _locations.c.kind.in_(PICKABLE_KINDS),
        _locations.c.active.is_(True),
    )
    .order_by(_levels.c.part_id, _levels.c.location_id)
    .with_for_update(of=_levels)
)


@dataclass(frozen=True)
class _Line:
    part: Any  # a row of reserving.parts_for_stock: id, sku
    location_id: int
    location: str
    qty: int


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
        raise InvalidInput("lines", N_("Send at least one line."))
    if len(lines) > MAX_LINES:
        raise InvalidInput("lines", N_("At most %(num)s lines in one request.", num=MAX_LINES))
    connection = session.connection()
    parts = parts_for_stock(connection, [sku for sku, _, _ in lines], "lines.{}.sku".format)
    named = reservable_locations(
        connection, [location for _, _, location in lines], "lines.{}.location".format
    )
    part_ids = sorted({part.id for part in parts.values()})
    free: dict[tuple[int, int], int] = {}
    bins: dict[int, list[tuple[int, str]]] = {}
    for part_id, location_id, code, available in connection.execute(
        _LEVELS_LOCKED, {"parts": part_ids}
    ):
        free[(part_id, location_id)] = available
        bins.setdefault(part_id, []).append((location_id, code))
    chosen: list[_Line] = []
    for sku, qty, code in lines:
        part = parts[sku_key(sku)]
        if code is not None:
            location = named[normalise_location_code(code)]
            at = (location.id, location.code)
            if free.get((part.id, location.id), 0) < qty:
                raise InsufficientStock(
                    part.sku, location.code, qty, free.get((part.id, location.id), 0)
                )
        else:
            # The bin with most free stock (what is left after this order's earlier lines).
            candidates = sorted(bins.get(part.id, []), key=lambda b: (-free[(part.id, b[0])], b[1]))
            if not candidates or free[(part.id, candidates[0][0])] < qty:
                total = sum(free[(part.id, b[0])] for b in bins.get(part.id, []))
                largest = free[(part.id, candidates[0][0])] if candidates else 0
                raise InsufficientStock(
                    part.sku,
                    None,
                    qty,
                    total,
                    largest_in_one_location=largest if total >= qty else None,
                )
            at = candidates[0]
        free[(part.id, at[0])] -= qty
        chosen.append(_Line(part, at[0], at[1], qty))
    now = who.clock.now()
    taken = reserve_rows(
        connection,
        who,
        now,
        [(line.part.id, line.location_id, line.qty) for line in chosen],
        reference=reference,
        reason=reason,
    )
    if not taken.ids:  # never, with the levels locked above; the rule holds anyway
        line = next(line for line in chosen if (line.part.id, line.location_id) not in taken.levels)
        raise InsufficientStock(line.part.sku, line.location, line.qty, 0)
    return [
        ReservedLine(
            id=reservation_id,
            part_id=line.part.id,
            sku=line.part.sku,
            location_id=line.location_id,
            location=line.location,
            qty=line.qty,
            reference=reference,
            status=ReservationStatus.ACTIVE,
            created_by=who.actor,
            created_at=now,
        )
        for line, reservation_id in zip(chosen, taken.ids, strict=True)
    ]
