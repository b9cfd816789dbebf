"""sales orders, the returns portal's photos, inbound e-mail, and the portal channel

Issue #17: ``sales_orders`` and ``sales_order_lines`` (what customers bought, fed by the API, a
workbook and Shopify), ``order_webhook_events`` (order webhooks stored once by delivery id
before they are applied), ``rma_attachments`` (the customer's photos), ``inbound_emails``
(replies that come back in, stored once by Message-ID), and ``portal`` as an RMA channel.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db
import core.money

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of returns.status.Channel: a migration must not change with the models.
CHANNELS_BEFORE = ["phone", "email", "web", "chat", "marketplace"]
CHANNELS = [*CHANNELS_BEFORE, "portal"]


def _channel_check(values: list[str]) -> str:
    return "channel IN (" + ", ".join(f"'{value}'" for value in values) + ")"


def _replace_channel_check(values: list[str]) -> None:
    with op.batch_alter_table("rmas", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_rmas_channel"), type_="check")
        batch_op.create_check_constraint(op.f("ck_rmas_channel"), _channel_check(values))


def upgrade() -> None:
    op.create_table(
        "order_webhook_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("topic", sa.String(length=100), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "received",
                "applied",
                "ignored",
                "failed",
                name="orderwebhookstatus",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("received_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_webhook_events")),
        sa.UniqueConstraint("provider", "event_id", name=op.f("uq_order_webhook_events_provider")),
    )
    with op.batch_alter_table("order_webhook_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_order_webhook_events_received_at"), ["received_at"], unique=False
        )

    op.create_table(
        "sales_orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=100), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column(
            "source",
            sa.Enum(
                "api",
                "import",
                "shopify",
                name="ordersource",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("external_id", sa.String(length=100), nullable=True),
        sa.Column("customer_name", sa.String(length=200), nullable=False),
        sa.Column("customer_email", sa.String(length=254), nullable=False),
        sa.Column("customer_phone", sa.String(length=50), nullable=True),
        sa.Column("address_name", sa.String(length=200), nullable=True),
        sa.Column("address_company", sa.String(length=200), nullable=True),
        sa.Column("address_street", sa.String(length=200), nullable=True),
        sa.Column("address_street2", sa.String(length=200), nullable=True),
        sa.Column("address_city", sa.String(length=100), nullable=True),
        sa.Column("address_state", sa.String(length=100), nullable=True),
        sa.Column("address_postcode", sa.String(length=20), nullable=True),
        sa.Column("address_country", sa.String(length=2), nullable=True),
        sa.Column("address_phone", sa.String(length=50), nullable=True),
        sa.Column("ordered_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("shipped_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("payment_reference", sa.String(length=100), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("refunded_elsewhere_minor", sa.Integer(), nullable=False),
        sa.Column("provider_updated_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sales_orders")),
        sa.UniqueConstraint("number", name=op.f("uq_sales_orders_number")),
    )
    with op.batch_alter_table("sales_orders", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sales_orders_customer_email"), ["customer_email"], unique=False
        )

    op.create_table(
        "inbound_emails",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("message_id", sa.String(length=255), nullable=False),
        sa.Column("rma_id", sa.Integer(), nullable=True),
        sa.Column("from_address", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=500), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("received_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["rma_id"], ["rmas.id"], name=op.f("fk_inbound_emails_rma_id_rmas")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_emails")),
        sa.UniqueConstraint("provider", "message_id", name=op.f("uq_inbound_emails_provider")),
    )
    with op.batch_alter_table("inbound_emails", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_inbound_emails_received_at"), ["received_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_inbound_emails_rma_id"), ["rma_id"], unique=False)

    op.create_table(
        "rma_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rma_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("media_type", sa.String(length=50), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["rma_id"], ["rmas.id"], name=op.f("fk_rma_attachments_rma_id_rmas")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rma_attachments")),
    )
    with op.batch_alter_table("rma_attachments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rma_attachments_rma_id"), ["rma_id"], unique=False)

    op.create_table(
        "sales_order_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.Column("unit_price", core.money.ExactDecimal(precision=14, scale=4), nullable=False),
        sa.Column("serials", sa.Text(), nullable=False),
        sa.Column("external_id", sa.String(length=100), nullable=True),
        sa.CheckConstraint("qty > 0", name=op.f("ck_sales_order_lines_qty")),
        sa.CheckConstraint("unit_price >= 0", name=op.f("ck_sales_order_lines_unit_price")),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["sales_orders.id"],
            name=op.f("fk_sales_order_lines_order_id_sales_orders"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sales_order_lines")),
        sa.UniqueConstraint("order_id", "position", name=op.f("uq_sales_order_lines_order_id")),
    )
    with op.batch_alter_table("sales_order_lines", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sales_order_lines_order_id"), ["order_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_sales_order_lines_sku"), ["sku"], unique=False)

    _replace_channel_check(CHANNELS)


def downgrade() -> None:
    _replace_channel_check(CHANNELS_BEFORE)
    with op.batch_alter_table("sales_order_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sales_order_lines_sku"))
        batch_op.drop_index(batch_op.f("ix_sales_order_lines_order_id"))

    op.drop_table("sales_order_lines")
    with op.batch_alter_table("rma_attachments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rma_attachments_rma_id"))

    op.drop_table("rma_attachments")
    with op.batch_alter_table("inbound_emails", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inbound_emails_rma_id"))
        batch_op.drop_index(batch_op.f("ix_inbound_emails_received_at"))

    op.drop_table("inbound_emails")
    with op.batch_alter_table("sales_orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sales_orders_customer_email"))

    op.drop_table("sales_orders")
    with op.batch_alter_table("order_webhook_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_order_webhook_events_received_at"))

    op.drop_table("order_webhook_events")
