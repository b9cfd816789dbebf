"""Whatever the API accepts, every xlsx export writes, as text that stays text.

Found by the API fuzz run (schemathesis, admin token): after it had created parts, suppliers
and policies with odd but accepted values, ``GET /api/v1/reorder/export.xlsx`` answered 500
(openpyxl's ``IllegalCharacterError`` on a control character in a supplier's name, written
to the Summary sheet without going through core/spreadsheets' neutralising path). And a
supplier named ``=HYPERLINK(...)`` became a live formula there.

Here the records are created through the API with values a fuzzer tries (control characters,
formula triggers, the longest strings, the largest quantities and prices, zero and maximal
lead times, unusual unicode), then every export is downloaded and read back with openpyxl:
each is a valid workbook, no user text is a formula, no cell holds what XML cannot carry,
every sheet title is legal, and the exported workbooks upload again without a 5xx.
"""

from __future__ import annotations

import io
import re
from typing import Any

import openpyxl
import pytest

from accounts.models import Role
from tests.web.test_api_returns import INTAKE
from tests.web.test_pages import PASSWORD, sign_in

ATTACK = '=HYPERLINK("http://x","y")'
HOSTILE_TEXTS = [
    ATTACK,
    "@SUM(1+1)",
    "+1+2",
    "-2+3",
    "\ttab first",
    "ctrl \x01\x02\x07\x08\x0b\x0c\x0e\x1f inside",
    "'=quoted already",
    "non-characters \ufffe\uffff",
    "right-to-left \u202egnp.exe",
    "CJK 冷却风扇 😀 emoji",
    "\u0301 combining first",
    "x" * 200,
]
#: What openpyxl, and so Excel and LibreOffice, cannot hold in a cell.
ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
#: The formulas spareflow writes itself: totals, and each line's value.
OUR_FORMULAS = re.compile(
    r"^=(SUBTOTAL\(109,[A-Z]+\d+:[A-Z]+\d+\)|(SUM|MIN)\([A-Z]\d+:[A-Z]\d+\)|[A-Z]+\d+\*[A-Z]+\d+)$"
)
SHEET_TITLE = re.compile(r"^[^\[\]:*?/\\'=+\-@\x00-\x1f][^\[\]:*?/\\\x00-\x1f]{0,30}$")


def _created(response: Any) -> Any:
    assert response.status_code == 201, response.json
    return response.json


@pytest.fixture
def hostile(client: Any, role_headers: dict[Role, dict[str, str]]) -> dict[str, Any]:
    """Suppliers, parts, policies, stock and an RMA with the oddest values the API accepts."""
    admin = role_headers[Role.ADMIN]

    def post(path: str, body: dict[str, Any]) -> Any:
        return _created(client.post(path, headers=admin, json=body))

    codes = ["HISTORY", "SPAREFLOW", "summary", "Z" * 32, "A-_1"]
    codes += [f"S{index}" for index in range(len(HOSTILE_TEXTS))]
    for index, code in enumerate(codes):
        text = HOSTILE_TEXTS[index % len(HOSTILE_TEXTS)]
        post(
            "/api/v1/suppliers",
            {
                "code": code,
                "name": text,
                "contact_name": text,
                "phone": text[:50],
                "default_lead_time_days": (0, 365)[index % 2],
            },
        )
    location = "W" * 31 + "/" + "9" * 32  # the longest location code
    post("/api/v1/locations", {"code": location, "description": ATTACK})
    for index, code in enumerate(codes):
        text = HOSTILE_TEXTS[index % len(HOSTILE_TEXTS)]
        sku = f"P{index}-" + "9" * 40
        post(
            "/api/v1/parts",
            {
                "sku": sku,
                "name": text,
                "description": (text * 30)[:5000],
                "unit": text[:16],
                "category": text[:100],
                "barcode": f"{index}{text}"[:64],
                "supplier": code,
                "unit_cost": ("999999999.9999", "0.0001", "0")[index % 3],
                "lead_time_days": (0, 365, None)[index % 3],
                "reorder_point": 1_000_000_000,
                "reorder_qty": (0, 1_000_000_000)[index % 2],
                "safety_stock": (0, 1_000_000_000)[index % 2],
            },
        )
        policy = client.patch(
            f"/api/v1/reorder/policies/{sku}",
            headers=admin,
            json={
                "pack_size": (1, 1_000_000_000, 7)[index % 3],
                "min_order_qty": (0, 1_000_000_000)[index % 2],
                "max_level": (None, 0, 1_000_000_000)[index % 3],
                "service_level": ("0.5000", "0.9999", None)[index % 3],
                "order_cycle_days": (1, 365, None)[index % 3],
                "method": "computed" if index >= len(codes) - 2 else "manual",
            },
        )
        assert policy.status_code == 200, policy.json
        if index % 4 == 0:
            post(
                "/api/v1/stock/receipts",
                {"sku": sku, "location": location, "qty": 1_000_000_000, "reference": text[:100]},
            )
    recompute = client.post(
        "/api/v1/reorder/recompute",
        headers=admin,
        json={"window_days": 3650, "service_level": "0.9999"},
    )
    assert recompute.status_code == 200, recompute.json
    intake = {
        **INTAKE,
        "customer": {**INTAKE["customer"], "name": ATTACK, "phone": "\x01" * 50},
        "order_number": ATTACK,
        "description": "\x01" + ATTACK,
        "lines": [{"sku": "P0-" + "9" * 40, "qty": 1, "serial": ATTACK, "unit_price": "0.0001"}],
    }
    post_rma = client.post("/api/v1/returns", headers=role_headers[Role.SERVICE_DESK], json=intake)
    assert post_rma.status_code == 201, post_rma.json
    return {"location": location, "codes": codes}


