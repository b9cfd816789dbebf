"""Tables for reorder policies, purchase orders and imported spreadsheets."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    Enum,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, BigIntPK, UTCDateTime, string_enum
from core.money import ExactDecimal
from inventory.ledger import Who
from inventory.models import Part, Supplier
from purchasing.errors import IllegalTransition
from purchasing.status import TRANSITIONS, PurchaseOrderStatus, ReorderMethod


def _named_enum(cls: type[enum.Enum], name: str) -> Enum:
    """Like :func:`core.db.string_enum`, with a CHECK name of its own (two per table)."""
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=20,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class ReorderPolicy(Base):
    """How one part is reordered, and what the last recompute found in its demand history.

    A part without a row has the defaults: manual points, pack size 1, no minimum order.
    """

    __tablename__ = "reorder_policies"

    part_id: Mapped[int] = mapped_column(ForeignKey("parts.id"), primary_key=True)
    method: Mapped[ReorderMethod] = mapped_column(
        string_enum(ReorderMethod), default=ReorderMethod.MANUAL
    )
    pack_size: Mapped[int] = mapped_column(Integer, default=1)
    min_order_qty: Mapped[int] = mapped_column(Integer, default=0)
    #: Order up to this level instead of reorder point + reorder quantity.
    max_level: Mapped[int | None] = mapped_column(Integer)
    #: This part's service level; None: the configured default.
    service_level: Mapped[Decimal | None] = mapped_column(ExactDecimal(6, 4))
    #: Days of demand one computed order should cover; None: the configured default.
    order_cycle_days: Mapped[int | None] = mapped_column(Integer)

    # What the last recompute found (all None until the first one).
    computed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    window_days: Mapped[int | None] = mapped_column(Integer)
    demand_total: Mapped[int | None] = mapped_column(BigInteger)
    avg_daily_demand: Mapped[Decimal | None] = mapped_column(ExactDecimal(14, 4))
    demand_std_dev: Mapped[Decimal | None] = mapped_column(ExactDecimal(14, 4))
    lead_time_days_used: Mapped[int | None] = mapped_column(Integer)
    service_level_used: Mapped[Decimal | None] = mapped_column(ExactDecimal(6, 4))
    suggested_safety_stock: Mapped[int | None] = mapped_column(BigInteger)
    suggested_reorder_point: Mapped[int | None] = mapped_column(BigInteger)
    suggested_reorder_qty: Mapped[int | None] = mapped_column(BigInteger)
    # The fill-rate plan (docs/planning.md), written by the recompute from monthly demand.
    #: The buyer's fill-rate target for this part; None: its category's, class's or default.
    fill_rate_target: Mapped[Decimal | None] = mapped_column(ExactDecimal(6, 4))
    demand_class: Mapped[str | None] = mapped_column(String(12))
    demand_adi: Mapped[Decimal | None] = mapped_column(ExactDecimal(10, 4))
    demand_cv2: Mapped[Decimal | None] = mapped_column(ExactDecimal(12, 4))
    forecast_per_month: Mapped[Decimal | None] = mapped_column(ExactDecimal(14, 4))
    forecast_method: Mapped[str | None] = mapped_column(String(8))
    fill_rate_target_used: Mapped[Decimal | None] = mapped_column(ExactDecimal(6, 4))
    planned_level: Mapped[int | None] = mapped_column(BigInteger)
    expected_fill_rate: Mapped[Decimal | None] = mapped_column(ExactDecimal(6, 4))
    planned_stock_value: Mapped[Decimal | None] = mapped_column(ExactDecimal(16, 2))
    #: Since when the part has been at or below its reorder point (set by the recompute).
    flagged_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    part: Mapped[Part] = relationship(lazy="joined")

    __table_args__ = (
        CheckConstraint("pack_size >= 1", name="pack_size"),
        CheckConstraint("min_order_qty >= 0", name="min_order_qty"),
        CheckConstraint("max_level IS NULL OR max_level >= 0", name="max_level"),
        CheckConstraint(
            "order_cycle_days IS NULL OR order_cycle_days >= 1", name="order_cycle_days"
        ),
        CheckConstraint(
            "fill_rate_target IS NULL OR (fill_rate_target >= 0.5 AND fill_rate_target <= 0.999)",
            name="fill_rate_target",
        ),
    )


class PlanningTarget(Base):
    """A buyer's fill-rate target for a demand class, a part category, or the default.

    ``scope`` is ``default`` (``key`` empty), ``class`` (``key`` a demand class) or
    ``category`` (``key`` a part category). A part's target: its own, else its category's,
    else its class's, else the default (docs/planning.md).
    """

    __tablename__ = "planning_targets"

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(10))
    key: Mapped[str] = mapped_column(String(100), default="")
    fill_rate: Mapped[Decimal] = mapped_column(ExactDecimal(6, 4))
    updated_by: Mapped[str] = mapped_column(String(254))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("scope", "key", name="uq_planning_targets_scope_key"),
        CheckConstraint("scope IN ('default', 'class', 'category')", name="scope"),
        CheckConstraint("fill_rate >= 0.5 AND fill_rate <= 0.999", name="fill_rate"),
    )


class PlanningTradeoff(Base):
    """The catalogue's trade-off, written by each recompute: for one overall fill-rate target,
    the expected fill rate and the stock value the planned levels would hold."""

    __tablename__ = "planning_tradeoff"

    target: Mapped[Decimal] = mapped_column(ExactDecimal(6, 4), primary_key=True)
    expected_fill_rate: Mapped[Decimal] = mapped_column(ExactDecimal(6, 4))
    stock_value: Mapped[Decimal] = mapped_column(ExactDecimal(18, 2))
    parts: Mapped[int] = mapped_column(Integer)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class NumberSequence(Base):
    """Gap-free counters for document numbers (``PO-2026-00042``), one row per series."""

    __tablename__ = "number_sequences"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_value: Mapped[int] = mapped_column(BigInteger, default=0)


class PurchaseOrder(Base):
    __tablename__ = "purchase_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"), index=True)
    status: Mapped[PurchaseOrderStatus] = mapped_column(
        string_enum(PurchaseOrderStatus), default=PurchaseOrderStatus.DRAFT, index=True
    )
    #: Where it came from, e.g. "reorder sheet import 12".
    source: Mapped[str] = mapped_column(String(200), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: When the goods should arrive: set on sending, from the lead times.
    expected_on: Mapped[date | None] = mapped_column(Date)

    supplier: Mapped[Supplier] = relationship(lazy="joined")
    # Loaded when a use case touches them; pages read purchasing.order_views instead.
    lines: Mapped[list[PurchaseOrderLine]] = relationship(
        back_populates="purchase_order",
        order_by="PurchaseOrderLine.line_no",
        cascade="all, delete-orphan",
    )
    events: Mapped[list[PurchaseOrderEvent]] = relationship(
        order_by="PurchaseOrderEvent.id", cascade="all, delete-orphan"
    )

    # --- transitions: the only way the status changes ------------------------------------

    def _move(self, to: PurchaseOrderStatus, who: Who, reason: str) -> None:
        allowed = TRANSITIONS[self.status]
        if to not in allowed:
            raise IllegalTransition(
                self.number, self.status.value, to.value, sorted(s.value for s in allowed)
            )
        now = who.clock.now()
        self.events.append(
            PurchaseOrderEvent(
                from_status=self.status,
                to_status=to,
                actor=who.actor,
                created_at=now,
                reason=reason[:200],
            )
        )
        self.status = to
        self.updated_at = now

    def record_creation(self, who: Who, reason: str) -> None:
        self.events.append(
            PurchaseOrderEvent(
                from_status=None,
                to_status=self.status,
                actor=who.actor,
                created_at=who.clock.now(),
                reason=reason[:200],
            )
        )

    def send(self, who: Who, expected_on: date, reason: str = "") -> None:
        self._move(PurchaseOrderStatus.SENT, who, reason or "sent to supplier")
        self.sent_at = who.clock.now()
        self.expected_on = expected_on

    def cancel(self, who: Who, reason: str = "") -> None:
        self._move(PurchaseOrderStatus.CANCELLED, who, reason or "cancelled")
        self.closed_at = who.clock.now()

    def after_receipt(self, who: Who, reason: str) -> None:
        """Move to received or partially received once lines have been received against."""
        if all(line.qty_received >= line.qty_ordered for line in self.lines):
            self._move(PurchaseOrderStatus.RECEIVED, who, reason)
            self.closed_at = who.clock.now()
        elif self.status != PurchaseOrderStatus.PARTIALLY_RECEIVED:
            self._move(PurchaseOrderStatus.PARTIALLY_RECEIVED, who, reason)
        else:
            self.updated_at = who.clock.now()

    def ensure_receivable(self) -> None:
        if self.status not in (PurchaseOrderStatus.SENT, PurchaseOrderStatus.PARTIALLY_RECEIVED):
            allowed = sorted(s.value for s in TRANSITIONS[self.status])
            raise IllegalTransition(self.number, self.status.value, "received", allowed)


class PurchaseOrderLine(Base):
    __tablename__ = "purchase_order_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    purchase_order_id: Mapped[int] = mapped_column(ForeignKey("purchase_orders.id"), index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    part_id: Mapped[int] = mapped_column(ForeignKey("parts.id"), index=True)
    qty_ordered: Mapped[int] = mapped_column(BigInteger)
    qty_received: Mapped[int] = mapped_column(BigInteger, default=0)
    unit_cost: Mapped[Decimal] = mapped_column(ExactDecimal(14, 4))

    purchase_order: Mapped[PurchaseOrder] = relationship(back_populates="lines")
    part: Mapped[Part] = relationship(lazy="joined")

    __table_args__ = (
        CheckConstraint("qty_ordered > 0", name="qty_ordered_positive"),
        CheckConstraint("qty_received >= 0", name="qty_received_not_negative"),
        CheckConstraint("qty_received <= qty_ordered", name="no_over_receipt"),
        UniqueConstraint("purchase_order_id", "part_id", name="uq_purchase_order_lines_part"),
        UniqueConstraint("purchase_order_id", "line_no", name="uq_purchase_order_lines_line_no"),
    )

    @property
    def qty_outstanding(self) -> int:
        return self.qty_ordered - self.qty_received


class PurchaseOrderEvent(Base):
    """One recorded transition of a purchase order: who, when, from what to what, why."""

    __tablename__ = "purchase_order_events"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    purchase_order_id: Mapped[int] = mapped_column(ForeignKey("purchase_orders.id"), index=True)
    from_status: Mapped[PurchaseOrderStatus | None] = mapped_column(
        _named_enum(PurchaseOrderStatus, "from_status")
    )
    to_status: Mapped[PurchaseOrderStatus] = mapped_column(
        _named_enum(PurchaseOrderStatus, "to_status")
    )
    actor: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(String(200), default="")
