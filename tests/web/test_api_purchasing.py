"""The reorder, purchase-order and workbook endpoints through the Flask test client."""

from __future__ import annotations

import io
from typing import Any

import openpyxl
import pytest

from accounts.models import Role
from tests.support.purchasing_scenarios import BIN, build_scenario, edit_workbook, row_of

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def api(app: Any, client: Any, role_headers: dict[Role, dict[str, str]]) -> Any:
    build_scenario(app.extensions["spareflow"].inventory)

    class Api:
        def __call__(self, method: str, path: str, role: Role = Role.BUYER, **kwargs: Any) -> Any:
            return client.open(path, method=method, headers=role_headers[role], **kwargs)

        def download(self, path: str, role: Role = Role.BUYER) -> bytes:
            with client.get(path, headers=role_headers[role]) as response:
                assert response.status_code == 200, response.get_data(as_text=True)
                assert response.mimetype == XLSX
                assert response.headers["Cache-Control"] == "no-store"
                return response.get_data()

        def upload(self, path: str, data: bytes, role: Role = Role.BUYER) -> Any:
            return self("POST", path, role, data={"file": (io.BytesIO(data), "edited.xlsx")})

    return Api()


def test_suggestions_come_as_pages_with_the_reasons(api: Any) -> None:
    first = api("GET", "/api/v1/reorder/suggestions?limit=2")
    assert first.status_code == 200
    body = first.json
    assert [s["sku"] for s in body["items"]] == ["CAB-1", "FAN-80"]
    fan = body["items"][1]
    assert (fan["available"], fan["reserved"], fan["qty"], fan["urgency"]) == (
        3,
        5,
        47,
        "below_safety_stock",
    )
    assert (fan["unit_cost"], fan["line_value"], fan["expected_arrival"]) == (
        "4.2500",
        "199.75",
        "2026-12-02",
    )
    assert fan["reasons"][0].startswith("available 3 = 8 on hand")
    rest = api("GET", f"/api/v1/reorder/suggestions?cursor={body['next_cursor']}").json
    assert [s["sku"] for s in rest["items"]] == ["LOOSE-1", "PSU-65"]
    assert rest["next_cursor"] is None
    short = api("GET", "/api/v1/reorder/suggestions?urgency=short&supplier=acme").json
    assert [s["sku"] for s in short["items"]] == ["PSU-65"]
    bad = api("GET", "/api/v1/reorder/suggestions?urgency=soon")
    assert (bad.status_code, list(bad.json["error"]["details"]["fields"])) == (422, ["urgency"])


def test_the_reorder_workbook_downloads_and_comes_back_as_draft_orders(api: Any) -> None:
    data = api.download("/api/v1/reorder/export.xlsx?supplier=BOLT")

    def order_more(book: Any) -> None:
        book["BOLT"].cell(row_of(book["BOLT"], "CAB-1"), 13).value = 40

    created = api.upload("/api/v1/reorder/import", edit_workbook(data, order_more))
    assert created.status_code == 201, created.json
    (order,) = created.json["purchase_orders"]
    assert (order["number"], order["supplier"], order["status"]) == (
        "PO-2026-00001",
        "BOLT",
        "draft",
    )
    assert [(x["sku"], x["qty_ordered"], x["unit_cost"]) for x in order["lines"]] == [
        ("CAB-1", 40, "0.3500")
    ]
    assert order["total_value"] == "14.00"
    again = api.upload("/api/v1/reorder/import", edit_workbook(data, order_more))
    assert (again.status_code, again.json["error"]["code"]) == (409, "already_imported")


def test_a_rejected_workbook_answers_422_with_each_problem_located(api: Any) -> None:
    data = api.download("/api/v1/reorder/export.xlsx")

    def break_it(book: Any) -> None:
        book["ACME"].cell(row_of(book["ACME"], "FAN-80"), 13).value = -3

    response = api.upload("/api/v1/reorder/import", edit_workbook(data, break_it))
    assert response.status_code == 422
    error = response.json["error"]
    assert error["code"] == "spreadsheet_rejected"
    assert "nothing was saved" in error["message"]
    assert error["details"]["problems"] == [
        {
            "code": "negative_quantity",
            "message": "-3 is negative; use 0 or more.",
            "sheet": "ACME",
            "row": 2,
            "column": "M",
            "header": "Order qty",
        }
    ]
    assert error["details"]["fields"] == {"file": [error["message"]]}
    assert api("GET", "/api/v1/purchase-orders").json["items"] == []


def test_an_upload_needs_a_file_in_the_multipart_body(api: Any) -> None:
    for response in (
        api("POST", "/api/v1/reorder/import", json={}),
        api("POST", "/api/v1/reorder/import", data={"other": "x"}),
    ):
        assert response.status_code == 422
        assert response.json["error"]["details"]["fields"] == {
            "file": ["Missing data for required field."]
        }
    not_xlsx = api.upload("/api/v1/reorder/import", b"SKU;qty\n")
    assert not_xlsx.json["error"]["details"]["problems"][0]["code"] == "not_xlsx"


