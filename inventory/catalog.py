"""Master data: suppliers, parts and locations, and the read queries over stock."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, case, func, or_, select
from sqlalchemy.orm import Session

from core import audit
from core.clock import Clock
from core.errors import N_, Conflict, InvalidInput
from inventory.errors import (
    DuplicateBarcode,
    DuplicateLocation,
    DuplicateSku,
    DuplicateSupplier,
    PartNotFound,
    UnknownSupplier,
)
from inventory.ledger import find_part, normalise_location_code
from inventory.models import (
    Location,
    Part,
    Reservation,
    StockLevel,
    StockMove,
    Supplier,
    sku_key,
)
from inventory.status import MOVE_EFFECTS, PICKABLE_KINDS, LocationKind, ReservationStatus

LOCATION_CODE = re.compile(r"^([A-Z0-9][A-Z0-9_-]{0,31})/([A-Z0-9][A-Z0-9._-]{0,31})$")


# --- suppliers ---------------------------------------------------------------------------


def create_supplier(
    session: Session,
    clock: Clock,
    *,
    code: str,
    name: str,
    contact_name: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    default_lead_time_days: int = 14,
) -> Supplier:
    code = code.strip().upper()
    if session.scalar(select(Supplier.id).where(Supplier.code == code)) is not None:
        raise DuplicateSupplier(code)
    supplier = Supplier(
        code=code,
        name=name,
        contact_name=contact_name,
        email=email,
        phone=phone,
        default_lead_time_days=default_lead_time_days,
        created_at=clock.now(),
    )
    session.add(supplier)
    session.flush()
    return supplier


def supplier_by_code(session: Session, code: str, field: str = "supplier") -> Supplier:
    supplier = session.scalar(select(Supplier).where(Supplier.code == code.strip().upper()))
    if supplier is None:
        raise UnknownSupplier(code, field)
    return supplier


def list_suppliers(session: Session, *, after: str | None, limit: int) -> Sequence[Supplier]:
    query = select(Supplier).order_by(Supplier.code).limit(limit)
    if after is not None:
        query = query.where(Supplier.code > after)
    return session.scalars(query).all()


# --- locations ---------------------------------------------------------------------------


def create_location(
    session: Session,
    clock: Clock,
    *,
    code: str,
    kind: LocationKind = LocationKind.STORAGE,
    description: str = "",
) -> Location:
    code = normalise_location_code(code)
    match = LOCATION_CODE.match(code)
    if match is None:
        raise InvalidInput(
            "code",
            N_(
                "%(code)s is not a location code: use WAREHOUSE/BIN, e.g. MAIN/A-01-03.",
                code=repr(code),
            ),
            code="invalid_location_code",
        )
    if session.scalar(select(Location.id).where(Location.code == code)) is not None:
        raise DuplicateLocation(code)
    location = Location(
        code=code,
        warehouse=match.group(1),
        bin=match.group(2),
        kind=kind,
        description=description,
        created_at=clock.now(),
    )
    session.add(location)
    session.flush()
    return location


def list_locations(
    session: Session,
    *,
    warehouse: str | None = None,
    kind: LocationKind | None = None,
    after: str | None,
    limit: int,
) -> Sequence[Location]:
    query = select(Location).order_by(Location.code).limit(limit)
    if warehouse:
        query = query.where(Location.warehouse == warehouse.strip().upper())
    if kind:
        query = query.where(Location.kind == kind)
    if after is not None:
        query = query.where(Location.code > after)
    return session.scalars(query).all()


# --- parts -------------------------------------------------------------------------------

PART_FIELDS = {
    "name",
    "description",
    "unit",
    "category",
    "barcode",
    "unit_cost",
    "lead_time_days",
    "reorder_point",
    "reorder_qty",
    "safety_stock",
    "active",
    "serialised",
}


def _check_barcode_free(session: Session, barcode: str | None, part_id: int | None) -> None:
    if not barcode:
        return
    owner = session.scalar(select(Part.id).where(Part.barcode == barcode))
    if owner is not None and owner != part_id:
        raise DuplicateBarcode(barcode)


def create_part(
    session: Session,
    clock: Clock,
    *,
    sku: str,
    name: str,
    supplier: str | None = None,
    **fields: Any,
) -> Part:
    sku = sku.strip()
    if find_part(session, sku) is not None:
        raise DuplicateSku(sku)
    unknown = set(fields) - PART_FIELDS
    if unknown:
        raise TypeError(f"unknown part fields: {sorted(unknown)}")
    _check_barcode_free(session, fields.get("barcode"), None)
    now = clock.now()
    part = Part(
        sku=sku,
        sku_key=sku_key(sku),
        name=name,
        created_at=now,
        updated_at=now,
        supplier=supplier_by_code(session, supplier) if supplier else None,
        **fields,
    )
    session.add(part)
    session.flush()
    return part


def get_part(session: Session, sku: str) -> Part:
    part = find_part(session, sku)
    if part is None:
        raise PartNotFound(sku)
    return part


def update_part(
    session: Session,
    clock: Clock,
    sku: str,
    changes: dict[str, Any],
    actor: str = audit.SYSTEM_ACTOR,
) -> Part:
    part = get_part(session, sku)
    changes = dict(changes)
    if "supplier" in changes:
        code = changes.pop("supplier")
        part.supplier = supplier_by_code(session, code) if code else None
    unknown = set(changes) - PART_FIELDS
    if unknown:
        raise TypeError(f"unknown part fields: {sorted(unknown)}")
    if "barcode" in changes:
        _check_barcode_free(session, changes["barcode"], part.id)
    if "serialised" in changes:
        check_serialisation_change(session, part, changes["serialised"])
    old_cost = part.unit_cost
    for name, value in changes.items():
        setattr(part, name, value)
    part.updated_at = clock.now()
    record_price_change(session, part, old_cost, actor, clock.now())
    session.flush()
    return part


def check_serialisation_change(session: Session, part: Part, serialised: bool) -> None:
    """Refuse (``part_has_stock``) to switch ``part.serialised`` to ``serialised`` while
    units are on hand: they were moved without serials (or with them), and switching then
    would leave units the serial table cannot account for. The API and the catalogue
    workbook both go through here."""
    if serialised == part.serialised:
        return
    on_hand = session.scalar(
        select(func.coalesce(func.sum(StockLevel.on_hand), 0)).where(StockLevel.part_id == part.id)
    )
    if on_hand:
        raise Conflict(
            N_(
                "%(sku)s has %(on_hand)s units on hand; serialisation can only change"
                " while none are in stock.",
                sku=part.sku,
                on_hand=on_hand,
            ),
            code="part_has_stock",
            sku=part.sku,
            on_hand=on_hand,
        )


def record_price_change(
    session: Session, part: Part, old_cost: Decimal, actor: str, at: datetime
) -> None:
    """Audit ``part.price_changed`` when the unit cost differs from ``old_cost``.

    A new part's first price is not a change (it shows on the part itself).
    """
    new_cost = part.unit_cost
    if Decimal(old_cost) == Decimal(new_cost):
        return
    audit.record(
        session,
        at=at,
        actor=actor,
        action="part.price_changed",
        target_type="part",
        target=part.sku,
        details={"old_unit_cost": old_cost, "new_unit_cost": new_cost},
    )


@dataclass(frozen=True)
class PartStock:
    """A part with its stock totals over all locations."""

    part: Part
    on_hand: int
    reserved: int
    available: int  # free stock in pickable locations (not quarantine or returns)

    @property
    def below_reorder_point(self) -> bool:
        return self.part.reorder_point > 0 and self.available <= self.part.reorder_point

    @property
    def short_of_reorder_point(self) -> bool:
        """Strictly below the point: what the parts list highlights (at the point is due, not
        short, and "at or below" would mark every row of the below-reorder-point list)."""
        return self.part.reorder_point > 0 and self.available < self.part.reorder_point


def _totals_subquery() -> Any:
    pickable = Location.kind.in_(PICKABLE_KINDS)
    return (
        select(
            StockLevel.part_id.label("part_id"),
            func.sum(StockLevel.on_hand).label("on_hand"),
            func.sum(StockLevel.reserved).label("reserved"),
            func.sum(case((pickable, StockLevel.on_hand - StockLevel.reserved), else_=0)).label(
                "available"
            ),
        )
        .join(Location, Location.id == StockLevel.location_id)
        .group_by(StockLevel.part_id)
        .subquery()
    )


def _parts_with_totals() -> tuple[Select[Any], Any]:
    totals = _totals_subquery()
    query = select(
        Part,
        func.coalesce(totals.c.on_hand, 0),
        func.coalesce(totals.c.reserved, 0),
        func.coalesce(totals.c.available, 0),
    ).outerjoin(totals, totals.c.part_id == Part.id)
    return query, totals


def list_parts(
    session: Session,
    *,
    supplier: str | None = None,
    category: str | None = None,
    below_reorder_point: bool | None = None,
    active: bool | None = None,
    search: str | None = None,
    after: str | None = None,
    limit: int = 50,
) -> list[PartStock]:
    """Parts in SKU order with stock totals, one query whatever the page size (keyset paging)."""
    query, totals = _parts_with_totals()
    if supplier:
        query = query.join(Supplier, Supplier.id == Part.supplier_id).where(
            Supplier.code == supplier.strip().upper()
        )
    if category:
        query = query.where(Part.category == category)
    if active is not None:
        query = query.where(Part.active.is_(active))
    if search:
        needle = f"%{search.strip().casefold()}%"
        query = query.where(
            or_(
                Part.sku_key.like(needle),
                func.lower(Part.name).like(needle),
                Part.barcode == search.strip(),
            )
        )
    available = func.coalesce(totals.c.available, 0)
    if below_reorder_point is True:
        query = query.where(Part.reorder_point > 0, available <= Part.reorder_point)
    elif below_reorder_point is False:
        query = query.where(or_(Part.reorder_point == 0, available > Part.reorder_point))
    if after is not None:
        query = query.where(Part.sku_key > after)
    rows = session.execute(query.order_by(Part.sku_key).limit(limit)).all()
    return [
        PartStock(part, int(on_hand), int(reserved), int(avail))
        for part, on_hand, reserved, avail in rows
    ]


def part_stock(session: Session, part: Part) -> PartStock:
    query, _ = _parts_with_totals()
    _, on_hand, reserved, available = session.execute(query.where(Part.id == part.id)).one()
    return PartStock(part, int(on_hand), int(reserved), int(available))


@dataclass(frozen=True)
class StockReport:
    totals: PartStock
    levels: list[StockLevel]


def stock_report(session: Session, sku: str) -> StockReport:
    part = get_part(session, sku)
    part_levels = session.scalars(
        select(StockLevel)
        .join(Location, Location.id == StockLevel.location_id)
        .where(StockLevel.part_id == part.id, StockLevel.on_hand > 0)
        .order_by(Location.code)
    ).all()
    return StockReport(part_stock(session, part), list(part_levels))


def list_moves(
    session: Session, sku: str, *, before: int | None, limit: int
) -> Sequence[StockMove]:
    """The ledger for one part, newest first."""
    part = get_part(session, sku)
    query = select(StockMove).where(StockMove.part_id == part.id)
    if before is not None:
        query = query.where(StockMove.id < before)
    return session.scalars(query.order_by(StockMove.id.desc()).limit(limit)).unique().all()


def open_reservations(session: Session, sku: str) -> Sequence[Reservation]:
    part = get_part(session, sku)
    return session.scalars(
        select(Reservation)
        .where(Reservation.part_id == part.id, Reservation.status == ReservationStatus.ACTIVE)
        .order_by(Reservation.id)
    ).all()


def stock_history(session: Session, sku: str, *, since: datetime) -> list[tuple[datetime, int]]:
    """On hand over all locations after each move since ``since`` (oldest first), for a chart.

    Walks back from today's level through the ledger, so it needs no stored snapshots. It
    starts at ``since`` only when the part has moves before it (the level there is known);
    otherwise at its first move, so a chart does not show "none on hand" for the days before
    the part was ever stocked. Moves before ``since`` but none since: the level, carried.
    """
    part = get_part(session, sku)
    current = (
        session.scalar(
            select(func.coalesce(func.sum(StockLevel.on_hand), 0)).where(
                StockLevel.part_id == part.id
            )
        )
        or 0
    )
    moves = session.execute(
        select(
            StockMove.created_at,
            StockMove.kind,
            StockMove.qty,
            StockMove.from_location_id,
            StockMove.to_location_id,
        )
        .where(StockMove.part_id == part.id, StockMove.created_at >= since)
        .order_by(StockMove.id.desc())
    ).all()
    points: list[tuple[datetime, int]] = []
    level = int(current)
    for created_at, kind, qty, from_id, to_id in moves:
        change = sum(
            effect.on_hand * qty
            for effect in MOVE_EFFECTS[kind]
            if (from_id if effect.side == "from" else to_id) is not None
        )
        points.append((created_at, level))
        level -= change
    history = list(reversed(points))
    known_before = session.scalar(
        select(StockMove.id)
        .where(StockMove.part_id == part.id, StockMove.created_at < since)
        .limit(1)
    )
    start = [(since, level)] if known_before is not None else []
    return [*start, *history]
