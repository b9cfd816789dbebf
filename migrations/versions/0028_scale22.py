"""scale: the indexes a year of a big seller needs (metrics, desk queue, RMA search)

Issue #22: ``rmas.refund_released_at`` (the refunds released in a period), and
``rma_transitions (to_status, rma_id)`` (the disputed and received RMAs the metrics look up);
on PostgreSQL with pg_trgm, trigram indexes on ``lower(customer_email)`` and
``lower(customer_name)`` for the RMA search's ``LIKE '%...%'`` (without pg_trgm the search
stays a scan: docs/deployment.md says how to add the extension).

Revision ID: 0028_scale22
Revises: 0027_obs23
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028_scale22"
down_revision: str | None = "0027_obs23"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TRIGRAM = {
    "ix_rmas_customer_email_trgm": "customer_email",
    "ix_rmas_customer_name_trgm": "customer_name",
}


def _trigrams_available() -> bool:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return False
    found = bind.execute(
        sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")
    ).first()
    return found is not None


def upgrade() -> None:
    op.create_index("ix_rmas_refund_released_at", "rmas", ["refund_released_at"])
    op.create_index(
        "ix_rma_transitions_to_status_rma_id", "rma_transitions", ["to_status", "rma_id"]
    )
    if _trigrams_available():
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for name, column in TRIGRAM.items():
            op.execute(
                f"CREATE INDEX IF NOT EXISTS {name} ON rmas "
                f"USING gin (lower({column}) gin_trgm_ops)"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in TRIGRAM:
            op.execute(f"DROP INDEX IF EXISTS {name}")
    op.drop_index("ix_rma_transitions_to_status_rma_id", table_name="rma_transitions")
    op.drop_index("ix_rmas_refund_released_at", table_name="rmas")
