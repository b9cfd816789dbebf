"""supplier claims to the end: shipped, acknowledged, credited or rejected, with their events

Issue #18: ``supplier_claims`` gets the parcel back to the vendor (carrier, tracking number),
the vendor's RMA number, the credit (amount, currency, credit note) or the reason it was
rejected, and when it closed; ``supplier_claim_events`` records every transition.

Revision ID: 0018_claim18
Revises: 0017
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db
import core.money

revision: str = "0018_claim18"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
#: Expand only (new tables, nullable or defaulted columns, wider checks): the release before
#: it runs on this schema, so it may run while that release serves (docs/operations.md,
#: "Upgrading"; checked by tests/integration/test_online_migrations.py).
online = True

# Frozen copy of purchasing.claims.ClaimStatus: a migration must not change with the models.
STATES = ["open", "shipped_to_vendor", "acknowledged", "credited", "rejected", "cancelled"]


def _state(name: str) -> sa.Enum:
    return sa.Enum(*STATES, name=name, native_enum=False, create_constraint=True, length=20)


def upgrade() -> None:
    with op.batch_alter_table("supplier_claims", schema=None) as batch_op:
        batch_op.add_column(sa.Column("carrier", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("tracking_number", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("shipped_at", core.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("vendor_rma", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("acknowledged_at", core.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "credit_amount", core.money.ExactDecimal(precision=14, scale=4), nullable=True
            )
        )
        batch_op.add_column(sa.Column("credit_currency", sa.String(length=3), nullable=True))
        batch_op.add_column(sa.Column("credit_note", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("rejection_reason", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("closed_at", core.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("updated_at", core.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_check_constraint(
            op.f("ck_supplier_claims_credit_not_negative"),
            "credit_amount IS NULL OR credit_amount >= 0",
        )
        batch_op.create_index(batch_op.f("ix_supplier_claims_closed_at"), ["closed_at"])

    op.create_table(
        "supplier_claim_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("from_status", _state("from_status"), nullable=True),
        sa.Column("to_status", _state("to_status"), nullable=False),
        sa.Column("actor", sa.String(length=254), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["claim_id"],
            ["supplier_claims.id"],
            name=op.f("fk_supplier_claim_events_claim_id_supplier_claims"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supplier_claim_events")),
    )
    with op.batch_alter_table("supplier_claim_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_supplier_claim_events_claim_id"), ["claim_id"])


def downgrade() -> None:
    with op.batch_alter_table("supplier_claim_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_supplier_claim_events_claim_id"))
    op.drop_table("supplier_claim_events")
    with op.batch_alter_table("supplier_claims", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_supplier_claims_closed_at"))
        batch_op.drop_constraint(op.f("ck_supplier_claims_credit_not_negative"), type_="check")
        for column in (
            "updated_at",
            "closed_at",
            "rejection_reason",
            "credit_note",
            "credit_currency",
            "credit_amount",
            "acknowledged_at",
            "vendor_rma",
            "shipped_at",
            "tracking_number",
            "carrier",
        ):
            batch_op.drop_column(column)
