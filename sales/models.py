"""The sales-order tables: orders, their lines, and the order webhooks stored before applying."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, BigIntPK, UTCDateTime, string_enum
from core.money import ExactDecimal


class OrderSource(enum.StrEnum):
    """How the order reached spareflow (the channel says where the customer bought)."""

    API = "api"
    IMPORT = "import"
    SHOPIFY = "shopify"


class SalesOrder(Base):
    """One customer order, by its number (unique across channels: ``#1001`` from Shopify)."""

    __tablename__ = "sales_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(100), unique=True)
    #: Where the customer bought: "shopify", "web", "marketplace", "phone", ... (free text).
    channel: Mapped[str] = mapped_column(String(32))
    source: Mapped[OrderSource] = mapped_column(string_enum(OrderSource))
    #: The provider's own id (Shopify's numeric order id), needed to refund through it.
    external_id: Mapped[str | None] = mapped_column(String(100))
    customer_name: Mapped[str] = mapped_column(String(200))
    #: Lower-cased, so the portal compares e-mails without regard to case.
    customer_email: Mapped[str] = mapped_column(String(254), index=True)
    customer_phone: Mapped[str | None] = mapped_column(String(50))
    # The delivery address, as on RMAs (core/addresses.py); all null when the order has none.
    address_name: Mapped[str | None] = mapped_column(String(200))
    address_company: Mapped[str | None] = mapped_column(String(200))
    address_street: Mapped[str | None] = mapped_column(String(200))
    address_street2: Mapped[str | None] = mapped_column(String(200))
    address_city: Mapped[str | None] = mapped_column(String(100))
    address_state: Mapped[str | None] = mapped_column(String(100))
    #: Upper-cased without spaces, so the portal can compare postcodes.
    address_postcode: Mapped[str | None] = mapped_column(String(20))
    address_country: Mapped[str | None] = mapped_column(String(2))
    address_phone: Mapped[str | None] = mapped_column(String(50))
    ordered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    payment_reference: Mapped[str | None] = mapped_column(String(100))
    currency: Mapped[str] = mapped_column(String(3))
    #: Money the provider refunded outside spareflow (Shopify ``refunds/create``), minor units.
    refunded_elsewhere_minor: Mapped[int] = mapped_column(Integer, default=0)
    #: The provider's own last-change time (Shopify ``updated_at``): an older copy arriving
    #: late (webhooks come out of order) does not overwrite a newer one.
    provider_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    lines: Mapped[list[SalesOrderLine]] = relationship(
        back_populates="order",
        order_by="SalesOrderLine.position",
        cascade="all, delete-orphan",
        lazy="selectin",
    )


class SalesOrderLine(Base):
    __tablename__ = "sales_order_lines"
    __table_args__ = (
        UniqueConstraint("order_id", "position"),
        CheckConstraint("qty > 0", name="qty"),
        CheckConstraint("unit_price >= 0", name="unit_price"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("sales_orders.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    sku: Mapped[str] = mapped_column(String(64), index=True)
    qty: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[Decimal] = mapped_column(ExactDecimal(14, 4))
    #: The serial numbers shipped on this line, one per line of text.
    serials: Mapped[str] = mapped_column(Text, default="")
    #: The provider's id for the line (Shopify ``line_items[].id``), to refund it there.
    external_id: Mapped[str | None] = mapped_column(String(100))

    order: Mapped[SalesOrder] = relationship(back_populates="lines")


class OrderWebhookStatus(enum.StrEnum):
    RECEIVED = "received"
    APPLIED = "applied"
    IGNORED = "ignored"
    FAILED = "failed"


class OrderWebhookEvent(Base):
    """An order webhook as it arrived (after its signature was proven), stored once by the
    provider's delivery id (Shopify's ``X-Shopify-Webhook-Id``) before it is applied."""

    __tablename__ = "order_webhook_events"
    __table_args__ = (UniqueConstraint("provider", "event_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    provider: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[str] = mapped_column(String(255))
    topic: Mapped[str] = mapped_column(String(100))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[OrderWebhookStatus] = mapped_column(string_enum(OrderWebhookStatus))
    error: Mapped[str | None] = mapped_column(String(500))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
