"""The returns portal's public API: no account, no order enumeration, rate limits, and the
same refusals as a return opened from an order (SQLite and PostgreSQL)."""

from __future__ import annotations

import statistics
import time
from datetime import timedelta
from typing import Any

import pytest

from accounts.models import Role
from returns.status import Channel
from tests.support.portal import PORTAL_CONFIG, place_order, recent, stock_shop

RETURNS = "/api/v1/public/returns"
LOOKUP = "/api/v1/public/orders/lookup"


@pytest.fixture
def app_config() -> dict[str, Any]:
    return dict(PORTAL_CONFIG)


@pytest.fixture
def shop(app: Any, clock: Any) -> Any:
    services = app.extensions["spareflow"]
    stock_shop(services)
    place_order(services, "#2001", recent(clock))
    return services


def a_return(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "order_number": "#2001",
        "email": "MIA@example.com",
        "lines": [
            {"sku": "FAN-80", "qty": 1, "reason": "defective", "description": "Rattles"},
            {"sku": "PSU-65", "qty": 1, "reason": "no_longer_needed", "description": ""},
        ],
        "resolution": "refund",
    }
    body.update(overrides)
    return body


def test_a_customer_opens_a_return_authorised_at_once_with_the_label_and_address(
    client: Any, shop: Any
) -> None:
    response = client.post(RETURNS, json=a_return())
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "authorised" and body["authorised"] is True
    assert body["status_url"].startswith("http") and "/status/" in body["status_url"]
    assert "/returns-portal/label/" in body["label_url"]
    assert body["return_address"] and body["ship_by"]
    rma = shop.rma_queries.get(body["rma_number"])
    assert rma.channel is Channel.PORTAL
    assert rma.reason.value == "defective"  # the first line's reason
    assert "Rattles" in rma.description and "PSU-65" in rma.description
    assert rma.order_number == "#2001" and rma.payment_reference == "pi_portal"
    # The status link works: it opens this RMA's page.
    page = client.get(body["status_url"].split("://", 1)[1].partition("/")[2].join(["/", ""]))
    assert page.status_code == 200 and body["rma_number"] in page.get_data(as_text=True)


def test_above_the_automatic_limit_the_return_is_received_with_its_first_response_deadline(
    client: Any, shop: Any, app: Any
) -> None:
    shop.returns.ctx.policy = type(shop.returns.ctx.policy)(auto_authorise_limit_minor=100)
    body = client.post(RETURNS, json=a_return()).get_json()
    assert body["status"] == "requested" and body["authorised"] is False
    assert body["label_url"] is None and body["return_address"] == []
    assert body["first_response_due_at"]


def test_the_lookup_lists_the_returnable_lines_with_window_and_warranty(
    client: Any, shop: Any
) -> None:
    response = client.post(LOOKUP, json={"order_number": "#2001", "postcode": "sw1a1aa"})
    assert response.status_code == 200
    body = response.get_json()
    lines = {line["sku"]: line for line in body["lines"]}
    assert lines["FAN-80"]["returnable_qty"] == 2 and lines["FAN-80"]["name"] == "Cooling fan 80mm"
    assert lines["FAN-80"]["in_window"] and lines["FAN-80"]["in_warranty"]
    assert body["resolutions"] == ["refund", "replacement"]


def test_a_wrong_number_and_a_wrong_email_get_the_same_answer(client: Any, shop: Any) -> None:
    answers = []
    for path, body in [
        (LOOKUP, {"order_number": "#9999", "email": "mia@example.com"}),
        (LOOKUP, {"order_number": "#2001", "email": "eve@example.com"}),
        (LOOKUP, {"order_number": "#2001", "postcode": "E1 6AN"}),
        (RETURNS, a_return(order_number="#9999")),
        (RETURNS, a_return(email="eve@example.com")),
    ]:
        response = client.post(path, json=body)
        answers.append((response.status_code, response.get_data()))
    assert {status for status, _ in answers} == {404}
    assert len({data for _, data in answers}) == 1, answers


def test_a_wrong_number_and_a_wrong_email_take_the_same_order_of_time(
    client: Any, shop: Any
) -> None:
    bodies = {
        "wrong number": {"order_number": "#9999", "email": "mia@example.com"},
        "wrong e-mail": {"order_number": "#2001", "email": "eve@example.com"},
    }
    times: dict[str, list[float]] = {name: [] for name in bodies}
    for _ in range(20):  # interleaved, so a busy moment of the machine hits both alike
        for name, body in bodies.items():
            started = time.perf_counter()
            assert client.post(LOOKUP, json=body).status_code == 404
            times[name].append(time.perf_counter() - started)
    medians = [statistics.median(values) for values in times.values()]
    # The same order of magnitude (in practice within a few percent: the same queries run).
    assert max(medians) / min(medians) < 3, times


def test_requests_are_limited_per_order_number_whoever_sends_them(
    client: Any, shop: Any, app: Any
) -> None:
    app.config["PORTAL_ORDER_RATE_LIMIT"] = "3 per minute"
    for _ in range(3):
        assert (
            client.post(LOOKUP, json={"order_number": "#2001", "email": "x@y.z"}).status_code == 404
        )
    limited = client.post(LOOKUP, json={"order_number": "#2001", "email": "mia@example.com"})
    assert limited.status_code == 429
    assert limited.get_json()["error"]["code"] == "too_many_requests"
    # Another order is not held back by this one's limit.
    assert client.post(LOOKUP, json={"order_number": "#2002", "email": "x@y.z"}).status_code == 404


