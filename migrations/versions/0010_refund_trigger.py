"""refund trigger: who held or released a refund, provider-pending refunds and their
webhook events, shipments tracked through an aggregator

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of returns.status.RefundStatus: a migration must not change with the models.
REFUND_STATUSES_BEFORE = ["none", "awaiting_pickup", "held", "pending", "released", "failed"]
REFUND_STATUSES = [*REFUND_STATUSES_BEFORE, "processing"]


def _refund_status_check(values: list[str]) -> str:
    return "refund_status IN (" + ", ".join(f"'{value}'" for value in values) + ")"


def upgrade() -> None:
    op.create_table(
        "refund_provider_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column("refund_id", sa.String(length=100), nullable=True),
        sa.Column("refund_status", sa.String(length=40), nullable=True),
        sa.Column("created", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("received_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refund_provider_events")),
        sa.UniqueConstraint("provider", "event_id", name="provider_event"),
    )
    with op.batch_alter_table("refund_provider_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_refund_provider_events_received_at"), ["received_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_refund_provider_events_refund_id"), ["refund_id"], unique=False
        )
    with op.batch_alter_table("shipments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tracked_via", sa.String(length=32), nullable=True))
    with op.batch_alter_table("rmas", schema=None) as batch_op:
        batch_op.add_column(sa.Column("refund_held_by", sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column("refund_released_by", sa.String(length=254), nullable=True))
        batch_op.drop_constraint(op.f("ck_rmas_refundstatus"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_rmas_refundstatus"), _refund_status_check(REFUND_STATUSES)
        )


def downgrade() -> None:
    with op.batch_alter_table("rmas", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_rmas_refundstatus"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_rmas_refundstatus"), _refund_status_check(REFUND_STATUSES_BEFORE)
        )
        batch_op.drop_column("refund_released_by")
        batch_op.drop_column("refund_held_by")
    with op.batch_alter_table("shipments", schema=None) as batch_op:
        batch_op.drop_column("tracked_via")
    with op.batch_alter_table("refund_provider_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_refund_provider_events_refund_id"))
        batch_op.drop_index(batch_op.f("ix_refund_provider_events_received_at"))
    op.drop_table("refund_provider_events")
