"""The knowledge API through the Flask test client: validation at the edge, an edit is a
revision, suggestions in both languages, links and deflections on a case, and the figures."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import Role
from tests.support.knowledge import case, parts

FAN = {
    "title": "Fan rattles at start-up",
    "symptom": "A rattle for the first minute after switching on",
    "cause": "A loose fan guard",
    "fix": "1. Switch off.\n2. Tighten the four guard screws.",
    "skus": ["FAN-120"],
    "language": "en",
    "customer_visible": True,
    "status": "published",
}
FAN_ZH = {
    "title": "风扇有噪音",
    "symptom": "开机后风扇有噪音",
    "fix": "拧紧风扇罩的四颗螺丝。",
    "skus": ["FAN-120"],
    "language": "zh-Hans",
    "status": "published",
}


@pytest.fixture
def api(client: Any, role_headers: Any, app: Any) -> Any:
    parts(app.extensions["spareflow"])

    def call(method: str, path: str, role: Role = Role.SERVICE_DESK, **kwargs: Any) -> Any:
        return client.open(path, method=method, headers=role_headers[role], **kwargs)

    return call


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"fix": "   "}, "fix"),
        ({"language": "fr"}, "language"),
        ({"status": "archived"}, "status"),
        ({"skus": ["A"] * 51}, "skus"),
        ({"skus": "FAN-120"}, "skus"),
        ({"customer_visible": "maybe"}, "customer_visible"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_an_article_is_refused_with_the_field_named(api: Any, change: Any, field: str) -> None:
    response = api("POST", "/api/v1/knowledge", json={**FAN, **change})
    assert response.status_code == 422, response.json
    assert field in str(response.json["error"])
    assert api("GET", "/api/v1/knowledge").json == []


def test_an_article_is_written_edited_as_a_revision_and_read_back(api: Any) -> None:
    created = api("POST", "/api/v1/knowledge", json=FAN)
    assert created.status_code == 201, created.json
    article = created.json
    assert (article["revision"], article["author"], article["skus"]) == (
        1,
        "service_desk@test.example",
        ["FAN-120"],
    )
    path = f"/api/v1/knowledge/{article['id']}"
    edited = api("PATCH", path, Role.ADMIN, json={"status": "draft", "note": "being checked"})
    assert edited.status_code == 200, edited.json
    assert (edited.json["revision"], edited.json["status"], edited.json["title"]) == (
        2,
        "draft",
        FAN["title"],
    )
    assert api("PATCH", path, json={"language": "de"}).status_code == 422
    history = api("GET", f"{path}/revisions").json
    assert [(r["revision"], r["edited_by"], r["note"]) for r in history] == [
        (2, "admin@test.example", "being checked"),
        (1, "service_desk@test.example", ""),
    ]
    assert history[1]["content"]["status"] == "published"
    assert api("GET", path).json["status"] == "draft"
    assert api("GET", "/api/v1/knowledge/999999").json["error"]["code"] == "article_not_found"
    assert api("GET", path, Role.WAREHOUSE).status_code == 403


def test_suggest_ranks_in_both_languages_and_narrows_by_language(api: Any) -> None:
    english = api("POST", "/api/v1/knowledge", json=FAN).json
    chinese = api("POST", "/api/v1/knowledge", json=FAN_ZH).json
    api("POST", "/api/v1/knowledge", json={**FAN, "title": "Draft", "status": "draft"})
    both = api("GET", "/api/v1/knowledge/suggest?sku=fan-120&q=风扇噪音").json
    assert [a["id"] for a in both] == [chinese["id"], english["id"]]
    assert both[0]["matched"] == ["sku", "text"] and both[0]["score"] > both[1]["score"]
    only_en = api("GET", "/api/v1/knowledge/suggest?sku=FAN-120&q=风扇噪音&language=en").json
    assert [a["id"] for a in only_en] == [english["id"]]
    words = api("GET", "/api/v1/knowledge/suggest?q=rattling%20fans").json
    assert [a["id"] for a in words] == [english["id"]]
    assert api("GET", "/api/v1/knowledge/suggest?language=xx").status_code == 422
    assert api("GET", "/api/v1/knowledge/suggest?limit=0").status_code == 422


def test_a_case_links_articles_and_counts_as_solved_once(api: Any, app: Any) -> None:
    services = app.extensions["spareflow"]
    article = api("POST", "/api/v1/knowledge", json=FAN).json
    numbers = [case(services, "FAN-120") for _ in range(4)]
    path = f"/api/v1/returns/{numbers[0]}"
    linked = api("POST", f"{path}/knowledge", json={"article_id": article["id"]})
    assert linked.status_code == 200, linked.json
    assert [a["article_id"] for a in linked.json["links"]] == [article["id"]]
    assert api("POST", f"{path}/knowledge", json={"article_id": 999999}).status_code == 404
    assert api("POST", f"{path}/knowledge", json={"article_id": "1"}).status_code == 422
    assert (
        api("POST", "/api/v1/returns/RMA-NOPE/knowledge", json={"article_id": 1}).status_code == 404
    )
    solved = api("POST", f"{path}/solved-without-return", json={})
    assert solved.json["deflected_by"] == "service_desk@test.example"
    api("POST", f"{path}/solved-without-return", json={"article_id": article["id"]})
    figures = api("GET", "/api/v1/metrics/knowledge", Role.BUYER).json
    # Four cases opened, one solved on the desk (recorded twice, counted once): 1 / 4.
    assert (figures["cases_opened"], figures["deflected"], figures["deflection_rate"]) == (
        4,
        1,
        0.25,
    )
    assert figures["most_linked"] == [
        {"article_id": article["id"], "title": FAN["title"], "language": "en", "links": 1}
    ]
    assert figures["gaps"] == []  # FAN-120 has its article
    assert api("GET", "/api/v1/metrics/knowledge?from=2026-02-01&to=2026-01-01").status_code == 422
