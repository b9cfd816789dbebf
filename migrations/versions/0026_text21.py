"""timeline reasons keep their template: rma_transitions.reason_template, reason_params

Issue #21: a timeline line spareflow writes ("Refund RF-1 released") keeps its message id and
parameters beside the English text, so the RMA page shows it in the reader's language. Rows
from before have NULL there and show ``reason`` as it is.

Revision ID: 0026_text21
Revises: 0025_kb20
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026_text21"
down_revision: str | None = "0025_kb20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("rma_transitions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reason_template", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("reason_params", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("rma_transitions", schema=None) as batch_op:
        batch_op.drop_column("reason_params")
        batch_op.drop_column("reason_template")
