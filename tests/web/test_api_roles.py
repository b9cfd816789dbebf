"""Every API endpoint × every role, and no token: allowed or refused exactly as documented.

Built from the app's URL map: each view's ``roles(...)`` declaration (``allowed_roles``) must
be the line of the table below, a view without one fails with its name
(tests/web/test_page_roles.py checks every route of the app for that), and each role's
token, and no token, is tried on each endpoint.
"""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import Role
from returns.cases import MOVES
from tests.support.route_declarations import declared, routes
from web.pages.access import PUBLIC

A, W, B, S = Role.ADMIN, Role.WAREHOUSE, Role.BUYER, Role.SERVICE_DESK
EVERYONE = {A, W, B, S}

# The documented matrix (docs/api.md). Changing who may call what must change this table.
EXPECTED_ROLES: dict[tuple[str, str], set[Role]] = {
    ("GET", "/api/v1/parts"): EVERYONE,
    ("POST", "/api/v1/parts"): {A, B},
    ("GET", "/api/v1/parts/<sku>"): EVERYONE,
    ("PATCH", "/api/v1/parts/<sku>"): {A, B},
    ("GET", "/api/v1/locations"): EVERYONE,
    ("POST", "/api/v1/locations"): {A, W},
    ("GET", "/api/v1/suppliers"): EVERYONE,
    ("POST", "/api/v1/suppliers"): {A, B},
    ("POST", "/api/v1/stock/receipts"): {A, W},
    ("POST", "/api/v1/stock/issues"): {A, W},
    ("POST", "/api/v1/stock/transfers"): {A, W},
    ("POST", "/api/v1/stock/adjustments"): {A, W},
    ("GET", "/api/v1/stock/<sku>"): EVERYONE,
    ("GET", "/api/v1/stock/<sku>/moves"): {A, W, B},
    ("POST", "/api/v1/reservations"): {A, W, S},
    ("POST", "/api/v1/reservations/batch"): {A, W, S},
    ("DELETE", "/api/v1/reservations/<int:reservation_id>"): {A, W, S},
    ("POST", "/api/v1/shipments"): {A, W, S},
    ("GET", "/api/v1/shipments/<tracking_number>"): EVERYONE,
    ("POST", "/api/v1/shipments/<tracking_number>/events"): {A, W, S},
    ("GET", "/api/v1/shipments/<tracking_number>/label"): {A, W, S},  # the customer's address
    ("POST", "/api/v1/returns"): {A, S},
    ("GET", "/api/v1/returns"): EVERYONE,
    ("GET", "/api/v1/returns/<rma>"): EVERYONE,
    ("POST", "/api/v1/returns/<rma>/authorise"): {A, S},
    ("POST", "/api/v1/returns/<rma>/reject"): {A, S},
    ("POST", "/api/v1/returns/<rma>/cancel"): {A, S},
    ("POST", "/api/v1/returns/<rma>/receive"): {A, W},
    ("POST", "/api/v1/returns/<rma>/inspect"): {A, W},
    ("POST", "/api/v1/returns/<rma>/close"): {A, S},
    ("POST", "/api/v1/returns/<rma>/follow-up"): {A, S},
    ("POST", "/api/v1/returns/<rma>/refund/release"): {A},
    ("POST", "/api/v1/returns/<rma>/refund/retry"): {A},
    ("POST", "/api/v1/returns/<rma>/label/retry"): {A, S},
    ("POST", "/api/v1/returns/<rma>/label/approve"): {A},
    ("POST", "/api/v1/returns/<rma>/reply"): {A, S},
    ("POST", "/api/v1/returns/<rma>/pickup"): {A, S},
    ("POST", "/api/v1/returns/<rma>/status-link"): {A, S},
    ("PATCH", "/api/v1/returns/<rma>/customer-address"): {A, S},
    ("POST", "/api/v1/orders"): {A},  # the order feed: an integration with an admin's token
    ("GET", "/api/v1/orders"): {A, S},
    ("GET", "/api/v1/orders/<number>"): {A, S},
    ("GET", "/api/v1/returns/<rma>/repair"): {A, W, S},
    ("POST", "/api/v1/returns/<rma>/repair"): {A, W},
    ("POST", "/api/v1/returns/<rma>/repair/parts"): {A, W},
    ("POST", "/api/v1/returns/<rma>/repair/parts/retry"): {A, W},
    ("POST", "/api/v1/returns/<rma>/repair/labour"): {A, W},
    ("POST", "/api/v1/returns/<rma>/repair/test"): {A, W},
    ("POST", "/api/v1/returns/<rma>/repair/ship"): {A, W},
    ("POST", "/api/v1/emails/bounces"): {A},
    ("GET", "/api/v1/audit"): {A},
    ("GET", "/api/v1/replacements"): {A, W, S},
    ("POST", "/api/v1/replacements/<int(max=2147483647):replacement_id>/ship"): {A, W},
    ("POST", "/api/v1/replacements/<int(max=2147483647):replacement_id>/label"): {A, W},
    ("GET", "/api/v1/replacements/<int(max=2147483647):replacement_id>/label"): {A, W},
    ("GET", "/api/v1/reorder/suggestions"): {A, B},
    ("GET", "/api/v1/reorder/export.xlsx"): {A, B},
    ("POST", "/api/v1/reorder/import"): {A, B},
    ("POST", "/api/v1/reorder/recompute"): {A, B},
    ("GET", "/api/v1/reorder/policies/<sku>"): {A, B},
    ("PATCH", "/api/v1/reorder/policies/<sku>"): {A, B},
    ("GET", "/api/v1/planning/targets"): {A, B},
    ("PUT", "/api/v1/planning/targets"): {A, B},
    ("GET", "/api/v1/planning/tradeoff"): {A, B},
    ("GET", "/api/v1/purchase-orders"): {A, W, B},
    ("GET", "/api/v1/purchase-orders/<number>"): {A, W, B},
    ("POST", "/api/v1/purchase-orders/<number>/send"): {A, B},
    ("POST", "/api/v1/purchase-orders/<number>/cancel"): {A, B},
    ("POST", "/api/v1/purchase-orders/<number>/receive"): {A, W},
    ("GET", "/api/v1/catalogue/export.xlsx"): {A, B},
    ("POST", "/api/v1/catalogue/import"): {A, B},
    ("GET", "/api/v1/order-sheets/export.xlsx"): {A, S},
    ("POST", "/api/v1/order-sheets/import"): {A},
    ("GET", "/api/v1/cycle-counts/export.xlsx"): {A, W},
    ("POST", "/api/v1/cycle-counts/import"): {A, W},
    ("GET", "/api/v1/metrics"): {A, B, S},
    ("GET", "/api/v1/metrics/knowledge"): {A, B, S},
    ("POST", "/api/v1/knowledge"): {A, S},
    ("GET", "/api/v1/knowledge"): {A, S},
    ("GET", "/api/v1/knowledge/suggest"): {A, S},
    ("GET", "/api/v1/knowledge/<int(max=2147483647):article_id>"): {A, S},
    ("PATCH", "/api/v1/knowledge/<int(max=2147483647):article_id>"): {A, S},
    ("GET", "/api/v1/knowledge/<int(max=2147483647):article_id>/revisions"): {A, S},
    ("GET", "/api/v1/returns/<rma>/knowledge"): {A, S},
    ("POST", "/api/v1/returns/<rma>/knowledge"): {A, S},
    ("POST", "/api/v1/returns/<rma>/solved-without-return"): {A, S},
    ("POST", "/api/v1/returns/<rma>/loans"): {A, W, S},
    ("POST", "/api/v1/cases"): {A, S},
    ("GET", "/api/v1/cases"): {A, S},
    ("GET", "/api/v1/cases/<rma>"): {A, S},
    **{("POST", f"/api/v1/cases/<rma>/{move}"): {A, S} for move in MOVES},
    ("POST", "/api/v1/cases/<rma>/close"): {A, S},
    ("POST", "/api/v1/cases/<rma>/convert"): {A, S},
    ("GET", "/api/v1/cases/followups"): {A, S},
    ("POST", "/api/v1/cases/followups/<int(max=2147483647):followup_id>/calls"): {A, S},
    ("GET", "/api/v1/loans"): {A, W, S},
    ("GET", "/api/v1/loans/<int(max=2147483647):loan_id>"): {A, W, S},
    ("POST", "/api/v1/loans/<int(max=2147483647):loan_id>/return"): {A, W, S},
    ("POST", "/api/v1/loans/<int(max=2147483647):loan_id>/charge"): {A},
    ("POST", "/api/v1/loans/<int(max=2147483647):loan_id>/write-off"): {A},
    ("GET", "/api/v1/claims"): {A, B},
    ("GET", "/api/v1/claims/export.xlsx"): {A, B},
    ("GET", "/api/v1/claims/figures"): {A, B},
    ("GET", "/api/v1/claims/<int(max=2147483647):claim_id>"): {A, B},
    ("POST", "/api/v1/claims/<int(max=2147483647):claim_id>/ship"): {A, B},
    ("POST", "/api/v1/claims/<int(max=2147483647):claim_id>/acknowledge"): {A, B},
    ("POST", "/api/v1/claims/<int(max=2147483647):claim_id>/credit"): {A, B},
    ("POST", "/api/v1/claims/<int(max=2147483647):claim_id>/reject"): {A, B},
    ("POST", "/api/v1/claims/<int(max=2147483647):claim_id>/cancel"): {A, B},
    ("GET", "/api/v1/serials/<serial>"): {A, W, S},  # names the customer who has it
    ("GET", "/api/v1/serials/recall.xlsx"): {A, S},  # a list of customers' contacts
    # Owners, notes and canned replies (docs/desk.md): the desk works them, admins set up.
    ("GET", "/api/v1/returns/<rma>/owner"): {A, S},
    ("POST", "/api/v1/returns/<rma>/take"): {A, S},
    ("POST", "/api/v1/returns/<rma>/hand-over"): {A, S},
    ("GET", "/api/v1/returns/<rma>/notes"): {A, S},
    ("POST", "/api/v1/returns/<rma>/notes"): {A, S},
    ("GET", "/api/v1/returns/<rma>/canned-replies/<int(max=2147483647):reply_id>"): {A, S},
    ("GET", "/api/v1/canned-replies"): {A, S},
    ("POST", "/api/v1/canned-replies"): {A},
    ("PUT", "/api/v1/canned-replies/<int(max=2147483647):reply_id>"): {A},
    ("DELETE", "/api/v1/canned-replies/<int(max=2147483647):reply_id>"): {A},
    ("GET", "/api/v1/desk/teams"): {A, S},
    ("POST", "/api/v1/desk/teams"): {A},
    ("PUT", "/api/v1/desk/teams/<int(max=2147483647):team_id>"): {A},
    ("GET", "/api/v1/desk/shifts"): {A, S},
    ("PUT", "/api/v1/desk/shifts/<int(max=2147483647):user_id>"): {A},
    ("POST", "/api/v1/desk/shifts/<int(max=2147483647):user_id>/days-off"): {A},
    ("GET", "/api/v1/desk/routing-rules"): {A, S},
    ("POST", "/api/v1/desk/routing-rules"): {A},
    ("DELETE", "/api/v1/desk/routing-rules/<int(max=2147483647):rule_id>"): {A},
}

