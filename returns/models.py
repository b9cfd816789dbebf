"""RMA tables."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
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
from inventory.models import Reservation
from purchasing.claims import SupplierClaim
from returns.status import (
    Channel,
    Disposition,
    Priority,
    Reason,
    RefundStatus,
    ReplacementStatus,
    Resolution,
    RmaStatus,
)


class RmaSequence(Base):
    """The last RMA number handed out per day (RMA-20261123-0042)."""

    __tablename__ = "rma_sequences"

    day: Mapped[str] = mapped_column(String(8), primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class Rma(Base):
    __tablename__ = "rmas"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    status: Mapped[RmaStatus] = mapped_column(string_enum(RmaStatus), index=True)
    customer_name: Mapped[str] = mapped_column(String(200))
    customer_email: Mapped[str] = mapped_column(String(254), index=True)
    customer_phone: Mapped[str | None] = mapped_column(String(50))
    vip: Mapped[bool] = mapped_column(Boolean, default=False)
    order_number: Mapped[str | None] = mapped_column(String(100), index=True)
    payment_reference: Mapped[str | None] = mapped_column(String(100))
    purchase_date: Mapped[date | None] = mapped_column(Date)
    channel: Mapped[Channel] = mapped_column(string_enum(Channel))
    reason: Mapped[Reason] = mapped_column(string_enum(Reason))
    description: Mapped[str] = mapped_column(Text, default="")
    resolution: Mapped[Resolution] = mapped_column(string_enum(Resolution))
    priority: Mapped[Priority] = mapped_column(string_enum(Priority))
    policy_override_reason: Mapped[str | None] = mapped_column(Text)
    policy_override_by: Mapped[str | None] = mapped_column(String(254))
    currency: Mapped[str] = mapped_column(String(3))
    refund_status: Mapped[RefundStatus] = mapped_column(string_enum(RefundStatus))
    refund_amount_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    refund_hold_reason: Mapped[str | None] = mapped_column(String(300))
    #: Who held the refund ("spareflow" for the automatic limits, else the person whose
    #: hand-entered event needs a supervisor) and who released it (a person, or "spareflow"
    #: for the carrier's own pickup scan).
    refund_held_by: Mapped[str | None] = mapped_column(String(254))
    refund_released_by: Mapped[str | None] = mapped_column(String(254))
    refund_reference: Mapped[str | None] = mapped_column(String(100))  # the provider's refund id
    refund_released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    refund_error: Mapped[str | None] = mapped_column(Text)
    needs_recovery: Mapped[str | None] = mapped_column(
        String(300)
    )  # refunded, parcel lost/returned
    needs_chase: Mapped[str | None] = mapped_column(
        String(300)
    )  # replacement out, return never came
    return_carrier: Mapped[str | None] = mapped_column(String(32))
    return_tracking_number: Mapped[str | None] = mapped_column(String(64), index=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    satisfaction: Mapped[int | None] = mapped_column(Integer)
    satisfaction_comment: Mapped[str | None] = mapped_column(Text)
    confirmed_fixed: Mapped[bool | None] = mapped_column(Boolean)
    followup_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The customer's language for messages (a Babel locale id: "en", "zh_Hans").
    customer_language: Mapped[str] = mapped_column(String(10), default="en", server_default="en")
    # Service levels (see returns/service_levels.py): deadlines set at intake in the desk's
    # working hours, when they were met, and when the desk was warned or a supervisor alerted.
    first_response_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    response_warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    response_escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution_warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution_escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Out-of-hours intake: when the automatic acknowledgement was queued.
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: When the customer was reminded that the authorisation is about to expire.
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: When the RMA reached a final state (closed, rejected, cancelled, expired).
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    lines: Mapped[list[RmaLine]] = relationship(
        back_populates="rma", order_by="RmaLine.id", lazy="selectin", cascade="all, delete-orphan"
    )
    transitions: Mapped[list[RmaTransition]] = relationship(
        order_by="RmaTransition.id", lazy="selectin", cascade="all, delete-orphan"
    )
    replacements: Mapped[list[Replacement]] = relationship(
        order_by="Replacement.id", lazy="selectin", cascade="all, delete-orphan"
    )
    claims: Mapped[list[SupplierClaim]] = relationship(
        order_by="SupplierClaim.id", lazy="selectin", cascade="all, delete-orphan"
    )
    emails: Mapped[list[OutgoingEmail]] = relationship(
        order_by="OutgoingEmail.id", lazy="selectin", viewonly=True
    )

    __table_args__ = (
        CheckConstraint("refund_amount_minor >= 0", name="refund_not_negative"),
        CheckConstraint(
            "satisfaction IS NULL OR satisfaction BETWEEN 1 AND 5", name="satisfaction"
        ),
    )


class RmaLine(Base):
    __tablename__ = "rma_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    rma_id: Mapped[int] = mapped_column(ForeignKey("rmas.id"), index=True)
    part_id: Mapped[int] = mapped_column(ForeignKey("parts.id"), index=True)
    sku: Mapped[str] = mapped_column(String(64))
    qty: Mapped[int] = mapped_column(Integer)
    serial: Mapped[str | None] = mapped_column(String(100))
    unit_price: Mapped[Decimal] = mapped_column(ExactDecimal(14, 4))
    received_qty: Mapped[int] = mapped_column(Integer, default=0)
    condition: Mapped[str | None] = mapped_column(String(200))
    serial_matches: Mapped[bool | None] = mapped_column(Boolean)
    disposition: Mapped[Disposition | None] = mapped_column(string_enum(Disposition))

    rma: Mapped[Rma] = relationship(back_populates="lines")

    __table_args__ = (
        CheckConstraint("qty > 0", name="qty_positive"),
        CheckConstraint("received_qty >= 0 AND received_qty <= qty", name="received_within_qty"),
        CheckConstraint("unit_price >= 0", name="unit_price"),
    )


class RmaTransition(Base):
    """Every change of an RMA's state: who, when, from, to, why. The timeline."""

    __tablename__ = "rma_transitions"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    rma_id: Mapped[int] = mapped_column(ForeignKey("rmas.id"), index=True)
    #: "status" for a change of state; "refund", "replacement", "return_label" for what happened
    #: alongside (from and to are then the unchanged state).
    kind: Mapped[str] = mapped_column(String(20), default="status")
    from_status: Mapped[RmaStatus | None] = mapped_column(string_enum(RmaStatus, "from_status"))
    to_status: Mapped[RmaStatus] = mapped_column(string_enum(RmaStatus, "to_status"))
    actor: Mapped[str] = mapped_column(String(254))
    reason: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class Replacement(Base):
    """An advance replacement for one RMA line: reserved at authorisation, in the pick queue."""

    __tablename__ = "replacements"

    id: Mapped[int] = mapped_column(primary_key=True)
    rma_id: Mapped[int] = mapped_column(ForeignKey("rmas.id"), index=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("rma_lines.id"))
    sku: Mapped[str] = mapped_column(String(64))
    qty: Mapped[int] = mapped_column(Integer)
    status: Mapped[ReplacementStatus] = mapped_column(string_enum(ReplacementStatus), index=True)
    reservation_id: Mapped[int | None] = mapped_column(ForeignKey("reservations.id"))
    carrier: Mapped[str | None] = mapped_column(String(32))
    tracking_number: Mapped[str | None] = mapped_column(String(64))
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    shipped_by: Mapped[str | None] = mapped_column(String(254))

    rma: Mapped[Rma] = relationship(viewonly=True, lazy="raise")  # load it explicitly where needed
    reservation: Mapped[Reservation | None] = relationship(viewonly=True, lazy="raise")

    @property
    def location_code(self) -> str | None:
        """The bin the reserved stock waits in (the pick queue's "where")."""
        return self.reservation.location.code if self.reservation else None

    @property
    def rma_number(self) -> str:
        return self.rma.number


