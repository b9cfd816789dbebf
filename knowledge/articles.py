"""Writing, reading and finding articles. Every save (create or edit) stores a revision and
rewrites the article's search terms in the same transaction."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from core.clock import Clock
from core.db import UnitOfWork
from core.errors import N_, InvalidInput, NotFound
from inventory.models import sku_key
from knowledge.models import (
    Article,
    ArticleCategory,
    ArticleLanguage,
    ArticleRevision,
    ArticleSku,
    ArticleStatus,
    ArticleTerm,
)
from knowledge.text import weighted_terms

#: Most SKUs or categories one article may name.
MAX_SCOPE = 50
#: What an article cannot do without.
NEEDS = {
    "title": N_("An article needs a title."),
    "symptom": N_("An article needs a symptom."),
    "fix": N_("An article needs a fix."),
}


class ArticleNotFound(NotFound):
    code = "article_not_found"

    def __init__(self, article_id: int):
        super().__init__(N_("No knowledge article %(id)s.", id=article_id), article_id=article_id)


@dataclass(frozen=True)
class ArticleDraft:
    """What an author writes (the API's and the form's fields)."""

    title: str
    symptom: str
    fix: str
    cause: str = ""
    skus: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    language: ArticleLanguage = ArticleLanguage.EN
    status: ArticleStatus = ArticleStatus.DRAFT
    customer_visible: bool = False
    customer_can_fix_alone: bool = False
    source_rma_id: int | None = None


@dataclass(frozen=True)
class ArticleView:
    id: int
    title: str
    symptom: str
    cause: str
    fix: str
    skus: list[str]
    categories: list[str]
    language: str
    status: str
    customer_visible: bool
    customer_can_fix_alone: bool
    author: str
    revision: int
    created_at: datetime
    updated_at: datetime
    source_rma_id: int | None = None
    #: The suggestion's score (suggest only): higher is better.
    score: float | None = None
    #: Why it was suggested (suggest only): "sku", "category", "text".
    matched: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RevisionView:
    revision: int
    edited_by: str
    edited_at: datetime
    note: str
    content: dict[str, Any]


def _clean_list(values: Iterable[str], name: str, length: int) -> list[str]:
    cleaned = list(dict.fromkeys(v.strip() for v in values if v and v.strip()))
    if len(cleaned) > MAX_SCOPE:
        raise InvalidInput(
            name,
            N_("At most %(num)s SKUs.", num=MAX_SCOPE)
            if name == "skus"
            else N_("At most %(num)s categories.", num=MAX_SCOPE),
        )
    for value in cleaned:
        if len(value) > length:
            raise InvalidInput(
                name,
                N_(
                    "'%(value)s…' is longer than %(length)s characters.",
                    value=value[:20],
                    length=length,
                ),
            )
    return cleaned


def check_draft(draft: ArticleDraft) -> ArticleDraft:
    """The rules every saved article keeps (the API's schema checks the shapes first)."""
    for name in ("title", "symptom", "fix"):
        if not getattr(draft, name).strip():
            raise InvalidInput(name, NEEDS[name])
    return replace(
        draft,
        title=draft.title.strip(),
        skus=tuple(_clean_list(draft.skus, "skus", 64)),
        categories=tuple(_clean_list(draft.categories, "categories", 100)),
    )


def _content(article: Article, skus: list[str], categories: list[str]) -> dict[str, Any]:
    return {
        "title": article.title,
        "symptom": article.symptom,
        "cause": article.cause,
        "fix": article.fix,
        "skus": skus,
        "categories": categories,
        "language": article.language.value,
        "status": article.status.value,
        "customer_visible": article.customer_visible,
        "customer_can_fix_alone": article.customer_can_fix_alone,
    }


def _view(article: Article, skus: list[str], categories: list[str]) -> ArticleView:
    return ArticleView(
        id=article.id,
        title=article.title,
        symptom=article.symptom,
        cause=article.cause,
        fix=article.fix,
        skus=skus,
        categories=categories,
        language=article.language.value,
        status=article.status.value,
        customer_visible=article.customer_visible,
        customer_can_fix_alone=article.customer_can_fix_alone,
        author=article.author,
        revision=article.revision,
        created_at=article.created_at,
        updated_at=article.updated_at,
        source_rma_id=article.source_rma_id,
    )


def scopes(session: Session, ids: list[int]) -> dict[int, tuple[list[str], list[str]]]:
    """The SKUs and categories of each article, two queries for any number of articles."""
    found: dict[int, tuple[list[str], list[str]]] = {i: ([], []) for i in ids}
    if not ids:
        return found
    for article_id, sku in session.execute(
        select(ArticleSku.article_id, ArticleSku.sku)
        .where(ArticleSku.article_id.in_(ids))
        .order_by(ArticleSku.id)
    ):
        found[article_id][0].append(sku)
    for article_id, category in session.execute(
        select(ArticleCategory.article_id, ArticleCategory.category)
        .where(ArticleCategory.article_id.in_(ids))
        .order_by(ArticleCategory.id)
    ):
        found[article_id][1].append(category)
    return found


def views(session: Session, articles: list[Article]) -> list[ArticleView]:
    scoped = scopes(session, [a.id for a in articles])
    return [_view(a, *scoped[a.id]) for a in articles]


class Articles:
    """Create, edit, read and list articles."""

    def __init__(self, session_factory: sessionmaker[Session], clock: Clock):
        self.session_factory = session_factory
        self.clock = clock

    def create(self, author: str, draft: ArticleDraft) -> ArticleView:
        draft = check_draft(draft)
        now = self.clock.now()
        with UnitOfWork(self.session_factory) as uow:
            article = Article(author=author, revision=0, created_at=now)
            uow.session.add(article)
            view = self._save(uow.session, article, draft, author, now, "")
            uow.commit()
        return view

    def edit(
        self, editor: str, article_id: int, draft: ArticleDraft, note: str = ""
    ) -> ArticleView:
        """A new revision of the article (the old ones stay, readable in the history)."""
        draft = check_draft(draft)
        now = self.clock.now()
        with UnitOfWork(self.session_factory) as uow:
            article = uow.session.get(Article, article_id, with_for_update=True)
            if article is None:
                raise ArticleNotFound(article_id)
            if draft.source_rma_id is None:
                draft = replace(draft, source_rma_id=article.source_rma_id)
            view = self._save(uow.session, article, draft, editor, now, note)
            uow.commit()
        return view

    def _save(
        self,
        session: Session,
        article: Article,
        draft: ArticleDraft,
        who: str,
        now: datetime,
        note: str,
    ) -> ArticleView:
        article.title = draft.title
        article.symptom = draft.symptom.strip()
        article.cause = draft.cause.strip()
        article.fix = draft.fix.strip()
        article.language = draft.language
        article.status = draft.status
        article.customer_visible = draft.customer_visible
        article.customer_can_fix_alone = draft.customer_can_fix_alone
        article.source_rma_id = draft.source_rma_id
        article.revision += 1
        article.updated_at = now
        session.flush()
        for table in (ArticleSku, ArticleCategory, ArticleTerm):
            session.execute(delete(table).where(table.article_id == article.id))
        skus, categories = list(draft.skus), list(draft.categories)
        session.add_all(ArticleSku(article_id=article.id, sku=s, sku_key=sku_key(s)) for s in skus)
        session.add_all(
            ArticleCategory(article_id=article.id, category=c, category_key=c.lower())
            for c in categories
        )
        fields = {"title": article.title, "symptom": article.symptom}
        fields |= {"cause": article.cause, "fix": article.fix}
        session.add_all(
            ArticleTerm(article_id=article.id, term=term, weight=weight)
            for term, weight in weighted_terms(fields).items()
        )
        session.add(
            ArticleRevision(
                article_id=article.id,
                revision=article.revision,
                edited_by=who,
                edited_at=now,
                note=note.strip(),
                content=_content(article, skus, categories),
            )
        )
        session.flush()
        return _view(article, skus, categories)

    def get(self, article_id: int) -> ArticleView:
        with UnitOfWork(self.session_factory) as uow:
            article = uow.session.get(Article, article_id)
            if article is None:
                raise ArticleNotFound(article_id)
            return views(uow.session, [article])[0]

    def revisions(self, article_id: int) -> list[RevisionView]:
        """Every revision, the newest first."""
        with UnitOfWork(self.session_factory) as uow:
            if uow.session.get(Article, article_id) is None:
                raise ArticleNotFound(article_id)
            rows = uow.session.scalars(
                select(ArticleRevision)
                .where(ArticleRevision.article_id == article_id)
                .order_by(ArticleRevision.revision.desc())
            ).all()
            return [
                RevisionView(r.revision, r.edited_by, r.edited_at, r.note, dict(r.content))
                for r in rows
            ]

    def listing(
        self, *, language: str | None = None, status: str | None = None, limit: int = 200
    ) -> list[ArticleView]:
        """Articles, the latest edited first."""
        query = select(Article).order_by(Article.updated_at.desc(), Article.id.desc())
        if language:
            query = query.where(Article.language == ArticleLanguage(language))
        if status:
            query = query.where(Article.status == ArticleStatus(status))
        with UnitOfWork(self.session_factory) as uow:
            return views(uow.session, list(uow.session.scalars(query.limit(limit))))

    def count(self) -> int:
        with UnitOfWork(self.session_factory) as uow:
            return int(uow.session.scalar(select(func.count(Article.id))) or 0)
