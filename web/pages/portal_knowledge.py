"""The returns portal's "try this first": customer-visible published articles for the parts
of the order, in the customer's language, shown before they choose what comes back, each with
a "this solved it" button recorded as a deflection (once per order and article).

The button posts the order's proof again (as every portal step does): an article is only
recorded against an order the customer has proved."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, request
from flask.typing import ResponseReturnValue
from flask_babel import force_locale

from core.errors import NotFound
from knowledge.articles import ArticleView
from knowledge.models import ArticleLanguage
from knowledge.suggest import SuggestQuery
from returns.portal import PortalOrder
from web.api.public_returns import PORTAL, per_client, per_order
from web.extensions import services
from web.pages.access import public
from web.pages.portal import REASONS, _language, _not_found, _proof, _render

bp = Blueprint("portal_knowledge", __name__, url_prefix="/returns-portal")

#: Articles shown per part of the order.
PER_PART = 2


@dataclass(frozen=True)
class TryFirst:
    sku: str
    article: ArticleView


def _article_language(portal_language: str) -> ArticleLanguage:
    return ArticleLanguage.ZH_HANS if portal_language.startswith("zh") else ArticleLanguage.EN


@bp.app_template_global()
def portal_try_first(order: PortalOrder, language: str) -> list[TryFirst]:
    """The customer-visible articles for the order's parts (each article once)."""
    suggestions = services().knowledge.suggestions
    shown: dict[int, TryFirst] = {}
    for line in order.lines:
        found = suggestions.suggest(
            SuggestQuery(
                sku=line.sku,
                language=_article_language(language),
                customer_visible_only=True,
                limit=PER_PART,
            )
        )
        for article in found:
            shown.setdefault(article.id, TryFirst(line.sku, article))
    return list(shown.values())


@bp.post("/solved")
@public(PORTAL)
@per_client()
@per_order()
def solved() -> ResponseReturnValue:
    """The customer pressed "this solved it": record the deflection, show the order again."""
    proof = _proof()
    raw = (request.form.get("article_id") or "").strip()
    sku = (request.form.get("sku") or "").strip()[:64] or None
    with force_locale(_language()):
        try:
            found = services().portal.lookup(proof)
        except NotFound:
            return _render(1, proof=proof, error=_not_found()), 404
        if not raw.isdigit() or int(raw) >= 2**31:
            return _render(2, proof=proof, order=found, reasons=REASONS), 422
        services().knowledge.cases.solved_on_portal(found.number, sku, int(raw))
        return _render(2, proof=proof, order=found, reasons=REASONS, kb_solved=True)
