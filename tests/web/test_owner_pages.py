"""Owners on the pages (Flask client): Admin > Desk sets teams, hours, rules and canned
replies; the case page takes, hands over and notes; the queue shows owners and filters to
"mine"; the shifts page shows hours, days off and the hours nobody covers."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest

from accounts.models import Role
from returns.status import Channel, Reason, Resolution
from tests.support import desk as builders
from tests.web.test_pages import PASSWORD, csrf_token, sign_in

MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@pytest.fixture
def desk_app(app: Any, clock: Any) -> Any:
    services = app.extensions["spareflow"]
    clock.set(MONDAY_10)
    services.inventory.create_location(code="MAIN/A-01-01")
    services.inventory.create_part(sku="BAT-1", name="Battery")
    services.auth.create_user("boss@desk.example", Role.ADMIN, PASSWORD, "Boss")
    for name in ("ana", "ben"):
        services.auth.create_user(f"{name}@desk.example", Role.SERVICE_DESK, PASSWORD, name.title())
    return app


def signed_in(app: Any, email: str) -> Any:
    client = app.test_client()
    assert sign_in(client, email, PASSWORD).status_code == 302
    return client


def open_case(app: Any) -> str:
    return builders.open_rma(
        app.extensions["spareflow"].returns,
        customer={"name": "Mia Chen", "email": "mia@example.com"},
        channel=Channel.EMAIL,
        reason=Reason.DEFECTIVE,
        resolution=Resolution.REPAIR,
        lines=[{"sku": "BAT-1", "qty": 1, "unit_price": "30.00"}],
    ).number


def post_form(client: Any, page: str, action: str, prefix: str, **fields: Any) -> str:
    token = csrf_token(client.get(page).get_data(as_text=True))
    data = {f"{prefix}-{name}": value for name, value in fields.items()}
    data[f"{prefix}-csrf_token"] = token
    data["csrf_token"] = token
    response = client.post(action, data=data, follow_redirects=True)
    assert response.status_code == 200
    return str(response.get_data(as_text=True))


def test_an_admin_sets_up_teams_hours_rules_and_canned_replies_on_the_page(desk_app: Any) -> None:
    client = signed_in(desk_app, "boss@desk.example")
    people = dict(desk_app.extensions["spareflow"].desk_setup.desk_people())
    ana = next(uid for uid, name in people.items() if name == "Ana")
    page = "/admin/desk"
    html = post_form(client, page, "/admin/desk/teams", "team", name="Returns", members=[ana])
    assert "Team saved." in html
    html = post_form(
        client,
        page,
        "/admin/desk/hours",
        "hours",
        person=ana,
        weekdays=[0, 1, 2, 3, 4],
        start="09:00",
        end="17:00",
        time_zone="Europe/London",
    )
    assert "Working hours saved." in html
    html = post_form(
        client,
        page,
        "/admin/desk/hours",
        "hours",
        person=ana,
        weekdays=[0],
        start="09:00",
        end="17:00",
        time_zone="Mars/Base",
    )
    assert "Unknown time zone" in html
    team_id = desk_app.extensions["spareflow"].desk_setup.teams()[0].id
    html = post_form(
        client,
        page,
        "/admin/desk/rules",
        "rule",
        position=5,
        channel="email",
        kind="",
        language="",
        vip="",
        person="",
        team=team_id,
    )
    assert "Routing rule added." in html, re.findall(r"flash[^>]*>[^<]*", html)
    assert "channel = email" in html
    html = post_form(
        client,
        page,
        "/admin/desk/canned",
        "canned",
        title="Hello",
        language="en",
        body="Dear {customer_name}",
    )
    assert "Canned reply saved." in html
    # The desk may not open the admin page.
    assert signed_in(desk_app, "ana@desk.example").get(page).status_code == 403
    number = open_case(desk_app)
    owner = desk_app.extensions["spareflow"].ownership.owner(number)
    assert (owner.owner_name, owner.owner_team) == ("Ana", "Returns")


def test_the_desk_takes_notes_and_hands_over_on_the_case_page(desk_app: Any) -> None:
    services = desk_app.extensions["spareflow"]
    ben = next(uid for uid, name in services.desk_setup.desk_people() if name == "Ben")
    number = open_case(desk_app)
    client = signed_in(desk_app, "ana@desk.example")
    page = client.get(f"/returns/{number}").get_data(as_text=True)
    assert 'id="owner-name"' in page and "Nobody" in page
    token = csrf_token(page)
    taken = client.post(
        f"/desk/cases/{number}/take", data={"csrf_token": token}, follow_redirects=True
    )
    assert "You own" in taken.get_data(as_text=True)
    assert services.ownership.owner(number).owner_name == "Ana"
    noted = client.post(
        f"/desk/cases/{number}/notes",
        data={"csrf_token": token, "text": "Called, no answer"},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "Called, no answer" in re.search(r'id="internal-notes".*?</section>', noted, re.S).group(
        0
    )
    handed = client.post(
        f"/desk/cases/{number}/hand-over",
        data={"csrf_token": token, "target": f"user:{ben}"},
        follow_redirects=True,
    )
    assert "handed over" in handed.get_data(as_text=True)
    assert services.ownership.owner(number).owner_name == "Ben"


def test_the_queue_shows_owners_and_filters_to_mine(desk_app: Any) -> None:
    services = desk_app.extensions["spareflow"]
    ana = next(uid for uid, name in services.desk_setup.desk_people() if name == "Ana")
    mine, theirs = open_case(desk_app), open_case(desk_app)
    services.ownership.take(ana, mine)
    client = signed_in(desk_app, "ana@desk.example")
    everything = client.get("/returns").get_data(as_text=True)
    assert mine in everything and theirs in everything
    assert '<td class="owner">Ana' in everything
    only_mine = client.get("/returns?owner=mine").get_data(as_text=True)
    assert mine in only_mine and theirs not in only_mine


def test_the_shifts_page_shows_hours_days_off_and_uncovered_hours(desk_app: Any) -> None:
    from datetime import date

    from returns.shifts import Hours

    services = desk_app.extensions["spareflow"]
    ana = next(uid for uid, name in services.desk_setup.desk_people() if name == "Ana")
    services.desk_setup.set_hours(ana, [Hours(d, 9 * 60, 17 * 60) for d in range(5)])
    services.desk_setup.add_days_off(ana, date(2026, 11, 26), date(2026, 11, 27), "leave")
    page = signed_in(desk_app, "ana@desk.example").get("/desk/shifts").get_data(as_text=True)
    assert "Mon 09:00-17:00 UTC" in page
    assert "2026-11-26 – 2026-11-27" in page
    uncovered = re.search(r'id="uncovered-hours">(.*?)</ul>', page, re.S).group(1)
    assert "Mon 00:00-09:00" in uncovered and "Fri 17:00-Mon 00:00" in uncovered
