"""the customer's address on the RMA; the columns for bought return and outbound labels

One column per address field (``address_*``, all nullable: RMAs opened before have none), so
each keeps its length, a label provider reads them by name, and the desk can filter by country
or postcode in plain SQL on SQLite and PostgreSQL alike. The label columns stay empty until
spareflow buys a label (issue #16).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RMA_COLUMNS = (
    ("address_name", sa.String(length=200)),
    ("address_company", sa.String(length=200)),
    ("address_street", sa.String(length=200)),
    ("address_street2", sa.String(length=200)),
    ("address_city", sa.String(length=100)),
    ("address_state", sa.String(length=100)),
    ("address_postcode", sa.String(length=20)),
    ("address_country", sa.String(length=2)),
    ("address_phone", sa.String(length=50)),
    ("return_label_cost_minor", sa.BigInteger()),
    ("return_label_currency", sa.String(length=3)),
    ("return_label_provider", sa.String(length=20)),
    ("return_label_id", sa.String(length=100)),
    ("return_label_refund", sa.String(length=20)),
)
REPLACEMENT_COLUMNS = (
    ("label_cost_minor", sa.BigInteger()),
    ("label_provider", sa.String(length=20)),
    ("label_id", sa.String(length=100)),
    ("delivered_at", core.db.UTCDateTime(timezone=True)),
)


def upgrade() -> None:
    with op.batch_alter_table("rmas", schema=None) as batch_op:
        for name, type_ in RMA_COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=True))
    with op.batch_alter_table("replacements", schema=None) as batch_op:
        for name, type_ in REPLACEMENT_COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("replacements", schema=None) as batch_op:
        for name, _ in reversed(REPLACEMENT_COLUMNS):
            batch_op.drop_column(name)
    with op.batch_alter_table("rmas", schema=None) as batch_op:
        for name, _ in reversed(RMA_COLUMNS):
            batch_op.drop_column(name)