def test_purchase_orders_are_listed_read_sent_received_and_cancelled(api: Any) -> None:
    data = api.download("/api/v1/reorder/export.xlsx")
    api.upload("/api/v1/reorder/import", data)
    listed = api("GET", "/api/v1/purchase-orders?supplier=acme&status=draft", Role.WAREHOUSE)
    assert [o["number"] for o in listed.json["items"]] == ["PO-2026-00001"]
    paged = api("GET", "/api/v1/purchase-orders?limit=1").json
    assert [o["number"] for o in paged["items"]] == ["PO-2026-00002"]  # newest first
    assert (
        api("GET", f"/api/v1/purchase-orders?limit=1&cursor={paged['next_cursor']}").json["items"][
            0
        ]["number"]
        == "PO-2026-00001"
    )

    early = api(
        "POST",
        "/api/v1/purchase-orders/PO-2026-00001/receive",
        Role.WAREHOUSE,
        json={"location": BIN, "lines": [{"sku": "FAN-80", "qty": 1}]},
    )
    assert (early.status_code, early.json["error"]["code"]) == (409, "illegal_transition")
    sent = api("POST", "/api/v1/purchase-orders/po-2026-00001/send", json={"reason": "by e-mail"})
    assert (sent.status_code, sent.json["status"], sent.json["expected_on"]) == (
        200,
        "sent",
        "2026-12-02",
    )
    received = api(
        "POST",
        "/api/v1/purchase-orders/PO-2026-00001/receive",
        Role.WAREHOUSE,
        json={
            "location": BIN,
            "lines": [{"sku": "FAN-80", "qty": 47}, {"sku": "PSU-65", "qty": 5}],
        },
    )
    assert received.status_code == 201, received.json
    assert received.json["purchase_order"]["status"] == "partially_received"
    assert [(m["kind"], m["qty"], m["reference"]) for m in received.json["moves"]] == [
        ("receipt", 47, "PO-2026-00001"),
        ("receipt", 5, "PO-2026-00001"),
    ]
    too_many = api(
        "POST",
        "/api/v1/purchase-orders/PO-2026-00001/receive",
        Role.WAREHOUSE,
        json={"location": BIN, "lines": [{"sku": "PSU-65", "qty": 11}]},
    )
    assert (too_many.status_code, too_many.json["error"]["details"]["outstanding"]) == (409, 10)
    stranger = api(
        "POST",
        "/api/v1/purchase-orders/PO-2026-00001/receive",
        Role.WAREHOUSE,
        json={"location": BIN, "lines": [{"sku": "OK-1", "qty": 1}]},
    )
    assert (stranger.status_code, stranger.json["error"]["code"]) == (422, "not_on_order")
    assert stranger.json["error"]["details"]["fields"] == {
        "lines.0.sku": ["Purchase order PO-2026-00001 has no line for 'OK-1'."]
    }
    no_location = api(
        "POST",
        "/api/v1/purchase-orders/PO-2026-00001/receive",
        Role.WAREHOUSE,
        json={"lines": [{"sku": "PSU-65", "qty": 1}]},
    )
    assert list(no_location.json["error"]["details"]["fields"]) == ["location"]

    cancelled = api("POST", "/api/v1/purchase-orders/PO-2026-00001/cancel", json={})
    assert cancelled.json["status"] == "cancelled"
    detail = api("GET", "/api/v1/purchase-orders/PO-2026-00001").json
    assert [(e["from_status"], e["to_status"]) for e in detail["events"]] == [
        (None, "draft"),
        ("draft", "sent"),
        ("sent", "partially_received"),
        ("partially_received", "cancelled"),
    ]
    missing = api("GET", "/api/v1/purchase-orders/PO-1999-00009")
    assert (missing.status_code, missing.json["error"]["code"]) == (404, "purchase_order_not_found")


def test_recompute_and_policies_through_the_api(api: Any) -> None:
    recomputed = api("POST", "/api/v1/reorder/recompute", json={"service_level": "0.99"})
    assert recomputed.status_code == 200
    assert (recomputed.json["service_level"], recomputed.json["flagged"]) == ("0.9900", 4)
    bad = api("POST", "/api/v1/reorder/recompute", json={"service_level": "1.5"})
    assert (bad.status_code, list(bad.json["error"]["details"]["fields"])) == (
        422,
        ["service_level"],
    )

    policy = api("GET", "/api/v1/reorder/policies/cab-1").json
    assert (policy["method"], policy["pack_size"], policy["reorder_point"]) == ("manual", 1, 10)
    assert policy["computed"]["service_level"] == "0.9900"
    changed = api(
        "PATCH", "/api/v1/reorder/policies/CAB-1", json={"pack_size": 25, "method": "computed"}
    )
    assert (changed.status_code, changed.json["pack_size"], changed.json["method"]) == (
        200,
        25,
        "computed",
    )
    for body in ({"pack_size": 0}, {"pack_size": "3"}, {"colour": "red"}):
        assert api("PATCH", "/api/v1/reorder/policies/CAB-1", json=body).status_code == 422
    assert api("GET", "/api/v1/reorder/policies/NOPE").json["error"]["code"] == "part_not_found"


def test_catalogue_and_count_sheets_through_the_api(api: Any) -> None:
    catalogue = api.download("/api/v1/catalogue/export.xlsx")
    result = api.upload("/api/v1/catalogue/import", catalogue)
    assert (result.status_code, result.json) == (200, {"created": 0, "updated": 0, "unchanged": 5})

    sheet = api.download("/api/v1/cycle-counts/export.xlsx?location=main/a-01-01", Role.WAREHOUSE)
    book = openpyxl.load_workbook(io.BytesIO(sheet))
    assert book["Count"]["A2"].value == BIN

    def count(book: Any) -> None:
        book["Count"]["F2"] = 8  # CAB-1: one short

    counted = api.upload("/api/v1/cycle-counts/import", edit_workbook(sheet, count), Role.WAREHOUSE)
    assert counted.status_code == 201, counted.json
    assert (counted.json["counted"], counted.json["moves"][0]["difference"]) == (1, -1)
    assert counted.json["moves"][0]["reference"] == counted.json["reference"]
    unknown = api("GET", "/api/v1/cycle-counts/export.xlsx?location=MAIN/NOPE", Role.WAREHOUSE)
    assert (unknown.status_code, unknown.json["error"]["code"]) == (422, "unknown_location")
