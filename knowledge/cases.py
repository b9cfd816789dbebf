"""The knowledge base on cases: link an article to a case, record a request solved without a
return (on the desk, or by the customer on the portal), and draft an article from a closed case.

A case is a row of ``rmas`` (a return, or an enquiry or complaint kept there), addressed by its
number."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.clock import Clock
from core.db import UnitOfWork, insert_ignoring_conflicts
from core.errors import N_, Conflict
from inventory.models import Part
from knowledge.articles import ArticleDraft, ArticleNotFound, ArticleView
from knowledge.models import (
    Article,
    ArticleLanguage,
    ArticleLink,
    ArticleStatus,
    Deflection,
    DeflectionChannel,
)
from knowledge.suggest import SuggestQuery, suggest
from returns.context import load_rma
from returns.repair_orders import RepairOrder
from returns.rma import Rma, RmaTransition
from returns.status import TERMINAL


class CaseStillOpen(Conflict):
    code = "case_still_open"

    def __init__(self, number: str):
        super().__init__(
            N_("%(number)s is still open: write an article once it is closed.", number=number)
        )


@dataclass(frozen=True)
class LinkedArticle:
    article_id: int
    title: str
    language: str
    linked_by: str
    linked_at: datetime


@dataclass(frozen=True)
class CaseKnowledge:
    """What the case page shows: the articles linked and whether it was solved without a return."""

    number: str
    links: list[LinkedArticle]
    deflected_at: datetime | None
    deflected_by: str | None
    deflected_article_id: int | None


def _link(article_id: int, rma_id: int, actor: str, now: datetime) -> dict[str, object]:
    return {"article_id": article_id, "rma_id": rma_id, "linked_by": actor, "linked_at": now}


def _article(session: Session, article_id: int) -> Article:
    article = session.get(Article, article_id)
    if article is None:
        raise ArticleNotFound(article_id)
    return article


class CaseKnowledgeService:
    def __init__(
        self,
        session_factory: sessionmaker[Session],
        clock: Clock,
        end_case: Callable[[str, str], None] | None = None,
    ):
        self.session_factory = session_factory
        self.clock = clock
        self.end_case = end_case

    def of(self, number: str) -> CaseKnowledge:
        with UnitOfWork(self.session_factory) as uow:
            rma = load_rma(uow.session, number)
            return _case_knowledge(uow.session, rma)

    def panel(self, number: str, query: SuggestQuery) -> tuple[CaseKnowledge, list[ArticleView]]:
        """The case page's panel in one transaction: its knowledge and the suggestions."""
        with UnitOfWork(self.session_factory) as uow:
            rma = load_rma(uow.session, number)
            return _case_knowledge(uow.session, rma), suggest(uow.session, query)

    def link(self, actor: str, number: str, article_id: int) -> CaseKnowledge:
        """Link the article to the case (once: linking again changes nothing)."""
        with UnitOfWork(self.session_factory) as uow:
            rma = load_rma(uow.session, number)
            _article(uow.session, article_id)
            insert_ignoring_conflicts(
                uow.session,
                ArticleLink.__table__,
                _link(article_id, rma.id, actor, self.clock.now()),
            )
            uow.commit()
            return _case_knowledge(uow.session, rma)

    def solved_without_return(
        self, actor: str, number: str, article_id: int | None = None, close: bool = False
    ) -> CaseKnowledge:
        """The case was solved without a return (counted once per case); the article that
        solved it, if named, is linked too. With ``close`` the case ends in the same step
        first (returns/solved.py: an enquiry or complaint resolved and closed, a return not
        yet on its way cancelled); if it cannot end, nothing is recorded."""
        if close:
            if self.end_case is None:
                raise Conflict(N_("Closing a case is not set up here."), code="cannot_close")
            with UnitOfWork(self.session_factory) as uow:
                load_rma(uow.session, number)  # 404 before anything moves
                if article_id is not None:
                    _article(uow.session, article_id)
            self.end_case(actor, number)
        with UnitOfWork(self.session_factory) as uow:
            rma = load_rma(uow.session, number)
            now = self.clock.now()
            if article_id is not None:
                _article(uow.session, article_id)
                insert_ignoring_conflicts(
                    uow.session,
                    ArticleLink.__table__,
                    {
                        "article_id": article_id,
                        "rma_id": rma.id,
                        "linked_by": actor,
                        "linked_at": now,
                    },
                )
            insert_ignoring_conflicts(
                uow.session,
                Deflection.__table__,
                {
                    "channel": DeflectionChannel.DESK.value,
                    "article_id": article_id,
                    "rma_id": rma.id,
                    "order_number": rma.order_number,
                    "sku": rma.lines[0].sku if rma.lines else None,
                    "recorded_by": actor,
                    "recorded_at": now,
                    "dedupe_key": f"desk:{rma.id}",
                },
            )
            uow.commit()
            return _case_knowledge(uow.session, rma)

    def solved_on_portal(self, order_number: str, sku: str | None, article_id: int) -> bool:
        """The customer pressed "this solved it" on the portal: True the first time for this
        order and article (the portal has proved the order before calling)."""
        with UnitOfWork(self.session_factory) as uow:
            article = _article(uow.session, article_id)
            if not (article.status is ArticleStatus.PUBLISHED and article.customer_visible):
                raise ArticleNotFound(article_id)
            added = insert_ignoring_conflicts(
                uow.session,
                Deflection.__table__,
                {
                    "channel": DeflectionChannel.PORTAL.value,
                    "article_id": article_id,
                    "rma_id": None,
                    "order_number": order_number,
                    "sku": sku,
                    "recorded_by": "customer",
                    "recorded_at": self.clock.now(),
                    "dedupe_key": f"portal:{order_number.casefold()[:150]}:{article_id}",
                },
            )
            uow.commit()
        return added

    def draft_from_case(self, number: str) -> ArticleDraft:
        """A new article's fields pre-filled from a closed case: the symptom from its reason
        and description, the cause from the inspection and the repair's diagnosis, the fix
        from the resolution, the repair's test and the closing notes."""
        with UnitOfWork(self.session_factory) as uow:
            session = uow.session
            rma = load_rma(session, number)
            if rma.status not in TERMINAL:
                raise CaseStillOpen(rma.number)
            skus = list(dict.fromkeys(line.sku for line in rma.lines))
            parts = session.execute(
                select(Part.name, Part.category).where(
                    Part.id.in_([ln.part_id for ln in rma.lines])
                )
            ).all()
            repair = session.scalar(select(RepairOrder).where(RepairOrder.rma_id == rma.id))
            closing = session.scalars(
                select(RmaTransition.reason)
                .where(RmaTransition.rma_id == rma.id, RmaTransition.reason != "")
                .order_by(RmaTransition.at, RmaTransition.id)
            ).all()
            return _draft(rma, skus, [(n, c) for n, c in parts], repair, list(closing))


