"""Every page (HTML route) × every role, and anonymous: allowed or refused as documented.

Built from the app's URL map: every route's view declares who may call it
(``allowed_roles``, set by ``roles_required``, ``signed_in`` or ``public(why)`` in
web/pages/access.py, and ``roles`` for the API), a route without a declaration fails with
its name, and the declaration must be the line of the table below. Then each role, and a
signed-out visitor, calls each route: signed-out visitors are sent to the sign-in page,
signed-in users of another role get 403, public routes answer whoever calls. The API has
its own matrix (tests/web/test_api_roles.py).
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from accounts.models import Role
from tests.support import desk as builders
from tests.support.route_declarations import declared, routes, undeclared, undeclared_message
from tests.web.test_pages import PASSWORD, csrf_token, sign_in
from web.pages.access import PUBLIC

A, W, B, S = Role.ADMIN, Role.WAREHOUSE, Role.BUYER, Role.SERVICE_DESK
SIGNED_IN = frozenset({A, W, B, S})
ID32 = "<int(max=2147483647):"

# From the pages' documentation (README "Web pages", docs/returns.md, docs/buyers.md): the
# views' declarations must say the same, so changing who may open what changes this table.
EXPECTED_PAGE_ROLES: dict[tuple[str, str], frozenset[Role] | str] = {
    ("GET", "/"): SIGNED_IN,
    ("GET", "/dashboard"): SIGNED_IN,
    ("GET", "/parts/<sku>"): SIGNED_IN,
    ("GET", "/serials"): frozenset({A, W, S}),
    ("GET", "/serials/recall.xlsx"): frozenset({A, S}),
    ("GET", "/sign-in"): PUBLIC,
    ("POST", "/sign-in"): PUBLIC,
    # the second step of signing in (two-factor): needs the password step in the same browser
    ("GET", "/sign-in/code"): PUBLIC,
    ("POST", "/sign-in/code"): PUBLIC,
    ("POST", "/sign-out"): SIGNED_IN,
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    # Guarded by its own bearer token (SPAREFLOW_METRICS_TOKEN), not by a role.
    ("GET", "/internal/metrics"): PUBLIC,
    ("GET", "/static/<path:filename>"): PUBLIC,  # the pages' CSS, scripts and images
    ("POST", "/webhooks/carriers/<carrier>"): PUBLIC,  # authenticated by signature instead
    ("POST", "/webhooks/stripe"): PUBLIC,  # by its Stripe-Signature
    ("POST", "/webhooks/shopify"): PUBLIC,  # by its X-Shopify-Hmac-Sha256
    ("POST", "/webhooks/inbound-email"): PUBLIC,  # by Mailgun's signature
    # the customer's status page: public, reached only through its random link
    ("GET", "/status/<token>"): PUBLIC,
    ("GET", "/status/<token>/sheet"): PUBLIC,
    ("POST", "/status/<token>/feedback"): PUBLIC,
    ("POST", "/status/<token>/pickup"): PUBLIC,
    ("POST", "/status/<token>/message"): PUBLIC,
    # the returns portal: the customer proves the order (number + e-mail or postcode)
    ("GET", "/returns-portal"): PUBLIC,
    ("POST", "/returns-portal/order"): PUBLIC,
    ("POST", "/returns-portal/return"): PUBLIC,
    ("GET", "/returns-portal/label/<token>"): PUBLIC,  # by the status link's random token
    ("POST", "/returns-portal/solved"): PUBLIC,  # "this solved it", with the order's proof
    # the signed-in user's own settings
    ("POST", "/account/language"): SIGNED_IN,
    ("GET", "/account/password"): SIGNED_IN,
    ("POST", "/account/password"): SIGNED_IN,
    ("GET", "/account/two-factor"): SIGNED_IN,
    ("POST", "/account/two-factor/start"): SIGNED_IN,
    ("POST", "/account/two-factor/confirm"): SIGNED_IN,
    ("POST", "/account/two-factor/recovery-codes"): SIGNED_IN,
    ("POST", "/account/two-factor/disable"): SIGNED_IN,
    # administration: admins only
    ("GET", "/admin"): {A},
    ("POST", "/admin/users"): {A},
    ("POST", f"/admin/users/{ID32}user_id>"): {A},
    ("POST", f"/admin/users/{ID32}user_id>/password"): {A},
    ("POST", f"/admin/users/{ID32}user_id>/two-factor/reset"): {A},
    ("POST", "/admin/tokens"): {A},
    ("POST", f"/admin/tokens/{ID32}token_id>/revoke"): {A},
    ("POST", "/admin/carrier-secrets"): {A},
    ("GET", "/admin/messages"): {A},
    ("GET", "/admin/messages/inbound"): {A},
    ("GET", "/admin/messages/<kind>/<language>"): {A},
    ("POST", "/admin/messages/<kind>/<language>"): {A},
    ("POST", "/admin/messages/<kind>/<language>/reset"): {A},
    ("POST", "/admin/messages/<kind>/<language>/preview"): {A},
    ("GET", "/admin/audit"): {A},
    ("GET", "/admin/audit.xlsx"): {A},
    # metrics: the desk, buyers and admins
    ("GET", "/metrics"): {A, B, S},
    # the knowledge base: the desk and admins
    ("GET", "/knowledge"): {A, S},
    ("GET", "/knowledge/<int(max=2147483647):article_id>"): {A, S},
    ("GET", "/knowledge/new"): {A, S},
    ("POST", "/knowledge/new"): {A, S},
    ("GET", "/knowledge/<int(max=2147483647):article_id>/edit"): {A, S},
    ("POST", "/knowledge/<int(max=2147483647):article_id>/edit"): {A, S},
    ("GET", "/knowledge/suggestions"): {A, S},
    ("POST", "/returns/<number>/knowledge/<action>"): {A, S},
    ("GET", "/metrics/report.xlsx"): {A, B, S},
    # buying: buyers and admins
    ("GET", "/buying/"): {A, B},
    ("GET", "/buying/reorder.xlsx"): {A, B},
    ("POST", "/buying/reorder/import"): {A, B},
    ("POST", "/buying/reorder/recompute"): {A, B},
    ("POST", "/buying/planning/targets"): {A, B},
    ("GET", "/buying/purchase-orders"): {A, B},
    ("GET", "/buying/purchase-orders/<number>"): {A, B},
    ("POST", "/buying/purchase-orders/<number>/send"): {A, B},
    ("POST", "/buying/purchase-orders/<number>/cancel"): {A, B},
    ("GET", "/buying/catalogue.xlsx"): {A, B},
    ("POST", "/buying/catalogue/import"): {A, B},
    ("POST", "/buying/alerts/read"): {A, B},
    ("GET", "/loans"): {A, W, S},
    # owners (docs/desk.md): the desk takes, hands over, notes; admins set the desk up
    ("POST", "/desk/cases/<number>/take"): {A, S},
    ("POST", "/desk/cases/<number>/hand-over"): {A, S},
    ("POST", "/desk/cases/<number>/notes"): {A, S},
    ("GET", "/desk/cases/<number>/canned/<int:reply_id>"): {A, S},
    ("GET", "/desk/shifts"): {A, S},
    ("GET", "/admin/desk"): {A},
    ("POST", "/admin/desk/teams"): {A},
    ("POST", "/admin/desk/hours"): {A},
    ("POST", "/admin/desk/days-off"): {A},
    ("POST", "/admin/desk/rules"): {A},
    ("POST", "/admin/desk/rules/<int:rule_id>/delete"): {A},
    ("POST", "/admin/desk/canned"): {A},
    ("POST", "/admin/desk/canned/<int:reply_id>/delete"): {A},
    ("POST", "/loans/lend/<number>"): {A, W, S},
    ("POST", "/loans/<int(max=2147483647):loan_id>/<action>"): {A, W, S},
    ("GET", "/buying/claims"): {A, B},
    ("GET", "/buying/claims/export.xlsx"): {A, B},
    ("GET", "/buying/claims/<int(max=2147483647):claim_id>"): {A, B},
    ("POST", "/buying/claims/<int(max=2147483647):claim_id>/<action>"): {A, B},
    # the returns desk: service desk and admins; the warehouse may read an RMA and its sheet
    ("GET", "/returns"): {A, S},
    ("GET", "/returns/new"): {A, S},
    ("POST", "/returns/new"): {A, S},
    ("GET", "/returns/<number>"): {A, S, W},
    ("GET", "/returns/<number>/sheet"): {A, S, W},
    ("GET", "/returns/parcels/<tracking_number>/label"): {A, S, W},
    ("GET", "/returns/<number>/live"): {A, S, W},  # the RMA page's live parts (htmx polls)
    ("GET", "/returns/queue/live"): {A, S},  # the desk queue's live table
    ("GET", "/returns/<number>/photos/<int:attachment_id>"): {A, S, W},
    ("GET", "/returns/<number>/customer-address"): {A, S},
    ("POST", "/returns/<number>/customer-address"): {A, S},
    ("POST", "/returns/<number>/<action>"): {A, S},  # incl. status-link: a new status link
    ("GET", "/returns/cases/new"): {A, S},
    ("POST", "/returns/cases/new"): {A, S},
    ("GET", "/returns/cases/<number>"): {A, S},
    ("POST", "/returns/cases/<number>/<move>"): {A, S},
    ("GET", "/returns/cases/<number>/convert"): {A, S},
    ("POST", "/returns/cases/<number>/convert"): {A, S},
    ("GET", "/returns/followups"): {A, S},
    ("POST", "/returns/followups/<int:followup_id>"): {A, S},
    ("POST", "/returns/<number>/repair/<action>"): {A, W},  # the technician's repair order
    ("POST", "/returns/alerts/read"): {A, S},
    # sales orders: the desk looks them up and opens returns from them
    ("GET", "/orders"): {A, S},
    ("GET", "/orders/<number>"): {A, S},
    ("GET", "/orders/<number>/return"): {A, S},
    ("POST", "/orders/<number>/return"): {A, S},
    # the warehouse: warehouse staff and admins
    ("GET", "/warehouse"): {A, W},
    ("GET", "/warehouse/receive"): {A, W},
    ("POST", "/warehouse/receive"): {A, W},
    ("GET", "/warehouse/move"): {A, W},
    ("POST", "/warehouse/move"): {A, W},
    ("GET", "/warehouse/count"): {A, W},
    ("POST", "/warehouse/count"): {A, W},
    ("GET", "/warehouse/pick-list"): {A, W},
    ("POST", f"/warehouse/picks/{ID32}replacement_id>/label"): {A, W},
    ("GET", f"/warehouse/picks/{ID32}replacement_id>/label"): {A, W},
    ("POST", f"/warehouse/picks/{ID32}replacement_id>/ship"): {A, W},
    ("GET", "/warehouse/purchase-orders"): {A, W},
    ("POST", "/warehouse/purchase-orders"): {A, W},
    ("GET", "/warehouse/purchase-orders/<number>"): {A, W},
    ("POST", "/warehouse/purchase-orders/<number>"): {A, W},
    ("POST", "/warehouse/returns"): {A, W},
    ("GET", "/warehouse/returns/<number>"): {A, W},
    ("POST", "/warehouse/returns/<number>"): {A, W},
}  # fmt: skip


def concrete(rule: str) -> str:
    path = re.sub(r"<int\([^)]*\):\w+>|<int:\w+>", "999999", rule)
    return (
        path.replace("<sku>", "NO-SUCH-SKU")
        .replace("<number>", "NO-SUCH-NUMBER")
        .replace("<action>", "cancel")
        .replace("<int(max=2147483647):claim_id>", "999999")
        .replace("<int(max=2147483647):loan_id>", "999999")
        .replace("<carrier>", "sandbox")
        .replace("<kind>", "no-such-kind")
        .replace("<language>", "en")
        .replace("<token>", "not-a-signed-token")
        .replace("<path:filename>", "spareflow.css")
    )


def test_every_route_of_the_app_declares_who_may_call_it(app: Any) -> None:
    assert undeclared(app) == [], undeclared_message(app)


def test_a_route_without_a_declaration_is_named(app: Any) -> None:
    """The check above, on a route added without a declaration (as a new view would be)."""
    app.add_url_rule("/forgotten", "forgotten", lambda: "no guard", methods=["GET", "POST"])
    assert undeclared(app) == ["GET /forgotten (forgotten)", "POST /forgotten (forgotten)"]
    assert "GET /forgotten (forgotten)" in undeclared_message(app)


def test_every_page_route_declares_what_the_table_says(app: Any) -> None:
    found = routes(app, api=False)
    assert set(found) == set(EXPECTED_PAGE_ROLES), (
        "new or removed page routes: "
        f"{sorted(set(found) ^ set(EXPECTED_PAGE_ROLES))}; add them to EXPECTED_PAGE_ROLES"
    )
    wrong = {
        key: declared(view)
        for key, view in found.items()
        if getattr(view, "allowed_roles", None) is not None
        and declared(view) != EXPECTED_PAGE_ROLES[key]
    }
    assert wrong == {}, "declared otherwise than EXPECTED_PAGE_ROLES says"
    for key, view in found.items():
        if declared(view) == PUBLIC:
            assert view.public_because.strip(), key  # a public route says why it may be


@pytest.fixture
def people(app: Any) -> dict[Role, Any]:
    """A signed-in test client per role."""
    auth = app.extensions["spareflow"].auth
    clients = {}
    for role in Role:
        email = f"page-{role.value}@test.example"
        auth.create_user(email, role, PASSWORD)
        client = app.test_client()
        assert sign_in(client, email, PASSWORD).status_code == 302
        clients[role] = client
    return clients


def call(client: Any, method: str, rule: str, token: str | None) -> Any:
    data = {"csrf_token": token} if token else {}
    return client.open(concrete(rule), method=method, data=data)


def to_sign_in(response: Any) -> bool:
    return response.status_code == 302 and response.headers["Location"].startswith("/sign-in")


GUARDED = sorted(k for k, v in EXPECTED_PAGE_ROLES.items() if v != PUBLIC)


def test_signed_out_visitors_are_sent_to_sign_in_from_every_guarded_page(app: Any) -> None:
    client = app.test_client()
    token = csrf_token(client.get("/sign-in").get_data(as_text=True))
    for method, rule in GUARDED:
        response = call(client, method, rule, token)
        assert to_sign_in(response), (method, rule, response.status_code)
        if method == "GET":
            assert "next=" in response.headers["Location"], rule


@pytest.mark.parametrize("role", list(Role), ids=[r.value for r in Role])
def test_each_role_opens_exactly_its_pages(app: Any, people: dict[Role, Any], role: Role) -> None:
    client = people[role]
    token = csrf_token(client.get("/").get_data(as_text=True))
    for method, rule in GUARDED:
        if rule == "/sign-out":
            continue  # below: it would end the session the loop needs
        response = call(client, method, rule, token)
        expected = EXPECTED_PAGE_ROLES[(method, rule)]
        if role in expected:
            assert response.status_code not in (401, 403), (role, method, rule)
            assert not to_sign_in(response), (role, method, rule)
        else:
            assert response.status_code == 403, (role, method, rule, response.status_code)
            assert "This page is for these roles" in response.get_data(as_text=True)
    signed_out = client.post("/sign-out", data={"csrf_token": token})
    assert to_sign_in(signed_out)
    assert to_sign_in(client.get("/"))


PUBLIC_ROUTES = sorted(k for k, v in EXPECTED_PAGE_ROLES.items() if v == PUBLIC)
#: Public, but only as the second step of signing in: without the password step in the same
#: browser (or already signed in), they send the visitor back to the first step.
SECOND_STEP = {("GET", "/sign-in/code"), ("POST", "/sign-in/code")}


def test_public_routes_answer_whoever_calls_them(app: Any, people: dict[Role, Any]) -> None:
    """Signed out or signed in with any role: never sent to sign in, never refused for a role."""
    callers = {"anonymous": app.test_client(), **{role.value: people[role] for role in Role}}
    for name, client in callers.items():
        token = csrf_token(client.get("/sign-in", follow_redirects=True).get_data(as_text=True))
        for method, rule in PUBLIC_ROUTES:
            if (method, rule) == ("POST", "/sign-in") and name != "anonymous":
                continue  # signing in again would replace the session under test
            response = call(client, method, rule, token)
            response.close()  # a static file's stream
            assert response.status_code != 403, (name, method, rule)
            assert (method, rule) in SECOND_STEP or not to_sign_in(response), (name, method, rule)
            # /readyz answers 503 on the tests' schema (built from the models, not migrated).
            not_ready = rule == "/readyz" and response.status_code == 503
            assert response.status_code < 500 or not_ready, (name, method, rule)


def test_public_routes_answer_without_signing_in(app: Any) -> None:
    client = app.test_client()
    assert client.get("/sign-in").status_code == 200
    with client.get("/static/spareflow.css") as stylesheet:
        assert stylesheet.status_code == 200
    assert client.get("/healthz").json == {"status": "ok", "database": "ok"}
    # The webhook endpoint is public, and refuses what is not signed.
    assert client.post("/webhooks/carriers/sandbox", json={}).status_code == 401
    assert client.post("/webhooks/stripe", json={}).status_code == 401
    assert client.post("/webhooks/shopify", json={}).status_code == 401
    assert client.post("/webhooks/inbound-email", data={}).status_code == 401
    # The status page needs its signed link: anything else is a plain 404.
    for method, rule in (k for k, v in EXPECTED_PAGE_ROLES.items() if k[1].startswith("/status")):
        token = csrf_token(client.get("/sign-in").get_data(as_text=True))
        data = {"csrf_token": token} if method == "POST" else None
        assert client.open(concrete(rule), method=method, data=data).status_code == 404, rule


def test_a_status_link_shows_its_own_rma_and_a_forged_one_nothing(app: Any) -> None:
    from decimal import Decimal

    from returns.status import Channel, Reason, Resolution

    services = app.extensions["spareflow"]
    services.inventory.create_part(sku="OWN-2", name="Owned part")
    numbers = [
        builders.open_rma(
            services.returns,
            "desk@test.example",
            customer={"name": name, "email": f"{name.lower()}@example.com"},
            channel=Channel.PHONE,
            reason=Reason.DEFECTIVE,
            resolution=Resolution.REPLACEMENT,
            lines=[{"sku": "OWN-2", "qty": 1, "unit_price": Decimal("9")}],
        ).number
        for name in ("Alice", "Bob")
    ]
    client = app.test_client()
    alice = services.status_links.issue(numbers[0]).rsplit("/", 1)[1]
    page = client.get(f"/status/{alice}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert numbers[0] in html and numbers[1] not in html and "Bob" not in html
    forged = alice[:-2] + ("AA" if not alice.endswith("AA") else "BB")
    assert client.get(f"/status/{forged}").status_code == 404
    assert client.get(f"/status/{numbers[1]}").status_code == 404


def test_the_language_setting_changes_only_the_signed_in_users_own(
    app: Any, people: dict[Role, Any]
) -> None:
    auth = app.extensions["spareflow"].auth
    buyer = people[B]
    token = csrf_token(buyer.get("/").get_data(as_text=True))
    other = auth.find_user("page-warehouse@test.example")
    response = buyer.post(
        "/account/language",
        data={"csrf_token": token, "language": "zh_Hans", "user_id": str(other.id)},
    )
    assert response.status_code == 302
    assert auth.find_user("page-buyer@test.example").language == "zh_Hans"
    assert auth.find_user("page-warehouse@test.example").language == "en"


# --- ownership: a user's objects by id ----------------------------------------------------------


def test_nobody_but_an_admin_revokes_another_users_token_or_changes_their_account(
    app: Any, people: dict[Role, Any]
) -> None:
    """The only objects that belong to a user are the account and its API tokens."""
    auth = app.extensions["spareflow"].auth
    victim = auth.find_user("page-buyer@test.example")
    _, secret = auth.create_token(victim.email, "victim's ERP sync")
    [token] = [t for t in auth.list_tokens() if t.name == "victim's ERP sync"]
    headers = {"Authorization": f"Bearer {secret}"}
    for role in (W, B, S):  # the buyer too: even their own token is revoked by an admin only
        client = people[role]
        form_token = csrf_token(client.get("/").get_data(as_text=True))
        revoke = client.post(f"/admin/tokens/{token.id}/revoke", data={"csrf_token": form_token})
        assert revoke.status_code == 403, role
        promote = client.post(
            f"/admin/users/{victim.id}",
            data={"csrf_token": form_token, "role": "admin", "active": "1"},
        )
        assert promote.status_code == 403, role
        assert app.test_client().get("/api/v1/parts", headers=headers).status_code == 200
    assert auth.find_user(victim.email).role is Role.BUYER
    # An admin may; unknown ids are a 404, not an error.
    admin = people[A]
    form_token = csrf_token(admin.get("/admin").get_data(as_text=True))
    assert admin.post(
        "/admin/tokens/999999/revoke", data={"csrf_token": form_token}
    ).status_code in (
        302,
        404,
    )
    admin.post(f"/admin/tokens/{token.id}/revoke", data={"csrf_token": form_token})
    assert app.test_client().get("/api/v1/parts", headers=headers).status_code == 401


def test_an_api_token_acts_only_as_its_own_user(app: Any, people: dict[Role, Any]) -> None:
    auth = app.extensions["spareflow"].auth
    inventory = app.extensions["spareflow"].inventory
    inventory.create_location(code="MAIN/A-01-01")
    inventory.create_part(sku="OWN-1", name="Owned")
    _, secret = auth.create_token("page-warehouse@test.example", "scanner")
    client = app.test_client()
    response = client.post(
        "/api/v1/stock/receipts",
        headers={"Authorization": f"Bearer {secret}", "X-User": "page-admin@test.example"},
        json={"sku": "OWN-1", "location": "MAIN/A-01-01", "qty": 2, "reference": "R-1"},
    )
    assert response.status_code == 201, response.json
    assert response.json["actor"] == "page-warehouse@test.example"
