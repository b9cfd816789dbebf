"""Administration pages: users, roles and API tokens, for admins only."""

from __future__ import annotations

import re
from typing import Any

import pytest

from accounts.models import Role
from tests.web.test_pages import PASSWORD, csrf_token, sign_in


@pytest.fixture
def admin_client(app: Any) -> Any:
    auth = app.extensions["spareflow"].auth
    auth.create_user("root@test.example", Role.ADMIN, PASSWORD)
    auth.create_user("ann@test.example", Role.WAREHOUSE, PASSWORD)
    client = app.test_client()
    assert sign_in(client, "root@test.example", PASSWORD).status_code == 302
    return client


def test_an_admin_adds_a_user_who_can_then_sign_in(app: Any, admin_client: Any) -> None:
    token = csrf_token(admin_client.get("/admin").get_data(as_text=True))
    admin_client.post(
        "/admin/users",
        data={
            "csrf_token": token,
            "email": "bob@test.example",
            "name": "Bob",
            "role": "buyer",
            "password": "a long password",
        },
    )
    assert "bob@test.example" in admin_client.get("/admin").get_data(as_text=True)
    assert sign_in(app.test_client(), "bob@test.example", "a long password").status_code == 302


def test_a_switched_off_user_cannot_sign_in_and_a_role_change_takes_effect(
    app: Any, admin_client: Any
) -> None:
    ann = app.extensions["spareflow"].auth.find_user("ann@test.example")
    token = csrf_token(admin_client.get("/admin").get_data(as_text=True))
    admin_client.post(
        f"/admin/users/{ann.id}", data={"csrf_token": token, "role": "buyer", "active": "0"}
    )
    assert sign_in(app.test_client(), "ann@test.example", PASSWORD).status_code == 401
    admin_client.post(
        f"/admin/users/{ann.id}", data={"csrf_token": token, "role": "buyer", "active": "1"}
    )
    assert app.extensions["spareflow"].auth.find_user("ann@test.example").role is Role.BUYER


def test_an_admin_cannot_lock_themselves_out(app: Any, admin_client: Any) -> None:
    me = app.extensions["spareflow"].auth.find_user("root@test.example")
    token = csrf_token(admin_client.get("/admin").get_data(as_text=True))
    admin_client.post(
        f"/admin/users/{me.id}", data={"csrf_token": token, "role": "buyer", "active": "1"}
    )
    assert "cannot demote or deactivate yourself" in admin_client.get("/admin").get_data(
        as_text=True
    )
    assert app.extensions["spareflow"].auth.find_user("root@test.example").role is Role.ADMIN


def test_a_token_is_shown_once_works_and_stops_working_when_revoked(
    app: Any, admin_client: Any
) -> None:
    token = csrf_token(admin_client.get("/admin").get_data(as_text=True))
    page = admin_client.post(
        "/admin/tokens", data={"csrf_token": token, "email": "ann@test.example", "name": "scanner"}
    ).get_data(as_text=True)
    secret = re.search(r"<code>(sf_[^<]+)</code>", page).group(1)
    headers = {"Authorization": f"Bearer {secret}"}
    assert app.test_client().get("/api/v1/parts", headers=headers).status_code == 200
    assert secret not in admin_client.get("/admin").get_data(as_text=True)  # never shown again
    token_id = app.extensions["spareflow"].auth.list_tokens()[0].id
    admin_client.post(f"/admin/tokens/{token_id}/revoke", data={"csrf_token": token})
    assert app.test_client().get("/api/v1/parts", headers=headers).status_code == 401


def test_only_admins_reach_the_administration(app: Any, admin_client: Any) -> None:
    ann = app.test_client()
    sign_in(ann, "ann@test.example", PASSWORD)
    assert ann.get("/admin").status_code == 403
    token = csrf_token(ann.get("/").get_data(as_text=True))
    assert (
        ann.post(
            "/admin/users",
            data={
                "csrf_token": token,
                "email": "x@y.z",
                "role": "admin",
                "password": "a long password",
            },
        ).status_code
        == 403
    )
    assert app.extensions["spareflow"].auth.find_user("x@y.z") is None


def test_a_carrier_secret_set_on_the_page_takes_effect_and_is_never_shown(
    app: Any, admin_client: Any
) -> None:
    from pathlib import Path

    body = (
        Path(__file__).parents[1] / "fixtures" / "carriers" / "sfexpress" / "route_push.json"
    ).read_bytes()
    url = "/webhooks/carriers/sfexpress?token=sf-token-from-admin"
    before = app.test_client().post(url, data=body, content_type="application/json")
    assert before.status_code == 401  # not configured: everything refused
    page = admin_client.get("/admin").get_data(as_text=True)
    assert "SFEXPRESS_WEBHOOK_TOKEN" in page and "not set" in page
    admin_client.post(
        "/admin/carrier-secrets",
        data={"csrf_token": csrf_token(page), "SFEXPRESS_WEBHOOK_TOKEN": "sf-token-from-admin"},
    )
    page = admin_client.get("/admin").get_data(as_text=True)
    assert "set here by root@test.example" in page
    assert "sf-token-from-admin" not in page
    after = app.test_client().post(url, data=body, content_type="application/json")
    assert after.status_code == 200, after.get_data(as_text=True)
    admin_client.post(
        "/admin/carrier-secrets",
        data={"csrf_token": csrf_token(page), "clear-SFEXPRESS_WEBHOOK_TOKEN": "1"},
    )
    assert (
        app.test_client().post(url, data=body, content_type="application/json").status_code == 401
    )