# Routes under /api/v1 that are public on purpose (``public(why)``): the API's own description.
PUBLIC_ROUTES = {
    "/api/v1/openapi.json",
    "/api/v1/docs",
    "/api/v1/docs/assets/<path:filename>",
}
#: The returns portal's API: the customer proves the order instead (tests/web/test_portal_api.py).
PUBLIC_WRITES = {"/api/v1/public/returns", "/api/v1/public/orders/lookup"}


def concrete(path: str) -> str:
    return (
        path.replace("<sku>", "NO-SUCH-SKU")
        .replace("<int:reservation_id>", "999999")
        .replace("<tracking_number>", "NO-SUCH-PARCEL")
        .replace("<number>", "PO-0000-00000")
        .replace("<rma>", "RMA-00000000-0000")
        .replace("<int(max=2147483647):replacement_id>", "999999")
        .replace("<int(max=2147483647):claim_id>", "999999")
        .replace("<serial>", "NO-SUCH-SERIAL")
        .replace("<int(max=2147483647):loan_id>", "999999")
        .replace("<int(max=2147483647):reply_id>", "999999")
        .replace("<int(max=2147483647):team_id>", "999999")
        .replace("<int(max=2147483647):user_id>", "999999")
        .replace("<int(max=2147483647):rule_id>", "999999")
        .replace("<int(max=2147483647):article_id>", "999999")
        .replace("<int(max=2147483647):followup_id>", "999999")
    )


