"""the knowledge base: articles, their parts and categories, revisions, search terms, links
to cases and deflections

Issue #20: ``kb_articles`` (known faults and fixes, en or zh-Hans, draft or published),
``kb_article_skus`` / ``kb_article_categories`` (what they apply to), ``kb_article_revisions``
(every save), ``kb_article_terms`` (the search terms written on save, knowledge/text.py),
``kb_article_links`` (an article used on a case) and ``kb_deflections`` (solved without a
return, on the desk or on the portal).

Revision ID: 0025_kb20
Revises: 0024_owners20
Create Date: 2026-12-05 11:22:04.157438
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = "0025_kb20"
down_revision: str | None = "0024_owners20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "kb_articles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("symptom", sa.Text(), nullable=False),
        sa.Column("cause", sa.Text(), nullable=False),
        sa.Column("fix", sa.Text(), nullable=False),
        sa.Column("customer_can_fix_alone", sa.Boolean(), nullable=False),
        sa.Column(
            "language",
            sa.Enum(
                "en",
                "zh-Hans",
                name="articlelanguage",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "published",
                name="articlestatus",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("customer_visible", sa.Boolean(), nullable=False),
        sa.Column("author", sa.String(length=254), nullable=False),
        sa.Column("source_rma_id", sa.Integer(), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_rma_id"], ["rmas.id"], name=op.f("fk_kb_articles_source_rma_id_rmas")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_articles")),
    )
    with op.batch_alter_table("kb_articles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_kb_articles_language"), ["language"], unique=False)
        batch_op.create_index(batch_op.f("ix_kb_articles_status"), ["status"], unique=False)

    op.create_table(
        "kb_article_categories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=100), nullable=False),
        sa.Column("category_key", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["kb_articles.id"],
            name=op.f("fk_kb_article_categories_article_id_kb_articles"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_article_categories")),
        sa.UniqueConstraint(
            "article_id", "category_key", name=op.f("uq_kb_article_categories_article_id")
        ),
    )
    with op.batch_alter_table("kb_article_categories", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_kb_article_categories_article_id"), ["article_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_kb_article_categories_category_key"), ["category_key"], unique=False
        )

    op.create_table(
        "kb_article_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("rma_id", sa.Integer(), nullable=False),
        sa.Column("linked_by", sa.String(length=254), nullable=False),
        sa.Column("linked_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["kb_articles.id"],
            name=op.f("fk_kb_article_links_article_id_kb_articles"),
        ),
        sa.ForeignKeyConstraint(
            ["rma_id"], ["rmas.id"], name=op.f("fk_kb_article_links_rma_id_rmas")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_article_links")),
        sa.UniqueConstraint("article_id", "rma_id", name=op.f("uq_kb_article_links_article_id")),
    )
    with op.batch_alter_table("kb_article_links", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_kb_article_links_article_id"), ["article_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_kb_article_links_rma_id"), ["rma_id"], unique=False)

    op.create_table(
        "kb_article_revisions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("edited_by", sa.String(length=254), nullable=False),
        sa.Column("edited_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["kb_articles.id"],
            name=op.f("fk_kb_article_revisions_article_id_kb_articles"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_article_revisions")),
        sa.UniqueConstraint(
            "article_id", "revision", name=op.f("uq_kb_article_revisions_article_id")
        ),
    )
    with op.batch_alter_table("kb_article_revisions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_kb_article_revisions_article_id"), ["article_id"], unique=False
        )

    op.create_table(
        "kb_article_skus",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("sku_key", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["kb_articles.id"],
            name=op.f("fk_kb_article_skus_article_id_kb_articles"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_article_skus")),
        sa.UniqueConstraint("article_id", "sku_key", name=op.f("uq_kb_article_skus_article_id")),
    )
    with op.batch_alter_table("kb_article_skus", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_kb_article_skus_article_id"), ["article_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_kb_article_skus_sku_key"), ["sku_key"], unique=False)

    op.create_table(
        "kb_article_terms",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("term", sa.String(length=64), nullable=False),
        sa.Column("weight", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["kb_articles.id"],
            name=op.f("fk_kb_article_terms_article_id_kb_articles"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_article_terms")),
        sa.UniqueConstraint("article_id", "term", name=op.f("uq_kb_article_terms_article_id")),
    )
    with op.batch_alter_table("kb_article_terms", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_kb_article_terms_article_id"), ["article_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_kb_article_terms_term"), ["term"], unique=False)

    op.create_table(
        "kb_deflections",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "channel",
            sa.Enum(
                "desk",
                "portal",
                name="deflectionchannel",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("article_id", sa.Integer(), nullable=True),
        sa.Column("rma_id", sa.Integer(), nullable=True),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.Column("order_number", sa.String(length=100), nullable=True),
        sa.Column("sku", sa.String(length=64), nullable=True),
        sa.Column("recorded_by", sa.String(length=254), nullable=False),
        sa.Column("recorded_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(channel = 'desk' AND rma_id IS NOT NULL) OR (channel = 'portal' AND rma_id IS NULL)",
            name=op.f("ck_kb_deflections_desk_has_case"),
        ),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["kb_articles.id"],
            name=op.f("fk_kb_deflections_article_id_kb_articles"),
        ),
        sa.ForeignKeyConstraint(
            ["rma_id"], ["rmas.id"], name=op.f("fk_kb_deflections_rma_id_rmas")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_deflections")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_kb_deflections_dedupe_key")),
    )
    with op.batch_alter_table("kb_deflections", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_kb_deflections_article_id"), ["article_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_kb_deflections_recorded_at"), ["recorded_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_kb_deflections_rma_id"), ["rma_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("kb_deflections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kb_deflections_rma_id"))
        batch_op.drop_index(batch_op.f("ix_kb_deflections_recorded_at"))
        batch_op.drop_index(batch_op.f("ix_kb_deflections_article_id"))

    op.drop_table("kb_deflections")
    with op.batch_alter_table("kb_article_terms", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kb_article_terms_term"))
        batch_op.drop_index(batch_op.f("ix_kb_article_terms_article_id"))

    op.drop_table("kb_article_terms")
    with op.batch_alter_table("kb_article_skus", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kb_article_skus_sku_key"))
        batch_op.drop_index(batch_op.f("ix_kb_article_skus_article_id"))

    op.drop_table("kb_article_skus")
    with op.batch_alter_table("kb_article_revisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kb_article_revisions_article_id"))

    op.drop_table("kb_article_revisions")
    with op.batch_alter_table("kb_article_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kb_article_links_rma_id"))
        batch_op.drop_index(batch_op.f("ix_kb_article_links_article_id"))

    op.drop_table("kb_article_links")
    with op.batch_alter_table("kb_article_categories", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kb_article_categories_category_key"))
        batch_op.drop_index(batch_op.f("ix_kb_article_categories_article_id"))

    op.drop_table("kb_article_categories")
    with op.batch_alter_table("kb_articles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kb_articles_status"))
        batch_op.drop_index(batch_op.f("ix_kb_articles_language"))

    op.drop_table("kb_articles")
