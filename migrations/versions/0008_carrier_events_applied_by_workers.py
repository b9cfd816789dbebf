"""carrier events stored as pending and applied by workers

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_OUTCOMES = ("applied", "recorded", "unmatched")
NEW_OUTCOMES = ("pending", "applied", "recorded", "unmatched", "failed")


def _outcome(values: tuple[str, ...]) -> sa.Enum:
    return sa.Enum(
        *values, name="eventoutcome", native_enum=False, create_constraint=True, length=20
    )


def upgrade() -> None:
    with op.batch_alter_table("carrier_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("apply_error", sa.String(length=500), nullable=True))
        batch_op.alter_column(
            "outcome",
            type_=_outcome(NEW_OUTCOMES),
            existing_type=_outcome(OLD_OUTCOMES),
            existing_nullable=False,
        )
        batch_op.create_index(
            "ix_carrier_events_pending",
            ["id"],
            unique=False,
            postgresql_where=sa.text("outcome = 'pending'"),
            sqlite_where=sa.text("outcome = 'pending'"),
        )


def downgrade() -> None:
    # Events still waiting are applied by nothing after a downgrade: mark them for review.
    op.execute(
        "UPDATE carrier_events SET outcome = 'unmatched' WHERE outcome IN ('pending', 'failed')"
    )
    with op.batch_alter_table("carrier_events", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_carrier_events_pending",
            postgresql_where=sa.text("outcome = 'pending'"),
            sqlite_where=sa.text("outcome = 'pending'"),
        )
        batch_op.alter_column(
            "outcome",
            type_=_outcome(OLD_OUTCOMES),
            existing_type=_outcome(NEW_OUTCOMES),
            existing_nullable=False,
        )
        batch_op.drop_column("apply_error")
