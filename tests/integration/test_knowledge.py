"""The knowledge base on both databases: suggestions ranked on the part and the text in
English and Chinese, every edit a revision, and the deflection figures worked by hand."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from core.errors import InvalidInput
from knowledge.articles import ArticleDraft
from knowledge.cases import CaseStillOpen
from knowledge.models import ArticleLanguage, ArticleStatus
from knowledge.suggest import SuggestQuery
from returns.metrics_maths import Period
from returns.status import Reason
from tests.support.knowledge import article, case, parts


@pytest.fixture
def kb(app: Any) -> Any:
    services = app.extensions["spareflow"]
    parts(services)
    return services


def titles(kb: Any, **query: Any) -> list[str]:
    return [a.title for a in kb.knowledge.suggestions.suggest(SuggestQuery(**query))]


def test_the_part_counts_first_then_its_category_then_the_words(kb: Any) -> None:
    article(kb, "Fan rattles when the PC starts", skus=["FAN-120"])
    article(kb, "Cooling fans make a grinding noise", categories=["cooling"])
    article(kb, "Power supply clicks and shuts down", skus=["PSU-650"])
    article(kb, "Fan noise after cleaning", symptom="Loud fan noise")
    article(kb, "Draft about fan noise", status="draft", skus=["FAN-120"])

    # The part alone: its SKU (3 points) above its category (1.5); drafts never come up.
    assert titles(kb, sku="fan-120") == [
        "Fan rattles when the PC starts",
        "Cooling fans make a grinding noise",
    ]
    # Words alone: every query word in the title beats half of them; plurals and -ing match.
    assert titles(kb, q="fans noises") == [
        "Fan noise after cleaning",
        "Cooling fans make a grinding noise",
        "Fan rattles when the PC starts",
    ]
    # Both: the category article holding all the words overtakes the SKU article holding one.
    ranked = kb.knowledge.suggestions.suggest(SuggestQuery(sku="FAN-120", q="grinding noise"))
    assert [(a.title, a.matched) for a in ranked][:2] == [
        ("Cooling fans make a grinding noise", ["category", "text"]),
        ("Fan rattles when the PC starts", ["sku"]),
    ]
    assert ranked[0].score > ranked[1].score
    assert titles(kb, sku="PSU-650", q="") == ["Power supply clicks and shuts down"]
    assert titles(kb, sku="NO-SUCH-PART", q="") == []
    assert titles(kb, q="the and of") == []  # only common words: nothing to look for


def test_chinese_is_found_without_spaces_and_language_narrows(kb: Any) -> None:
    article(kb, "风扇有噪音", symptom="开机后风扇有噪音，转速忽高忽低", language="zh-Hans")
    article(kb, "风扇不转", symptom="风扇完全不转", language="zh-Hans")
    article(kb, "电源有噪音", symptom="电源发出嗡嗡的噪音", language="zh-Hans")
    article(kb, "Fan noise", symptom="The fan is noisy", language="en", skus=["FAN-120"])

    # 风扇噪音 is in none of them as written, but its pairs 风扇 and 噪音 are in the first.
    # The others hold one pair each (a tie, the newest first).
    assert titles(kb, q="风扇噪音")[:3] == ["风扇有噪音", "电源有噪音", "风扇不转"]
    # Without language= every language is searched; with it, only that one.
    assert titles(kb, sku="FAN-120", q="风扇噪音")[:2] == ["风扇有噪音", "Fan noise"]
    assert "Fan noise" not in titles(
        kb, sku="FAN-120", q="风扇噪音", language=ArticleLanguage.ZH_HANS
    )
    assert titles(kb, q="风扇噪音", language=ArticleLanguage.EN) == []
    # A mixed query: the SKU's words and the Chinese both count.
    assert titles(kb, q="噪音 电源")[0] == "电源有噪音"


def test_every_edit_is_a_revision_and_the_search_follows_it(kb: Any, clock: Any) -> None:
    first = article(kb, "Battery swells", symptom="The battery bulges", skus=["PSU-650"])
    clock.advance(timedelta(hours=1))
    draft = ArticleDraft(
        title="Battery drains overnight",
        symptom="Flat every morning",
        fix="Update the firmware.",
        skus=("PSU-650",),
        status=ArticleStatus.PUBLISHED,
    )
    edited = kb.knowledge.articles.edit("lead@test.example", first.id, draft, "retitled")
    assert (edited.revision, edited.title) == (2, "Battery drains overnight")
    history = kb.knowledge.articles.revisions(first.id)
    assert [(r.revision, r.edited_by, r.note) for r in history] == [
        (2, "lead@test.example", "retitled"),
        (1, "desk@test.example", ""),
    ]
    assert history[1].content["title"] == "Battery swells"
    assert history[0].content["skus"] == ["PSU-650"]
    assert titles(kb, q="swells") == []  # the old words are gone from the index
    assert titles(kb, q="drains") == ["Battery drains overnight"]
    with pytest.raises(InvalidInput):
        kb.knowledge.articles.edit("x", first.id, ArticleDraft(title=" ", symptom="s", fix="f"))
    assert len(kb.knowledge.articles.revisions(first.id)) == 2  # a refused edit stores nothing


def test_the_deflection_rate_and_the_gaps_worked_by_hand(kb: Any, clock: Any) -> None:
    fan = article(kb, "Fan rattles", skus=["FAN-120"], customer_visible=True)
    psu = article(kb, "PSU clicks", skus=["PSU-650"])
    # Eight cases: three FAN-120 (covered by an article), four FAN-80 defective (not covered:
    # FAN-80 is in Cooling but no article names Cooling), one PSU-650.
    fan_cases = [case(kb, "FAN-120") for _ in range(3)]
    fan80 = [case(kb, "FAN-80") for _ in range(4)]
    psu_case = case(kb, "PSU-650", reason=Reason.NOT_AS_DESCRIBED)
    cases = kb.knowledge.cases
    cases.link("desk", fan_cases[0], fan.id)
    cases.link("desk", fan_cases[0], fan.id)  # linking again changes nothing
    cases.link("desk", fan_cases[1], fan.id)
    cases.link("desk", psu_case, psu.id)
    # Two solved on the desk (one recorded twice: counted once), two on the portal (one
    # customer pressed twice: counted once).
    solved = cases.solved_without_return("desk", fan_cases[0], fan.id)
    assert solved.deflected_by == "desk" and [a.title for a in solved.links] == ["Fan rattles"]
    cases.solved_without_return("desk", fan_cases[0])
    cases.solved_without_return("desk", fan80[0])
    assert cases.solved_on_portal("SO-1", "FAN-120", fan.id) is True
    assert cases.solved_on_portal("SO-1", "FAN-120", fan.id) is False
    assert cases.solved_on_portal("SO-2", "FAN-120", fan.id) is True
    with pytest.raises(Exception, match="No knowledge article"):
        cases.solved_on_portal("SO-3", None, psu.id)  # not customer-visible

    period = Period(clock.now() - timedelta(days=1), clock.now() + timedelta(days=1))
    figures = kb.knowledge.metrics.figures(period)
    assert (figures.cases_opened, figures.solved_on_desk, figures.solved_on_portal) == (8, 2, 2)
    # (2 + 2) / (8 + 2)
    assert (figures.deflected, figures.requests, figures.deflection_rate) == (4, 10, 0.4)
    assert [(m.title, m.links) for m in figures.most_linked] == [
        ("Fan rattles", 2),
        ("PSU clicks", 1),
    ]
    assert [(g.sku, g.reason, g.cases) for g in figures.gaps] == [("FAN-80", "defective", 4)]
    # A published article for the category closes the gap.
    article(kb, "Small fans whine", categories=["Cooling"])
    assert kb.knowledge.metrics.figures(period).gaps == []
    empty = kb.knowledge.metrics.figures(Period(period.end, period.end + timedelta(days=1)))
    assert (empty.requests, empty.deflection_rate) == (0, None)


def test_an_article_is_drafted_from_a_closed_case_only(kb: Any) -> None:
    number = case(
        kb,
        "FAN-80",
        description="Fan buzzes at full speed",
        customer={"name": "Li Wei", "email": "li@example.com", "language": "zh_Hans"},
    )
    with pytest.raises(CaseStillOpen):
        kb.knowledge.cases.draft_from_case(number)
    kb.returns.authorisation.cancel("desk", number, "Customer re-seated the fan; it is quiet")
    draft = kb.knowledge.cases.draft_from_case(number)
    assert draft.symptom == "Fan buzzes at full speed"
    assert draft.title == "Case fan 80 mm: Fan buzzes at full speed"
    assert "Customer re-seated the fan; it is quiet" in draft.fix
    assert (draft.skus, draft.categories) == (("FAN-80",), ("Cooling",))
    assert draft.language is ArticleLanguage.ZH_HANS
    written = kb.knowledge.articles.create("desk", draft)
    assert written.source_rma_id is not None
