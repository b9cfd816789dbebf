"""Serials over HTTP: the API's flag, moves and look-ups, the recall workbook read back,
the scan forms that take one serial per line, and the look-up page."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import openpyxl

from accounts.models import Role
from sales.commands import OrderCustomer, OrderLineInput, UpsertOrder
from tests.integration.test_purchasing import draft
from tests.web.test_pages import PASSWORD, sign_in
from tests.web.test_warehouse_pages import floor, post_form  # noqa: F401 (the fixture)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def test_the_api_moves_units_by_serial_and_says_where_each_is(
    app: Any, client: Any, role_headers: dict[Role, dict[str, str]]
) -> None:
    buyer, warehouse, desk = (
        role_headers[r] for r in (Role.BUYER, Role.WAREHOUSE, Role.SERVICE_DESK)
    )
    app.extensions["spareflow"].inventory.create_location(code="MAIN/A-01")
    made = client.post(
        "/api/v1/parts", json={"sku": "CAM-1", "name": "Camera", "serialised": True}, headers=buyer
    )
    assert (made.status_code, made.json["serialised"]) == (201, True)
    receipt = {"sku": "CAM-1", "location": "MAIN/A-01", "qty": 2}
    refused = client.post("/api/v1/stock/receipts", json=receipt, headers=warehouse)
    assert (refused.status_code, refused.json["error"]["code"]) == (422, "serials_required")
    booked = client.post(
        "/api/v1/stock/receipts",
        json={**receipt, "serials": ["SN-0001", "SN-0002"], "reference": "PO-1"},
        headers=warehouse,
    )
    assert (booked.status_code, booked.json["serials"]) == (201, ["SN-0001", "SN-0002"])
    found = client.get("/api/v1/serials/SN-0002", headers=desk)
    assert found.status_code == 200
    [unit] = found.json["units"]
    assert (unit["sku"], unit["state"], unit["location"]) == ("CAM-1", "in_stock", "MAIN/A-01")
    assert [move["reference"] for move in unit["history"]] == ["PO-1"]
    missing = client.get("/api/v1/serials/NOPE", headers=desk)
    assert (missing.status_code, missing.json["error"]["code"]) == (404, "serial_not_found")


def test_the_recall_workbook_lists_the_customers_in_the_range(
    app: Any, client: Any, role_headers: dict[Role, dict[str, str]]
) -> None:
    services = app.extensions["spareflow"]
    services.inventory.create_part(sku="CAM-1", name="Camera", serialised=True)
    # The order feed, as the app wires it: the shipped serials become the customer's.
    services.orders.upsert(
        UpsertOrder(
            number="SO-77",
            channel="web",
            customer=OrderCustomer(name="=Lee Park", email="lee@example.com"),
            ordered_at=datetime(2026, 10, 1, 9, tzinfo=UTC),
            shipped_at=datetime(2026, 10, 2, 9, tzinfo=UTC),
            currency="EUR",
            lines=(OrderLineInput("CAM-1", 3, Decimal("99"), serials=("A9", "A10", "B1")),),
        )
    )
    with client.get(
        "/api/v1/serials/recall.xlsx?sku=cam-1&from=A9&to=A99",
        headers=role_headers[Role.SERVICE_DESK],
    ) as response:
        assert (response.status_code, response.mimetype) == (200, XLSX)
        data = response.get_data()
    sheet = openpyxl.load_workbook(io.BytesIO(data))["Recall"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("SKU", "Serial", "Customer", "E-mail")
    # A9 then A10 (natural order); B1 is past A99; the name stays text, not a formula.
    assert [(row[1], row[2], row[3], row[4]) for row in rows[1:]] == [
        ("A9", "'=Lee Park", "lee@example.com", "SO-77"),
        ("A10", "'=Lee Park", "lee@example.com", "SO-77"),
    ]
    bad = client.get("/api/v1/serials/recall.xlsx?sku=CAM-1", headers=role_headers[Role.ADMIN])
    assert bad.status_code == 422


def test_a_scanner_types_one_serial_per_line_and_the_page_finds_the_unit(
    app: Any,
    floor: Any,  # noqa: F811
) -> None:
    services = app.extensions["spareflow"]
    services.inventory.create_part(sku="CAM-1", name="Camera", serialised=True)
    booked = post_form(
        floor,
        "/warehouse/receive",
        part="CAM-1",
        location="MAIN/A-01-01",
        qty="2",
        serials="SN-1\r\nSN-2\r\n",
    )
    assert booked.status_code == 302
    moved = post_form(
        floor,
        "/warehouse/move",
        part="CAM-1",
        from_location="MAIN/A-01-01",
        to_location="MAIN/A-01-02",
        qty="1",
        serials="SN-9",
    )
    assert moved.status_code == 422
    assert "No unit with serial SN-9." in moved.get_data(as_text=True)
    page = floor.get("/serials?serial=SN-2").get_data(as_text=True)
    assert "MAIN/A-01-01" in page and "CAM-1" in page
    assert "Recall list" not in page  # the warehouse cannot download customers' contacts
    assert floor.get("/serials/recall.xlsx?sku=CAM-1&from=A&to=B").status_code == 403
    services.auth.create_user("sue@desk.example", Role.SERVICE_DESK, PASSWORD)
    desk = app.test_client()
    sign_in(desk, "sue@desk.example", PASSWORD)
    with desk.get("/serials/recall.xlsx?sku=CAM-1&from=SN-1&to=SN-2") as response:
        assert (response.status_code, response.mimetype) == (200, XLSX)


def test_a_purchase_order_receipt_names_serials_by_api_and_on_the_goods_in_page(
    app: Any,
    floor: Any,  # noqa: F811
    role_headers: dict[Role, dict[str, str]],
) -> None:
    services = app.extensions["spareflow"]
    purchasing = services.buying.purchasing
    services.inventory.create_supplier(code="ACME", name="Acme Parts")
    services.inventory.create_part(sku="CAM-1", name="Camera", supplier="ACME", serialised=True)
    number = draft(purchasing, "ACME", {"CAM-1": 3})
    purchasing.send("bob@wh.example", number)
    path = f"/api/v1/purchase-orders/{number}/receive"
    warehouse = role_headers[Role.WAREHOUSE]
    line = {"sku": "CAM-1", "qty": 1}
    refused = client_post(app, path, {"location": "MAIN/A-01-01", "lines": [line]}, warehouse)
    assert (refused.status_code, refused.json["error"]["code"]) == (422, "serials_required")
    details = refused.json["error"]["details"]
    assert (details["field"], details["line_no"], list(details["fields"])) == (
        "lines.0.serials",
        1,
        ["lines.0.serials"],
    )
    booked = client_post(
        app,
        path,
        {"location": "MAIN/A-01-01", "lines": [{**line, "serials": ["SN-1"]}]},
        warehouse,
    )
    assert booked.status_code == 201, booked.json
    assert booked.json["moves"][0]["serials"] == ["SN-1"]
    assert booked.json["purchase_order"]["lines"][0]["serialised"] is True

    line_id = purchasing.get_order(number).lines[0].id
    page = floor.get(f"/warehouse/purchase-orders/{number}").get_data(as_text=True)
    assert f'name="serials-{line_id}"' in page
    missing = post_form(
        floor,
        f"/warehouse/purchase-orders/{number}",
        location="MAIN/A-01-02",
        **{f"qty-{line_id}": "2"},
    )
    assert missing.status_code == 302
    assert purchasing.get_order(number).lines[0].qty_received == 1
    post_form(
        floor,
        f"/warehouse/purchase-orders/{number}",
        location="MAIN/A-01-02",
        **{f"qty-{line_id}": "2", f"serials-{line_id}": "SN-2\r\nSN-3\r\n"},
    )
    assert purchasing.get_order(number).status.value == "received"
    [unit] = services.inventory.serial("SN-3")
    assert (unit.state, unit.location) == ("in_stock", "MAIN/A-01-02")


def client_post(app: Any, path: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
    return app.test_client().post(path, json=body, headers=headers)
