"""Sessions end everywhere at once, time out, and accounts follow the password and 2FA rules.

Each test is written as the attack or the mistake it stops: a copied cookie after sign-out,
a demoted admin's other browser, a temporary password kept for ever, a replayed code.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from typing import Any

import pyotp
import pytest
from babel.dates import format_skeleton
from sqlalchemy import select

from accounts.models import Role
from core.audit import AuditEntry
from tests.web.test_pages import PASSWORD, csrf_token, sign_in

ADMIN, ANN = "root@test.example", "ann@test.example"


@pytest.fixture
def auth(app: Any) -> Any:
    auth = app.extensions["spareflow"].auth
    auth.create_user(ADMIN, Role.ADMIN, PASSWORD)
    auth.create_user(ANN, Role.WAREHOUSE, PASSWORD)
    return auth


def signed_in_client(app: Any, email: str, password: str = PASSWORD) -> Any:
    client = app.test_client()
    response = sign_in(client, email, password)
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def copy_of(app: Any, client: Any) -> Any:
    """Another browser holding a copy of ``client``'s session cookie (a stolen cookie)."""
    thief = app.test_client()
    cookie = client.get_cookie("session")
    thief.set_cookie("session", cookie.value, domain=cookie.domain)
    return thief


def is_signed_out(response: Any) -> bool:
    return response.status_code == 302 and response.headers["Location"].startswith("/sign-in")


def post(client: Any, path: str, **data: str) -> Any:
    """A form post with the CSRF token of whichever page this browser may open now."""
    for page_path in ("/account/password", "/account/two-factor", "/sign-in"):
        page = client.get(page_path)
        if page.status_code == 200:
            token = csrf_token(page.get_data(as_text=True))
            return client.post(path, data={"csrf_token": token, **data})
    raise AssertionError("no page with a form to take the CSRF token from")


def audit(app: Any, action: str | None = None) -> list[AuditEntry]:
    with app.extensions["spareflow"].session_factory() as session:
        query = select(AuditEntry).order_by(AuditEntry.id)
        if action:
            query = query.where(AuditEntry.action == action)
        return list(session.scalars(query))


# --- every session ends at once ------------------------------------------------------------


def test_a_copied_session_cookie_stops_working_when_its_owner_signs_out(
    app: Any, auth: Any
) -> None:
    ann = signed_in_client(app, ANN)
    thief = copy_of(app, ann)
    assert thief.get("/").status_code == 200  # the copy works while the session lives
    post(ann, "/sign-out")
    assert is_signed_out(thief.get("/"))
    assert is_signed_out(ann.get("/"))


def test_a_demoted_admins_other_browser_loses_the_administration_at_once(
    app: Any, auth: Any
) -> None:
    auth.create_user("boss@test.example", Role.ADMIN, PASSWORD)
    boss_laptop = signed_in_client(app, "boss@test.example")
    boss_phone = signed_in_client(app, "boss@test.example")
    assert boss_phone.get("/admin").status_code == 200
    root = signed_in_client(app, ADMIN)
    boss = auth.find_user("boss@test.example")
    post(root, f"/admin/users/{boss.id}", role="buyer", active="1", language="en")
    assert auth.find_user("boss@test.example").role is Role.BUYER
    assert is_signed_out(boss_phone.get("/admin"))
    assert is_signed_out(boss_laptop.get("/"))
    # Signing in again gives the new role only.
    again = signed_in_client(app, "boss@test.example")
    assert again.get("/admin").status_code == 403


def test_a_switched_off_users_open_sessions_end(app: Any, auth: Any) -> None:
    ann = signed_in_client(app, ANN)
    root = signed_in_client(app, ADMIN)
    user = auth.find_user(ANN)
    post(root, f"/admin/users/{user.id}", role="warehouse", active="0", language="en")
    assert is_signed_out(ann.get("/"))
    post(root, f"/admin/users/{user.id}", role="warehouse", active="1", language="en")
    assert is_signed_out(ann.get("/"))  # switching back on does not revive old sessions
    assert [e.action for e in audit(app) if e.action.startswith("user.")][-2:] == [
        "user.deactivated",
        "user.reactivated",
    ]


