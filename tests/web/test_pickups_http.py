# ruff: noqa: F811 (the shop and refunds fixtures come from test_status_page.py)
"""Carrier pickups over HTTP: the customer's form on the status page (book, change, a bad
window shown), the desk's RMA page, and ``POST /api/v1/returns/{rma}/pickup``; the label and
the pickup come from the sandbox carrier, served on loopback."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import Role
from tests.support import desk as builders
from tests.web.test_pages import csrf_token, sign_in
from tests.web.test_status_page import (  # noqa: F401
    STAFF,
    link,
    open_return,
    refunds_url,
    shop,
    status_page_config,
)


@pytest.fixture
def app_config(smtp_sink: Any, refunds_url: str, carrier_url: str) -> dict[str, Any]:
    return status_page_config(smtp_sink, refunds_url) | {
        "SANDBOX_CARRIER_URL": carrier_url,
        "RETURNS_CARRIER": "sandbox",
    }


def labelled(shop: Any) -> str:
    """An RMA authorised with a prepaid label the sandbox sold (awaiting pickup)."""
    number = open_return(shop)
    builders.authorise(shop.returns, STAFF, number)
    shop.outbox.drain()
    assert shop.returns.get(number).return_label_provider == "sandbox"
    return number


def test_the_customer_books_then_changes_the_pickup_on_the_status_page(
    client, shop, sandbox
) -> None:
    number = labelled(shop)
    url = link(shop, number)
    page = client.get(url).get_data(as_text=True)
    assert 'id="pickup"' in page and "Book a pickup" in page
    assert 'id="pickup-booked"' not in page
    token = csrf_token(page)
    form = {"csrf_token": token, "day": "2026-11-24", "starts": "09:00", "ends": "13:00"}
    assert client.post(f"{url}/pickup", data=form).status_code == 302
    page = client.get(url).get_data(as_text=True)
    assert "Your pickup has been booked." in page
    assert "on Nov 24, 2026 between 09:00 and 13:00 (UTC)" in page
    assert "Change the pickup" in page and 'value="2026-11-24"' in page
    client.post(
        f"{url}/pickup", data={**form, "day": "2026-11-25", "starts": "14:00"} | {"ends": "17:30"}
    )
    page = client.get(url).get_data(as_text=True)
    assert "Your pickup has been changed." in page
    assert "on Nov 25, 2026 between 14:00 and 17:30 (UTC)" in page
    statuses = [p["status"] for p in sandbox.get("/v1/pickups").json()]
    assert statuses == ["scheduled", "scheduled"]  # the new one first; the old one is queued
    shop.outbox.drain()  # ... and called off by the outbox
    statuses = [p["status"] for p in sandbox.get("/v1/pickups").json()]
    assert statuses == ["cancelled", "scheduled"]
    timeline = shop.returns.get(number).timeline
    pickups = [t for t in timeline if t.kind == "pickup"]
    assert [t.actor for t in pickups[:2]] == ["customer (status page)"] * 2
    assert pickups[-1].reason.startswith("Pickup pck_") and "cancelled with sandbox" in (
        pickups[-1].reason
    )


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"day": "2026-11-24", "starts": "09:00", "ends": "10:00"}, "at least 2 hours long"),
        ({"day": "2026-11-22", "starts": "09:00", "ends": "13:00"}, "must start in the future"),
        ({"day": "2026-12-20", "starts": "09:00", "ends": "13:00"}, "at most 14 days ahead"),
        ({"day": "2026-11-24", "starts": "", "ends": "13:00"}, "Choose when the window starts."),
    ],
)
def test_a_bad_window_shows_the_error_and_books_nothing(client, shop, sandbox, form, error) -> None:
    number = labelled(shop)
    url = link(shop, number)
    token = csrf_token(client.get(url).get_data(as_text=True))
    assert client.post(f"{url}/pickup", data={"csrf_token": token, **form}).status_code == 302
    page = client.get(url).get_data(as_text=True)
    assert error in page and 'id="pickup-booked"' not in page
    assert sandbox.get("/v1/pickups").json() == []


def test_no_form_without_a_label_that_books_pickups_and_none_without_csrf(
    client, shop, sandbox
) -> None:
    number = open_return(shop)
    builders.authorise(shop.returns, STAFF, number, carrier="sandbox", tracking_number="SBX-OWN")
    url = link(shop, number)
    assert 'id="pickup"' not in client.get(url).get_data(as_text=True)
    labelled_url = link(shop, labelled(shop))
    form = {"day": "2026-11-24", "starts": "09:00", "ends": "13:00"}
    assert client.post(f"{labelled_url}/pickup", data=form).status_code == 400
    assert sandbox.get("/v1/pickups").json() == []
    # A wrong link is a 404, even with a good CSRF token.
    token = csrf_token(client.get(labelled_url).get_data(as_text=True))
    wrong = client.post("/status/not-a-real-token/pickup", data={**form, "csrf_token": token})
    assert wrong.status_code == 404


def test_the_desk_books_through_the_api_and_sees_the_window(
    client, shop, sandbox, role_headers
) -> None:
    number = labelled(shop)
    body = {"starts_at": "2026-11-24T17:00:00+08:00", "ends_at": "2026-11-24T21:00:00+08:00"}
    desk = role_headers[Role.SERVICE_DESK]
    assert client.get(f"/api/v1/returns/{number}", headers=desk).get_json()["pickup"] is None
    answer = client.post(f"/api/v1/returns/{number}/pickup", json=body, headers=desk)
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["pickup"] == {
        "starts_at": "2026-11-24T09:00:00+00:00",
        "ends_at": "2026-11-24T13:00:00+00:00",
    }
    again = client.post(f"/api/v1/returns/{number}/pickup", json=body, headers=desk)
    assert again.status_code == 200 and len(sandbox.get("/v1/pickups").json()) == 1
    fetched = client.get(f"/api/v1/returns/{number}", headers=desk).get_json()
    assert fetched["pickup"]["starts_at"] == "2026-11-24T09:00:00+00:00"


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"starts_at": "2026-11-24T09:00:00+00:00"}, 422, "ends_at"),
        ({"starts_at": "2026-11-24T09:00:00", "ends_at": "2026-11-24T13:00:00"}, 422, "starts_at"),
        ({"starts_at": "2026-11-24T09:00:00Z", "ends_at": "2026-11-24T20:00:00Z"}, 422, "ends_at"),
    ],
)
def test_the_api_refuses_a_bad_window_naming_the_field(
    client, shop, sandbox, role_headers, body, status, field
) -> None:
    number = labelled(shop)
    answer = client.post(
        f"/api/v1/returns/{number}/pickup", json=body, headers=role_headers[Role.SERVICE_DESK]
    )
    assert answer.status_code == status, answer.get_json()
    assert field in answer.get_json()["error"]["details"]["fields"]
    assert sandbox.get("/v1/pickups").json() == []


def test_only_the_desk_books_through_the_api_and_a_parcel_of_its_own_is_refused(
    client, shop, sandbox, role_headers
) -> None:
    number = labelled(shop)
    body = {"starts_at": "2026-11-24T09:00:00Z", "ends_at": "2026-11-24T13:00:00Z"}
    for role in (Role.WAREHOUSE, Role.BUYER):
        answer = client.post(
            f"/api/v1/returns/{number}/pickup", json=body, headers=role_headers[role]
        )
        assert answer.status_code == 403
    own = open_return(shop)
    builders.authorise(shop.returns, STAFF, own, carrier="sandbox", tracking_number="SBX-OWN")
    answer = client.post(
        f"/api/v1/returns/{own}/pickup", json=body, headers=role_headers[Role.SERVICE_DESK]
    )
    assert answer.status_code == 409
    assert answer.get_json()["error"]["code"] == "pickup_not_available"


def test_the_desk_page_shows_the_booked_window(client, shop, sandbox, role_headers) -> None:
    number = labelled(shop)
    body = {"starts_at": "2026-11-24T09:00:00Z", "ends_at": "2026-11-24T13:00:00Z"}
    client.post(
        f"/api/v1/returns/{number}/pickup", json=body, headers=role_headers[Role.SERVICE_DESK]
    )
    sign_in(client, "service_desk@test.example", "correct horse battery")
    page = client.get(f"/returns/{number}").get_data(as_text=True)
    assert 'id="pickup"' in page and "Nov 24, 2026 09:00–13:00 UTC" in page
