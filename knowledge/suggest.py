"""Suggestions: the published articles that fit a part and a fault description, best first.

How it finds them, the same on SQLite and PostgreSQL:
1. The query's terms (knowledge/text.py: words, Chinese characters and character pairs) are
   looked up in ``kb_article_terms`` with one ``term IN (...)`` query over published
   articles (narrowed to a language, or to customer-visible ones, when asked); the articles
   naming the SKU, or the part's catalogue category, are found by two more small queries.
2. Each candidate is scored in Python: ``SKU_POINTS`` when it names the part,
   ``CATEGORY_POINTS`` when it names the part's category, plus ``TEXT_POINTS`` times its
   text score (0..1, knowledge/text.py's ``text_score``). Ties go to the newest edit.

Scoring over the candidate rows in Python keeps one formula for both databases (no
full-text engine, dictionaries or extensions: PostgreSQL's parser does not split Chinese,
SQLite's FTS5 is not always compiled in); the index does the narrowing, so the rows scored
are only those sharing a term or the part.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Select, func, literal, select, union_all
from sqlalchemy.orm import Session, sessionmaker

from core.db import UnitOfWork
from inventory.models import Part, sku_key
from knowledge.articles import ArticleView, views
from knowledge.models import (
    Article,
    ArticleCategory,
    ArticleLanguage,
    ArticleSku,
    ArticleStatus,
    ArticleTerm,
)
from knowledge.text import query_terms, text_score

SKU_POINTS = 3.0
CATEGORY_POINTS = 1.5
TEXT_POINTS = 4.0
#: A candidate whose text barely touches the query (one stray character) is left out.
MIN_TEXT = 0.15
DEFAULT_LIMIT = 5
MAX_LIMIT = 50


@dataclass(frozen=True)
class SuggestQuery:
    sku: str | None = None
    q: str = ""
    language: ArticleLanguage | None = None
    #: The returns portal: only articles the customer may see.
    customer_visible_only: bool = False
    limit: int = DEFAULT_LIMIT


class Suggestions:
    def __init__(self, session_factory: sessionmaker[Session]):
        self.session_factory = session_factory

    def suggest(self, query: SuggestQuery) -> list[ArticleView]:
        with UnitOfWork(self.session_factory) as uow:
            return suggest(uow.session, query)


def _published(query: SuggestQuery) -> Select[Any]:
    ids = select(Article.id).where(Article.status == ArticleStatus.PUBLISHED)
    if query.language is not None:
        ids = ids.where(Article.language == query.language)
    if query.customer_visible_only:
        ids = ids.where(Article.customer_visible.is_(True))
    return ids


def _by_part(session: Session, sku: str | None, published: Any) -> tuple[set[int], set[int]]:
    """The articles naming the SKU, and those naming its catalogue category: one query."""
    if not sku or not sku.strip():
        return set(), set()
    key = sku_key(sku)
    named = select(ArticleSku.article_id, literal("sku").label("how")).where(
        ArticleSku.sku_key == key, ArticleSku.article_id.in_(published)
    )
    in_category = (
        select(ArticleCategory.article_id, literal("category").label("how"))
        .join(Part, func.lower(Part.category) == ArticleCategory.category_key)
        .where(Part.sku_key == key, ArticleCategory.article_id.in_(published))
    )
    by_sku: set[int] = set()
    by_category: set[int] = set()
    for article_id, how in session.execute(union_all(named, in_category)):
        (by_sku if how == "sku" else by_category).add(article_id)
    return by_sku, by_category


def suggest(session: Session, query: SuggestQuery) -> list[ArticleView]:
    """The best ``query.limit`` published articles for the part and the text, best first."""
    published = _published(query).scalar_subquery()
    wanted = query_terms(query.q)
    article_terms: dict[int, dict[str, int]] = defaultdict(dict)
    if wanted:
        rows = session.execute(
            select(ArticleTerm.article_id, ArticleTerm.term, ArticleTerm.weight).where(
                ArticleTerm.term.in_(wanted), ArticleTerm.article_id.in_(published)
            )
        )
        for article_id, term, weight in rows:
            article_terms[article_id][term] = weight
    by_sku, by_category = _by_part(session, query.sku, published)
    scored: dict[int, tuple[float, list[str]]] = {}
    for article_id in set(article_terms) | by_sku | by_category:
        text = text_score(wanted, article_terms.get(article_id, {}))
        matched = []
        score = 0.0
        if article_id in by_sku:
            score += SKU_POINTS
            matched.append("sku")
        if article_id in by_category:
            score += CATEGORY_POINTS
            matched.append("category")
        if text >= MIN_TEXT:
            score += TEXT_POINTS * text
            matched.append("text")
        if score > 0:
            scored[article_id] = (round(score, 4), matched)
    if not scored:
        return []
    articles = session.scalars(select(Article).where(Article.id.in_(scored))).all()
    ranked = sorted(articles, key=lambda a: (-scored[a.id][0], -a.updated_at.timestamp(), -a.id))[
        : max(1, min(query.limit, MAX_LIMIT))
    ]
    return [
        replace(view, score=scored[view.id][0], matched=scored[view.id][1])
        for view in views(session, ranked)
    ]