def test_requests_are_limited_per_client_address(client: Any, shop: Any, app: Any) -> None:
    app.config["PORTAL_RATE_LIMIT"] = "3 per minute"
    for n in range(3):
        body = {"order_number": f"#30{n}", "email": "x@y.z"}
        assert client.post(LOOKUP, json=body).status_code == 404
    assert client.post(RETURNS, json=a_return(order_number="#400")).status_code == 429


def test_more_than_can_come_back_is_refused(client: Any, shop: Any) -> None:
    lines = [{"sku": "FAN-80", "qty": 2, "reason": "defective"}]
    assert client.post(RETURNS, json=a_return(lines=lines)).status_code == 201
    again = client.post(RETURNS, json=a_return(lines=[{**lines[0], "qty": 1}]))
    assert again.status_code == 422
    assert again.get_json()["error"]["code"] == "qty_above_returnable"
    lookup = client.post(LOOKUP, json={"order_number": "#2001", "email": "mia@example.com"})
    fans = next(line for line in lookup.get_json()["lines"] if line["sku"] == "FAN-80")
    assert fans["returnable_qty"] == 0
    other = client.post(RETURNS, json=a_return(lines=[{**lines[0], "sku": "NOPE"}]))
    assert other.get_json()["error"]["code"] == "not_on_order"


def test_outside_the_window_only_a_fault_under_warranty_is_accepted(
    client: Any, shop: Any, clock: Any
) -> None:
    place_order(shop, "#2002", recent(clock) - timedelta(days=90))
    changed_mind = [{"sku": "PSU-65", "qty": 1, "reason": "no_longer_needed"}]
    refused = client.post(RETURNS, json=a_return(order_number="#2002", lines=changed_mind))
    assert refused.status_code == 422
    assert refused.get_json()["error"]["code"] == "return_window_expired"
    # A later line with a change of mind is judged by the window too, whatever the first says.
    mixed = [{"sku": "FAN-80", "qty": 1, "reason": "defective"}, *changed_mind]
    refused = client.post(RETURNS, json=a_return(order_number="#2002", lines=mixed))
    assert refused.get_json()["error"]["details"]["fields"] == {
        "lines.1.reason": [refused.get_json()["error"]["message"]]
    }
    fault = [{"sku": "PSU-65", "qty": 1, "reason": "defective"}]
    assert client.post(RETURNS, json=a_return(order_number="#2002", lines=fault)).status_code == 201


def test_after_the_warranty_nothing_is_accepted(client: Any, shop: Any, clock: Any) -> None:
    place_order(shop, "#2003", recent(clock) - timedelta(days=400))
    fault = [{"sku": "PSU-65", "qty": 1, "reason": "defective"}]
    refused = client.post(RETURNS, json=a_return(order_number="#2003", lines=fault))
    assert refused.status_code == 422
    assert refused.get_json()["error"]["code"] == "warranty_expired"
    lookup = client.post(LOOKUP, json={"order_number": "#2003", "email": "mia@example.com"})
    assert not any(line["in_warranty"] for line in lookup.get_json()["lines"])


def test_a_refund_is_not_offered_for_an_order_without_a_payment(
    client: Any, shop: Any, clock: Any
) -> None:
    place_order(shop, "#2004", recent(clock), payment=None)
    refused = client.post(RETURNS, json=a_return(order_number="#2004"))
    assert refused.get_json()["error"]["code"] == "resolution_not_offered"
    exchange = client.post(RETURNS, json=a_return(order_number="#2004", resolution="replacement"))
    assert exchange.status_code == 201


def test_the_public_endpoints_are_in_the_openapi_document_without_a_token(client: Any) -> None:
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in ("/api/v1/public/returns", "/api/v1/public/orders/lookup"):
        operation = paths[path]["post"]
        assert operation["security"] == [] and operation["x-public"]
        assert {"404", "422", "429"} <= set(operation["responses"])


def test_the_public_operations_survive_fuzzing_with_the_documented_answers(
    app: Any, shop: Any
) -> None:
    """schemathesis, as tests/web/test_api_fuzz.py does for the token-guarded operations."""
    import schemathesis

    from tests.web.test_api_fuzz import fuzz_operation

    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    for path in (RETURNS, LOOKUP):
        fuzz_operation(schema[path]["POST"], {}, allowed=True, examples=40)


def test_portal_returns_count_under_their_own_channel_in_the_metrics(
    client: Any, shop: Any, role_headers: Any
) -> None:
    assert client.post(RETURNS, json=a_return()).status_code == 201
    desk = role_headers[Role.SERVICE_DESK]
    body = client.get("/api/v1/metrics", headers=desk).get_json()
    channels = {group["key"]: group for group in body["by_channel"]}
    assert channels["portal"]["figures"]["requests"] == 1
    assert set(channels) == {"portal"}  # the only channel with returns here
