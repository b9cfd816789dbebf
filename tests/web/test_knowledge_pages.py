"""The knowledge pages through the Flask test client: search, write from a closed case, edit
with history, the intake suggestions fragment, the case panel's actions, the portal's "try
this first" with "this solved it", and the Metrics page's section."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import Role
from knowledge.suggest import SuggestQuery
from tests.support.knowledge import article, case
from tests.support.portal import PORTAL_CONFIG, place_order, recent, stock_shop
from tests.web.test_pages import csrf_token, sign_in

PASSWORD = "correct horse battery"


@pytest.fixture
def app_config() -> dict[str, Any]:
    return dict(PORTAL_CONFIG)


@pytest.fixture
def kb(app: Any, clock: Any) -> Any:
    services = app.extensions["spareflow"]
    stock_shop(services)  # FAN-80 and PSU-65, no categories
    place_order(services, "#3001", recent(clock))
    for role in (Role.SERVICE_DESK, Role.WAREHOUSE):
        services.auth.create_user(f"{role.value}@kb.example", role, PASSWORD)
    return services


def desk(app: Any, role: Role = Role.SERVICE_DESK) -> Any:
    client = app.test_client()
    assert sign_in(client, f"{role.value}@kb.example", PASSWORD).status_code == 302
    return client


def test_search_lists_the_best_first_and_other_roles_are_refused(app: Any, kb: Any) -> None:
    article(kb, "Fan rattles", skus=["FAN-80"])
    article(kb, "风扇有噪音", language="zh-Hans")
    article(kb, "Unpublished fan note", status="draft", skus=["FAN-80"])
    client = desk(app)
    everything = client.get("/knowledge").get_data(as_text=True)
    assert "Unpublished fan note" in everything and "风扇有噪音" in everything
    found = client.get("/knowledge?q=风扇噪音").get_data(as_text=True)
    assert "风扇有噪音" in found and "Fan rattles" not in found
    by_part = client.get("/knowledge?sku=fan-80").get_data(as_text=True)
    assert "Fan rattles" in by_part and "Unpublished" not in by_part
    assert desk(app, Role.WAREHOUSE).get("/knowledge").status_code == 403


def test_an_article_written_from_a_closed_case_then_edited_keeps_its_history(
    app: Any, kb: Any
) -> None:
    number = case(kb, "FAN-80", description="Fan buzzes at full speed")
    client = desk(app)
    assert client.get(f"/knowledge/new?case={number}").status_code == 409  # still open
    kb.returns.authorisation.cancel("desk", number, "Re-seated the fan: quiet now")
    page = client.get(f"/knowledge/new?case={number}").get_data(as_text=True)
    assert "Fan buzzes at full speed" in page and "Re-seated the fan: quiet now" in page
    form = {
        "csrf_token": csrf_token(page),
        "case": number,
        "title": "Fan buzzes at full speed",
        "symptom": "Fan buzzes at full speed",
        "cause": "Fan not seated",
        "fix": "Re-seat the fan",
        "skus": "FAN-80, PSU-65",
        "categories": "",
        "language": "en",
        "status": "published",
        "customer_visible": "y",
        "note": "",
    }
    assert client.post("/knowledge/new", data={**form, "fix": " "}).status_code == 422
    saved = client.post("/knowledge/new", data=form)
    assert saved.status_code == 302
    path = saved.headers["Location"]
    created = kb.knowledge.articles.get(int(path.rsplit("/", 1)[1]))
    assert (created.skus, created.source_rma_id is not None) == (["FAN-80", "PSU-65"], True)
    edit = client.get(f"{path}/edit").get_data(as_text=True)
    edited = client.post(
        f"{path}/edit",
        data={**form, "csrf_token": csrf_token(edit), "title": "Fan buzzes", "note": "shorter"},
    )
    assert edited.status_code == 302
    shown = client.get(path).get_data(as_text=True)
    assert "Fan buzzes at full speed" in shown and "shorter" in shown  # the history
    assert [r.revision for r in kb.knowledge.articles.revisions(created.id)] == [2, 1]


def test_the_intake_fragment_and_the_case_panel(app: Any, kb: Any) -> None:
    fan = article(kb, "Fan rattles", skus=["FAN-80"])
    client = desk(app)
    fragment = client.get("/knowledge/suggestions?sku=FAN-80&q=").get_data(as_text=True)
    assert "Fan rattles" in fragment
    assert "No known fault" in client.get("/knowledge/suggestions?q=zzz").get_data(as_text=True)
    number = case(kb, "FAN-80", description="rattles")
    page = client.get(f"/returns/{number}").get_data(as_text=True)
    assert "Link to this case" in page and "Write an article from this case" not in page
    token = csrf_token(page)
    linked = client.post(
        f"/returns/{number}/knowledge/link", data={"csrf_token": token, "article_id": fan.id}
    )
    assert linked.status_code == 302
    client.post(f"/returns/{number}/knowledge/solved", data={"csrf_token": token})
    after = client.get(f"/returns/{number}").get_data(as_text=True)
    assert 'id="linked-articles"' in after and "Solved without a return</strong>" in after
    knowledge = kb.knowledge.cases.of(number)
    assert [a.article_id for a in knowledge.links] == [fan.id] and knowledge.deflected_at
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'id="deflection-rate">100.0%' in metrics  # one case, solved on the desk


def test_the_portal_offers_customer_visible_articles_and_counts_this_solved_it(
    client: Any, kb: Any
) -> None:
    article(kb, "Fan rattles: tighten the screws", skus=["FAN-80"], customer_visible=True)
    article(kb, "Desk-only fan check", skus=["FAN-80"])
    article(kb, "风扇有噪音", skus=["FAN-80"], language="zh-Hans", customer_visible=True)
    token = csrf_token(client.get("/returns-portal").get_data(as_text=True))
    proof = {"csrf_token": token, "order_number": "#3001", "email": "mia@example.com"}
    page = client.post("/returns-portal/order", data={**proof, "lang": "en"}).get_data(as_text=True)
    assert "Try this first" in page and "Fan rattles: tighten the screws" in page
    assert "Desk-only fan check" not in page and "风扇有噪音" not in page
    visible = kb.knowledge.suggestions.suggest(SuggestQuery(sku="FAN-80", q="tighten"))[0]
    form = {**proof, "lang": "en", "article_id": str(visible.id), "sku": "FAN-80"}
    solved = client.post("/returns-portal/solved", data=form)
    assert solved.status_code == 200 and 'id="kb-solved"' in solved.get_data(as_text=True)
    client.post("/returns-portal/solved", data=form)  # pressed twice: counted once
    wrong = client.post("/returns-portal/solved", data={**form, "email": "x@example.com"})
    assert wrong.status_code == 404
    assert kb.knowledge.cases.solved_on_portal("#3001", "FAN-80", visible.id) is False