def _draft(
    rma: Rma,
    skus: list[str],
    parts: list[tuple[str, str | None]],
    repair: RepairOrder | None,
    notes: list[str],
) -> ArticleDraft:
    # An enquiry or a complaint has no return reason: its kind stands in.
    reason = (rma.reason or rma.kind).value.replace("_", " ")
    part_names = ", ".join(name for name, _ in parts)
    symptom = rma.description.strip() or reason.capitalize()
    inspection = [f"{line.sku}: {line.condition}" for line in rma.lines if line.condition] + [
        f"{line.sku}: {line.disposition.value}" for line in rma.lines if line.disposition
    ]
    cause = [*inspection]
    fix = [f"Resolved by {rma.resolution.value}."] if rma.resolution else []
    if repair is not None:
        if repair.diagnosis:
            cause.append(repair.diagnosis)
        if repair.test_result:
            fix.append(repair.test_result)
    fix.extend(notes)
    if rma.satisfaction_comment:
        fix.append(rma.satisfaction_comment)
    first_line = symptom.splitlines()[0][:120] if symptom else reason
    return ArticleDraft(
        title=f"{part_names}: {first_line}"[:200] if part_names else first_line[:200],
        symptom=symptom,
        cause="\n".join(cause),
        fix="\n".join(fix),
        skus=tuple(skus),
        categories=tuple(dict.fromkeys(c for _, c in parts if c)),
        language=ArticleLanguage.ZH_HANS
        if rma.customer_language.startswith("zh")
        else ArticleLanguage.EN,
        source_rma_id=rma.id,
    )


def _case_knowledge(session: Session, rma: Rma) -> CaseKnowledge:
    links = session.execute(
        select(
            Article.id,
            Article.title,
            Article.language,
            ArticleLink.linked_by,
            ArticleLink.linked_at,
        )
        .join(ArticleLink, ArticleLink.article_id == Article.id)
        .where(ArticleLink.rma_id == rma.id)
        .order_by(ArticleLink.linked_at, ArticleLink.id)
    ).all()
    deflection = session.scalar(select(Deflection).where(Deflection.dedupe_key == f"desk:{rma.id}"))
    return CaseKnowledge(
        number=rma.number,
        links=[LinkedArticle(row[0], row[1], row[2].value, row[3], row[4]) for row in links],
        deflected_at=deflection.recorded_at if deflection else None,
        deflected_by=deflection.recorded_by if deflection else None,
        deflected_article_id=deflection.article_id if deflection else None,
    )
