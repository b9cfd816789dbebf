"""Supplier claims: parts going back to their supplier under warranty.

A claim is opened when a returned line is dispositioned *return to vendor* (by the returns
package, which holds the RMA and its ``claims``); the table refers to the RMA and its line by
key only, so purchasing imports nothing of returns.

Its life is an explicit state machine (:data:`CLAIM_TRANSITIONS`): open → shipped to the
vendor → acknowledged (their RMA number) → credited (amount, credit note) or rejected (why);
an open claim can be cancelled. Every move is a :class:`SupplierClaimEvent` (who, when, why).
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Enum, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, BigIntPK, UTCDateTime
from core.errors import N_, Conflict, NotFound
from core.money import ExactDecimal
from inventory.ledger import Who
from purchasing.errors import cannot_become


class ClaimStatus(enum.StrEnum):
    OPEN = "open"  # the part is set aside for its supplier
    SHIPPED_TO_VENDOR = "shipped_to_vendor"  # on its way back, tracked
    ACKNOWLEDGED = "acknowledged"  # the vendor has it under their own RMA number
    CREDITED = "credited"  # the vendor credited us (credit note)
    REJECTED = "rejected"  # the vendor refused the claim
    CANCELLED = "cancelled"  # withdrawn before it left


C = ClaimStatus

#: The only moves a claim can make. Anything else is ``illegal_claim_transition``.
CLAIM_TRANSITIONS: dict[ClaimStatus, frozenset[ClaimStatus]] = {
    C.OPEN: frozenset({C.SHIPPED_TO_VENDOR, C.CANCELLED}),
    # A vendor may credit or refuse without acknowledging first.
    C.SHIPPED_TO_VENDOR: frozenset({C.ACKNOWLEDGED, C.CREDITED, C.REJECTED}),
    C.ACKNOWLEDGED: frozenset({C.CREDITED, C.REJECTED}),
    C.CREDITED: frozenset(),
    C.REJECTED: frozenset(),
    C.CANCELLED: frozenset(),
}
CLAIM_OPEN_STATES = (C.OPEN, C.SHIPPED_TO_VENDOR, C.ACKNOWLEDGED)


def claim_number(claim_id: int) -> str:
    """How a claim is named on pages, sheets and its parcel's reference."""
    return f"CLM-{claim_id:05d}"


class ClaimNotFound(NotFound):
    code = "claim_not_found"

    def __init__(self, claim_id: int):
        super().__init__(N_("No supplier claim %(id)s.", id=claim_id), claim_id=claim_id)


class IllegalClaimTransition(Conflict):
    code = "illegal_claim_transition"

    def __init__(self, claim_id: int, current: str, wanted: str, allowed: list[str]):
        super().__init__(
            cannot_become(
                N_("Claim %(number)s", number=claim_number(claim_id)), current, wanted, allowed
            ),
            claim_id=claim_id,
            status=current,
            wanted=wanted,
            allowed=allowed,
        )


def _status_enum(name: str) -> Enum:
    return Enum(
        ClaimStatus,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=20,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class SupplierClaim(Base):
    """A part going back to its supplier under warranty (disposition: return to vendor)."""

    __tablename__ = "supplier_claims"

    id: Mapped[int] = mapped_column(primary_key=True)
    rma_id: Mapped[int] = mapped_column(ForeignKey("rmas.id"), index=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("rma_lines.id"))
    part_id: Mapped[int] = mapped_column(ForeignKey("parts.id"))
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("suppliers.id"), index=True)
    sku: Mapped[str] = mapped_column(String(64))
    qty: Mapped[int] = mapped_column(Integer)
    fault: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="open")
    created_by: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The parcel back to the vendor (a tracked outbound shipment, reference CLM-…).
    carrier: Mapped[str | None] = mapped_column(String(32))
    tracking_number: Mapped[str | None] = mapped_column(String(64))
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    vendor_rma: Mapped[str | None] = mapped_column(String(64))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    credit_amount: Mapped[Decimal | None] = mapped_column(ExactDecimal(14, 4))
    credit_currency: Mapped[str | None] = mapped_column(String(3))
    credit_note: Mapped[str | None] = mapped_column(String(64))
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    events: Mapped[list[SupplierClaimEvent]] = relationship(
        order_by="SupplierClaimEvent.id", cascade="all, delete-orphan"
    )

    __table_args__ = (
        CheckConstraint("qty > 0", name="qty_positive"),
        CheckConstraint("credit_amount IS NULL OR credit_amount >= 0", name="credit_not_negative"),
    )

    @property
    def number(self) -> str:
        return claim_number(self.id)

    def move(self, to: ClaimStatus, who: Who, reason: str) -> None:
        """The only way the status changes: checked against the table, and recorded."""
        current = ClaimStatus(self.status)
        allowed = CLAIM_TRANSITIONS[current]
        if to not in allowed:
            raise IllegalClaimTransition(
                self.id, current.value, to.value, sorted(s.value for s in allowed)
            )
        now = who.clock.now()
        self.events.append(
            SupplierClaimEvent(
                from_status=current,
                to_status=to,
                actor=who.actor,
                created_at=now,
                reason=reason[:200],
            )
        )
        self.status = to.value
        self.updated_at = now
        if not CLAIM_TRANSITIONS[to]:
            self.closed_at = now


class SupplierClaimEvent(Base):
    """One recorded transition of a supplier claim: who, when, from what to what, why."""

    __tablename__ = "supplier_claim_events"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("supplier_claims.id"), index=True)
    from_status: Mapped[ClaimStatus | None] = mapped_column(_status_enum("from_status"))
    to_status: Mapped[ClaimStatus] = mapped_column(_status_enum("to_status"))
    actor: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(String(200), default="")


def opened_claim_event(actor: str, now: datetime, rma_number: str) -> SupplierClaimEvent:
    """The first line of a claim's history: opened from an RMA's return-to-vendor line."""
    return SupplierClaimEvent(
        from_status=None,
        to_status=ClaimStatus.OPEN,
        actor=actor,
        created_at=now,
        reason=f"return to vendor from {rma_number}"[:200],
    )
