"""Owners through the API (Flask client): the desk's set-up, take and hand over, internal
notes that never reach the customer, canned replies, and the per-person and per-team figures
of a hand-made data set (the arithmetic is written out below) in the API and the workbook."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import openpyxl
import pytest
from sqlalchemy import select, update

from accounts.models import Role
from core.outbox import OutboxMessage
from returns.rma import Rma, RmaTransition
from returns.status import Channel, Reason, Resolution, RmaStatus
from tests.support import desk as builders
from tests.web.test_pages import PASSWORD, sign_in

MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
WEEKDAYS = [{"weekday": d, "start": "09:00", "end": "17:00", "time_zone": "UTC"} for d in range(5)]


@pytest.fixture
def api(app: Any, client: Any, role_headers: Any, clock: Any) -> Any:
    services = app.extensions["spareflow"]
    clock.set(MONDAY_10)
    services.inventory.create_location(code="MAIN/A-01-01")
    services.inventory.create_part(sku="BAT-1", name="Battery", category="batteries")

    def call(method: str, path: str, role: Role = Role.ADMIN, **kwargs: Any) -> Any:
        return client.open(path, method=method, headers=role_headers[role], **kwargs)

    return call


def user_id(app: Any, email: str) -> int:
    return (
        app.extensions["spareflow"]
        .auth.create_user(email, Role.SERVICE_DESK, PASSWORD, email.split("@")[0].title())
        .id
    )


def open_case(app: Any, email: str = "mia@example.com") -> str:
    return builders.open_rma(
        app.extensions["spareflow"].returns,
        customer={"name": "Mia Chen", "email": email},
        channel=Channel.EMAIL,
        reason=Reason.DEFECTIVE,
        resolution=Resolution.REPAIR,
        lines=[{"sku": "BAT-1", "qty": 1, "unit_price": "30.00"}],
    ).number


def test_admins_set_the_desk_up_and_new_cases_follow_the_rules(api: Any, app: Any) -> None:
    ana, ben = user_id(app, "ana@desk.example"), user_id(app, "ben@desk.example")
    team = api("POST", "/api/v1/desk/teams", json={"name": "Returns", "member_ids": [ana, ben]})
    assert team.status_code == 201, team.json
    assert team.json["members"] == ["Ana", "Ben"]
    refused = api("POST", "/api/v1/desk/teams", Role.SERVICE_DESK, json={"name": "X"})
    assert refused.status_code == 403
    for person in (ana, ben):
        hours = api("PUT", f"/api/v1/desk/shifts/{person}", json={"hours": WEEKDAYS})
        assert hours.status_code == 200, hours.json
        assert hours.json["on_shift"] is True
    bad = api("PUT", f"/api/v1/desk/shifts/{ana}", json={"hours": [{**WEEKDAYS[0], "start": "9"}]})
    assert bad.status_code == 422
    # Found by the fuzzing: a number where a clock time goes was a 500.
    number = api(
        "PUT", f"/api/v1/desk/shifts/{ana}", json={"hours": [{**WEEKDAYS[0], "end": 17.5}]}
    )
    assert number.status_code == 422 and "hours" in number.json["error"]["details"]["fields"]
    zone = api(
        "PUT", f"/api/v1/desk/shifts/{ana}", json={"hours": [{**WEEKDAYS[0], "time_zone": "Mars"}]}
    )
    assert zone.status_code == 422
    assert "time_zone" in zone.json["error"]["details"]["fields"]
    rule = api(
        "POST",
        "/api/v1/desk/routing-rules",
        json={"channel": "email", "kind": "return", "team_id": team.json["id"]},
    )
    assert rule.status_code == 201, rule.json
    assert api("POST", "/api/v1/desk/routing-rules", json={"vip": True}).status_code == 422

    first, second = open_case(app), open_case(app)
    owners = [
        api("GET", f"/api/v1/returns/{n}/owner", Role.SERVICE_DESK).json for n in (first, second)
    ]
    assert [(o["owner_name"], o["owner_team"], o["out_of_hours"]) for o in owners] == [
        ("Ana", "Returns", False),
        ("Ben", "Returns", False),
    ]
    shifts = api("GET", "/api/v1/desk/shifts", Role.SERVICE_DESK).json
    assert [p["name"] for p in shifts["people"]] == ["Ana", "Ben"]
    assert shifts["uncovered"][0] == "Mon 00:00-09:00"
    assert shifts["uncovered"][-1] == "Fri 17:00-Mon 00:00"


def test_the_desk_takes_and_hands_over_a_case(api: Any, app: Any) -> None:
    ana = user_id(app, "ana@desk.example")
    number = open_case(app)
    taken = api("POST", f"/api/v1/returns/{number}/take", Role.SERVICE_DESK, json={})
    assert taken.status_code == 200, taken.json
    assert taken.json["owner_name"] == "service_desk@test.example"
    handed = api(
        "POST", f"/api/v1/returns/{number}/hand-over", Role.SERVICE_DESK, json={"user_id": ana}
    )
    assert (handed.status_code, handed.json["owner_user_id"]) == (200, ana)
    both = api(
        "POST",
        f"/api/v1/returns/{number}/hand-over",
        Role.SERVICE_DESK,
        json={"user_id": ana, "team_id": 1},
    )
    assert both.status_code == 422
    assert api("POST", f"/api/v1/returns/{number}/take", Role.WAREHOUSE, json={}).status_code == 403


def test_internal_notes_never_reach_the_customers_page_or_mail(
    api: Any, app: Any, client: Any
) -> None:
    number = open_case(app)
    secret = "Customer sounds angry; suspect misuse"
    note = api("POST", f"/api/v1/returns/{number}/notes", Role.SERVICE_DESK, json={"text": secret})
    assert note.status_code == 201, note.json
    listed = api("GET", f"/api/v1/returns/{number}/notes", Role.SERVICE_DESK).json
    assert [n["text"] for n in listed] == [secret]
    assert api("POST", f"/api/v1/returns/{number}/notes", json={"text": " "}).status_code == 422
    # The customer's status page and every e-mail queued for the case leave it out.
    services = app.extensions["spareflow"]
    page = client.get(urlsplit(services.status_links.issue(number)).path)
    assert page.status_code == 200
    assert number in page.get_data(as_text=True)
    assert secret not in page.get_data(as_text=True)
    with services.session_factory() as session:
        payloads = [str(m.payload) for m in session.scalars(select(OutboxMessage))]
        timeline = session.scalars(select(RmaTransition.reason)).all()
    assert timeline and all(secret not in line for line in timeline)
    assert all(secret not in payload for payload in payloads)


def test_canned_replies_per_language_are_filled_with_the_case(api: Any, app: Any) -> None:
    number = open_case(app)
    body = "Dear {customer_name}, we are on {number} ({status})."
    made = api("POST", "/api/v1/canned-replies", json={"title": "Ack", "body": body})
    assert made.status_code == 201, made.json
    zh = api(
        "POST",
        "/api/v1/canned-replies",
        json={"title": "Ack", "language": "zh_Hans", "body": "{customer_name}，您好"},
    )
    assert zh.status_code == 201
    twice = api("POST", "/api/v1/canned-replies", json={"title": "Ack", "body": "again"})
    assert (twice.status_code, twice.json["error"]["code"]) == (409, "duplicate_title")
    desk_may_not = api(
        "POST", "/api/v1/canned-replies", Role.SERVICE_DESK, json={"title": "X", "body": "Y"}
    )
    assert desk_may_not.status_code == 403
    english = api("GET", "/api/v1/canned-replies?language=en", Role.SERVICE_DESK).json
    assert [r["title"] for r in english] == ["Ack"]
    filled = api(
        "GET", f"/api/v1/returns/{number}/canned-replies/{made.json['id']}", Role.SERVICE_DESK
    )
    assert filled.json["text"] == f"Dear Mia Chen, we are on {number} (requested)."
    assert api("DELETE", f"/api/v1/canned-replies/{zh.json['id']}").status_code == 204
    assert len(api("GET", "/api/v1/canned-replies", Role.SERVICE_DESK).json) == 1


def hand_made_cases(app: Any, clock: Any) -> tuple[int, int]:
    """Five cases opened Monday 10:00, seen on Wednesday 10:00; hours after opening:

    case  owner      first response (due +2)  resolved (due +72)  score  reopened
    A1    Ana        +1                        +48                 5      no
    A2    Ana        +4  (late: breach)        +24                 3      yes (disputed)
    A3    Ana        none, due passed: breach  none, not yet due   -      -
    B1    Ben        +2                        +10                 4      no
    T1    team only  none, no due              none                -      -
    """
    services = app.extensions["spareflow"]
    ana, ben = user_id(app, "ana@desk.example"), user_id(app, "ben@desk.example")
    team = services.desk_setup.save_team("Returns", [ana, ben]).id
    plan = [
        (ana, 1, 48, 5, True, False),
        (ana, 4, 24, 3, True, True),
        (ana, None, None, None, True, False),
        (ben, 2, 10, 4, True, False),
        (None, None, None, None, False, False),
    ]
    hour = timedelta(hours=1)
    for owner, answered, resolved, score, due, reopened in plan:
        number = open_case(app)
        with services.session_factory() as session, session.begin():
            session.execute(
                update(Rma)
                .where(Rma.number == number)
                .values(
                    owner_user_id=owner,
                    owner_team_id=team,
                    first_response_at=MONDAY_10 + answered * hour if answered else None,
                    resolved_at=MONDAY_10 + resolved * hour if resolved else None,
                    satisfaction=score,
                    first_response_due_at=MONDAY_10 + 2 * hour if due else None,
                    resolution_due_at=MONDAY_10 + 72 * hour if due else None,
                )
            )
            if reopened:
                rma_id = session.scalars(select(Rma.id).where(Rma.number == number)).one()
                session.add(
                    RmaTransition(
                        rma_id=rma_id,
                        kind="status",
                        from_status=RmaStatus.RECEIVED,
                        to_status=RmaStatus.DISPUTED,
                        actor="warehouse",
                        reason="empty box",
                        at=MONDAY_10 + 30 * hour,
                    )
                )
    clock.set(MONDAY_10 + 48 * hour)
    return ana, ben


def test_per_person_and_per_team_figures_of_a_hand_made_desk(
    api: Any, app: Any, clock: Any
) -> None:
    hand_made_cases(app, clock)
    report = api("GET", "/api/v1/metrics?from=2026-11-23&to=2026-11-29", Role.SERVICE_DESK)
    assert report.status_code == 200, report.json
    people = {row["name"]: row for row in report.json["desk_people"]}
    ana, ben = people["Ana"], people["Ben"]
    assert ana["handled"] == 3
    assert ana["first_response_hours"]["mean_hours"] == pytest.approx((1 + 4) / 2)
    assert ana["resolution_hours"]["mean_hours"] == pytest.approx((48 + 24) / 2)
    assert ana["reopened"] == {"part": 1, "whole": 2, "rate": 0.5}
    assert ana["satisfaction"]["mean"] == pytest.approx((5 + 3) / 2)
    assert (ana["response_breaches"], ana["resolution_breaches"]) == (2, 0)
    assert (ben["handled"], ben["first_response_hours"]["mean_hours"]) == (1, 2)
    assert (ben["resolution_hours"]["mean_hours"], ben["reopened"]["rate"]) == (10, 0)
    assert (ben["satisfaction"]["mean"], ben["response_breaches"]) == (4, 0)
    [team] = report.json["desk_teams"]
    assert (team["name"], team["handled"]) == ("Returns", 5)
    assert team["first_response_hours"]["mean_hours"] == pytest.approx((1 + 4 + 2) / 3)
    assert team["resolution_hours"]["mean_hours"] == pytest.approx((48 + 24 + 10) / 3)
    assert team["reopened"]["rate"] == pytest.approx(1 / 3)
    assert team["satisfaction"]["mean"] == pytest.approx((5 + 3 + 4) / 3)
    assert team["response_breaches"] == 2


def test_the_workbook_and_the_page_show_the_desks_performance(
    api: Any, app: Any, clock: Any
) -> None:
    hand_made_cases(app, clock)
    app.extensions["spareflow"].auth.create_user("reader@desk.example", Role.BUYER, PASSWORD)
    client = app.test_client()
    assert sign_in(client, "reader@desk.example", PASSWORD).status_code == 302
    response = client.get("/metrics/report.xlsx?from=2026-11-23&to=2026-11-29")
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    rows = {row[1]: row for row in book["Desk people"].iter_rows(min_row=2, values_only=True)}
    ana = rows["Ana"]
    assert ana[0] == "person" and ana[2] == 3
    assert ana[4] == pytest.approx(2.5)  # mean first response, hours
    assert ana[-1] == 2  # breaches
    assert rows["Returns"][0] == "team"
    page = client.get("/metrics?from=2026-11-23&to=2026-11-29").get_data(as_text=True)
    assert 'id="desk-people-table"' in page and "Ana" in page
