"""observability: the request id an outbox message was written under, and scheduler job runs

Issue #23: ``outbox.request_id`` carries the web request's id (X-Request-ID) into the job it
caused, so its log lines can be joined; ``job_runs`` holds one row per scheduler job (runs,
failures, last start and finish): the scheduler's heartbeat and its metrics.

Revision ID: 0027_obs23
Revises: 0026_text21
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = "0027_obs23"
down_revision: str | None = "0026_text21"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("request_id", sa.String(length=64), nullable=True))
    op.create_table(
        "job_runs",
        sa.Column("job_id", sa.String(length=60), nullable=False),
        sa.Column("runs", sa.BigInteger(), nullable=False),
        sa.Column("failures", sa.BigInteger(), nullable=False),
        sa.Column("last_started_at", core.db.UTCDateTime(), nullable=True),
        sa.Column("last_finished_at", core.db.UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("job_id"),
    )


def downgrade() -> None:
    op.drop_table("job_runs")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("request_id")
