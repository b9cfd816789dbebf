"""serial numbers: serialised parts, serials on ledger rows, and where each unit is

Issue #18 (serials): ``parts.serialised``; ``stock_moves.serials`` (the serials a move moved,
one per line); ``serial_units`` (one row per serialised unit: where it is or who has it).

Revision ID: 0020_ser18
Revises: 0019_rep18
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = "0020_ser18"
down_revision: str | None = "0019_rep18"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
#: Expand only (new tables, nullable or defaulted columns, wider checks): the release before
#: it runs on this schema, so it may run while that release serves (docs/operations.md,
#: "Upgrading"; checked by tests/integration/test_online_migrations.py).
online = True

# A frozen copy of inventory.status.SerialState.
SERIAL_STATES = ["in_stock", "with_customer", "scrapped", "issued"]


def upgrade() -> None:
    with op.batch_alter_table("parts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("serialised", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    # Plain ADD COLUMN (no batch copy): the ledger's append-only triggers stay as they are.
    op.add_column("stock_moves", sa.Column("serials", sa.Text(), nullable=True))
    op.create_table(
        "serial_units",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("part_id", sa.Integer(), nullable=False),
        sa.Column("serial", sa.String(length=100), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                *SERIAL_STATES,
                name="serialstate",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("location_id", sa.Integer(), nullable=True),
        sa.Column("customer_name", sa.String(length=200), nullable=True),
        sa.Column("customer_email", sa.String(length=254), nullable=True),
        sa.Column("order_number", sa.String(length=100), nullable=True),
        sa.Column("shipped_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "last_move_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("updated_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(state = 'in_stock') = (location_id IS NOT NULL)",
            name=op.f("ck_serial_units_location_when_in_stock"),
        ),
        sa.ForeignKeyConstraint(
            ["last_move_id"],
            ["stock_moves.id"],
            name=op.f("fk_serial_units_last_move_id_stock_moves"),
        ),
        sa.ForeignKeyConstraint(
            ["location_id"], ["locations.id"], name=op.f("fk_serial_units_location_id_locations")
        ),
        sa.ForeignKeyConstraint(
            ["part_id"], ["parts.id"], name=op.f("fk_serial_units_part_id_parts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_serial_units")),
        sa.UniqueConstraint("part_id", "serial", name="uq_serial_units_part_id_serial"),
    )
    op.create_index("ix_serial_units_serial", "serial_units", ["serial"], unique=False)
    op.create_index(
        op.f("ix_serial_units_location_id"), "serial_units", ["location_id"], unique=False
    )
    op.create_index(
        op.f("ix_serial_units_customer_email"), "serial_units", ["customer_email"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_serial_units_customer_email"), table_name="serial_units")
    op.drop_index(op.f("ix_serial_units_location_id"), table_name="serial_units")
    op.drop_index("ix_serial_units_serial", table_name="serial_units")
    op.drop_table("serial_units")
    op.drop_column("stock_moves", "serials")
    with op.batch_alter_table("parts", schema=None) as batch_op:
        batch_op.drop_column("serialised")
