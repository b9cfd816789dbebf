"""Uploaded workbooks checked against the data, then applied: all rows or none.

Every function here first collects *every* problem (with sheet, row and column), raises
:class:`SpreadsheetRejected` if there is any, and only then writes. It flushes, never
commits: the service's unit of work commits once, or rolls everything back.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from core.errors import N_, DomainError
from core.spreadsheets import Problem, SpreadsheetRejected
from inventory import ledger
from inventory.ledger import Who
from inventory.models import Location, Part, StockLevel, StockMove, sku_key
from inventory.sheets import CountSheet

CHUNK = 500


def chunks(values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for i in range(0, len(values), CHUNK):
        yield values[i : i + CHUNK]


def parts_by_key(session: Session, keys: Iterable[str]) -> dict[str, Part]:
    found: dict[str, Part] = {}
    for chunk in chunks(sorted(set(keys))):
        for part in session.scalars(select(Part).where(Part.sku_key.in_(chunk))).unique():
            found[part.sku_key] = part
    return found


def raise_if_any(problems: list[Problem], sheet_order: Sequence[str]) -> None:
    if problems:
        position = {name: i for i, name in enumerate(sheet_order)}
        problems.sort(key=lambda p: (position.get(p.sheet or "", -1), p.row or 0))
        raise SpreadsheetRejected(problems)


# --- cycle counts ------------------------------------------------------------------------


def ledger_position(session: Session) -> int:
    """The newest ledger row's id: moves after it happened after the sheet was made."""
    return session.scalar(select(func.coalesce(func.max(StockMove.id), 0))) or 0


def count_rows(session: Session, location: Location) -> list[dict[str, Any]]:
    """The parts with a stock level at ``location`` (zero included), in SKU order."""
    query = (
        select(Part.sku, Part.name, Part.unit, StockLevel.on_hand)
        .join(StockLevel, StockLevel.part_id == Part.id)
        .where(StockLevel.location_id == location.id)
        .order_by(Part.sku_key)
    )
    return [
        {
            "location": location.code,
            "sku": sku,
            "name": name,
            "unit": unit,
            "book_qty": on_hand,
            "counted_qty": None,
        }
        for sku, name, unit, on_hand in session.execute(query)
    ]


def import_counts(
    session: Session,
    who: Who,
    sheet: CountSheet,
    problems: list[Problem],
    *,
    reference: str,
    sheet_order: Sequence[str] = (),
) -> list[StockMove]:
    """Record every counted row as a cycle count (an adjustment to the counted quantity).

    A row whose part moved in or out of its location after the sheet was exported is
    refused: the count may predate the move. Recount it on a fresh sheet.
    """
    codes = sorted({line.location for line in sheet.lines})
    locations = {
        loc.code: loc for loc in session.scalars(select(Location).where(Location.code.in_(codes)))
    }
    parts = parts_by_key(session, (sku_key(line.sku) for line in sheet.lines))
    moved: set[tuple[int, int]] = set()
    location_ids = [loc.id for loc in locations.values()]
    if location_ids:
        for part_id, from_id, to_id in session.execute(
            select(StockMove.part_id, StockMove.from_location_id, StockMove.to_location_id).where(
                StockMove.id > sheet.ledger_position,
                or_(
                    StockMove.from_location_id.in_(location_ids),
                    StockMove.to_location_id.in_(location_ids),
                ),
            )
        ):
            moved.update((part_id, loc) for loc in (from_id, to_id) if loc is not None)
    seen: dict[tuple[str, str], int] = {}
    valid = []
    for line in sheet.lines:
        location = locations.get(line.location)
        part = parts.get(sku_key(line.sku))
        if location is None:
            problems.append(
                line.problem(
                    "location",
                    "unknown_location",
                    N_("No location with code %(code)s.", code=repr(line.location)),
                )
            )
            continue
        if part is None:
            problems.append(
                line.problem(
                    "sku", "unknown_sku", N_("No part with SKU %(sku)s.", sku=repr(line.sku))
                )
            )
            continue
        key = (location.code, part.sku_key)
        if key in seen:
            problems.append(
                line.problem(
                    "sku",
                    "duplicate_count",
                    N_(
                        "%(sku)s at %(location)s is counted twice (also row %(row)s).",
                        sku=part.sku,
                        location=location.code,
                        row=seen[key],
                    ),
                )
            )
            continue
        seen[key] = line.row
        if not part.active:
            problems.append(
                line.problem("sku", "inactive_part", N_("%(sku)s is inactive.", sku=part.sku))
            )
            continue
        if not location.active:
            problems.append(
                line.problem(
                    "location",
                    "inactive_location",
                    N_("%(code)s is inactive.", code=location.code),
                )
            )
            continue
        if (part.id, location.id) in moved:
            problems.append(
                line.problem(
                    "counted_qty",
                    "moved_since_export",
                    N_(
                        "%(sku)s moved in or out of %(location)s after this sheet was "
                        "exported; recount it on a new sheet.",
                        sku=part.sku,
                        location=location.code,
                    ),
                )
            )
            continue
        valid.append((line, part, location))
    raise_if_any(problems, sheet_order)
    moves = []
    for line, part, location in valid:
        try:
            moves.append(
                ledger.adjust(
                    session,
                    who,
                    sku=part.sku,
                    location=location.code,
                    counted_qty=line.counted,
                    reference=reference,
                )
            )
        except DomainError as error:  # e.g. a count below what is reserved there
            problems.append(line.problem("counted_qty", error.code, error.text))
    raise_if_any(problems, sheet_order)
    return moves
