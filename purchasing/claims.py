"""Supplier claims: parts going back to their supplier under warranty.

A claim is opened when a returned line is dispositioned *return to vendor* (by the returns
package, which holds the RMA and its ``claims``); the table refers to the RMA and its line by
key only, so purchasing imports nothing of returns.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime


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

    __table_args__ = (CheckConstraint("qty > 0", name="qty_positive"),)