def test_changing_ones_password_ends_the_other_sessions_and_keeps_this_one(
    app: Any, auth: Any
) -> None:
    here = signed_in_client(app, ANN)
    elsewhere = signed_in_client(app, ANN)
    changed = post(
        here,
        "/account/password",
        current_password=PASSWORD,
        new_password="a brand new passphrase",
        repeat="a brand new passphrase",
    )
    assert (
        changed.status_code == 302 and changed.headers["Location"] == "/warehouse"
    )  # her own work (web/pages/home.py)
    assert here.get("/").status_code == 200
    assert is_signed_out(elsewhere.get("/"))
    assert sign_in(app.test_client(), ANN, PASSWORD).status_code == 401
    assert sign_in(app.test_client(), ANN, "a brand new passphrase").status_code == 302


def test_a_password_change_needs_the_current_password(app: Any, auth: Any) -> None:
    ann = signed_in_client(app, ANN)
    refused = post(
        ann,
        "/account/password",
        current_password="not the password",
        new_password="a brand new passphrase",
        repeat="a brand new passphrase",
    )
    assert refused.headers["Location"] == "/account/password"
    assert "current password is not right" in ann.get("/account/password").get_data(as_text=True)
    assert sign_in(app.test_client(), ANN, PASSWORD).status_code == 302


# --- timeouts ---------------------------------------------------------------------------------


def test_an_idle_session_ends_after_eight_hours(app: Any, auth: Any, clock: Any) -> None:
    ann = signed_in_client(app, ANN)
    clock.advance(timedelta(hours=7, minutes=59))
    assert ann.get("/").status_code == 200  # still in time, and this counts as activity
    clock.advance(timedelta(hours=7, minutes=59))
    assert ann.get("/").status_code == 200
    clock.advance(timedelta(hours=8, seconds=1))
    assert is_signed_out(ann.get("/"))


def test_even_a_busy_session_ends_seven_days_after_signing_in(
    app: Any, auth: Any, clock: Any
) -> None:
    ann = signed_in_client(app, ANN)
    for _ in range(24):  # a request every 7 hours: never idle, 7 days in all
        clock.advance(timedelta(hours=7))
        assert ann.get("/").status_code == 200
    clock.advance(timedelta(hours=1, seconds=1))
    assert is_signed_out(ann.get("/"))


@pytest.fixture
def app_config(request: pytest.FixtureRequest) -> dict[str, Any]:
    return getattr(request, "param", {})


@pytest.mark.parametrize(
    "app_config", [{"SESSION_IDLE_TIMEOUT": 600, "SESSION_ABSOLUTE_TIMEOUT": 3600}], indirect=True
)
def test_the_timeouts_are_settings(app: Any, auth: Any, clock: Any) -> None:
    ann = signed_in_client(app, ANN)
    clock.advance(timedelta(minutes=11))
    assert is_signed_out(ann.get("/"))
    ann = signed_in_client(app, ANN)
    for _ in range(6):
        clock.advance(timedelta(minutes=9))
        assert ann.get("/").status_code == 200
    clock.advance(timedelta(minutes=7))
    assert is_signed_out(ann.get("/"))


# --- temporary passwords and the password rules ----------------------------------------------


def test_a_temporary_password_from_an_admin_must_be_changed_before_anything_else(
    app: Any, auth: Any
) -> None:
    root = signed_in_client(app, ADMIN)
    post(
        root,
        "/admin/users",
        email="bob@test.example",
        name="Bob",
        role="buyer",
        language="en",
        password="temporary pass 1",
    )
    bob = signed_in_client(app, "bob@test.example", "temporary pass 1")
    for path in ("/", "/buying/", "/dashboard", "/account/two-factor"):
        response = bob.get(path)
        assert response.headers.get("Location") == "/account/password", path
    assert post(bob, "/buying/reorder/recompute").headers["Location"] == "/account/password"
    assert bob.get("/account/password").status_code == 200
    post(
        bob,
        "/account/password",
        current_password="temporary pass 1",
        new_password="bobs own passphrase",
        repeat="bobs own passphrase",
    )
    assert bob.get("/").status_code == 200
    assert auth.find_user("bob@test.example").must_change_password is False


