"""The repair order of an RMA resolved by ``repair``: its states, its rows and its rules.

The received unit is diagnosed, mended with parts issued from stock (each part line tied to
its ledger row), tested, and shipped back to the customer. A part that is short waits on the
order (``waiting_for_parts``, the missing SKUs visible) until stock is there again
(returns/repairs.py ``fill_waiting_repairs``). The rules are plain methods, tested without a
database.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, UTCDateTime, string_enum
from returns.errors import IllegalTransition


class RepairStatus(enum.StrEnum):
    OPEN = "open"  # opened on the received unit, nothing done yet
    WAITING_FOR_PARTS = "waiting_for_parts"  # a part is short: see the waiting part lines
    IN_REPAIR = "in_repair"
    TESTED_OK = "tested_ok"
    FAILED_TEST = "failed_test"  # back to work: more parts, more labour, another test
    SHIPPED = "shipped"  # the repaired unit is on its way back to the customer


class RepairPartStatus(enum.StrEnum):
    ISSUED = "issued"  # taken from stock: ``stock_move_id`` is its ledger row
    WAITING = "waiting"  # short when asked for: issued when stock is there again


R = RepairStatus

#: The one table of allowed moves of a repair order.
REPAIR_TRANSITIONS: dict[RepairStatus, frozenset[RepairStatus]] = {
    R.OPEN: frozenset({R.IN_REPAIR, R.WAITING_FOR_PARTS}),
    R.WAITING_FOR_PARTS: frozenset({R.IN_REPAIR, R.WAITING_FOR_PARTS}),
    R.IN_REPAIR: frozenset({R.IN_REPAIR, R.WAITING_FOR_PARTS, R.TESTED_OK, R.FAILED_TEST}),
    R.FAILED_TEST: frozenset({R.IN_REPAIR, R.WAITING_FOR_PARTS, R.TESTED_OK, R.FAILED_TEST}),
    R.TESTED_OK: frozenset({R.IN_REPAIR, R.WAITING_FOR_PARTS, R.SHIPPED}),
    R.SHIPPED: frozenset(),
}
#: Work may still be done on the unit (parts used, labour booked, a test run).
WORKABLE = frozenset({R.OPEN, R.IN_REPAIR, R.FAILED_TEST, R.TESTED_OK, R.WAITING_FOR_PARTS})


class RepairOrder(Base):
    __tablename__ = "repair_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    rma_id: Mapped[int] = mapped_column(ForeignKey("rmas.id"), unique=True)
    status: Mapped[RepairStatus] = mapped_column(string_enum(RepairStatus), index=True)
    diagnosis: Mapped[str] = mapped_column(Text, default="")
    technician: Mapped[str | None] = mapped_column(String(254))
    labour_minutes: Mapped[int] = mapped_column(Integer, default=0)
    test_passed: Mapped[bool | None] = mapped_column(Boolean)
    test_result: Mapped[str | None] = mapped_column(Text)
    #: When the returned unit was booked in (from the RMA's timeline): turnaround starts here.
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    opened_by: Mapped[str] = mapped_column(String(254))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    tested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    carrier: Mapped[str | None] = mapped_column(String(32))
    tracking_number: Mapped[str | None] = mapped_column(String(64))
    shipped_by: Mapped[str | None] = mapped_column(String(254))
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    parts: Mapped[list[RepairPart]] = relationship(
        order_by="RepairPart.id", cascade="all, delete-orphan"
    )

    __table_args__ = (CheckConstraint("labour_minutes >= 0", name="labour_not_negative"),)

    def move_to(self, to: RepairStatus, now: datetime) -> None:
        if to not in REPAIR_TRANSITIONS[self.status]:
            raise IllegalTransition(f"repair {self.id}", self.status.value, to.value)
        self.status, self.updated_at = to, now

    def require_workable(self, what: str) -> None:
        if self.status not in WORKABLE:
            raise IllegalTransition(f"repair {self.id}", self.status.value, what)

    @property
    def missing_skus(self) -> list[str]:
        """The SKUs the repair waits for (the visible reason of ``waiting_for_parts``)."""
        return sorted({p.sku for p in self.parts if p.status is RepairPartStatus.WAITING})

    def after_parts_change(self, now: datetime) -> None:
        """Waiting while any part line waits; otherwise back in repair."""
        target = R.WAITING_FOR_PARTS if self.missing_skus else R.IN_REPAIR
        if self.status is not target:
            self.move_to(target, now)

    def record_test(self, passed: bool, result: str, now: datetime) -> None:
        if self.missing_skus:
            raise IllegalTransition(f"repair {self.id}", self.status.value, "tested")
        self.move_to(R.TESTED_OK if passed else R.FAILED_TEST, now)
        self.test_passed, self.test_result, self.tested_at = passed, result, now


class RepairPart(Base):
    """One part used (or waited for) on a repair; issued, it names its ledger row."""

    __tablename__ = "repair_parts"

    id: Mapped[int] = mapped_column(primary_key=True)
    repair_id: Mapped[int] = mapped_column(ForeignKey("repair_orders.id"), index=True)
    part_id: Mapped[int] = mapped_column(ForeignKey("parts.id"), index=True)
    sku: Mapped[str] = mapped_column(String(64))
    qty: Mapped[int] = mapped_column(Integer)
    status: Mapped[RepairPartStatus] = mapped_column(string_enum(RepairPartStatus), index=True)
    #: The bin asked for (None: any pickable bin with enough free stock).
    location: Mapped[str | None] = mapped_column(String(64))
    stock_move_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("stock_moves.id"))
    requested_by: Mapped[str] = mapped_column(String(254))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (CheckConstraint("qty > 0", name="qty_positive"),)
