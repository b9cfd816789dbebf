"""Enquiries, complaints and follow-up calls through the API and the desk pages."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from accounts.models import Role
from inventory.commands import ReceiveStock
from tests.web.test_pages import csrf_token, sign_in

DESK_USER = "service_desk@test.example"
PASSWORD = "correct horse battery"
CUSTOMER = {"name": "Mia Chen", "email": "mia@example.com", "phone": "+44 20 7946 0000"}


@pytest.fixture
def desk(app: Any, role_headers: dict[Role, dict[str, str]]) -> dict[str, str]:
    inventory = app.extensions["spareflow"].inventory
    inventory.create_location(code="MAIN/A-01-01")
    inventory.create_part(sku="FAN-80", name="Cooling fan 80mm")
    inventory.receive("setup", ReceiveStock(sku="FAN-80", location="MAIN/A-01-01", qty=4))
    return role_headers[Role.SERVICE_DESK]


def open_case(client: Any, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    body = {
        "kind": "enquiry",
        "customer": CUSTOMER,
        "channel": "email",
        "description": "Which fan fits the X200?",
        **fields,
    }
    response = client.post("/api/v1/cases", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_the_api_opens_lists_moves_and_closes_a_case(client, desk) -> None:
    enquiry = open_case(client, desk, priority="urgent")
    assert (enquiry["kind"], enquiry["status"], enquiry["reason"], enquiry["lines"]) == (
        "enquiry",
        "open",
        None,
        [],
    )
    assert enquiry["service_level"]["next_target"] == "first_response"
    complaint = open_case(client, desk, kind="complaint", root_cause="billing")
    assert complaint["root_cause"] == "billing"
    listed = client.get("/api/v1/cases?kind=complaint", headers=desk).get_json()
    assert [c["rma_number"] for c in listed["items"]] == [complaint["rma_number"]]
    both = client.get("/api/v1/cases", headers=desk).get_json()
    assert len(both["items"]) == 2
    assert client.get("/api/v1/returns", headers=desk).get_json()["items"] == []
    number = enquiry["rma_number"]
    for move, status in (("answer", "answered"), ("resolve", "resolved")):
        moved = client.post(f"/api/v1/cases/{number}/{move}", json={}, headers=desk)
        assert moved.get_json()["status"] == status
    closed = client.post(f"/api/v1/cases/{number}/close", json={}, headers=desk).get_json()
    assert closed["status"] == "closed"
    reopen = client.post(f"/api/v1/cases/{number}/reopen", json={}, headers=desk)
    assert reopen.status_code == 422
    assert "reason" in str(reopen.get_json()["error"])


def test_the_api_validates_a_case_at_the_edge(client, desk) -> None:
    refused = client.post(
        "/api/v1/cases",
        json={"kind": "complaint", "customer": CUSTOMER, "channel": "email", "description": "x"},
        headers=desk,
    )
    assert refused.status_code == 422
    assert "root_cause" in str(refused.get_json())
    as_return = client.post(
        "/api/v1/cases",
        json={"kind": "return", "customer": CUSTOMER, "channel": "email", "description": "x"},
        headers=desk,
    )
    assert as_return.status_code == 422
    buyer_cannot = client.post("/api/v1/cases", json={}, headers={})
    assert buyer_cannot.status_code == 401


def test_return_steps_on_an_enquiry_answer_409_not_a_return(client, desk) -> None:
    number = open_case(client, desk)["rma_number"]
    response = client.post(f"/api/v1/returns/{number}/authorise", json={}, headers=desk)
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "not_a_return"


def test_a_complaint_turns_into_a_return_through_the_api(client, desk) -> None:
    complaint = open_case(client, desk, kind="complaint", root_cause="product_defect")
    response = client.post(
        f"/api/v1/cases/{complaint['rma_number']}/convert",
        json={
            "lines": [{"sku": "FAN-80", "qty": 1, "unit_price": "19.90"}],
            "reason": "defective",
            "resolution": "repair",
        },
        headers=desk,
    )
    assert response.status_code == 201, response.get_json()
    made = response.get_json()
    assert (made["kind"], made["status"], made["lines"][0]["sku"]) == (
        "return",
        "requested",
        "FAN-80",
    )
    assert made["customer"]["email"] == "mia@example.com"
    timeline = client.get(f"/api/v1/cases/{complaint['rma_number']}", headers=desk).get_json()
    assert f"Turned into return {made['rma_number']}" in [t["reason"] for t in timeline["timeline"]]


def test_follow_up_calls_through_the_api(client, desk, clock) -> None:
    number = open_case(client, desk, kind="complaint", root_cause="service")["rma_number"]
    client.post(f"/api/v1/cases/{number}/resolve", json={}, headers=desk)
    client.post(f"/api/v1/cases/{number}/close", json={}, headers=desk)
    [due] = client.get("/api/v1/cases/followups", headers=desk).get_json()
    assert due["rma_number"] == number
    assert due["due_at"].startswith((clock.now() + timedelta(days=2)).date().isoformat())
    missing_score = client.post(
        f"/api/v1/cases/followups/{due['id']}/calls", json={"outcome": "reached"}, headers=desk
    )
    assert missing_score.status_code == 422
    done = client.post(
        f"/api/v1/cases/followups/{due['id']}/calls",
        json={"outcome": "reached", "satisfaction": 5, "notes": "Happy now"},
        headers=desk,
    ).get_json()
    assert (done["status"], done["satisfaction"], done["notes"]) == ("done", 5, "Happy now")
    assert client.get("/api/v1/cases/followups", headers=desk).get_json() == []


def test_the_desk_queue_filters_and_searches_every_kind(app, client, desk) -> None:
    enquiry = open_case(client, desk, priority="low", channel="chat")
    complaint = open_case(
        client,
        desk,
        kind="complaint",
        root_cause="late_delivery",
        order_number="SO-4411",
        customer={"name": "Wei Zhang", "email": "wei@example.com"},
    )
    assert sign_in(client, DESK_USER, PASSWORD).status_code == 302

    def shown(query: str = "") -> set[str]:
        page = client.get(f"/returns{query}").get_data(as_text=True)
        return set(re.findall(r">(RMA-\d{8}-\d{4})<", page))

    both = {enquiry["rma_number"], complaint["rma_number"]}
    assert shown() == both
    assert shown("?kind=complaint") == {complaint["rma_number"]}
    assert shown("?kind=return") == set()
    assert shown("?priority=low") == {enquiry["rma_number"]}
    assert shown("?channel=chat") == {enquiry["rma_number"]}
    assert shown("?q=so-4411") == {complaint["rma_number"]}
    assert shown("?q=wei%40EXAMPLE") == {complaint["rma_number"]}
    assert shown("?kind=nonsense") == both  # an unknown value filters nothing


def test_the_desk_opens_a_complaint_and_works_it_on_its_page(app, client, desk) -> None:
    assert sign_in(client, DESK_USER, PASSWORD).status_code == 302
    form = client.get("/returns/cases/new?kind=complaint").get_data(as_text=True)
    response = client.post(
        "/returns/cases/new",
        data={
            "csrf_token": csrf_token(form),
            "kind": "complaint",
            "customer_name": "Mia Chen",
            "customer_email": "mia@example.com",
            "channel": "phone",
            "priority": "high",
            "root_cause": "",
            "description": "The parcel came a week late",
        },
    )
    assert response.status_code == 422
    assert "A complaint needs its root cause." in response.get_data(as_text=True)
    response = client.post(
        "/returns/cases/new",
        data={
            "csrf_token": csrf_token(form),
            "kind": "complaint",
            "customer_name": "Mia Chen",
            "customer_email": "mia@example.com",
            "channel": "phone",
            "priority": "high",
            "root_cause": "late_delivery",
            "description": "The parcel came a week late",
        },
    )
    assert response.status_code == 302
    page_url = response.headers["Location"]
    page = client.get(page_url).get_data(as_text=True)
    assert "late delivery" in page and 'id="convert-link"' in page
    number = re.search(r"RMA-\d{8}-\d{4}", page_url).group(0)
    # The RMA page sends a case to its own page.
    assert client.get(f"/returns/{number}").headers["Location"].endswith(f"/returns/cases/{number}")
    token = csrf_token(page)
    client.post(f"{page_url}/resolve", data={"csrf_token": token, "reason": "Apologised"})
    client.post(f"{page_url}/close", data={"csrf_token": token, "reason": ""})
    followups = client.get("/returns/followups").get_data(as_text=True)
    assert number in followups
    followup_id = re.search(r'data-followup="(\d+)"', followups).group(1)
    client.post(
        f"/returns/followups/{followup_id}",
        data={
            "csrf_token": csrf_token(followups),
            "outcome": "no_answer",
            "satisfaction": "",
            "notes": "",
            "next": "https://evil.example/",
        },
    )
    after = client.get("/returns/followups").get_data(as_text=True)
    assert "1 attempt" in after and "no answer" in after


def test_the_demo_has_cases_of_every_kind_and_follow_ups_due(app: Any) -> None:
    from demo.data import load_demo_data
    from returns.queue_filter import QueueFilter
    from returns.status import CaseKind

    services = app.extensions["spareflow"]
    load_demo_data(services, parts=40)
    rows = services.rma_queries.desk_queue(QueueFilter())
    assert {row.kind for row in rows} == set(CaseKind)
    due = services.returns.followups.queue()
    assert sum(f.overdue for f in due) == 2  # the billing complaint, the call nobody answered
    assert [f.round for f in due if f.vip] == [2]  # the VIP reached, called again in a month
    # Every open case has an owner (a person, but the one case waiting in a team's queue),
    # whatever the hour the demo was loaded; and the knowledge base is there in both languages.
    owners = services.ownership.owners_of([row.id for row in rows])
    assert all(owners[row.id].owner_team is not None for row in rows)
    assert sum(owners[row.id].owner_name is None for row in rows) == 1
    languages = {a.language for a in services.knowledge.articles.listing(status="published")}
    assert {"en", "zh-Hans"} <= {str(getattr(lang, "value", lang)) for lang in languages}
