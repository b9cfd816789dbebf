"""The knowledge base's tables: articles, the parts and categories they apply to, every
revision, the search terms written on save, links to cases and the deflections recorded."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, BigIntPK, UTCDateTime, string_enum


class ArticleStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"


class ArticleLanguage(enum.StrEnum):
    EN = "en"
    ZH_HANS = "zh-Hans"


class DeflectionChannel(enum.StrEnum):
    """Where the customer was helped without a return: the desk on a case, or the portal."""

    DESK = "desk"
    PORTAL = "portal"


class Article(Base):
    """One known fault: what the customer sees, why it happens, how to fix it."""

    __tablename__ = "kb_articles"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    symptom: Mapped[str] = mapped_column(Text)
    cause: Mapped[str] = mapped_column(Text, default="")
    fix: Mapped[str] = mapped_column(Text)
    customer_can_fix_alone: Mapped[bool] = mapped_column(Boolean, default=False)
    language: Mapped[ArticleLanguage] = mapped_column(string_enum(ArticleLanguage), index=True)
    status: Mapped[ArticleStatus] = mapped_column(string_enum(ArticleStatus), index=True)
    customer_visible: Mapped[bool] = mapped_column(Boolean, default=False)
    author: Mapped[str] = mapped_column(String(254))
    #: The closed case it was written from ("Write an article from this case"), if any.
    source_rma_id: Mapped[int | None] = mapped_column(ForeignKey("rmas.id"))
    #: The number of the latest revision (1 when created; each edit adds one).
    revision: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ArticleSku(Base):
    __tablename__ = "kb_article_skus"
    __table_args__ = (UniqueConstraint("article_id", "sku_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id"), index=True)
    sku: Mapped[str] = mapped_column(String(64))
    #: inventory.models.sku_key(sku): matched whatever the case.
    sku_key: Mapped[str] = mapped_column(String(64), index=True)


class ArticleCategory(Base):
    __tablename__ = "kb_article_categories"
    __table_args__ = (UniqueConstraint("article_id", "category_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id"), index=True)
    category: Mapped[str] = mapped_column(String(100))
    category_key: Mapped[str] = mapped_column(String(100), index=True)


class ArticleRevision(Base):
    """The article as it was after each save (revision 1 is the creation): never changed."""

    __tablename__ = "kb_article_revisions"
    __table_args__ = (UniqueConstraint("article_id", "revision"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id"), index=True)
    revision: Mapped[int] = mapped_column(Integer)
    edited_by: Mapped[str] = mapped_column(String(254))
    edited_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: What changed, in the editor's words (may be empty).
    note: Mapped[str] = mapped_column(Text, default="")
    #: Every field of the article after this save (title, symptom, ..., skus, categories).
    content: Mapped[dict[str, Any]] = mapped_column(JSON)


class ArticleTerm(Base):
    """One search term of an article (knowledge/text.py), rewritten on every save, with the
    weight of the most important field it appears in (title 3, symptom 2, cause and fix 1)."""

    __tablename__ = "kb_article_terms"
    __table_args__ = (UniqueConstraint("article_id", "term"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id"), index=True)
    term: Mapped[str] = mapped_column(String(64), index=True)
    weight: Mapped[int] = mapped_column(Integer)


class ArticleLink(Base):
    """The desk used this article on this case (an RMA, enquiry or complaint: a row of rmas)."""

    __tablename__ = "kb_article_links"
    __table_args__ = (UniqueConstraint("article_id", "rma_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id"), index=True)
    rma_id: Mapped[int] = mapped_column(ForeignKey("rmas.id"), index=True)
    linked_by: Mapped[str] = mapped_column(String(254))
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Deflection(Base):
    """A request solved without a return: on the desk (a case, at most once each) or by the
    customer on the portal ("this solved it", no case)."""

    __tablename__ = "kb_deflections"
    __table_args__ = (
        CheckConstraint(
            "(channel = 'desk' AND rma_id IS NOT NULL) OR (channel = 'portal' AND rma_id IS NULL)",
            name="desk_has_case",
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    channel: Mapped[DeflectionChannel] = mapped_column(string_enum(DeflectionChannel))
    article_id: Mapped[int | None] = mapped_column(ForeignKey("kb_articles.id"), index=True)
    rma_id: Mapped[int | None] = mapped_column(ForeignKey("rmas.id"), index=True)
    #: One deflection per case ("desk:<rma id>") and per order and article on the portal
    #: ("portal:<order>:<article id>"): pressing the button twice counts once.
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    order_number: Mapped[str | None] = mapped_column(String(100))
    sku: Mapped[str | None] = mapped_column(String(64))
    recorded_by: Mapped[str] = mapped_column(String(254))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
