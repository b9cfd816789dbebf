"""Knowledge-base builders for tests: parts with categories, articles from keywords, cases."""

from __future__ import annotations

from typing import Any

from knowledge.articles import ArticleDraft, ArticleView
from knowledge.models import ArticleLanguage, ArticleStatus
from returns.status import Channel, Reason, Resolution
from tests.support import desk as builders

AUTHOR = "desk@test.example"


def parts(services: Any) -> None:
    """FAN-120 and FAN-80 (category Cooling), PSU-650 (category Power)."""
    inventory = services.inventory
    inventory.create_part(sku="FAN-120", name="Case fan 120 mm", category="Cooling")
    inventory.create_part(sku="FAN-80", name="Case fan 80 mm", category="Cooling")
    inventory.create_part(sku="PSU-650", name="Power supply 650 W", category="Power")


def article(services: Any, title: str, **fields: Any) -> ArticleView:
    """A published English article unless told otherwise."""
    draft = ArticleDraft(
        title=title,
        symptom=fields.pop("symptom", title),
        fix=fields.pop("fix", "Follow the steps."),
        skus=tuple(fields.pop("skus", ())),
        categories=tuple(fields.pop("categories", ())),
        language=ArticleLanguage(fields.pop("language", "en")),
        status=ArticleStatus(fields.pop("status", "published")),
        **fields,
    )
    return services.knowledge.articles.create(AUTHOR, draft)


def case(services: Any, sku: str = "FAN-120", **fields: Any) -> str:
    """An RMA opened on the desk for one unit of ``sku``; its number."""
    return builders.open_rma(
        services.returns,
        customer=fields.pop("customer", {"name": "Mia Chen", "email": "mia@example.com"}),
        channel=Channel.PHONE,
        reason=fields.pop("reason", Reason.DEFECTIVE),
        resolution=fields.pop("resolution", Resolution.REPLACEMENT),
        lines=[{"sku": sku, "qty": 1, "unit_price": "20.00"}],
        **fields,
    ).number
