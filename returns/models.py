"""Returns tables beside the RMA aggregate (returns/rma.py): numbering, notifications, e-mails,
message templates, refund provider events, status links."""

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
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, BigIntPK, UTCDateTime, string_enum
from core.money import ExactDecimal


class RmaSequence(Base):
    """The last RMA number handed out per day (RMA-20261123-0042)."""

    __tablename__ = "rma_sequences"

    day: Mapped[str] = mapped_column(String(8), primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


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


class RmaAttachment(Base):
    """A photo the customer sent with the return (the portal): JPEG or PNG, its metadata
    stripped before it was stored."""

    __tablename__ = "rma_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    rma_id: Mapped[int] = mapped_column(ForeignKey("rmas.id"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    media_type: Mapped[str] = mapped_column(String(50))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class InboundEmail(Base):
    """A customer's e-mail that came back in (a reply to the desk), stored once by its
    Message-ID and matched to its RMA by the token in the reply address."""

    __tablename__ = "inbound_emails"
    __table_args__ = (UniqueConstraint("provider", "message_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    provider: Mapped[str] = mapped_column(String(32))
    message_id: Mapped[str] = mapped_column(String(255))
    #: None: no RMA matched the reply address (kept, so the desk can see what came in).
    rma_id: Mapped[int | None] = mapped_column(ForeignKey("rmas.id"), index=True)
    from_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(500), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class LoanStatus(enum.StrEnum):
    OUT = "out"
    RETURNED = "returned"
    CHARGED = "charged"
    WRITTEN_OFF = "written_off"


class Loan(Base):
    """A loaner: a unit from a loan pool lent to an RMA's customer until ``due_at``.

    While out, the unit sits on the books at the warehouse's on-loan location (a ledger
    transfer from the pool), so ``stock verify`` sees it; returned, charged or written off
    it leaves that location again through the ledger (returns/loans.py)."""

    __tablename__ = "loans"

    id: Mapped[int] = mapped_column(primary_key=True)
    rma_id: Mapped[int] = mapped_column(ForeignKey("rmas.id"), index=True)
    part_id: Mapped[int] = mapped_column(ForeignKey("parts.id"))
    serial: Mapped[str] = mapped_column(String(100), default="")
    pool_location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    on_loan_location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    status: Mapped[LoanStatus] = mapped_column(string_enum(LoanStatus), default=LoanStatus.OUT)
    lent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    lent_by: Mapped[str] = mapped_column(String(254))
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Who returned, charged or wrote it off, and why.
    closed_by: Mapped[str | None] = mapped_column(String(254))
    reason: Mapped[str] = mapped_column(Text, default="")
    #: What the customer is charged for a loaner kept (recorded only: no payment is taken).
    charge_amount: Mapped[Decimal | None] = mapped_column(ExactDecimal(14, 4))
    charge_currency: Mapped[str | None] = mapped_column(String(3))
    #: The overdue reminder goes once per loan.
    overdue_reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint("charge_amount IS NULL OR charge_amount >= 0", name="charge_not_negative"),
    )