def test_every_api_endpoint_declares_its_roles_as_documented(app: Any) -> None:
    found = routes(app, api=True)
    missing = sorted(
        f"{method} {rule}"
        for (method, rule), view in found.items()
        if getattr(view, "allowed_roles", None) is None
    )
    assert missing == [], f"API routes without @roles(...) or @public(why): {missing}"
    expected = {
        **EXPECTED_ROLES,
        **{("GET", rule): PUBLIC for rule in PUBLIC_ROUTES},
        **{("POST", rule): PUBLIC for rule in PUBLIC_WRITES},
    }
    assert {key: declared(view) for key, view in found.items()} == expected


def test_the_apis_own_description_is_public_to_everyone(
    client: Any, role_headers: dict[Role, dict[str, str]]
) -> None:
    for headers in ({}, *role_headers.values()):
        for path in ("/api/v1/openapi.json", "/api/v1/docs", "/api/v1/docs/assets/swagger-ui.css"):
            with client.get(path, headers=headers) as response:
                assert response.status_code == 200, (path, headers)


@pytest.mark.parametrize(("method", "path"), sorted(EXPECTED_ROLES))
def test_an_endpoint_refuses_calls_without_a_valid_token(
    client: Any, method: str, path: str
) -> None:
    for headers in (
        {},
        {"Authorization": "Bearer sf_not-a-real-token"},
        {"Authorization": "Basic eDp5"},
    ):
        response = client.open(concrete(path), method=method, json={}, headers=headers)
        assert response.status_code == 401, (method, path, headers)
        assert response.json["error"]["code"] == "unauthorized"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(("method", "path"), sorted(EXPECTED_ROLES))
def test_an_endpoint_admits_exactly_its_roles(
    client: Any, role_headers: dict[Role, dict[str, str]], method: str, path: str
) -> None:
    for role in Role:
        response = client.open(concrete(path), method=method, json={}, headers=role_headers[role])
        if role in EXPECTED_ROLES[(method, path)]:
            # Allowed through: whatever the answer, it is about the request, not the caller.
            assert response.status_code not in (401, 403), (role, method, path, response.json)
        else:
            assert response.status_code == 403, (role, method, path)
            assert response.json["error"]["code"] == "forbidden"


def test_a_deactivated_users_token_stops_working(
    app: Any, client: Any, role_headers: dict[Role, dict[str, str]]
) -> None:
    from sqlalchemy import update

    from accounts.models import User

    assert client.get("/api/v1/parts", headers=role_headers[Role.BUYER]).status_code == 200
    with app.extensions["spareflow"].session_factory.begin() as session:
        session.execute(update(User).where(User.email == "buyer@test.example").values(active=False))
    assert client.get("/api/v1/parts", headers=role_headers[Role.BUYER]).status_code == 401