class Notification(Base):
    """Something the desk or its supervisors must see: an SLA warning, a breach, a failed refund."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    rma_id: Mapped[int | None] = mapped_column(ForeignKey("rmas.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))  # "response_warning", "resolution_breach", ...
    audience: Mapped[str] = mapped_column(String(20))  # "desk" or "supervisors"
    message: Mapped[str] = mapped_column(Text)
    #: One notification per fact ("sla:RMA-20261123-0001:response:breach"), however often a
    #: job runs or how many schedulers run it.
    key: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    read_by: Mapped[str | None] = mapped_column(String(254))


class OutgoingEmail(Base):
    """One e-mail spareflow sends: to a customer about an RMA, or to staff about a deadline.

    Written with the change that calls for it; sent by the outbox worker. Its status is what
    the RMA timeline shows: queued, sent, failed (gave up) or bounced (refused by the
    recipient's server, now or later).
    """

    __tablename__ = "outgoing_emails"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    rma_id: Mapped[int | None] = mapped_column(ForeignKey("rmas.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))  # the template: "authorised", "refunded", ...
    language: Mapped[str] = mapped_column(String(10))
    to_address: Mapped[str] = mapped_column(String(254))
    #: The Message-ID header, stable across retries (a bounce names it).
    message_id: Mapped[str] = mapped_column(String(250), unique=True)
    outbox_key: Mapped[str] = mapped_column(String(200), unique=True)
    subject: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="queued")
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    bounced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class MessageTemplate(Base):
    """An admin's edit of a customer message; without one, the shipped template is used."""

    __tablename__ = "message_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    language: Mapped[str] = mapped_column(String(10))
    subject: Mapped[str] = mapped_column(Text)
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str] = mapped_column(Text)
    updated_by: Mapped[str] = mapped_column(String(254))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("kind", "language"),)


class RefundProviderEvent(Base):
    """A refund provider's webhook event (Stripe ``refund.updated``), stored before it is
    applied, once per event id: a replayed delivery applies nothing twice."""

    __tablename__ = "refund_provider_events"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    provider: Mapped[str] = mapped_column(String(20))
    event_id: Mapped[str] = mapped_column(String(255))
    event_type: Mapped[str] = mapped_column(String(100))
    refund_id: Mapped[str | None] = mapped_column(String(100), index=True)
    refund_status: Mapped[str | None] = mapped_column(String(40))
    #: When the provider created the event: events for one refund apply in this order.
    created: Mapped[datetime] = mapped_column(UTCDateTime)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    #: "pending" (stored), "applied", "recorded" (nothing to change), "unmatched" (no RMA has
    #: this refund yet: applied when the outbox records the refund's id).
    outcome: Mapped[str] = mapped_column(String(20))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)

    __table_args__ = (UniqueConstraint("provider", "event_id", name="provider_event"),)


class StatusLink(Base):
    """A link to an RMA's public status page (returns/status_links.py).

    The token is random and shown only once (in the e-mail that carries it, or to the desk
    that made it); only its SHA-256 is kept. Each customer e-mail carries a link of its own;
    "send a new link" revokes them all at once.
    """

    __tablename__ = "rma_status_links"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    rma_id: Mapped[int] = mapped_column(ForeignKey("rmas.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
