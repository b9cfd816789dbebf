"""loaners: a loan pool and an on-loan location kind, and the loans table

Issue #18: ``locations.kind`` gains ``loan_pool`` (units the desk lends) and ``on_loan``
(where a lent unit is on the books while the customer has it); ``loans`` records each loaner
lent on an RMA until it is returned, charged or written off.

Revision ID: 0021_loan18
Revises: 0020_ser18
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db
import core.money

revision: str = "0021_loan18"
down_revision: str | None = "0020_ser18"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
#: Expand only (new tables, nullable or defaulted columns, wider checks): the release before
#: it runs on this schema, so it may run while that release serves (docs/operations.md,
#: "Upgrading"; checked by tests/integration/test_online_migrations.py).
online = True

# Frozen copies of inventory.status.LocationKind and returns.models.LoanStatus.
KINDS_BEFORE = ["storage", "receiving", "quarantine", "returns"]
KINDS = [*KINDS_BEFORE, "loan_pool", "on_loan"]
LOAN_STATES = ["out", "returned", "charged", "written_off"]


def _kind_check(values: list[str]) -> str:
    return "kind IN (" + ", ".join(f"'{value}'" for value in values) + ")"


def _replace_kind_check(values: list[str]) -> None:
    with op.batch_alter_table("locations", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_locations_locationkind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_locations_locationkind"), _kind_check(values))


def upgrade() -> None:
    _replace_kind_check(KINDS)
    op.create_table(
        "loans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rma_id", sa.Integer(), nullable=False),
        sa.Column("part_id", sa.Integer(), nullable=False),
        sa.Column("serial", sa.String(length=100), nullable=False),
        sa.Column("pool_location_id", sa.Integer(), nullable=False),
        sa.Column("on_loan_location_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                *LOAN_STATES,
                name="loanstatus",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("lent_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("lent_by", sa.String(length=254), nullable=False),
        sa.Column("returned_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=254), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("charge_amount", core.money.ExactDecimal(precision=14, scale=4), nullable=True),
        sa.Column("charge_currency", sa.String(length=3), nullable=True),
        sa.Column("overdue_reminded_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "charge_amount IS NULL OR charge_amount >= 0",
            name=op.f("ck_loans_charge_not_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["on_loan_location_id"],
            ["locations.id"],
            name=op.f("fk_loans_on_loan_location_id_locations"),
        ),
        sa.ForeignKeyConstraint(["part_id"], ["parts.id"], name=op.f("fk_loans_part_id_parts")),
        sa.ForeignKeyConstraint(
            ["pool_location_id"],
            ["locations.id"],
            name=op.f("fk_loans_pool_location_id_locations"),
        ),
        sa.ForeignKeyConstraint(["rma_id"], ["rmas.id"], name=op.f("fk_loans_rma_id_rmas")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loans")),
    )
    with op.batch_alter_table("loans", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_loans_due_at"), ["due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_loans_rma_id"), ["rma_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("loans", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_loans_rma_id"))
        batch_op.drop_index(batch_op.f("ix_loans_due_at"))
    op.drop_table("loans")
    _replace_kind_check(KINDS_BEFORE)
