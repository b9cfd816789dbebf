"""The order feed API (POST/GET /api/v1/orders) and RMAs opened from a stored order through
POST /api/v1/returns, over the Flask test client (SQLite and PostgreSQL)."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

import pytest

from accounts.models import Role
from inventory.commands import ReceiveStock

ORDER: dict[str, Any] = {
    "number": "#1001",
    "channel": "webshop",
    "customer": {
        "name": "Mia Chen",
        "email": "Mia@Example.com",
        "phone": "+44 20 7946 0000",
        "address": {
            "name": "Mia Chen",
            "street": "1 High Street",
            "city": "London",
            "postcode": "SW1A 1AA",
            "country": "gb",
        },
    },
    "ordered_at": "2026-11-01T10:00:00+00:00",
    "shipped_at": "2026-11-03T16:00:00+08:00",
    "payment_reference": "pi_1001",
    "currency": "usd",
    "lines": [
        {"sku": "FAN-80", "qty": 2, "unit_price": "19.90", "serials": ["FAN-A", "FAN-B"]},
        {"sku": "PSU-65", "qty": 1, "unit_price": "45.00"},
    ],
}

FROM_ORDER: dict[str, Any] = {
    "order_number": "#1001",
    "channel": "email",
    "lines": [{"sku": "FAN-80", "qty": 1}],
    "reason": "defective",
    "resolution": "refund",
    "description": "Rattles",
}


@pytest.fixture
def call(client: Any, role_headers: dict[Role, dict[str, str]], app: Any) -> Any:
    inventory = app.extensions["spareflow"].inventory
    inventory.create_location(code="MAIN/A-01-01")
    for sku in ("FAN-80", "PSU-65"):
        inventory.create_part(sku=sku, name=sku)
        inventory.receive("setup", ReceiveStock(sku=sku, location="MAIN/A-01-01", qty=5))

    def call(method: str, path: str, role: Role = Role.ADMIN, **kwargs: Any) -> Any:
        return client.open(path, method=method, headers=role_headers[role], **kwargs)

    return call


def test_a_new_order_is_created_201_and_a_repeat_answers_200_with_the_same_body(
    call: Any,
) -> None:
    created = call("POST", "/api/v1/orders", json=ORDER)
    assert created.status_code == 201, created.json
    assert created.headers["Location"].endswith("/api/v1/orders/%231001")
    body = created.json
    assert body["number"] == "#1001"
    assert body["source"] == "api"
    assert body["currency"] == "USD"
    assert body["customer"]["email"] == "mia@example.com"
    assert body["customer"]["address"]["country"] == "GB"
    assert body["shipped_at"] == "2026-11-03T08:00:00+00:00"
    assert body["lines"] == [
        {
            "position": 1,
            "sku": "FAN-80",
            "qty": 2,
            "unit_price": "19.9000",
            "serials": ["FAN-A", "FAN-B"],
        },
        {"position": 2, "sku": "PSU-65", "qty": 1, "unit_price": "45.0000", "serials": []},
    ]
    repeat = call("POST", "/api/v1/orders", json=ORDER)
    assert repeat.status_code == 200
    assert repeat.json == body


def test_sending_the_order_again_with_changes_updates_it(call: Any, clock: Any) -> None:
    first = call("POST", "/api/v1/orders", json=ORDER).json
    changed = copy.deepcopy(ORDER)
    changed["payment_reference"] = "pi_corrected"
    changed["lines"] = [{"sku": "FAN-80", "qty": 3, "unit_price": "18.00"}]
    clock.advance(timedelta(minutes=5))
    response = call("POST", "/api/v1/orders", json=changed)
    assert response.status_code == 200
    assert response.json["payment_reference"] == "pi_corrected"
    assert [(line["sku"], line["qty"]) for line in response.json["lines"]] == [("FAN-80", 3)]
    assert response.json["created_at"] == first["created_at"]
    assert response.json["updated_at"] > first["updated_at"]
    got = call("GET", "/api/v1/orders/%231001").json
    assert got["returns"][0]["ordered_qty"] == 3


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda o: o.pop("number"), "number"),
        (lambda o: o["customer"].update(email="not-an-address"), "customer.email"),
        (lambda o: o["customer"]["address"].update(postcode="nonsense!"), "customer.address"),
        (lambda o: o.update(currency="dollars"), "currency"),
        (lambda o: o.update(lines=[]), "lines"),
        (lambda o: o["lines"][0].update(qty=0), "lines.0.qty"),
        (lambda o: o["lines"][1].pop("unit_price"), "lines.1.unit_price"),
        (lambda o: o.update(ordered_at="2026-11-01T10:00:00"), "ordered_at"),
        (lambda o: o.update(ordered_at="0001-01-01T00:00:00+01:00"), "ordered_at"),
    ],
)
def test_an_invalid_order_is_refused_422_naming_the_field(
    call: Any, change: Any, field: str
) -> None:
    order = copy.deepcopy(ORDER)
    change(order)
    response = call("POST", "/api/v1/orders", json=order)
    assert response.status_code == 422, response.json
    assert field in response.json["error"]["message"], response.json


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda o: o["lines"][1].update(serials=["A", "B"]), "lines.1.serials"),
        (lambda o: o.update(shipped_at="2026-10-01T00:00:00+00:00"), "shipped_at"),
        (lambda o: o["lines"][1].update(qty=100_000), "lines"),  # 100,002 units in all
    ],
)
def test_an_order_breaking_a_rule_is_refused_422_with_the_field(
    call: Any, change: Any, field: str
) -> None:
    order = copy.deepcopy(ORDER)
    change(order)
    response = call("POST", "/api/v1/orders", json=order)
    assert response.status_code == 422, response.json
    assert response.json["error"]["details"]["field"] == field
    assert call("GET", "/api/v1/orders/%231001").status_code == 404


def test_get_shows_per_sku_what_was_returned_and_what_can_still_come_back(call: Any) -> None:
    call("POST", "/api/v1/orders", json=ORDER)
    opened = call("POST", "/api/v1/returns", role=Role.SERVICE_DESK, json=FROM_ORDER)
    assert opened.status_code == 201, opened.json
    response = call("GET", "/api/v1/orders/%231001", role=Role.SERVICE_DESK)
    assert response.status_code == 200
    body = response.json
    assert body["purchase_date"] == "2026-11-03"
    fan, psu = body["returns"]
    assert fan == {
        "sku": "FAN-80",
        "ordered_qty": 2,
        "returned_qty": 1,
        "returnable_qty": 1,
        "unit_price": "19.9000",
        "serials": ["FAN-B"],
        "window_ends": "2026-12-03",
        "warranty_ends": "2027-11-03",
    }
    assert (psu["sku"], psu["returned_qty"], psu["returnable_qty"]) == ("PSU-65", 0, 1)


def test_an_unknown_order_is_404_order_not_found(call: Any) -> None:
    response = call("GET", "/api/v1/orders/%239999")
    assert response.status_code == 404
    assert response.json["error"]["code"] == "order_not_found"


def test_the_list_finds_orders_by_email_or_text_newest_first_in_pages(call: Any) -> None:
    for index in range(3):
        order = copy.deepcopy(ORDER)
        order["number"] = f"#10{index:02d}"
        if index == 2:
            order["customer"] = {"name": "Li Wei", "email": "li@example.cn"}
        assert call("POST", "/api/v1/orders", json=order).status_code == 201
    by_email = call("GET", "/api/v1/orders?email=MIA@example.com", role=Role.SERVICE_DESK)
    assert [o["number"] for o in by_email.json["items"]] == ["#1001", "#1000"]
    by_text = call("GET", "/api/v1/orders?q=li%20w")
    assert [o["number"] for o in by_text.json["items"]] == ["#1002"]
    by_number = call("GET", "/api/v1/orders?q=%23100")
    assert len(by_number.json["items"]) == 3
    first = call("GET", "/api/v1/orders?limit=2").json
    assert [o["number"] for o in first["items"]] == ["#1002", "#1001"]
    rest = call("GET", f"/api/v1/orders?limit=2&cursor={first['next_cursor']}").json
    assert ([o["number"] for o in rest["items"]], rest["next_cursor"]) == (["#1000"], None)


def test_only_admins_feed_orders_and_the_desk_reads_them(call: Any) -> None:
    for role in (Role.SERVICE_DESK, Role.WAREHOUSE, Role.BUYER):
        assert call("POST", "/api/v1/orders", role=role, json=ORDER).status_code == 403
    assert call("POST", "/api/v1/orders", json=ORDER).status_code == 201
    assert call("GET", "/api/v1/orders/%231001", role=Role.SERVICE_DESK).status_code == 200
    for role in (Role.WAREHOUSE, Role.BUYER):
        assert call("GET", "/api/v1/orders/%231001", role=role).status_code == 403
        assert call("GET", "/api/v1/orders", role=role).status_code == 403


# --- RMAs from a stored order -----------------------------------------------------------


def test_an_rma_from_a_stored_order_takes_prices_payment_date_and_customer_from_it(
    call: Any,
) -> None:
    call("POST", "/api/v1/orders", json=ORDER)
    body = dict(FROM_ORDER, lines=[{"sku": "FAN-80", "qty": 1, "serials": ["FAN-B"]}])
    response = call("POST", "/api/v1/returns", role=Role.SERVICE_DESK, json=body)
    assert response.status_code == 201, response.json
    rma = response.json
    assert rma["order_number"] == "#1001"
    assert rma["payment_reference"] == "pi_1001"
    assert rma["purchase_date"] == "2026-11-03"
    assert rma["channel"] == "email"
    assert rma["customer"]["email"] == "mia@example.com"
    assert rma["customer"]["address"]["postcode"] == "SW1A 1AA"
    assert [
        (line["sku"], line["qty"], line["serial"], line["unit_price"]) for line in rma["lines"]
    ] == [("FAN-80", 1, "FAN-B", "19.9000")]
    assert rma["refund"]["amount_minor"] == 1990


def test_an_address_given_with_the_customer_overrides_the_orders(call: Any) -> None:
    call("POST", "/api/v1/orders", json=ORDER)
    moved = {
        "name": "Mia Chen",
        "email": "mia@example.com",
        "address": {
            "name": "Mia Chen",
            "street": "9 Low Road",
            "city": "Leeds",
            "postcode": "LS1 1AA",
            "country": "GB",
        },
    }
    response = call("POST", "/api/v1/returns", json=dict(FROM_ORDER, customer=moved))
    assert response.status_code == 201, response.json
    assert response.json["customer"]["address"]["street"] == "9 Low Road"
    assert response.json["lines"][0]["unit_price"] == "19.9000"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"payment_reference": "pi_other"}, "payment_reference"),
        ({"purchase_date": "2026-11-10"}, "purchase_date"),
        ({"lines": [{"sku": "FAN-80", "qty": 1, "unit_price": "1.00"}]}, "lines.0.unit_price"),
    ],
)
def test_what_a_stored_order_says_itself_is_refused_not_ignored(
    call: Any, change: dict[str, Any], field: str
) -> None:
    call("POST", "/api/v1/orders", json=ORDER)
    response = call("POST", "/api/v1/returns", json={**FROM_ORDER, **change})
    assert response.status_code == 422, response.json
    error = response.json["error"]
    assert (error["code"], error["details"]["field"]) == ("given_by_order", field)
    assert call("GET", "/api/v1/returns").json["items"] == []


def test_returning_more_than_the_order_left_is_refused_with_the_code(call: Any) -> None:
    call("POST", "/api/v1/orders", json=ORDER)
    two = dict(FROM_ORDER, lines=[{"sku": "FAN-80", "qty": 2}])
    assert call("POST", "/api/v1/returns", json=two).status_code == 201
    again = call("POST", "/api/v1/returns", json=FROM_ORDER)
    assert again.status_code == 422
    assert again.json["error"]["code"] == "qty_above_returnable"
    assert again.json["error"]["details"]["returnable"] == 0
    other = dict(FROM_ORDER, lines=[{"sku": "NOT-BOUGHT", "qty": 1}])
    assert call("POST", "/api/v1/returns", json=other).json["error"]["code"] == "not_on_order"
    serial = dict(FROM_ORDER, lines=[{"sku": "PSU-65", "qty": 1, "serials": ["FAN-A"]}])
    refused = call("POST", "/api/v1/returns", json=serial)
    assert refused.json["error"]["code"] == "serial_not_on_order"


def test_an_unknown_order_number_still_opens_a_typed_rma(call: Any) -> None:
    typed = {
        **FROM_ORDER,
        "order_number": "SO-ELSEWHERE",
        "customer": {"name": "Mia Chen", "email": "mia@example.com"},
        "payment_reference": "pi_typed",
        "lines": [{"sku": "FAN-80", "qty": 1, "unit_price": "24.99", "serial": "SN-1"}],
    }
    response = call("POST", "/api/v1/returns", json=typed)
    assert response.status_code == 201, response.json
    assert response.json["payment_reference"] == "pi_typed"
    assert response.json["lines"][0]["unit_price"] == "24.9900"
    unpriced = call("POST", "/api/v1/returns", json=FROM_ORDER | {"order_number": "SO-X"})
    assert unpriced.status_code == 422
    assert unpriced.json["error"]["details"]["field"] == "customer"
