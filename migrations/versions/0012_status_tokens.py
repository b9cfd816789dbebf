"""status page links: random tokens kept as SHA-256 hashes, revocable per RMA

Links to the customer's status page used to be the RMA number signed with SECRET_KEY. From
this revision on each link is a random token of its own, and only its hash is stored. Existing
RMAs get no link here: the signed links in e-mails sent before the upgrade stop working (a 404,
like any unknown link). The desk sends a customer who asks a new link from the RMA page
("Send the customer a new status page link") or with POST /api/v1/returns/{rma}/status-link;
every e-mail queued after the upgrade carries a working link.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rma_status_links",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("rma_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["rma_id"], ["rmas.id"], name=op.f("fk_rma_status_links_rma_id_rmas")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rma_status_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_rma_status_links_token_hash")),
    )
    with op.batch_alter_table("rma_status_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rma_status_links_rma_id"), ["rma_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("rma_status_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rma_status_links_rma_id"))
    op.drop_table("rma_status_links")