def test_an_admin_reset_signs_the_user_out_and_forces_a_new_password(app: Any, auth: Any) -> None:
    ann = signed_in_client(app, ANN)
    root = signed_in_client(app, ADMIN)
    user = auth.find_user(ANN)
    post(root, f"/admin/users/{user.id}/password", password="temporary pass 2")
    assert is_signed_out(ann.get("/"))
    ann = signed_in_client(app, ANN, "temporary pass 2")
    assert ann.get("/").headers["Location"] == "/account/password"
    assert post(ann, "/sign-out").headers["Location"] == "/sign-in"  # sign-out still works
    [entry] = audit(app, "user.password_reset_by_admin")
    assert (entry.actor, entry.target) == (ADMIN, ANN)


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("short pass", "at least 12 characters"),
        ("password1234", "most common passwords"),
        ("PASSWORD1234", "most common passwords"),
        ("ann@test.example", "may not be the e-mail address"),
    ],
)
def test_weak_passwords_are_refused_with_the_reason(
    app: Any, auth: Any, password: str, why: str
) -> None:
    ann = signed_in_client(app, ANN)
    post(
        ann,
        "/account/password",
        current_password=PASSWORD,
        new_password=password,
        repeat=password,
    )
    assert why in ann.get("/account/password").get_data(as_text=True)
    assert sign_in(app.test_client(), ANN, PASSWORD).status_code == 302
    root = signed_in_client(app, ADMIN)
    password = password.replace("ann@", "new@")
    post(root, "/admin/users", email="new@test.example", role="buyer", password=password)
    assert auth.find_user("new@test.example") is None


# --- two-factor sign-in -------------------------------------------------------------------


def turn_on_two_factor(client: Any, auth: Any, email: str, clock: Any) -> tuple[str, list[str]]:
    post(client, "/account/two-factor/start")
    page = client.get("/account/two-factor").get_data(as_text=True)
    # The QR code is inline SVG; the page runs no inline script (only static files).
    assert "<svg" in page and not re.search(r"<script(?![^>]*\bsrc=)", page)
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page).group(1)
    assert secret == auth.pending_two_factor_secret(auth.find_user(email).id)
    confirmed = post(client, "/account/two-factor/confirm", code=pyotp.TOTP(secret).at(clock.now()))
    codes = re.findall(r"<li><code>([a-z0-9-]{19})</code></li>", confirmed.get_data(as_text=True))
    assert len(codes) == 10
    clock.advance(timedelta(seconds=30))  # the next code is a new one
    return secret, codes


def code_step(client: Any, code: str) -> Any:
    page = client.get("/sign-in/code")
    assert page.status_code == 200
    return client.post(
        "/sign-in/code",
        data={"csrf_token": csrf_token(page.get_data(as_text=True)), "code": code},
    )


def test_two_factor_sign_in_needs_the_code_and_the_half_step_opens_nothing(
    app: Any, auth: Any, clock: Any
) -> None:
    ann = signed_in_client(app, ANN)
    secret, _ = turn_on_two_factor(ann, auth, ANN, clock)
    assert ann.get("/").status_code == 200  # the browser that turned it on stays signed in
    browser = app.test_client()
    first = sign_in(browser, ANN, PASSWORD)
    assert first.headers["Location"] == "/sign-in/code"
    for path in ("/", "/dashboard", "/warehouse", "/account/password"):
        assert is_signed_out(browser.get(path)), path
    assert code_step(browser, "000000").status_code == 401
    code = pyotp.TOTP(secret).at(clock.now())
    assert code_step(browser, code).headers["Location"] == "/warehouse"
    assert browser.get("/warehouse").status_code == 200
    # The same code again, within its 30 seconds, in another browser: refused.
    replay = app.test_client()
    sign_in(replay, ANN, PASSWORD)
    assert code_step(replay, code).status_code == 401
    clock.advance(timedelta(seconds=30))
    assert code_step(replay, pyotp.TOTP(secret).at(clock.now())).status_code == 302


def test_a_recovery_code_works_once(app: Any, auth: Any, clock: Any) -> None:
    ann = signed_in_client(app, ANN)
    _, codes = turn_on_two_factor(ann, auth, ANN, clock)
    browser = app.test_client()
    sign_in(browser, ANN, PASSWORD)
    assert code_step(browser, codes[3].upper().replace("-", " ")).status_code == 302
    again = app.test_client()
    sign_in(again, ANN, PASSWORD)
    assert code_step(again, codes[3]).status_code == 401
    assert auth.recovery_codes_left(auth.find_user(ANN).id) == 9


