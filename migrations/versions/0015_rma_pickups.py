"""the carrier pickup the customer booked for the prepaid return label

Three nullable columns on ``rmas``: the booked window (UTC) and the provider's pickup id. They
stay empty until the customer (status page) or the desk books a collection through a label
provider that books pickups (returns/pickups.py, issue #16).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RMA_COLUMNS = (
    ("pickup_starts_at", core.db.UTCDateTime(timezone=True)),
    ("pickup_ends_at", core.db.UTCDateTime(timezone=True)),
    ("pickup_id", sa.String(length=100)),
)


def upgrade() -> None:
    with op.batch_alter_table("rmas", schema=None) as batch_op:
        for name, type_ in RMA_COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("rmas", schema=None) as batch_op:
        for name, _ in reversed(RMA_COLUMNS):
            batch_op.drop_column(name)
