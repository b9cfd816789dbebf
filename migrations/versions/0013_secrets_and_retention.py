"""stored secrets encrypted at rest; retention (outbox.pruned_at, carrier events by delivery)

Settings stored before encryption existed (plain text carrier secrets) are encrypted with the
newest key of SPAREFLOW_ENCRYPTION_KEYS. Without a key the upgrade stops and says so, rather
than leave a secret in clear that the application then refuses to read.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from cryptography.fernet import Fernet, MultiFernet

import core.db

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A frozen copy of core.crypto.PREFIX.
PREFIX = "fernet:"
settings = sa.table("settings", sa.column("name", sa.String), sa.column("value", sa.Text))


def _encrypt(plaintext: str) -> str:
    box = op.get_context().config.attributes.get("secret_box") if op.get_context().config else None
    if box is not None:  # `spareflow db upgrade` passes the app's SecretBox
        return str(box.encrypt(plaintext))
    keys = [k.strip() for k in os.environ.get("SPAREFLOW_ENCRYPTION_KEYS", "").split(",")]
    keys = [k for k in keys if k]
    if not keys:
        raise RuntimeError(
            "Stored settings hold secrets in plain text: set SPAREFLOW_ENCRYPTION_KEYS "
            "(`spareflow secrets generate-key` prints a key) and run `spareflow db upgrade` "
            "again; it encrypts them."
        )
    return PREFIX + MultiFernet([Fernet(k) for k in keys]).encrypt(plaintext.encode()).decode()


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("pruned_at", core.db.UTCDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("carrier_events", schema=None) as batch_op:
        batch_op.create_index("ix_carrier_events_delivery_id", ["delivery_id"], unique=False)
    bind = op.get_bind()
    rows = bind.execute(sa.select(settings.c.name, settings.c.value)).all()
    for name, value in rows:
        if not value.startswith(PREFIX):
            bind.execute(
                settings.update().where(settings.c.name == name).values(value=_encrypt(value))
            )


def downgrade() -> None:
    with op.batch_alter_table("carrier_events", schema=None) as batch_op:
        batch_op.drop_index("ix_carrier_events_delivery_id")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("pruned_at")
    # Decrypting back to plain text would put secrets in clear: a downgrade keeps them sealed
    # (the older code then cannot read them; set them again there if you must go back).
    pass
