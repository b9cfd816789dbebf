"""repair orders and the parts they use

Issue #18 (repairs): ``repair_orders`` (one per RMA resolved by repair: diagnosis, technician,
labour, test, the shipment back) and ``repair_parts`` (each part issued, tied to its
``stock_moves`` row, or waiting while short).

Revision ID: 0019_rep18
Revises: 0018_claim18
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = "0019_rep18"
down_revision: str | None = "0018_claim18"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
#: Expand only (new tables, nullable or defaulted columns, wider checks): the release before
#: it runs on this schema, so it may run while that release serves (docs/operations.md,
#: "Upgrading"; checked by tests/integration/test_online_migrations.py).
online = True


def upgrade() -> None:
    op.create_table(
        "repair_orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rma_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "waiting_for_parts",
                "in_repair",
                "tested_ok",
                "failed_test",
                "shipped",
                name="repairstatus",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("diagnosis", sa.Text(), nullable=False),
        sa.Column("technician", sa.String(length=254), nullable=True),
        sa.Column("labour_minutes", sa.Integer(), nullable=False),
        sa.Column("test_passed", sa.Boolean(), nullable=True),
        sa.Column("test_result", sa.Text(), nullable=True),
        sa.Column("received_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("opened_by", sa.String(length=254), nullable=False),
        sa.Column("opened_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tested_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("carrier", sa.String(length=32), nullable=True),
        sa.Column("tracking_number", sa.String(length=64), nullable=True),
        sa.Column("shipped_by", sa.String(length=254), nullable=True),
        sa.Column("shipped_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "labour_minutes >= 0", name=op.f("ck_repair_orders_labour_not_negative")
        ),
        sa.ForeignKeyConstraint(["rma_id"], ["rmas.id"], name=op.f("fk_repair_orders_rma_id_rmas")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_repair_orders")),
        sa.UniqueConstraint("rma_id", name=op.f("uq_repair_orders_rma_id")),
    )
    with op.batch_alter_table("repair_orders", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_repair_orders_shipped_at"), ["shipped_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_repair_orders_status"), ["status"], unique=False)

    op.create_table(
        "repair_parts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("repair_id", sa.Integer(), nullable=False),
        sa.Column("part_id", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "issued",
                "waiting",
                name="repairpartstatus",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("location", sa.String(length=64), nullable=True),
        sa.Column("stock_move_id", sa.BigInteger(), nullable=True),
        sa.Column("requested_by", sa.String(length=254), nullable=False),
        sa.Column("requested_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("issued_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("qty > 0", name=op.f("ck_repair_parts_qty_positive")),
        sa.ForeignKeyConstraint(
            ["part_id"], ["parts.id"], name=op.f("fk_repair_parts_part_id_parts")
        ),
        sa.ForeignKeyConstraint(
            ["repair_id"],
            ["repair_orders.id"],
            name=op.f("fk_repair_parts_repair_id_repair_orders"),
        ),
        sa.ForeignKeyConstraint(
            ["stock_move_id"],
            ["stock_moves.id"],
            name=op.f("fk_repair_parts_stock_move_id_stock_moves"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_repair_parts")),
    )
    with op.batch_alter_table("repair_parts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_repair_parts_part_id"), ["part_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_repair_parts_repair_id"), ["repair_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_repair_parts_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("repair_parts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_repair_parts_status"))
        batch_op.drop_index(batch_op.f("ix_repair_parts_repair_id"))
        batch_op.drop_index(batch_op.f("ix_repair_parts_part_id"))

    op.drop_table("repair_parts")
    with op.batch_alter_table("repair_orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_repair_orders_status"))
        batch_op.drop_index(batch_op.f("ix_repair_orders_shipped_at"))

    op.drop_table("repair_orders")
