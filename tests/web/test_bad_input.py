"""Bad input never answers 500: NUL bytes, lone surrogates and JSON nested too deep, anywhere.

Each test is the attack over HTTP (Flask test client), on SQLite and on PostgreSQL (the
``app`` fixture runs on both): PostgreSQL refuses NUL in text and the driver raised; a lone
surrogate cannot be encoded as UTF-8; Python's JSON parser hits its recursion limit. Every
answer is a 4xx, JSON in web/errors.py's shape for the API and the webhooks, a 400 page for
pages. The check is one ``before_request`` hook (web/input_guard.py), so every route is
tried, straight from the app's URL map.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from typing import Any

import pytest
from sqlalchemy import func, select

from accounts.models import Role
from carriers.events import WebhookRequest
from carriers.models import DeliveryStatus, WebhookDelivery
from tests.web.test_pages import PASSWORD, csrf_token, sign_in
from tests.web.test_provider_webhooks import CASES, SETTINGS
from web.input_guard import MAX_JSON_DEPTH

NESTED = b"[" * 100_000 + b"]" * 100_000
NESTED_OBJECTS = b'{"a":' * 50_000 + b"1" + b"}" * 50_000


@pytest.fixture
def app_config() -> dict[str, Any]:
    return SETTINGS  # every carrier's webhook secret, so authentic deliveries can be sent


def error_shape(response: Any) -> dict[str, Any]:
    """The documented JSON error, and nothing else; returns its ``error`` object."""
    assert response.is_json, (response.status_code, response.get_data()[:200])
    body = response.json
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    assert isinstance(body["error"]["details"], dict), body
    return body["error"]


def api_routes(app: Any) -> list[tuple[str, str]]:
    return sorted(
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/") and "docs" not in rule.rule
        for method in rule.methods - {"HEAD", "OPTIONS"}
    )


def filled(rule: str, value: str) -> str:
    """The rule with every path parameter set to ``value`` (already URL-encoded)."""
    return re.sub(r"<[^>]+>", value, rule)


# --- NUL bytes --------------------------------------------------------------------------


def test_a_nul_byte_in_a_path_parameter_is_a_400_not_a_database_error(
    client: Any, admin: dict[str, str]
) -> None:
    # Found over HTTP: PostgreSQL's driver refused the SKU "\x00'" and the API answered 500.
    response = client.get("/api/v1/stock/%00%27", headers=admin)
    assert response.status_code == 400
    error = error_shape(response)
    assert error["code"] == "invalid_characters"
    assert error["details"]["location"] == "path"


def test_a_nul_byte_in_any_api_path_or_query_string_is_a_400(
    app: Any, client: Any, admin: dict[str, str]
) -> None:
    for method, rule in api_routes(app):
        urls = [filled(rule, "A") + "?q=%00&limit=1", filled(rule, "A") + "?x%00=1"]
        if "<" in rule:
            urls.append(filled(rule, "A%00B"))
        for url in urls:
            response = client.open(url, method=method, headers=admin, json={})
            assert response.status_code == 400, (method, url, response.get_data()[:200])
            assert error_shape(response)["code"] == "invalid_characters", (method, url)


def test_a_nul_or_a_lone_surrogate_in_any_json_string_is_a_422_on_every_api_endpoint(
    app: Any, client: Any, admin: dict[str, str]
) -> None:
    bodies = {  # each with the field the 422 names, as for any other invalid field
        b'{"sku": "FAN\\u0000-80", "name": "Fan"}': "sku",  # in a value
        b'{"name\\u0000": "Fan"}': "name\\x00",  # in a key
        b'{"lines": [{"sku": "A", "serial": "\\u0000"}]}': "lines.0.serial",  # deep in a list
        b'{"name": "half an emoji \\ud83d"}': "name",  # a lone high surrogate
        b'["\\udc00 a lone low one"]': "0",
    }
    for method, rule in api_routes(app):
        url = filled(rule, "A")
        for body, field in bodies.items():
            response = client.open(
                url, method=method, headers=admin, data=body, content_type="application/json"
            )
            assert response.status_code == 422, (method, url, body, response.get_data()[:200])
            error = error_shape(response)
            assert (error["code"], error["details"]["location"]) == ("invalid_characters", "json")
            assert list(error["details"]["fields"]) == [field], (body, error)
    # A whole emoji (a surrogate pair in JSON) is text like any other.
    created = client.post(
        "/api/v1/suppliers",
        headers=admin,
        data=b'{"code": "EMOJI", "name": "Fans \\ud83d\\ude00 and more"}',
        content_type="application/json",
    )
    assert created.status_code == 201, created.json
    assert created.json["name"] == "Fans \U0001f600 and more"


def test_nothing_with_a_nul_byte_is_stored(app: Any, client: Any, admin: dict[str, str]) -> None:
    for body in (
        {"code": "NUL", "name": "Acme\x00"},
        {"code": "NUL", "name": "A", "phone": "\x00"},
    ):
        assert client.post("/api/v1/suppliers", headers=admin, json=body).status_code == 422
    assert client.get("/api/v1/suppliers", headers=admin).json["items"] == []


def test_a_nul_byte_in_a_page_path_query_or_form_is_a_400_page(app: Any) -> None:
    auth = app.extensions["spareflow"].auth
    auth.create_user("nul-admin@test.example", Role.ADMIN, PASSWORD)
    anonymous = app.test_client()
    token = csrf_token(anonymous.get("/sign-in").get_data(as_text=True))
    # Signing in with a NUL in the e-mail address: the user look-up raised on PostgreSQL.
    form = {"email": "nul-admin@test.example\x00", "password": PASSWORD, "csrf_token": token}
    refused = anonymous.post("/sign-in", data=form)
    assert refused.status_code == 400
    assert refused.mimetype == "text/html"
    assert "NUL character" in refused.get_data(as_text=True)
    in_chinese = anonymous.get("/parts/%00", headers={"Accept-Language": "zh-CN"})
    assert in_chinese.status_code == 400
    assert "请求中含有 NUL 字符" in in_chinese.get_data(as_text=True)

    admin = app.test_client()
    assert sign_in(admin, "nul-admin@test.example", PASSWORD).status_code == 302
    token = csrf_token(admin.get("/").get_data(as_text=True))
    for method, url, data in [
        ("GET", "/parts/FAN%0080", None),
        ("GET", "/returns/RMA%00", None),
        ("GET", "/buying/purchase-orders?status=%00", None),
        ("POST", "/returns/new", {"csrf_token": token, "customer_name": "Ann\x00"}),
        ("POST", "/warehouse/receive", {"csrf_token": token, "sku": "\x00"}),
        ("POST", "/admin/users", {"csrf_token": token, "email": "x\x00@y.z", "role": "buyer"}),
    ]:
        response = admin.open(url, method=method, data=data)
        assert response.status_code == 400, (method, url, response.status_code)
        assert response.mimetype == "text/html", url
    # The same path asked for as JSON gets the JSON error.
    as_json = admin.get("/parts/FAN%0080", headers={"Accept": "application/json"})
    assert error_shape(as_json)["code"] == "invalid_characters"


def test_an_uploaded_file_named_with_a_nul_byte_is_a_400(
    client: Any, admin: dict[str, str]
) -> None:
    response = client.post(
        "/api/v1/catalogue/import",
        headers=admin,
        data={"file": (io.BytesIO(b"PK\x03\x04"), "parts\x00.xlsx")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert error_shape(response)["details"]["location"] == "uploaded file name"


def _workbook_with_cell(raw_xml_text: bytes) -> bytes:
    """A real catalogue export whose first part name is replaced by ``raw_xml_text``."""
    import openpyxl

    workbook = openpyxl.Workbook()
    workbook.active["A1"] = "PLACEHOLDER"
    plain = io.BytesIO()
    workbook.save(plain)
    source = zipfile.ZipFile(io.BytesIO(plain.getvalue()))
    patched = io.BytesIO()
    with zipfile.ZipFile(patched, "w") as target:
        for member in source.infolist():
            target.writestr(member, source.read(member).replace(b"PLACEHOLDER", raw_xml_text))
    return patched.getvalue()


@pytest.mark.parametrize("cell", [b"FAN&#0;80", b"FAN\x0080", b"&#xD800;"])
@pytest.mark.parametrize("url", ["/api/v1/catalogue/import", "/api/v1/cycle-counts/import"])
def test_an_uploaded_cell_with_a_nul_byte_is_a_422_before_anything_reads_it(
    client: Any, admin: dict[str, str], cell: bytes, url: str
) -> None:
    # XML 1.0 cannot carry NUL (nor a surrogate), written either way: the parser refuses the
    # workbook, so no cell value with one ever reaches an importer or the database.
    data = {"file": (io.BytesIO(_workbook_with_cell(cell)), "parts.xlsx")}
    response = client.post(url, headers=admin, data=data, content_type="multipart/form-data")
    assert response.status_code == 422, response.json
    assert error_shape(response)["code"] == "spreadsheet_rejected"


# --- JSON nested too deep ----------------------------------------------------------------


def test_a_json_body_nested_too_deep_is_a_400_on_every_api_endpoint(
    app: Any, client: Any, role_headers: dict[Role, dict[str, str]]
) -> None:
    # Found over HTTP: json.loads raised RecursionError and the API answered 500.
    for method, rule in api_routes(app):
        url = filled(rule, "A")
        for body in (NESTED, NESTED_OBJECTS):
            for headers in (role_headers[Role.ADMIN], {}):  # before authentication too
                response = client.open(
                    url, method=method, headers=headers, data=body, content_type="application/json"
                )
                assert response.status_code == 400, (method, url, response.get_data()[:200])
                error = error_shape(response)
                assert error["code"] == "malformed_request"
                assert error["details"] == {"location": "json", "max_depth": MAX_JSON_DEPTH}


def test_json_nested_up_to_the_limit_is_read_and_one_level_more_is_refused(
    client: Any, admin: dict[str, str]
) -> None:
    def nested(depth: int) -> bytes:
        return json.dumps({"code": "DEEP", "name": "Deep", "x": _levels(depth - 1)}).encode()

    at_limit = client.post(
        "/api/v1/suppliers",
        headers=admin,
        data=nested(MAX_JSON_DEPTH),
        content_type="application/json",
    )
    # Read, then refused by the schema for its unknown field: not by the depth check.
    assert at_limit.status_code == 422
    assert error_shape(at_limit)["details"]["fields"] == {"x": ["Unknown field."]}
    beyond = client.post(
        "/api/v1/suppliers",
        headers=admin,
        data=nested(MAX_JSON_DEPTH + 1),
        content_type="application/json",
    )
    assert beyond.status_code == 400
    assert error_shape(beyond)["code"] == "malformed_request"


def _levels(depth: int) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = [value]
    return value


# --- webhooks ----------------------------------------------------------------------------

JSON_CASES = [case for case in CASES if case[1].lstrip().startswith(b"{")]


def _deliveries(app: Any) -> dict[str, int]:
    with app.extensions["spareflow"].session_factory() as session:
        rows = session.execute(
            select(WebhookDelivery.status, func.count()).group_by(WebhookDelivery.status)
        ).all()
    return {status.value: n for status, n in rows}


@pytest.mark.parametrize(("carrier", "example", "auth"), JSON_CASES, ids=[c[0] for c in JSON_CASES])
def test_a_webhook_nested_too_deep_is_a_4xx_signed_or_not(
    app: Any, client: Any, carrier: str, example: bytes, auth: Any
) -> None:
    url = f"/webhooks/carriers/{carrier}"
    for body in (NESTED, NESTED_OBJECTS):
        # Without its signature or token: refused as unauthenticated, nothing kept.
        unsigned = client.post(url, data=body, content_type="application/json")
        assert unsigned.status_code == 401, unsigned.get_data()[:200]
        assert error_shape(unsigned)["code"] == "webhook_rejected"
        # Authentic: unreadable, a 400, and kept for review.
        signed = client.post(url, data=body, **auth(body))
        assert signed.status_code == 400, signed.get_data()[:200]
        assert error_shape(signed)["code"] == "malformed_webhook"
    assert _deliveries(app) == {DeliveryStatus.MALFORMED.value: 2}


@pytest.mark.parametrize(("carrier", "example", "auth"), JSON_CASES, ids=[c[0] for c in JSON_CASES])
def test_an_authentic_webhook_with_a_nul_or_a_lone_surrogate_is_kept_for_review(
    app: Any, client: Any, carrier: str, example: bytes, auth: Any
) -> None:
    # Found over HTTP: a signed event for tracking number "SBX\u0000" reached the database
    # and PostgreSQL's driver raised (a 500); a lone surrogate failed to encode everywhere.
    options = auth(example)
    adapter = app.extensions["spareflow"].carriers.adapter(carrier)
    [first, *_] = adapter.parse_webhook(
        WebhookRequest(
            body=example,
            headers=options.get("headers", {}),
            query=options.get("query_string", {}),
            content_type=options["content_type"],
        )
    )
    number = first.tracking_number.encode()
    for poison in (b"\\u0000", b"\\ud800"):
        body = example.replace(number, number + poison)
        assert body != example
        response = client.post(f"/webhooks/carriers/{carrier}", data=body, **auth(body))
        assert response.status_code == 400, response.get_data()[:300]
        error = error_shape(response)
        assert error["code"] == "malformed_webhook"
        assert "NUL character or a lone surrogate" in error["message"]
    assert _deliveries(app) == {DeliveryStatus.MALFORMED.value: 2}


def test_a_nul_byte_in_a_webhooks_query_string_is_a_400(client: Any) -> None:
    response = client.post("/webhooks/carriers/shippo?token=shippo-url-token%00", json={})
    assert response.status_code == 400
    assert error_shape(response)["details"]["location"] == "query string"


class TestAnAfterShipWebhookWithAMaxAge:
    """With ``AFTERSHIP_WEBHOOK_MAX_AGE`` set, the ``ts`` is read while verifying."""

    @pytest.fixture
    def app_config(self) -> dict[str, Any]:
        return {**SETTINGS, "AFTERSHIP_WEBHOOK_MAX_AGE": "300"}

    def test_a_signed_body_too_deep_to_read_is_a_400_kept_for_review(
        self, app: Any, client: Any
    ) -> None:
        # Before: the ts could not be read, so the authentic delivery was refused as forged
        # (401) and nothing was kept.
        [(_, _, auth)] = [case for case in JSON_CASES if case[0] == "aftership"]
        response = client.post("/webhooks/carriers/aftership", data=NESTED, **auth(NESTED))
        assert response.status_code == 400
        assert error_shape(response)["code"] == "malformed_webhook"
        assert _deliveries(app) == {DeliveryStatus.MALFORMED.value: 1}
        unsigned = client.post(
            "/webhooks/carriers/aftership", data=NESTED, content_type="application/json"
        )
        assert unsigned.status_code == 401
        assert _deliveries(app) == {DeliveryStatus.MALFORMED.value: 1}
