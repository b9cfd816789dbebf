"""The server-rendered pages: sign-in with CSRF, parts list and part detail."""

from __future__ import annotations

import re
from typing import Any

import pytest

from accounts.models import Role
from inventory.commands import ReceiveStock

PASSWORD = "correct horse battery"


def csrf_token(html: str) -> str:
    match = (
        re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
        or re.search(r'type="hidden" name="csrf_token" value="([^"]+)"', html)
        or re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    )
    assert match, "page has no CSRF token"
    return match.group(1)


def sign_in(client: Any, email: str, password: str, next_url: str = "") -> Any:
    page = client.get("/sign-in" + next_url)
    return client.post(
        "/sign-in" + next_url,
        data={
            "email": email,
            "password": password,
            "csrf_token": csrf_token(page.get_data(as_text=True)),
        },
    )


@pytest.fixture
def stocked_app(app: Any) -> Any:
    services = app.extensions["spareflow"]
    services.auth.create_user("ann@test.example", Role.WAREHOUSE, PASSWORD)
    inventory = services.inventory
    inventory.create_supplier(code="ACME", name="Acme Parts")
    inventory.create_location(code="MAIN/A-01-01")
    inventory.create_part(sku="FAN-80", name="Cooling fan 80mm", supplier="ACME", reorder_point=20)
    inventory.create_part(sku="PSU-65", name="Power supply 65W", supplier="ACME", reorder_point=2)
    inventory.receive(
        "ann@test.example",
        ReceiveStock(sku="FAN-80", location="MAIN/A-01-01", qty=7, reference="PO-9"),
    )
    inventory.receive(
        "ann@test.example", ReceiveStock(sku="PSU-65", location="MAIN/A-01-01", qty=30)
    )
    return app


def test_pages_need_a_signed_in_user(client: Any) -> None:
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/sign-in?next=")


def test_signing_in_shows_the_parts_and_their_stock(stocked_app: Any) -> None:
    client = stocked_app.test_client()
    response = sign_in(client, "ANN@test.example", PASSWORD)
    assert (response.status_code, response.headers["Location"]) == (
        302,
        "/warehouse",
    )  # her own work first
    html = client.get("/").get_data(as_text=True)
    assert "FAN-80" in html and "PSU-65" in html
    assert "ann@test.example" in html
    low = client.get("/?low=1").get_data(as_text=True)
    assert "FAN-80" in low and "PSU-65" not in low  # 7 available, reorder point 20


def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(stocked_app: Any) -> None:
    client = stocked_app.test_client()
    response = sign_in(client, "ann@test.example", "not the password")
    assert response.status_code == 401
    assert "do not match an active account" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302
    unknown = sign_in(client, "nobody@test.example", PASSWORD)
    assert unknown.status_code == 401


def test_a_sign_in_without_the_csrf_token_is_refused(stocked_app: Any) -> None:
    client = stocked_app.test_client()
    response = client.post("/sign-in", data={"email": "ann@test.example", "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/").status_code == 302


def test_sign_in_never_redirects_to_another_site(stocked_app: Any) -> None:
    client = stocked_app.test_client()
    response = sign_in(client, "ann@test.example", PASSWORD, next_url="?next=//evil.example/x")
    assert response.headers["Location"] == "/warehouse"  # the warehouse starts on its own page
    client = stocked_app.test_client()
    response = sign_in(client, "ann@test.example", PASSWORD, next_url="?next=/parts/FAN-80")
    assert response.headers["Location"] == "/parts/FAN-80"


def test_the_session_cookie_is_http_only_and_same_site(stocked_app: Any) -> None:
    client = stocked_app.test_client()
    response = sign_in(client, "ann@test.example", PASSWORD)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_the_part_page_shows_stock_per_location_and_the_ledger(stocked_app: Any) -> None:
    client = stocked_app.test_client()
    sign_in(client, "ann@test.example", PASSWORD)
    html = client.get("/parts/fan-80").get_data(as_text=True)
    assert "MAIN/A-01-01" in html and "PO-9" in html and "receipt" in html
    assert "Nothing reserved." in html and '<svg class="chart"' in html
    assert re.search(r'id="totals">\s*7 · 0 · 7', html)
    missing = client.get("/parts/NOPE")
    assert missing.status_code == 404
    assert "No part with SKU" in missing.get_data(as_text=True)


def test_signing_out_needs_a_post_with_the_csrf_token(stocked_app: Any) -> None:
    client = stocked_app.test_client()
    sign_in(client, "ann@test.example", PASSWORD)
    page = client.get("/").get_data(as_text=True)
    assert client.post("/sign-out").status_code == 400
    response = client.post("/sign-out", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 302
    assert client.get("/").status_code == 302


def test_five_wrong_passwords_lock_the_account_for_a_while(stocked_app: Any, clock: Any) -> None:
    from datetime import timedelta

    client = stocked_app.test_client()
    for _ in range(5):
        assert sign_in(client, "ann@test.example", "wrong password").status_code == 401
    locked = sign_in(client, "ann@test.example", PASSWORD)
    assert locked.status_code == 401  # even the right password, and the same answer as a wrong one
    assert "do not match an active account" in locked.get_data(as_text=True)
    clock.advance(timedelta(minutes=16))
    assert sign_in(client, "ann@test.example", PASSWORD).status_code == 302


def test_sign_in_attempts_are_rate_limited_per_client(app: Any) -> None:
    app.config["SIGN_IN_RATE_LIMIT"] = "3 per minute"
    client = app.test_client()
    statuses = [sign_in(client, f"nobody{i}@test.example", "x").status_code for i in range(4)]
    assert statuses == [401, 401, 401, 429]


def test_over_https_the_session_cookie_is_secure_with_the_host_prefix(
    database_url: str, clock: Any
) -> None:
    from web import create_app

    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "SECRET_KEY": "k",
            "CLOCK": clock,
            "SESSION_COOKIE_SECURE": True,
        }
    )
    app.extensions["spareflow"].auth.create_user("sec@test.example", "buyer", PASSWORD)
    client = app.test_client()
    response = sign_in(client, "sec@test.example", PASSWORD)
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("__Host-spareflow=")
    assert (
        "Secure" in cookie
        and "HttpOnly" in cookie
        and "Path=/" in cookie
        and "Domain" not in cookie
    )
    app.extensions["spareflow"].engine.dispose()