def test_wrong_codes_lock_the_account_like_wrong_passwords(app: Any, auth: Any, clock: Any) -> None:
    ann = signed_in_client(app, ANN)
    secret, _ = turn_on_two_factor(ann, auth, ANN, clock)
    attacker = app.test_client()  # knows the password, guesses codes
    assert sign_in(attacker, ANN, PASSWORD).status_code == 302
    for guess in ("111111", "222222", "333333", "444444", "555555"):
        assert code_step(attacker, guess).status_code == 401
    right = pyotp.TOTP(secret).at(clock.now())
    assert code_step(attacker, right).status_code == 401  # locked: even the right code
    assert sign_in(app.test_client(), ANN, PASSWORD).status_code == 401
    assert [e.action for e in audit(app, "sign_in.locked")] == ["sign_in.locked"]
    clock.advance(timedelta(minutes=16))
    owner = app.test_client()
    sign_in(owner, ANN, PASSWORD)
    assert code_step(owner, pyotp.TOTP(secret).at(clock.now())).status_code == 302


def test_re_entering_the_password_does_not_reset_the_count_of_wrong_codes(
    app: Any, auth: Any, clock: Any
) -> None:
    ann = signed_in_client(app, ANN)
    turn_on_two_factor(ann, auth, ANN, clock)
    attacker = app.test_client()
    for guess in ("111111", "222222", "333333", "444444", "555555"):
        sign_in(attacker, ANN, PASSWORD)
        assert code_step(attacker, guess).status_code == 401
    sign_in(attacker, ANN, PASSWORD)
    assert attacker.get("/sign-in/code").status_code == 302  # locked: no code step at all


def test_turning_two_factor_off_needs_the_password(app: Any, auth: Any, clock: Any) -> None:
    ann = signed_in_client(app, ANN)
    turn_on_two_factor(ann, auth, ANN, clock)
    post(ann, "/account/two-factor/disable", password="not the password")
    assert auth.find_user(ANN).two_factor_enabled
    post(ann, "/account/two-factor/disable", password=PASSWORD)
    assert not auth.find_user(ANN).two_factor_enabled
    assert sign_in(app.test_client(), ANN, PASSWORD).headers["Location"] == "/warehouse"
    actions = [e.action for e in audit(app) if e.action.startswith("user.2fa")]
    assert actions == ["user.2fa_enabled", "user.2fa_disabled"]


@pytest.mark.parametrize("app_config", [{"REQUIRE_2FA_FOR_ADMINS": True}], indirect=True)
def test_when_required_an_admin_sets_up_two_factor_before_anything_else(
    app: Any, auth: Any, clock: Any
) -> None:
    root = signed_in_client(app, ADMIN)
    for path in ("/", "/admin", "/returns"):
        assert root.get(path).headers["Location"] == "/account/two-factor", path
    ann = signed_in_client(app, ANN)
    assert ann.get("/").status_code == 200  # only admins
    turn_on_two_factor(root, auth, ADMIN, clock)
    assert root.get("/admin").status_code == 200
    post(root, "/account/two-factor/disable", password=PASSWORD)
    assert auth.find_user(ADMIN).two_factor_enabled  # admins must keep it


def test_api_tokens_are_unaffected_by_two_factor(app: Any, auth: Any, clock: Any) -> None:
    ann = signed_in_client(app, ANN)
    turn_on_two_factor(ann, auth, ANN, clock)
    _, secret = auth.create_token(ANN, "scanner")
    headers = {"Authorization": f"Bearer {secret}"}
    assert app.test_client().get("/api/v1/parts", headers=headers).status_code == 200


# --- API tokens ------------------------------------------------------------------------------


def test_tokens_expire_after_ninety_days_unless_never_was_chosen(
    app: Any, auth: Any, clock: Any
) -> None:
    root = signed_in_client(app, ADMIN)
    page = post(root, "/admin/tokens", email=ANN, name="scanner").get_data(as_text=True)
    default = re.search(r"<code>(sf_[^<]+)</code>", page).group(1)
    page = post(root, "/admin/tokens", email=ANN, name="erp", never_expires="y").get_data(
        as_text=True
    )
    forever = re.search(r"<code>(sf_[^<]+)</code>", page).group(1)
    table = root.get("/admin").get_data(as_text=True)
    expires = clock.now() + timedelta(days=90)
    assert format_skeleton("yMMMd", expires, locale="en") in table  # the page's own format
    assert f"by {ADMIN}" in table
    api = app.test_client()
    for secret in (default, forever):
        assert (
            api.get("/api/v1/parts", headers={"Authorization": f"Bearer {secret}"}).status_code
            == 200
        )
    clock.advance(timedelta(days=90, seconds=1))
    assert (
        api.get("/api/v1/parts", headers={"Authorization": f"Bearer {default}"}).status_code == 401
    )
    assert (
        api.get("/api/v1/parts", headers={"Authorization": f"Bearer {forever}"}).status_code == 200
    )
    assert "expired" in signed_in_client(app, ADMIN).get("/admin").get_data(as_text=True)


