"""Rebuild stock levels from the ledger and compare them with the stored levels."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from core.db import insert_ignoring_conflicts
from inventory.models import Location, Part, StockLevel, StockMove
from inventory.status import MOVE_EFFECTS

Key = tuple[int, int]  # (part_id, location_id)


@dataclass(frozen=True)
class LevelDifference:
    sku: str
    location: str
    stored_on_hand: int
    stored_reserved: int
    ledger_on_hand: int
    ledger_reserved: int


def levels_from_ledger(session: Session) -> dict[Key, tuple[int, int]]:
    """(on hand, reserved) per part and location, computed from the moves alone."""
    totals: dict[Key, list[int]] = defaultdict(lambda: [0, 0])
    grouped = session.execute(
        select(
            StockMove.part_id,
            StockMove.kind,
            StockMove.from_location_id,
            StockMove.to_location_id,
            func.sum(StockMove.qty),
        ).group_by(
            StockMove.part_id, StockMove.kind, StockMove.from_location_id, StockMove.to_location_id
        )
    )
    for part_id, kind, from_id, to_id, qty in grouped:
        for effect in MOVE_EFFECTS[kind]:
            location_id = from_id if effect.side == "from" else to_id
            if location_id is None:
                continue
            totals[(part_id, location_id)][0] += effect.on_hand * int(qty)
            totals[(part_id, location_id)][1] += effect.reserved * int(qty)
    return {key: (on_hand, reserved) for key, (on_hand, reserved) in totals.items()}


def stored_levels(session: Session) -> dict[Key, tuple[int, int]]:
    rows = session.execute(
        select(StockLevel.part_id, StockLevel.location_id, StockLevel.on_hand, StockLevel.reserved)
    )
    return {(p, loc): (on_hand, reserved) for p, loc, on_hand, reserved in rows}


def compare_levels(session: Session) -> list[LevelDifference]:
    ledger = levels_from_ledger(session)
    stored = stored_levels(session)
    keys = sorted(
        k for k in ledger.keys() | stored.keys() if ledger.get(k, (0, 0)) != stored.get(k, (0, 0))
    )
    if not keys:
        return []
    skus = dict(session.execute(select(Part.id, Part.sku)).all())
    codes = dict(session.execute(select(Location.id, Location.code)).all())
    return [
        LevelDifference(
            sku=skus.get(part_id, str(part_id)),
            location=codes.get(location_id, str(location_id)),
            stored_on_hand=stored.get((part_id, location_id), (0, 0))[0],
            stored_reserved=stored.get((part_id, location_id), (0, 0))[1],
            ledger_on_hand=ledger.get((part_id, location_id), (0, 0))[0],
            ledger_reserved=ledger.get((part_id, location_id), (0, 0))[1],
        )
        for part_id, location_id in keys
    ]


def rebuild_levels(session: Session) -> None:
    """Replace the stored levels with the ones the ledger gives (``stock verify --repair``)."""
    session.execute(delete(StockLevel))
    for (part_id, location_id), (on_hand, reserved) in levels_from_ledger(session).items():
        insert_ignoring_conflicts(
            session,
            StockLevel.__table__,
            {
                "part_id": part_id,
                "location_id": location_id,
                "on_hand": on_hand,
                "reserved": reserved,
            },
        )
    session.flush()
