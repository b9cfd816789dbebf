"""The orders workbook over HTTP: the desk downloads it, an admin loads it back, all or nothing."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

import openpyxl

from accounts.models import Role


def upload(client: Any, headers: dict[str, str], data: bytes) -> Any:
    return client.post(
        "/api/v1/order-sheets/import",
        data={"file": (io.BytesIO(data), "orders.xlsx")},
        headers=headers,
        content_type="multipart/form-data",
    )


def filled_template(client: Any, headers: dict[str, str], *rows: dict[str, Any]) -> bytes:
    response = client.get("/api/v1/order-sheets/export.xlsx?template=true", headers=headers)
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    sheet = book["Orders"]
    headers_row = [cell.value for cell in sheet[1]]
    for values in rows:
        sheet.append([values.get(header) for header in headers_row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


ROW = {
    "Order number": "W-77",
    "Customer": "Mia Chen",
    "E-mail": "mia@example.com",
    "Ordered": datetime(2026, 11, 1, 9),
    "Currency": "USD",
    "SKU": "ABC-1",
    "Qty": 1,
    "Unit price": 12.5,
}


def test_an_admin_loads_the_filled_template_and_the_desk_downloads_the_orders(
    client: Any, role_headers: dict[Role, dict[str, str]]
) -> None:
    admin, desk = role_headers[Role.ADMIN], role_headers[Role.SERVICE_DESK]
    loaded = upload(client, admin, filled_template(client, desk, ROW))
    assert loaded.status_code == 200, loaded.json
    assert loaded.json == {"created": 1, "updated": 0, "unchanged": 0}
    exported = client.get("/api/v1/order-sheets/export.xlsx", headers=desk)
    sheet = openpyxl.load_workbook(io.BytesIO(exported.data))["Orders"]
    assert sheet["A2"].value == "W-77"


def test_a_bad_row_refuses_the_file_and_names_sheet_row_and_column(
    client: Any, role_headers: dict[Role, dict[str, str]]
) -> None:
    admin = role_headers[Role.ADMIN]
    data = filled_template(client, admin, ROW, {**ROW, "Order number": "W-78", "Qty": "lots"})
    refused = upload(client, admin, data)
    assert refused.status_code == 422, refused.json
    assert refused.json["error"]["code"] == "spreadsheet_rejected"
    problems = refused.json["error"]["details"]["problems"]
    assert {(p["sheet"], p["row"], p["header"]) for p in problems} == {("Orders", 3, "Qty")}
    desk_upload = upload(
        client, role_headers[Role.SERVICE_DESK], filled_template(client, admin, ROW)
    )
    assert desk_upload.status_code == 403