def test_a_token_made_by_an_admin_for_someone_else_names_the_admin(app: Any, auth: Any) -> None:
    root = signed_in_client(app, ADMIN)
    post(root, "/admin/tokens", email=ANN, name="scanner", expires_days="7")
    [token] = auth.list_tokens()
    assert token.created_by == ADMIN
    assert (token.expires_at - token.created_at) == timedelta(days=7)
    post(root, f"/admin/tokens/{token.id}/revoke")
    created, revoked = audit(app, "token.created")[0], audit(app, "token.revoked")[0]
    assert (created.actor, created.target_type, created.target) == (ADMIN, "user", ANN)
    assert created.details["token"] == token.prefix
    assert (revoked.actor, revoked.target) == (ADMIN, ANN)


# --- the audit log ---------------------------------------------------------------------------


def test_sign_ins_and_account_changes_are_in_the_audit_log_without_passwords(
    app: Any, auth: Any
) -> None:
    sign_in(app.test_client(), ANN, "a wrong guess here")
    sign_in(app.test_client(), "nobody@test.example", "another guess")
    root = signed_in_client(app, ADMIN)
    post(root, "/admin/users", email="bob@test.example", role="buyer", password="temporary pass 1")
    bob = auth.find_user("bob@test.example")
    post(root, f"/admin/users/{bob.id}", role="service_desk", active="1", language="en")
    post(root, "/sign-out")
    entries = audit(app)
    actions = [e.action for e in entries]
    assert actions[:2] == ["user.created", "user.created"]  # the fixture's, by the CLI actor
    assert actions[2:] == [
        "sign_in.failed",
        "sign_in.failed",
        "sign_in.succeeded",
        "user.created",
        "user.role_changed",
        "sign_out",
    ]
    wrong, unknown, succeeded = entries[2], entries[3], entries[4]
    assert (wrong.target, wrong.details["reason"]) == (ANN, "wrong_password")
    assert (unknown.target, unknown.details["reason"]) == ("nobody@test.example", "unknown_user")
    assert "ip" in wrong.details and succeeded.actor == ADMIN
    assert entries[5].actor == ADMIN and entries[5].details["temporary_password"] is True
    assert entries[6].details == {"from": "buyer", "to": "service_desk"}
    text = repr([(e.reason, e.details) for e in entries])
    for secret in ("a wrong guess here", "another guess", "temporary pass 1", PASSWORD):
        assert secret not in text


# --- the cookie ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "app_config", [{"PUBLIC_URL": "https://spares.example.com"}], indirect=True
)
def test_an_https_public_url_makes_the_session_cookie_secure(app: Any) -> None:
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_NAME"] == "__Host-spareflow"
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_a_plain_http_public_url_is_warned_about_at_start_up(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    from web import create_app

    with caplog.at_level(logging.WARNING, logger="web.config"):
        app = create_app(
            {"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "k",
             "PUBLIC_URL": "http://spares.example.com"}
        )  # fmt: skip
    app.extensions["spareflow"].engine.dispose()
    assert app.config["SESSION_COOKIE_SECURE"] is False
    assert any("not https" in record.getMessage() for record in caplog.records)


def test_an_admin_turns_off_a_colleagues_lost_two_factor_but_not_their_own(
    app: Any, auth: Any, clock: Any
) -> None:
    ann = signed_in_client(app, ANN)
    turn_on_two_factor(ann, auth, ANN, clock)
    root = signed_in_client(app, ADMIN)
    turn_on_two_factor(root, auth, ADMIN, clock)
    me, her = auth.find_user(ADMIN), auth.find_user(ANN)
    post(root, f"/admin/users/{me.id}/two-factor/reset")
    assert auth.find_user(ADMIN).two_factor_enabled
    post(root, f"/admin/users/{her.id}/two-factor/reset")
    assert not auth.find_user(ANN).two_factor_enabled
    assert is_signed_out(ann.get("/"))
    assert sign_in(app.test_client(), ANN, PASSWORD).headers["Location"] == "/warehouse"
    disabled = audit(app, "user.2fa_disabled")[-1]
    assert (disabled.actor, disabled.target, disabled.details["by_admin"]) == (ADMIN, ANN, True)
