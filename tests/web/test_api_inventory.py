"""The inventory API through the Flask test client: contracts, errors, paging."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import Role


@pytest.fixture
def api(client: Any, role_headers: dict[Role, dict[str, str]]) -> Any:
    """A tiny client that calls as a given role (admin by default)."""

    class Api:
        def __call__(self, method: str, path: str, role: Role = Role.ADMIN, **kwargs: Any) -> Any:
            return client.open(path, method=method, headers=role_headers[role], **kwargs)

    return Api()


@pytest.fixture
def catalogue(api: Any) -> Any:
    assert (
        api("POST", "/api/v1/suppliers", json={"code": "acme", "name": "Acme Parts"}).status_code
        == 201
    )
    for code in ("MAIN/A-01-01", "MAIN/A-01-02"):
        assert api("POST", "/api/v1/locations", json={"code": code}).status_code == 201
    assert (
        api(
            "POST", "/api/v1/locations", json={"code": "MAIN/QUARANTINE", "kind": "quarantine"}
        ).status_code
        == 201
    )
    created = api(
        "POST",
        "/api/v1/parts",
        json={
            "sku": "FAN-80",
            "name": "Cooling fan 80mm",
            "supplier": "ACME",
            "unit_cost": "4.2500",
            "reorder_point": 5,
            "reorder_qty": 20,
            "category": "Cooling",
            "barcode": "4006381333931",
        },
    )
    assert created.status_code == 201, created.json
    return api


def error_of(response: Any) -> dict[str, Any]:
    body = response.json
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["message"]
    return body["error"]


def test_a_part_is_created_read_and_changed(catalogue: Any) -> None:
    part = catalogue("GET", "/api/v1/parts/fan-80").json
    assert part == {
        "sku": "FAN-80",
        "name": "Cooling fan 80mm",
        "description": "",
        "unit": "pcs",
        "category": "Cooling",
        "barcode": "4006381333931",
        "supplier": "ACME",
        "unit_cost": "4.2500",
        "lead_time_days": None,
        "reorder_point": 5,
        "reorder_qty": 20,
        "safety_stock": 0,
        "active": True,
        "serialised": False,
        "on_hand": 0,
        "reserved": 0,
        "available": 0,
        "below_reorder_point": True,
    }
    changed = catalogue(
        "PATCH", "/api/v1/parts/FAN-80", json={"unit_cost": "3.99", "supplier": None}
    )
    assert changed.status_code == 200
    assert (changed.json["unit_cost"], changed.json["supplier"]) == ("3.9900", None)
    assert changed.json["name"] == "Cooling fan 80mm"


def test_a_duplicate_sku_in_another_case_is_a_conflict(catalogue: Any) -> None:
    response = catalogue("POST", "/api/v1/parts", json={"sku": "fan-80", "name": "Other"})
    assert response.status_code == 409
    assert error_of(response)["code"] == "duplicate_sku"


def test_stock_moves_through_the_api_and_shows_per_location(catalogue: Any) -> None:
    receipt = catalogue(
        "POST",
        "/api/v1/stock/receipts",
        json={
            "sku": "FAN-80",
            "location": "MAIN/A-01-01",
            "qty": 12,
            "reference": "PO-1",
            "reason": "supplier delivery",
        },
    )
    assert receipt.status_code == 201
    assert receipt.json["kind"] == "receipt"
    assert receipt.json["to_location"] == "MAIN/A-01-01"
    assert receipt.json["actor"] == "admin@test.example"
    assert (
        catalogue(
            "POST",
            "/api/v1/stock/transfers",
            json={
                "sku": "FAN-80",
                "from_location": "MAIN/A-01-01",
                "to_location": "MAIN/A-01-02",
                "qty": 2,
            },
        ).status_code
        == 201
    )
    assert (
        catalogue(
            "POST",
            "/api/v1/stock/issues",
            json={"sku": "FAN-80", "location": "MAIN/A-01-01", "qty": 1, "reference": "REPAIR-7"},
        ).status_code
        == 201
    )
    count = catalogue(
        "POST",
        "/api/v1/stock/adjustments",
        json={"sku": "FAN-80", "location": "MAIN/A-01-02", "counted_qty": 3},
    )
    assert count.status_code == 201
    assert (count.json["counted_qty"], count.json["difference"]) == (3, 1)

    stock = catalogue("GET", "/api/v1/stock/FAN-80").json
    assert stock == {
        "sku": "FAN-80",
        "on_hand": 12,
        "reserved": 0,
        "available": 12,
        "locations": [
            {
                "location": "MAIN/A-01-01",
                "kind": "storage",
                "on_hand": 9,
                "reserved": 0,
                "available": 9,
            },
            {
                "location": "MAIN/A-01-02",
                "kind": "storage",
                "on_hand": 3,
                "reserved": 0,
                "available": 3,
            },
        ],
    }


def test_reserving_issuing_and_releasing_through_the_api(catalogue: Any) -> None:
    catalogue(
        "POST",
        "/api/v1/stock/receipts",
        json={"sku": "FAN-80", "location": "MAIN/A-01-01", "qty": 5},
    )
    first = catalogue(
        "POST",
        "/api/v1/reservations",
        json={"sku": "FAN-80", "qty": 2, "reference": "RMA-1"},
        role=Role.SERVICE_DESK,
    )
    assert first.status_code == 201
    assert (first.json["status"], first.json["location"]) == ("active", "MAIN/A-01-01")
    second = catalogue("POST", "/api/v1/reservations", json={"sku": "FAN-80", "qty": 3})
    assert catalogue("GET", "/api/v1/stock/FAN-80").json["available"] == 0

    too_many = catalogue("POST", "/api/v1/reservations", json={"sku": "FAN-80", "qty": 1})
    assert too_many.status_code == 409
    assert error_of(too_many)["code"] == "insufficient_stock"

    shipped = catalogue("POST", "/api/v1/stock/issues", json={"reservation_id": first.json["id"]})
    assert shipped.status_code == 201
    assert (shipped.json["kind"], shipped.json["qty"], shipped.json["reference"]) == (
        "reserved_issue",
        2,
        "RMA-1",
    )
    released = catalogue("DELETE", f"/api/v1/reservations/{second.json['id']}")
    assert released.json["status"] == "released"
    again = catalogue("DELETE", f"/api/v1/reservations/{second.json['id']}")
    assert again.status_code == 409
    assert error_of(again)["code"] == "reservation_not_active"
    assert catalogue("GET", "/api/v1/stock/FAN-80").json["on_hand"] == 3
    missing = catalogue("DELETE", "/api/v1/reservations/424242")
    assert (missing.status_code, error_of(missing)["code"]) == (404, "reservation_not_found")


def test_the_ledger_pages_newest_first_with_a_cursor(catalogue: Any) -> None:
    for qty in range(1, 6):
        catalogue(
            "POST",
            "/api/v1/stock/receipts",
            json={"sku": "FAN-80", "location": "MAIN/A-01-01", "qty": qty},
        )
    first = catalogue("GET", "/api/v1/stock/FAN-80/moves?limit=2").json
    assert [m["qty"] for m in first["items"]] == [5, 4]
    second = catalogue(
        "GET", f"/api/v1/stock/FAN-80/moves?limit=2&cursor={first['next_cursor']}"
    ).json
    assert [m["qty"] for m in second["items"]] == [3, 2]
    last = catalogue(
        "GET", f"/api/v1/stock/FAN-80/moves?limit=2&cursor={second['next_cursor']}"
    ).json
    assert ([m["qty"] for m in last["items"]], last["next_cursor"]) == ([1], None)


def test_parts_are_listed_with_filters_and_pages(catalogue: Any) -> None:
    for number in range(1, 6):
        catalogue(
            "POST",
            "/api/v1/parts",
            json={"sku": f"PSU-{number}", "name": f"PSU {number}W", "category": "Power"},
        )
    catalogue(
        "POST",
        "/api/v1/stock/receipts",
        json={"sku": "FAN-80", "location": "MAIN/A-01-01", "qty": 50},
    )
    skus, cursor = [], None
    while True:
        query = "/api/v1/parts?limit=2&category=Power" + (f"&cursor={cursor}" if cursor else "")
        body = catalogue("GET", query).json
        skus += [item["sku"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert skus == ["PSU-1", "PSU-2", "PSU-3", "PSU-4", "PSU-5"]
    assert catalogue("GET", "/api/v1/parts?below_reorder_point=true").json["items"] == []
    assert [p["sku"] for p in catalogue("GET", "/api/v1/parts?supplier=ACME").json["items"]] == [
        "FAN-80"
    ]
    assert [p["sku"] for p in catalogue("GET", "/api/v1/parts?q=4006381333931").json["items"]] == [
        "FAN-80"
    ]


def test_validation_errors_name_every_bad_field(catalogue: Any) -> None:
    response = catalogue(
        "POST",
        "/api/v1/stock/receipts",
        json={"sku": "FAN-80", "location": "MAIN/A-01-01", "qty": 0, "extra": 1},
    )
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "validation_error"
    assert set(error["details"]["fields"]) == {"qty", "extra"}


@pytest.mark.parametrize("qty", ["3", 2.5, True, None, -1, 10**12, [], {}])
def test_quantities_must_be_positive_json_integers(catalogue: Any, qty: Any) -> None:
    response = catalogue(
        "POST",
        "/api/v1/stock/receipts",
        json={"sku": "FAN-80", "location": "MAIN/A-01-01", "qty": qty},
    )
    assert response.status_code == 422
    assert "qty" in error_of(response)["details"]["fields"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"sku": "X" * 65, "name": "too long"}, "sku"),
        ({"sku": "has space", "name": "n"}, "sku"),
        ({"sku": "OK-1", "name": "nul\x00byte"}, "name"),
        ({"sku": "OK-1", "name": "n", "unit_cost": "-1"}, "unit_cost"),
        ({"sku": "OK-1", "name": "n", "unit_cost": "NaN"}, "unit_cost"),
        ({"sku": "OK-1", "name": "n", "supplier": "NOPE"}, "supplier"),
        ({"sku": "OK-1"}, "name"),
    ],
)
def test_bad_part_fields_are_refused_with_the_field_named(
    catalogue: Any, body: dict[str, Any], field: str
) -> None:
    response = catalogue("POST", "/api/v1/parts", json=body)
    assert response.status_code == 422, response.json
    assert field in error_of(response)["details"]["fields"]
    assert catalogue("GET", "/api/v1/parts/OK-1").status_code == 404


def test_unknown_references_in_a_body_are_422_with_the_field(catalogue: Any) -> None:
    response = catalogue(
        "POST",
        "/api/v1/stock/transfers",
        json={
            "sku": "FAN-80",
            "from_location": "MAIN/A-01-01",
            "to_location": "MAIN/NOWHERE",
            "qty": 1,
        },
    )
    error = error_of(response)
    assert (response.status_code, error["code"]) == (422, "unknown_location")
    assert list(error["details"]["fields"]) == ["to_location"]
    response = catalogue(
        "POST", "/api/v1/stock/issues", json={"sku": "NOPE", "location": "MAIN/A-01-01", "qty": 1}
    )
    assert (response.status_code, error_of(response)["code"]) == (422, "unknown_sku")


def test_insufficient_stock_is_a_409_with_what_is_available(catalogue: Any) -> None:
    catalogue(
        "POST",
        "/api/v1/stock/receipts",
        json={"sku": "FAN-80", "location": "MAIN/A-01-01", "qty": 2},
    )
    response = catalogue(
        "POST", "/api/v1/stock/issues", json={"sku": "FAN-80", "location": "MAIN/A-01-01", "qty": 3}
    )
    assert response.status_code == 409
    assert error_of(response) == {
        "code": "insufficient_stock",
        "message": "Only 2 of FAN-80 at MAIN/A-01-01 available; 3 requested.",
        "details": {"sku": "FAN-80", "location": "MAIN/A-01-01", "requested": 3, "available": 2},
    }


def test_malformed_json_is_a_400_and_nothing_is_written(catalogue: Any) -> None:
    response = catalogue(
        "POST", "/api/v1/stock/receipts", data="{not json", content_type="application/json"
    )
    assert (response.status_code, error_of(response)["code"]) == (400, "malformed_request")
    assert catalogue("GET", "/api/v1/stock/FAN-80").json["on_hand"] == 0


def test_unknown_urls_methods_and_cursors_answer_in_json(catalogue: Any) -> None:
    missing = catalogue("GET", "/api/v1/nothing-here")
    assert (missing.status_code, error_of(missing)["code"]) == (404, "not_found")
    wrong_method = catalogue("PUT", "/api/v1/parts")
    assert (wrong_method.status_code, error_of(wrong_method)["code"]) == (405, "method_not_allowed")
    bad_cursor = catalogue("GET", "/api/v1/parts?cursor=!!!")
    assert (bad_cursor.status_code, error_of(bad_cursor)["code"]) == (422, "invalid_cursor")
    wrong_kind = catalogue("GET", "/api/v1/stock/FAN-80/moves?cursor=ImFiYyI")  # "abc": not an id
    assert (wrong_kind.status_code, error_of(wrong_kind)["code"]) == (422, "invalid_cursor")
    part_missing = catalogue("GET", "/api/v1/stock/NOPE")
    assert (part_missing.status_code, error_of(part_missing)["code"]) == (404, "part_not_found")


def test_a_too_large_body_is_refused_in_json(app: Any, catalogue: Any) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 1024
    response = catalogue("POST", "/api/v1/parts", json={"sku": "BIG-1", "name": "x" * 5000})
    assert (response.status_code, error_of(response)["code"]) == (413, "payload_too_large")


def test_a_location_code_must_be_warehouse_slash_bin(catalogue: Any) -> None:
    response = catalogue("POST", "/api/v1/locations", json={"code": "no-slash"})
    assert (response.status_code, error_of(response)["code"]) == (422, "invalid_location_code")
    duplicate = catalogue("POST", "/api/v1/locations", json={"code": "main/a-01-01"})
    assert (duplicate.status_code, error_of(duplicate)["code"]) == (409, "duplicate_location")
    listed = catalogue("GET", "/api/v1/locations?kind=quarantine").json["items"]
    assert [(loc["code"], loc["warehouse"], loc["bin"]) for loc in listed] == [
        ("MAIN/QUARANTINE", "MAIN", "QUARANTINE")
    ]


def test_an_unreachable_database_is_a_clean_503_in_json() -> None:
    from web import create_app

    # Port 9 on loopback has no PostgreSQL: every connection attempt fails at once.
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "x",
            "LOG_LEVEL": "CRITICAL",
            "DATABASE_URL": "postgresql://postgres@127.0.0.1:9/none",
        }
    )
    response = app.test_client().post(
        "/api/v1/stock/receipts",
        headers={"Authorization": "Bearer sf_anything"},
        json={"sku": "FAN-80", "location": "MAIN/A-01-01", "qty": 1},
    )
    assert (response.status_code, error_of(response)["code"]) == (503, "database_unavailable")
    assert response.headers["Retry-After"] == "5"
