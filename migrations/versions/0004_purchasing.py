"""purchasing: reorder policies, purchase orders and their history, number sequences,
imported spreadsheets

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db
import core.money

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "number_sequences",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("last_value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_number_sequences")),
    )
    op.create_table(
        "sheet_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "reorder",
                "catalogue",
                "cycle_count",
                name="sheetkind",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("export_id", sa.String(length=32), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("actor", sa.String(length=254), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("summary", sa.String(length=500), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sheet_imports")),
        sa.UniqueConstraint("kind", "export_id", name="uq_sheet_imports_kind_export_id"),
    )
    op.create_table(
        "purchase_orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("supplier_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "sent",
                "partially_received",
                "received",
                "cancelled",
                name="purchaseorderstatus",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=254), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("expected_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["supplier_id"], ["suppliers.id"], name=op.f("fk_purchase_orders_supplier_id_suppliers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_purchase_orders")),
        sa.UniqueConstraint("number", name=op.f("uq_purchase_orders_number")),
    )
    with op.batch_alter_table("purchase_orders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_purchase_orders_status"), ["status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_purchase_orders_supplier_id"), ["supplier_id"], unique=False
        )

    op.create_table(
        "purchase_order_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("purchase_order_id", sa.Integer(), nullable=False),
        sa.Column(
            "from_status",
            sa.Enum(
                "draft",
                "sent",
                "partially_received",
                "received",
                "cancelled",
                name="from_status",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=True,
        ),
        sa.Column(
            "to_status",
            sa.Enum(
                "draft",
                "sent",
                "partially_received",
                "received",
                "cancelled",
                name="to_status",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("actor", sa.String(length=254), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["purchase_order_id"],
            ["purchase_orders.id"],
            name=op.f("fk_purchase_order_events_purchase_order_id_purchase_orders"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_purchase_order_events")),
    )
    with op.batch_alter_table("purchase_order_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_purchase_order_events_purchase_order_id"),
            ["purchase_order_id"],
            unique=False,
        )

    op.create_table(
        "purchase_order_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("purchase_order_id", sa.Integer(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("part_id", sa.Integer(), nullable=False),
        sa.Column("qty_ordered", sa.BigInteger(), nullable=False),
        sa.Column("qty_received", sa.BigInteger(), nullable=False),
        sa.Column("unit_cost", core.money.ExactDecimal(precision=14, scale=4), nullable=False),
        sa.CheckConstraint(
            "qty_ordered > 0", name=op.f("ck_purchase_order_lines_qty_ordered_positive")
        ),
        sa.CheckConstraint(
            "qty_received <= qty_ordered", name=op.f("ck_purchase_order_lines_no_over_receipt")
        ),
        sa.CheckConstraint(
            "qty_received >= 0", name=op.f("ck_purchase_order_lines_qty_received_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["part_id"], ["parts.id"], name=op.f("fk_purchase_order_lines_part_id_parts")
        ),
        sa.ForeignKeyConstraint(
            ["purchase_order_id"],
            ["purchase_orders.id"],
            name=op.f("fk_purchase_order_lines_purchase_order_id_purchase_orders"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_purchase_order_lines")),
        sa.UniqueConstraint("purchase_order_id", "line_no", name="uq_purchase_order_lines_line_no"),
        sa.UniqueConstraint("purchase_order_id", "part_id", name="uq_purchase_order_lines_part"),
    )
    with op.batch_alter_table("purchase_order_lines", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_purchase_order_lines_part_id"), ["part_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_purchase_order_lines_purchase_order_id"),
            ["purchase_order_id"],
            unique=False,
        )

    op.create_table(
        "reorder_policies",
        sa.Column("part_id", sa.Integer(), nullable=False),
        sa.Column(
            "method",
            sa.Enum(
                "manual",
                "computed",
                name="reordermethod",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("pack_size", sa.Integer(), nullable=False),
        sa.Column("min_order_qty", sa.Integer(), nullable=False),
        sa.Column("max_level", sa.Integer(), nullable=True),
        sa.Column("service_level", core.money.ExactDecimal(precision=6, scale=4), nullable=True),
        sa.Column("order_cycle_days", sa.Integer(), nullable=True),
        sa.Column("computed_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("window_days", sa.Integer(), nullable=True),
        sa.Column("demand_total", sa.BigInteger(), nullable=True),
        sa.Column(
            "avg_daily_demand", core.money.ExactDecimal(precision=14, scale=4), nullable=True
        ),
        sa.Column("demand_std_dev", core.money.ExactDecimal(precision=14, scale=4), nullable=True),
        sa.Column("lead_time_days_used", sa.Integer(), nullable=True),
        sa.Column(
            "service_level_used", core.money.ExactDecimal(precision=6, scale=4), nullable=True
        ),
        sa.Column("suggested_safety_stock", sa.BigInteger(), nullable=True),
        sa.Column("suggested_reorder_point", sa.BigInteger(), nullable=True),
        sa.Column("suggested_reorder_qty", sa.BigInteger(), nullable=True),
        sa.Column("flagged_since", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "max_level IS NULL OR max_level >= 0", name=op.f("ck_reorder_policies_max_level")
        ),
        sa.CheckConstraint("min_order_qty >= 0", name=op.f("ck_reorder_policies_min_order_qty")),
        sa.CheckConstraint(
            "order_cycle_days IS NULL OR order_cycle_days >= 1",
            name=op.f("ck_reorder_policies_order_cycle_days"),
        ),
        sa.CheckConstraint("pack_size >= 1", name=op.f("ck_reorder_policies_pack_size")),
        sa.ForeignKeyConstraint(
            ["part_id"], ["parts.id"], name=op.f("fk_reorder_policies_part_id_parts")
        ),
        sa.PrimaryKeyConstraint("part_id", name=op.f("pk_reorder_policies")),
    )


def downgrade() -> None:
    op.drop_table("reorder_policies")
    with op.batch_alter_table("purchase_order_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_purchase_order_lines_purchase_order_id"))
        batch_op.drop_index(batch_op.f("ix_purchase_order_lines_part_id"))

    op.drop_table("purchase_order_lines")
    with op.batch_alter_table("purchase_order_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_purchase_order_events_purchase_order_id"))

    op.drop_table("purchase_order_events")
    with op.batch_alter_table("purchase_orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_purchase_orders_supplier_id"))
        batch_op.drop_index(batch_op.f("ix_purchase_orders_status"))

    op.drop_table("purchase_orders")
    op.drop_table("sheet_imports")
    op.drop_table("number_sequences")
