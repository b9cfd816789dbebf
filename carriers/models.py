"""Shipments, the carrier events on their timelines, and the raw webhook deliveries."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from carriers.status import TrackingStatus
from core.db import Base, BigIntPK, UTCDateTime, string_enum

#: The media type of a ZPL label (as ``carriers.labels.ZPL_MEDIA_TYPE``, which imports this).
ZPL_MEDIA_TYPE = "application/zpl"


def label_formats(has_pdf: bool, has_zpl: bool) -> list[str]:
    """``pdf``, ``zpl``: a label's formats, the default (served without ``?format=``) first."""
    return [name for name, there in (("pdf", has_pdf), ("zpl", has_zpl)) if there]


class Direction(enum.StrEnum):
    INBOUND = "inbound"  # customer returns coming to us
    OUTBOUND = "outbound"  # replacements and supplier returns leaving us


class EventSource(enum.StrEnum):
    WEBHOOK = "webhook"
    POLL = "poll"
    MANUAL = "manual"  # recorded by staff, e.g. a phone confirmation of pickup


class EventOutcome(enum.StrEnum):
    PENDING = "pending"  # stored from a webhook, not applied yet (see CarrierService.apply_pending)
    APPLIED = "applied"  # moved the shipment forward
    RECORDED = "recorded"  # on the timeline, state unchanged (stale, exception, unknown)
    #: No shipment of this carrier (or tracked through it) has this number: never applied to
    #: another carrier's parcel; applied if its own shipment is registered later.
    UNMATCHED = "unmatched"
    FAILED = "failed"  # applying it raised an error: kept, with the error, for review


class DeliveryStatus(enum.StrEnum):
    ACCEPTED = "accepted"
    MALFORMED = "malformed"  # authentic but unreadable: kept for review


class Shipment(Base):
    __tablename__ = "shipments"

    id: Mapped[int] = mapped_column(primary_key=True)
    direction: Mapped[Direction] = mapped_column(string_enum(Direction))
    carrier: Mapped[str] = mapped_column(String(32))
    #: The aggregator whose events this parcel takes besides its own carrier's (``aftership``
    #: for a UPS parcel followed through AfterShip); None: only its carrier's events.
    tracked_via: Mapped[str | None] = mapped_column(String(32))
    tracking_number: Mapped[str] = mapped_column(String(64), index=True)  # upper-case
    status: Mapped[TrackingStatus] = mapped_column(string_enum(TrackingStatus))
    reference: Mapped[str | None] = mapped_column(String(100), index=True)  # RMA, PO, order
    picked_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_exception: Mapped[str | None] = mapped_column(String(300))
    label: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    label_media_type: Mapped[str | None] = mapped_column(String(50))
    #: The same label as ZPL for thermal printers, when the provider gave one.
    label_zpl: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    #: Which label documents there are, without loading them (carriers/label_documents.py:
    #: ``label`` is the PDF, ``label_zpl`` the ZPL; older rows kept a ZPL in ``label``).
    has_pdf_label: Mapped[bool] = column_property(
        label.is_not(None) & (func.coalesce(label_media_type, "") != ZPL_MEDIA_TYPE)
    )
    has_zpl_label: Mapped[bool] = column_property(
        label_zpl.is_not(None) | (label.is_not(None) & (label_media_type == ZPL_MEDIA_TYPE))
    )
    next_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    poll_failures: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    events: Mapped[list[CarrierEventRecord]] = relationship(
        back_populates="shipment",
        order_by="(CarrierEventRecord.occurred_at, CarrierEventRecord.id)",
        lazy="selectin",
    )

    __table_args__ = (UniqueConstraint("carrier", "tracking_number", name="carrier_tracking"),)

    @property
    def label_formats(self) -> list[str]:
        return label_formats(self.has_pdf_label, self.has_zpl_label)


class WebhookDelivery(Base):
    """A webhook exactly as it arrived (after its authenticity was proven)."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    carrier: Mapped[str] = mapped_column(String(32))
    status: Mapped[DeliveryStatus] = mapped_column(string_enum(DeliveryStatus))
    content_type: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[bytes] = mapped_column(LargeBinary)
    error: Mapped[str | None] = mapped_column(String(500))
    event_count: Mapped[int] = mapped_column(Integer, default=0)
    new_event_count: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class CarrierEventRecord(Base):
    """One normalised tracking event, stored once (``dedupe_key``) whatever the deliveries."""

    __tablename__ = "carrier_events"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(64), unique=True)
    carrier: Mapped[str] = mapped_column(String(32))
    tracking_number: Mapped[str] = mapped_column(String(64))
    status: Mapped[TrackingStatus] = mapped_column(string_enum(TrackingStatus))
    raw_status: Mapped[str] = mapped_column(String(100))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    description: Mapped[str] = mapped_column(Text, default="")
    location: Mapped[str | None] = mapped_column(String(200))
    provider_event_id: Mapped[str | None] = mapped_column(String(100))
    source: Mapped[EventSource] = mapped_column(string_enum(EventSource))
    recorded_by: Mapped[str | None] = mapped_column(String(254))
    outcome: Mapped[EventOutcome] = mapped_column(string_enum(EventOutcome))
    delivery_id: Mapped[int | None] = mapped_column(ForeignKey("webhook_deliveries.id"))
    shipment_id: Mapped[int | None] = mapped_column(ForeignKey("shipments.id"))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    apply_error: Mapped[str | None] = mapped_column(String(500))

    shipment: Mapped[Shipment | None] = relationship(back_populates="events")

    __table_args__ = (
        Index("ix_carrier_events_tracking_number_outcome", "tracking_number", "outcome"),
        Index("ix_carrier_events_shipment_id", "shipment_id"),
        # Pruning old deliveries finds the events that point at them (carriers/retention.py).
        Index("ix_carrier_events_delivery_id", "delivery_id"),
        # The appliers' queue: small, because events leave it within seconds.
        Index(
            "ix_carrier_events_pending",
            "id",
            postgresql_where=text("outcome = 'pending'"),
            sqlite_where=text("outcome = 'pending'"),
        ),
    )
