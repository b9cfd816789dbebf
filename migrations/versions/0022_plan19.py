"""planning: fill-rate plan figures on reorder policies, buyer targets, the trade-off

Issue #19: ``reorder_policies`` gains the plan the nightly recompute writes (demand class,
ADI, CV², forecast and its method, target used, planned order-up-to level, expected fill rate,
stock value) and a per-part target override; ``reorder_policies.method`` gains ``planned``;
``planning_targets`` holds the buyer's targets per demand class and part category and the
default; ``planning_tradeoff`` the catalogue's expected fill rate and stock value per target.

Revision ID: 0022_plan19
Revises: 0021_loan18
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db
import core.money

revision: str = "0022_plan19"
down_revision: str | None = "0021_loan18"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
#: Expand only (new tables, nullable or defaulted columns, wider checks): the release before
#: it runs on this schema, so it may run while that release serves (docs/operations.md,
#: "Upgrading"; checked by tests/integration/test_online_migrations.py).
online = True

# Frozen copy of purchasing.status.ReorderMethod.
METHODS_BEFORE = ["manual", "computed"]
METHODS = [*METHODS_BEFORE, "planned"]


def _method_check(values: list[str]) -> str:
    return "method IN (" + ", ".join(f"'{value}'" for value in values) + ")"


def upgrade() -> None:
    with op.batch_alter_table("reorder_policies", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_reorder_policies_reordermethod"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_reorder_policies_reordermethod"), _method_check(METHODS)
        )
        batch_op.add_column(
            sa.Column(
                "fill_rate_target", core.money.ExactDecimal(precision=6, scale=4), nullable=True
            )
        )
        batch_op.add_column(sa.Column("demand_class", sa.String(length=12), nullable=True))
        batch_op.add_column(
            sa.Column("demand_adi", core.money.ExactDecimal(precision=10, scale=4), nullable=True)
        )
        batch_op.add_column(
            sa.Column("demand_cv2", core.money.ExactDecimal(precision=12, scale=4), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "forecast_per_month", core.money.ExactDecimal(precision=14, scale=4), nullable=True
            )
        )
        batch_op.add_column(sa.Column("forecast_method", sa.String(length=8), nullable=True))
        batch_op.add_column(
            sa.Column(
                "fill_rate_target_used",
                core.money.ExactDecimal(precision=6, scale=4),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("planned_level", sa.BigInteger(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "expected_fill_rate", core.money.ExactDecimal(precision=6, scale=4), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column(
                "planned_stock_value",
                core.money.ExactDecimal(precision=16, scale=2),
                nullable=True,
            )
        )
        batch_op.create_check_constraint(
            op.f("ck_reorder_policies_fill_rate_target"),
            "fill_rate_target IS NULL OR (fill_rate_target >= 0.5 AND fill_rate_target <= 0.999)",
        )
    op.create_table(
        "planning_targets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=10), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("fill_rate", core.money.ExactDecimal(precision=6, scale=4), nullable=False),
        sa.Column("updated_by", sa.String(length=254), nullable=False),
        sa.Column("updated_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "fill_rate >= 0.5 AND fill_rate <= 0.999", name=op.f("ck_planning_targets_fill_rate")
        ),
        sa.CheckConstraint(
            "scope IN ('default', 'class', 'category')", name=op.f("ck_planning_targets_scope")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_planning_targets")),
        sa.UniqueConstraint("scope", "key", name="uq_planning_targets_scope_key"),
    )
    op.create_table(
        "planning_tradeoff",
        sa.Column("target", core.money.ExactDecimal(precision=6, scale=4), nullable=False),
        sa.Column(
            "expected_fill_rate", core.money.ExactDecimal(precision=6, scale=4), nullable=False
        ),
        sa.Column("stock_value", core.money.ExactDecimal(precision=18, scale=2), nullable=False),
        sa.Column("parts", sa.Integer(), nullable=False),
        sa.Column("computed_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("target", name=op.f("pk_planning_tradeoff")),
    )


def downgrade() -> None:
    op.drop_table("planning_tradeoff")
    op.drop_table("planning_targets")
    op.execute("UPDATE reorder_policies SET method = 'manual' WHERE method = 'planned'")
    with op.batch_alter_table("reorder_policies", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_reorder_policies_fill_rate_target"), type_="check")
        for column in (
            "planned_stock_value",
            "expected_fill_rate",
            "planned_level",
            "fill_rate_target_used",
            "forecast_method",
            "forecast_per_month",
            "demand_cv2",
            "demand_adi",
            "demand_class",
            "fill_rate_target",
        ):
            batch_op.drop_column(column)
        batch_op.drop_constraint(op.f("ck_reorder_policies_reordermethod"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_reorder_policies_reordermethod"), _method_check(METHODS_BEFORE)
        )
