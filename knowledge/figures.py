"""The knowledge base's figures for a period: the deflection rate, the articles linked most,
and the parts and return reasons with many cases but no article.

Deflection rate = requests solved without a return / requests, where
- solved without a return = the desk's "solved without a return" on a case plus the portal's
  "this solved it", recorded in the period;
- requests = cases opened in the period plus the portal's deflections (those open no case).
Eight cases opened, two of them solved on the desk, and two customers helped on the portal:
(2 + 2) / (8 + 2) = 40%.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, distinct, exists, func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from core.db import UnitOfWork
from inventory.models import Part
from knowledge.models import (
    Article,
    ArticleCategory,
    ArticleLink,
    ArticleSku,
    ArticleStatus,
    Deflection,
    DeflectionChannel,
)
from returns.metrics_maths import Period
from returns.rma import Rma, RmaLine

#: A part and reason needs at least this many cases in the period to be called a gap.
GAP_MIN_CASES = 3
TOP_ROWS = 10
GAP_ROWS = 20


@dataclass(frozen=True)
class LinkedCount:
    article_id: int
    title: str
    language: str
    links: int


@dataclass(frozen=True)
class Gap:
    sku: str
    part_name: str
    reason: str
    cases: int


@dataclass(frozen=True)
class KnowledgeFigures:
    cases_opened: int
    solved_on_desk: int
    solved_on_portal: int
    #: (desk + portal) / (cases opened + portal); None without any request.
    deflection_rate: float | None
    most_linked: list[LinkedCount]
    gaps: list[Gap]
    gap_min_cases: int = GAP_MIN_CASES

    @property
    def deflected(self) -> int:
        return self.solved_on_desk + self.solved_on_portal

    @property
    def requests(self) -> int:
        return self.cases_opened + self.solved_on_portal


def deflection_rate(cases_opened: int, on_desk: int, on_portal: int) -> float | None:
    requests = cases_opened + on_portal
    return (on_desk + on_portal) / requests if requests else None


class KnowledgeMetrics:
    def __init__(self, session_factory: sessionmaker[Session]):
        self.session_factory = session_factory

    def figures(self, period: Period) -> KnowledgeFigures:
        with UnitOfWork(self.session_factory) as uow:
            return figures(uow.session, period)


def figures(session: Session, period: Period) -> KnowledgeFigures:
    def in_period(column: Any) -> ColumnElement[bool]:
        return and_(column >= period.start, column < period.end)

    opened = int(session.scalar(select(func.count(Rma.id)).where(in_period(Rma.created_at))) or 0)
    counts = dict(
        session.execute(
            select(Deflection.channel, func.count(Deflection.id))
            .where(in_period(Deflection.recorded_at))
            .group_by(Deflection.channel)
        ).all()
    )
    on_desk = int(counts.get(DeflectionChannel.DESK, 0))
    on_portal = int(counts.get(DeflectionChannel.PORTAL, 0))
    links = func.count(ArticleLink.id).label("links")
    linked = session.execute(
        select(Article.id, Article.title, Article.language, links)
        .join(ArticleLink, ArticleLink.article_id == Article.id)
        .where(in_period(ArticleLink.linked_at))
        .group_by(Article.id, Article.title, Article.language)
        .order_by(links.desc(), Article.id)
        .limit(TOP_ROWS)
    ).all()
    return KnowledgeFigures(
        cases_opened=opened,
        solved_on_desk=on_desk,
        solved_on_portal=on_portal,
        deflection_rate=deflection_rate(opened, on_desk, on_portal),
        most_linked=[LinkedCount(r[0], r[1], r[2].value, int(r[3])) for r in linked],
        gaps=_gaps(session, period),
    )


def _gaps(session: Session, period: Period) -> list[Gap]:
    """Parts and reasons with at least GAP_MIN_CASES cases opened in the period and no
    published article for the part (by its SKU or its category)."""
    published = Article.status == ArticleStatus.PUBLISHED
    covered_by_sku = exists().where(
        ArticleSku.sku_key == Part.sku_key, ArticleSku.article_id == Article.id, published
    )
    covered_by_category = exists().where(
        ArticleCategory.category_key == func.lower(Part.category),
        ArticleCategory.article_id == Article.id,
        published,
    )
    cases = func.count(distinct(Rma.id)).label("cases")
    rows = session.execute(
        select(Part.sku, Part.name, Rma.reason, cases)
        .join(RmaLine, RmaLine.rma_id == Rma.id)
        .join(Part, Part.id == RmaLine.part_id)
        .where(
            Rma.created_at >= period.start,
            Rma.created_at < period.end,
            ~or_(covered_by_sku, covered_by_category),
        )
        .group_by(Part.sku, Part.name, Rma.reason)
        .having(cases >= GAP_MIN_CASES)
        .order_by(cases.desc(), Part.sku, Rma.reason)
        .limit(GAP_ROWS)
    ).all()
    return [Gap(r[0], r[1], r[2].value if r[2] else "", int(r[3])) for r in rows]
