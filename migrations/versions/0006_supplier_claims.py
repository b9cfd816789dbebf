"""supplier claims for parts returned to their vendor

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "supplier_claims",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rma_id", sa.Integer(), nullable=False),
        sa.Column("line_id", sa.Integer(), nullable=False),
        sa.Column("part_id", sa.Integer(), nullable=False),
        sa.Column("supplier_id", sa.Integer(), nullable=True),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.Column("fault", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_by", sa.String(length=254), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("qty > 0", name=op.f("ck_supplier_claims_qty_positive")),
        sa.ForeignKeyConstraint(
            ["line_id"], ["rma_lines.id"], name=op.f("fk_supplier_claims_line_id_rma_lines")
        ),
        sa.ForeignKeyConstraint(
            ["part_id"], ["parts.id"], name=op.f("fk_supplier_claims_part_id_parts")
        ),
        sa.ForeignKeyConstraint(
            ["rma_id"], ["rmas.id"], name=op.f("fk_supplier_claims_rma_id_rmas")
        ),
        sa.ForeignKeyConstraint(
            ["supplier_id"], ["suppliers.id"], name=op.f("fk_supplier_claims_supplier_id_suppliers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supplier_claims")),
    )
    with op.batch_alter_table("supplier_claims", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_supplier_claims_rma_id"), ["rma_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_supplier_claims_supplier_id"), ["supplier_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("supplier_claims", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_supplier_claims_supplier_id"))
        batch_op.drop_index(batch_op.f("ix_supplier_claims_rma_id"))
    op.drop_table("supplier_claims")
