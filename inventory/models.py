"""Inventory tables. Rules that must never break are also CHECK constraints."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, BigIntPK, UTCDateTime, append_only, string_enum
from core.money import ExactDecimal
from inventory.status import (
    PICKABLE_KINDS,
    LocationKind,
    MoveKind,
    ReservationStatus,
    SerialState,
    SheetKind,
)


def sku_key(sku: str) -> str:
    """SKUs are unique regardless of case: ``ab-1`` and ``AB-1`` are the same part."""
    return sku.strip().casefold()


class Supplier(Base):
    __tablename__ = "suppliers"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    contact_name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(50))
    default_lead_time_days: Mapped[int] = mapped_column(Integer, default=14)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (CheckConstraint("default_lead_time_days >= 0", name="lead_time"),)


class Part(Base):
    __tablename__ = "parts"

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(64))
    sku_key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    unit: Mapped[str] = mapped_column(String(16), default="pcs")
    category: Mapped[str | None] = mapped_column(String(100), index=True)
    barcode: Mapped[str | None] = mapped_column(String(64), unique=True)
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("suppliers.id"), index=True)
    unit_cost: Mapped[Decimal] = mapped_column(ExactDecimal(14, 4), default=Decimal("0"))
    lead_time_days: Mapped[int | None] = mapped_column(Integer)
    reorder_point: Mapped[int] = mapped_column(Integer, default=0)
    reorder_qty: Mapped[int] = mapped_column(Integer, default=0)
    safety_stock: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Each unit has a serial number, named on every move (inventory/serials.py).
    serialised: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    supplier: Mapped[Supplier | None] = relationship(lazy="joined")

    __table_args__ = (
        CheckConstraint("reorder_point >= 0", name="reorder_point"),
        CheckConstraint("reorder_qty >= 0", name="reorder_qty"),
        CheckConstraint("safety_stock >= 0", name="safety_stock"),
        CheckConstraint("lead_time_days IS NULL OR lead_time_days >= 0", name="lead_time"),
        CheckConstraint("unit_cost >= 0", name="unit_cost"),
    )

    @property
    def effective_lead_time_days(self) -> int | None:
        """The part's own lead time, else its supplier's default."""
        if self.lead_time_days is not None:
            return self.lead_time_days
        return self.supplier.default_lead_time_days if self.supplier else None


class Location(Base):
    __tablename__ = "locations"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    warehouse: Mapped[str] = mapped_column(String(32), index=True)
    bin: Mapped[str] = mapped_column(String(32))
    kind: Mapped[LocationKind] = mapped_column(
        string_enum(LocationKind), default=LocationKind.STORAGE
    )
    description: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    @property
    def pickable(self) -> bool:
        """Whether stock here may be promised (reserved) to anyone."""
        return self.kind in PICKABLE_KINDS


class StockLevel(Base):
    """On hand and reserved per part and location, kept in step with the ledger."""

    __tablename__ = "stock_levels"

    part_id: Mapped[int] = mapped_column(ForeignKey("parts.id"), primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), primary_key=True)
    on_hand: Mapped[int] = mapped_column(BigInteger, default=0)
    reserved: Mapped[int] = mapped_column(BigInteger, default=0)

    location: Mapped[Location] = relationship(lazy="joined")

    __table_args__ = (
        CheckConstraint("on_hand >= 0", name="on_hand_not_negative"),
        CheckConstraint("reserved >= 0", name="reserved_not_negative"),
        CheckConstraint("reserved <= on_hand", name="reserved_within_on_hand"),
        Index("ix_stock_levels_location_id", "location_id"),
    )

    @property
    def available(self) -> int:
        """Free stock that can be promised: none in quarantine or returns locations."""
        return self.on_hand - self.reserved if self.location.pickable else 0

    @property
    def unreserved(self) -> int:
        return self.on_hand - self.reserved


class Reservation(Base):
    __tablename__ = "reservations"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    part_id: Mapped[int] = mapped_column(ForeignKey("parts.id"), index=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    qty: Mapped[int] = mapped_column(Integer)
    reference: Mapped[str | None] = mapped_column(String(100), index=True)
    status: Mapped[ReservationStatus] = mapped_column(
        string_enum(ReservationStatus), default=ReservationStatus.ACTIVE
    )
    created_by: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    part: Mapped[Part] = relationship(lazy="joined")
    location: Mapped[Location] = relationship(lazy="joined")

    __table_args__ = (CheckConstraint("qty > 0", name="qty_positive"),)


class StockMove(Base):
    """One row of the append-only stock ledger."""

    __tablename__ = "stock_moves"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    part_id: Mapped[int] = mapped_column(ForeignKey("parts.id"))
    kind: Mapped[MoveKind] = mapped_column(string_enum(MoveKind))
    qty: Mapped[int] = mapped_column(Integer)
    from_location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"))
    to_location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"))
    reason: Mapped[str] = mapped_column(String(200), default="")
    reference: Mapped[str | None] = mapped_column(String(100), index=True)
    reservation_id: Mapped[int | None] = mapped_column(ForeignKey("reservations.id"))
    counted_qty: Mapped[int | None] = mapped_column(BigInteger)
    #: The serials of the units moved (serialised parts), one per line of text.
    serials: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    part: Mapped[Part] = relationship(lazy="joined")
    from_location: Mapped[Location | None] = relationship(
        foreign_keys=[from_location_id], lazy="joined"
    )
    to_location: Mapped[Location | None] = relationship(
        foreign_keys=[to_location_id], lazy="joined"
    )

    __table_args__ = (
        # A count that matches the books is recorded too (qty 0): proof the bin was counted.
        CheckConstraint("qty > 0 OR (kind = 'adjustment' AND qty = 0)", name="qty_positive"),
        CheckConstraint(
            "from_location_id IS NOT NULL OR to_location_id IS NOT NULL", name="has_location"
        ),
        CheckConstraint("counted_qty IS NULL OR counted_qty >= 0", name="counted_not_negative"),
        Index("ix_stock_moves_part_id_id", "part_id", "id"),
    )

    @property
    def signed_difference(self) -> int | None:
        """For a count: counted minus what the books said."""
        if self.kind != MoveKind.ADJUSTMENT:
            return None
        return -self.qty if self.from_location_id is not None else self.qty

    @property
    def serial_list(self) -> list[str]:
        return [serial for serial in (self.serials or "").split("\n") if serial]


# The ledger is append-only, enforced by the database, not only by convention.
append_only(StockMove.__table__)


class SerialUnit(Base):
    """Where one serialised unit is now and who has it; kept in step with the ledger rows
    that name its serial, in the same transaction (inventory/serials.py)."""

    __tablename__ = "serial_units"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    part_id: Mapped[int] = mapped_column(ForeignKey("parts.id"))
    serial: Mapped[str] = mapped_column(String(100))
    state: Mapped[SerialState] = mapped_column(string_enum(SerialState))
    #: Set while the unit is in stock (state ``in_stock``), else empty.
    location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"), index=True)
    customer_name: Mapped[str | None] = mapped_column(String(200))
    customer_email: Mapped[str | None] = mapped_column(String(254), index=True)
    order_number: Mapped[str | None] = mapped_column(String(100))
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_move_id: Mapped[int | None] = mapped_column(ForeignKey("stock_moves.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    part: Mapped[Part] = relationship(lazy="joined")
    location: Mapped[Location | None] = relationship(lazy="joined")

    __table_args__ = (
        UniqueConstraint("part_id", "serial", name="uq_serial_units_part_id_serial"),
        CheckConstraint(
            "(state = 'in_stock') = (location_id IS NOT NULL)", name="location_when_in_stock"
        ),
        Index("ix_serial_units_serial", "serial"),
    )


class SheetImport(Base):
    """An uploaded workbook that was applied. Each exported workbook carries an id in its
    hidden sheet, and is applied at most once, however it was edited and saved since."""

    __tablename__ = "sheet_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[SheetKind] = mapped_column(string_enum(SheetKind))
    export_id: Mapped[str] = mapped_column(String(32))
    digest: Mapped[str] = mapped_column(String(64))  # SHA-256 of the uploaded bytes (audit)
    filename: Mapped[str] = mapped_column(String(255), default="")
    actor: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    summary: Mapped[str] = mapped_column(String(500), default="")

    __table_args__ = (
        UniqueConstraint("kind", "export_id", name="uq_sheet_imports_kind_export_id"),
    )
