"""The fault knowledge base: write and edit articles (each save a revision), suggest the best
published ones for a part and a fault description, link them to cases, record a case solved
without a return, and the knowledge figures. The rules are knowledge/'s; docs/desk.md."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from accounts.models import Role
from knowledge.articles import ArticleDraft, ArticleView, RevisionView
from knowledge.cases import CaseKnowledge
from knowledge.figures import KnowledgeFigures
from knowledge.models import ArticleLanguage, ArticleStatus
from knowledge.suggest import DEFAULT_LIMIT, MAX_LIMIT, SuggestQuery
from web.api.auth import current_api_user, roles
from web.api.fields import Text
from web.api.metrics import READERS, PeriodQuerySchema
from web.api.schemas import StrictSchema
from web.extensions import services

blp = Blueprint(
    "knowledge",
    __name__,
    url_prefix="/api/v1/knowledge",
    description="The fault knowledge base: articles, revisions and suggestions",
)
case_blp = Blueprint(
    "case_knowledge",
    __name__,
    url_prefix="/api/v1/returns",
    description="Knowledge articles linked to a case, and cases solved without a return",
)
metrics_blp = Blueprint(
    "knowledge_metrics",
    __name__,
    url_prefix="/api/v1/metrics",
    description="The knowledge base's figures",
)

#: The desk writes and uses the knowledge base (as it works the returns desk).
DESK = (Role.ADMIN, Role.SERVICE_DESK)
LANGUAGES = [language.value for language in ArticleLanguage]
STATUSES = [status.value for status in ArticleStatus]


class KbArticleSchema(Schema):
    id = fields.Integer()
    title = fields.String()
    symptom = fields.String()
    cause = fields.String()
    fix = fields.String()
    skus = fields.List(fields.String())
    categories = fields.List(fields.String())
    language = fields.String(metadata={"description": "en or zh-Hans"})
    status = fields.String(metadata={"description": "draft or published"})
    customer_visible = fields.Boolean()
    customer_can_fix_alone = fields.Boolean()
    author = fields.String()
    revision = fields.Integer(metadata={"description": "The latest revision's number."})
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


class KbSuggestionSchema(KbArticleSchema):
    score = fields.Float(metadata={"description": "Higher is better (docs/desk.md)."})
    matched = fields.List(
        fields.String(), metadata={"description": "What matched: sku, category, text."}
    )


class KbRevisionSchema(Schema):
    revision = fields.Integer()
    edited_by = fields.String()
    edited_at = fields.AwareDateTime()
    note = fields.String()
    content = fields.Dict(metadata={"description": "Every field of the article after the save."})


def _scope(length: int) -> fields.List:
    return fields.List(Text(length, min_length=1), validate=validate.Length(max=50))


class KbArticleInSchema(StrictSchema):
    title = Text(200, min_length=1, required=True, metadata={"example": "Fan rattles at start"})
    symptom = Text(5000, min_length=1, required=True)
    cause = Text(5000, load_default="")
    fix = Text(10000, min_length=1, required=True)
    skus = _scope(64)
    categories = _scope(100)
    language = fields.String(load_default="en", validate=validate.OneOf(LANGUAGES))
    status = fields.String(load_default="draft", validate=validate.OneOf(STATUSES))
    customer_visible = fields.Boolean(load_default=False)
    customer_can_fix_alone = fields.Boolean(load_default=False)


class KbArticlePatchSchema(StrictSchema):
    title = Text(200, min_length=1)
    symptom = Text(5000, min_length=1)
    cause = Text(5000)
    fix = Text(10000, min_length=1)
    skus = _scope(64)
    categories = _scope(100)
    language = fields.String(validate=validate.OneOf(LANGUAGES))
    status = fields.String(validate=validate.OneOf(STATUSES))
    customer_visible = fields.Boolean()
    customer_can_fix_alone = fields.Boolean()
    note = Text(500, load_default="", metadata={"description": "What changed (the history)."})


class KbListQuerySchema(StrictSchema):
    language = fields.String(load_default=None, validate=validate.OneOf(LANGUAGES))
    status = fields.String(load_default=None, validate=validate.OneOf(STATUSES))


class KbSuggestQuerySchema(StrictSchema):
    sku = Text(64, load_default=None, metadata={"description": "The part, any case."})
    q = Text(500, load_default="", metadata={"description": "The fault, in any language."})
    language = fields.String(
        load_default=None,
        validate=validate.OneOf(LANGUAGES),
        metadata={"description": "Only this language; without it, every language."},
    )
    limit = fields.Integer(
        load_default=DEFAULT_LIMIT, validate=validate.Range(min=1, max=MAX_LIMIT)
    )


class KbLinkSchema(StrictSchema):
    article_id = fields.Integer(
        required=True, strict=True, validate=validate.Range(min=1, max=2**31 - 1)
    )


class KbSolvedSchema(StrictSchema):
    article_id = fields.Integer(
        load_default=None, strict=True, validate=validate.Range(min=1, max=2**31 - 1)
    )
    close = fields.Boolean(
        load_default=False,
        truthy={True},
        falsy={False},
        metadata={
            "description": "End the case in the same step: an enquiry or complaint resolved "
            "and closed, a return not yet on its way cancelled (409 once the carrier has it)."
        },
    )


class KbLinkedArticleSchema(Schema):
    article_id = fields.Integer()
    title = fields.String()
    language = fields.String()
    linked_by = fields.String()
    linked_at = fields.AwareDateTime()


class CaseKnowledgeSchema(Schema):
    number = fields.String()
    links = fields.List(fields.Nested(KbLinkedArticleSchema))
    deflected_at = fields.AwareDateTime(
        allow_none=True, metadata={"description": "When it was solved without a return."}
    )
    deflected_by = fields.String(allow_none=True)
    deflected_article_id = fields.Integer(allow_none=True)


class KbLinkedCountSchema(Schema):
    article_id = fields.Integer()
    title = fields.String()
    language = fields.String()
    links = fields.Integer()


class KbGapSchema(Schema):
    sku = fields.String()
    part_name = fields.String()
    reason = fields.String()
    cases = fields.Integer()


class KnowledgeFiguresSchema(Schema):
    cases_opened = fields.Integer()
    solved_on_desk = fields.Integer()
    solved_on_portal = fields.Integer()
    requests = fields.Integer(metadata={"description": "cases_opened + solved_on_portal"})
    deflected = fields.Integer(metadata={"description": "solved_on_desk + solved_on_portal"})
    deflection_rate = fields.Float(
        allow_none=True, metadata={"description": "deflected / requests"}
    )
    most_linked = fields.List(fields.Nested(KbLinkedCountSchema))
    gaps = fields.List(
        fields.Nested(KbGapSchema),
        metadata={"description": "Parts and reasons with many cases and no published article."},
    )
    gap_min_cases = fields.Integer()


def _draft(data: dict[str, Any]) -> ArticleDraft:
    return ArticleDraft(
        title=data["title"],
        symptom=data["symptom"],
        cause=data.get("cause", ""),
        fix=data["fix"],
        skus=tuple(data.get("skus") or ()),
        categories=tuple(data.get("categories") or ()),
        language=ArticleLanguage(data["language"]),
        status=ArticleStatus(data["status"]),
        customer_visible=data["customer_visible"],
        customer_can_fix_alone=data["customer_can_fix_alone"],
    )


def patched(current: ArticleView, changes: dict[str, Any]) -> ArticleDraft:
    """The article with ``changes`` applied (fields not given stay as they are)."""
    kept = {
        name: value for name, value in asdict(current).items() if name in KbArticleInSchema().fields
    }
    return _draft({**kept, **changes})


@blp.post("")
@roles(*DESK)
@blp.arguments(KbArticleInSchema)
@blp.response(201, KbArticleSchema)
def create(data: dict[str, Any]) -> ArticleView:
    """Write an article (revision 1). Only `published` articles are suggested; the portal
    shows only those that are also `customer_visible`."""
    return services().knowledge.articles.create(current_api_user().email, _draft(data))


@blp.get("")
@roles(*DESK)
@blp.arguments(KbListQuerySchema, location="query", as_kwargs=True)
@blp.response(200, KbArticleSchema(many=True))
def list_articles(language: str | None, status: str | None) -> list[ArticleView]:
    """Articles, the latest edited first (at most 200)."""
    return services().knowledge.articles.listing(language=language, status=status)


@blp.get("/suggest")
@roles(*DESK)
@blp.arguments(KbSuggestQuerySchema, location="query", as_kwargs=True)
@blp.response(200, KbSuggestionSchema(many=True))
def suggest(sku: str | None, q: str, language: str | None, limit: int) -> list[ArticleView]:
    """Published articles for the part (`sku`: the SKU, then its category) and the fault
    (`q`, English or Chinese), best first; `language` narrows to one language."""
    return services().knowledge.suggestions.suggest(
        SuggestQuery(
            sku=sku,
            q=q,
            language=ArticleLanguage(language) if language else None,
            limit=limit,
        )
    )


@blp.get("/<int(max=2147483647):article_id>")
@roles(*DESK)
@blp.response(200, KbArticleSchema)
def get_article(article_id: int) -> ArticleView:
    """One article as it is now."""
    return services().knowledge.articles.get(article_id)


@blp.patch("/<int(max=2147483647):article_id>")
@roles(*DESK)
@blp.arguments(KbArticlePatchSchema)
@blp.response(200, KbArticleSchema)
def edit_article(data: dict[str, Any], article_id: int) -> ArticleView:
    """Change some fields: a new revision (the previous ones stay in the history)."""
    articles = services().knowledge.articles
    note = data.pop("note")
    draft = patched(articles.get(article_id), data)
    return articles.edit(current_api_user().email, article_id, draft, note)


@blp.get("/<int(max=2147483647):article_id>/revisions")
@roles(*DESK)
@blp.response(200, KbRevisionSchema(many=True))
def revisions(article_id: int) -> list[RevisionView]:
    """Every revision of the article, the newest first."""
    return services().knowledge.articles.revisions(article_id)


@case_blp.get("/<rma>/knowledge")
@roles(*DESK)
@case_blp.response(200, CaseKnowledgeSchema)
def case_knowledge(rma: str) -> CaseKnowledge:
    """The articles linked to the case and whether it was solved without a return."""
    return services().knowledge.cases.of(rma)


@case_blp.post("/<rma>/knowledge")
@roles(*DESK)
@case_blp.arguments(KbLinkSchema)
@case_blp.response(200, CaseKnowledgeSchema)
def link_article(data: dict[str, Any], rma: str) -> CaseKnowledge:
    """Link an article to the case (linking it again changes nothing)."""
    return services().knowledge.cases.link(current_api_user().email, rma, data["article_id"])


@case_blp.post("/<rma>/solved-without-return")
@roles(*DESK)
@case_blp.arguments(KbSolvedSchema)
@case_blp.response(200, CaseKnowledgeSchema)
def solved_without_return(data: dict[str, Any], rma: str) -> CaseKnowledge:
    """Record that the case was solved without a return (counted once per case, in the
    deflection rate), with the article that solved it if given."""
    return services().knowledge.cases.solved_without_return(
        current_api_user().email, rma, data["article_id"], close=data["close"]
    )


@metrics_blp.get("/knowledge")
@roles(*READERS)
@metrics_blp.arguments(PeriodQuerySchema, location="query", as_kwargs=True)
@metrics_blp.response(200, KnowledgeFiguresSchema)
def knowledge_figures(first: date | None, last: date | None) -> KnowledgeFigures:
    """Deflection rate, the most-linked articles and the gaps for the period (the last 28
    days by default)."""
    period = services().metrics.asked(first, last)
    return services().knowledge.metrics.figures(period)
