"""a second label document per shipment: ZPL for thermal printers beside the PDF

EasyPost (and SF's cloud print) can give the same label as PDF and as ZPL. ``shipments.label``
keeps the PDF that people open; ``label_zpl`` keeps the ZPL that a thermal printer takes, so
``GET /api/v1/shipments/{tracking_number}/label?format=zpl`` can serve it (issue #16).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("shipments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("label_zpl", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("shipments", schema=None) as batch_op:
        batch_op.drop_column("label_zpl")