def check_workbook(data: bytes) -> openpyxl.Workbook:
    """A workbook Excel opens: legal titles, no user formula, nothing XML cannot carry."""
    workbook = openpyxl.load_workbook(io.BytesIO(data))  # also proves the file is whole
    titles = [ws.title for ws in workbook.worksheets]
    assert len({t.casefold() for t in titles}) == len(titles), titles
    for ws in workbook.worksheets:
        assert SHEET_TITLE.match(ws.title), ws.title
        assert ws.title.casefold() != "history", titles
        for row in ws.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    assert OUR_FORMULAS.match(str(cell.value)), (
                        ws.title,
                        cell.coordinate,
                        cell.value,
                    )
                elif isinstance(cell.value, str):
                    assert not ILLEGAL.search(cell.value), (ws.title, cell.coordinate)
                    if cell.value.startswith(("=", "+", "-", "@", "\t", "\r")):
                        pytest.fail(f"{ws.title}!{cell.coordinate} would run: {cell.value!r}")
    return workbook


def texts(workbook: openpyxl.Workbook) -> list[tuple[str, str, Any]]:
    return [
        (ws.title, cell.coordinate, cell)
        for ws in workbook.worksheets
        for row in ws.iter_rows()
        for cell in row
        if cell.value is not None
    ]


def test_every_api_export_writes_what_the_api_accepted(
    client: Any, role_headers: dict[Role, dict[str, str]], hostile: dict[str, Any]
) -> None:
    admin = role_headers[Role.ADMIN]
    reorder = client.get("/api/v1/reorder/export.xlsx", headers=admin)
    assert reorder.status_code == 200, reorder.get_data()[:300]
    workbook = check_workbook(reorder.data)
    # The attack: a supplier named =HYPERLINK(...) is text on the Summary sheet, and on its
    # own supplier sheet, never a formula.
    summary = [row[:2] for row in workbook["Summary"].iter_rows(min_row=6, values_only=True)]
    for text in HOSTILE_TEXTS:  # every name is there, as written bar what XML cannot carry
        shown = ILLEGAL.sub("", text.strip())  # the API trims text
        shown = "'" + shown if shown.startswith(("=", "+", "-", "@", "\t", "'")) else shown
        assert shown in {name for _, name in summary}, (text, summary)
    attack_cells = [c for _, _, c in texts(workbook) if c.value == "'" + ATTACK]
    assert {c.parent.title for c in attack_cells} >= {"Summary"}, attack_cells
    assert all(c.data_type == "s" for c in attack_cells)
    summary_names = [row[1] for row in workbook["Summary"].iter_rows(values_only=True)]
    assert "'" + ATTACK in summary_names
    # Sheets of suppliers coded like reserved or our own sheets got titles of their own.
    titles = [t.casefold() for t in workbook.sheetnames]
    assert titles.count("summary") == 1 and titles.count("spareflow") == 1
    assert "history" not in titles and "history (2)" in titles

    catalogue = client.get("/api/v1/catalogue/export.xlsx", headers=admin)
    assert catalogue.status_code == 200
    parts = check_workbook(catalogue.data)
    assert any(c.value == "'" + ATTACK and c.data_type == "s" for _, _, c in texts(parts))

    count = client.get(
        "/api/v1/cycle-counts/export.xlsx",
        headers=admin,
        query_string={"location": hostile["location"]},
    )
    assert count.status_code == 200, count.json
    check_workbook(count.data)

    # What was exported uploads again: a 4xx at worst (the quantities are beyond any order),
    # never a 5xx.
    for url, data in [
        ("/api/v1/reorder/import", reorder.data),
        ("/api/v1/catalogue/import", catalogue.data),
        ("/api/v1/cycle-counts/import", count.data),
    ]:
        upload = {"file": (io.BytesIO(data), "back.xlsx")}
        answer = client.post(url, headers=admin, data=upload, content_type="multipart/form-data")
        assert answer.status_code < 500, (url, answer.json)


def test_every_page_export_writes_what_the_api_accepted(app: Any, hostile: dict[str, Any]) -> None:
    app.extensions["spareflow"].auth.create_user("export-admin@test.example", Role.ADMIN, PASSWORD)
    browser = app.test_client()
    assert sign_in(browser, "export-admin@test.example", PASSWORD).status_code == 302
    for url in (
        "/buying/reorder.xlsx",
        "/buying/catalogue.xlsx",
        "/metrics/report.xlsx?from=2026-01-01&to=2026-12-31",
    ):
        response = browser.get(url)
        assert response.status_code == 200, (url, response.get_data()[:300])
        check_workbook(response.data)
