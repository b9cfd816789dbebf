"""The supplier-claim endpoints through the Flask test client: paging and filters, the
transitions with their 409 and 422 answers, the workbook and the per-supplier figures."""

from __future__ import annotations

import io
from typing import Any

import openpyxl
import pytest

from accounts.models import Role
from inventory.commands import ReceiveStock
from inventory.status import LocationKind

INTAKE = {
    "customer": {"name": "Mia Chen", "email": "mia@example.com"},
    "payment_reference": "pi_3OrderPaid",
    "purchase_date": "2026-11-13",
    "channel": "email",
    "reason": "defective",
    "description": "Fan rattles",
    "resolution": "refund",
}


@pytest.fixture
def api(client: Any, role_headers: Any, app: Any) -> Any:
    inventory = app.extensions["spareflow"].inventory
    inventory.create_supplier(code="ACME", name="Acme Parts")
    inventory.create_location(code="MAIN/A-01-01")
    inventory.create_location(code="MAIN/RETURNS", kind=LocationKind.RETURNS)
    inventory.create_part(sku="FAN-80", name="Cooling fan 80mm", supplier="ACME")
    inventory.receive("setup", ReceiveStock(sku="FAN-80", location="MAIN/A-01-01", qty=5))

    def call(method: str, path: str, role: Role = Role.BUYER, **kwargs: Any) -> Any:
        return client.open(path, method=method, headers=role_headers[role], **kwargs)

    return call


def a_claim(api: Any, tracking: str, qty: int = 1) -> int:
    lines = [{"sku": "FAN-80", "qty": qty, "unit_price": "24.99"}]
    number = api(
        "POST", "/api/v1/returns", Role.SERVICE_DESK, json={**INTAKE, "lines": lines}
    ).json["rma_number"]
    authorised = api(
        "POST",
        f"/api/v1/returns/{number}/authorise",
        Role.SERVICE_DESK,
        json={"carrier": "sandbox", "tracking_number": tracking},
    )
    assert authorised.status_code == 200, authorised.json
    received = api(
        "POST",
        f"/api/v1/returns/{number}/receive",
        Role.WAREHOUSE,
        json={"lines": [{"sku": "FAN-80", "qty": qty}]},
    )
    assert received.status_code == 200, received.json
    inspected = api(
        "POST",
        f"/api/v1/returns/{number}/inspect",
        Role.WAREHOUSE,
        json={"lines": [{"sku": "FAN-80", "disposition": "return_to_vendor"}]},
    )
    assert inspected.status_code == 200, inspected.json
    return int(inspected.json["supplier_claims"][0]["id"])


def test_claims_come_in_pages_filtered_by_supplier_and_state(api: Any) -> None:
    ids = [a_claim(api, f"SBXA{n}") for n in range(3)]
    first = api("GET", "/api/v1/claims?limit=2&supplier=acme").json
    assert [c["id"] for c in first["items"]] == [ids[2], ids[1]]
    assert first["items"][0]["number"] == f"CLM-{ids[2]:05d}"
    assert first["items"][0]["allowed"] == ["cancelled", "shipped_to_vendor"]
    rest = api("GET", f"/api/v1/claims?limit=2&cursor={first['next_cursor']}").json
    assert ([c["id"] for c in rest["items"]], rest["next_cursor"]) == ([ids[0]], None)
    assert api("GET", "/api/v1/claims?status=credited").json["items"] == []
    assert api("GET", "/api/v1/claims?status=lost").status_code == 422
    assert api("GET", "/api/v1/claims?supplier=NOPE").status_code == 422  # as for orders


def test_transitions_answer_the_claim_and_illegal_ones_409(api: Any) -> None:
    claim_id = a_claim(api, "SBXB1")
    early = api("POST", f"/api/v1/claims/{claim_id}/acknowledge", json={"vendor_rma": "V-1"})
    assert early.status_code == 409
    assert early.json["error"]["code"] == "illegal_claim_transition"
    assert early.json["error"]["details"]["status"] == "open"
    missing = api("POST", f"/api/v1/claims/{claim_id}/ship", json={"carrier": "sandbox"})
    assert missing.status_code == 422
    assert "tracking_number" in missing.json["error"]["details"]["fields"]
    shipped = api(
        "POST",
        f"/api/v1/claims/{claim_id}/ship",
        json={"carrier": "sandbox", "tracking_number": "sbxv-1"},
    )
    assert shipped.status_code == 200, shipped.json
    assert (shipped.json["status"], shipped.json["tracking_number"]) == (
        "shipped_to_vendor",
        "SBXV-1",
    )
    negative = api(
        "POST",
        f"/api/v1/claims/{claim_id}/credit",
        json={"amount": "-1", "currency": "EUR", "credit_note": "CN-1"},
    )
    assert negative.status_code == 422
    credited = api(
        "POST",
        f"/api/v1/claims/{claim_id}/credit",
        json={"amount": "24.99", "currency": "eur", "credit_note": "CN-1"},
    )
    assert credited.status_code == 200, credited.json
    body = api("GET", f"/api/v1/claims/{claim_id}").json
    assert (body["status"], body["credit_amount"], body["credit_currency"]) == (
        "credited",
        "24.9900",
        "EUR",
    )
    assert [e["to_status"] for e in body["events"]] == ["open", "shipped_to_vendor", "credited"]
    assert api("GET", "/api/v1/claims/999999").status_code == 404

    figures = api("GET", "/api/v1/claims/figures").json["suppliers"]
    assert [(f["supplier"], f["claims"], f["recovered"]) for f in figures] == [
        ("ACME", 1, {"EUR": "24.9900"})
    ]
    assert figures[0]["claim_rate"] is None  # nothing received on purchase orders


def test_the_workbook_holds_the_filtered_claims(api: Any) -> None:
    kept, withdrawn = a_claim(api, "SBXC1"), a_claim(api, "SBXC2", qty=2)
    api("POST", f"/api/v1/claims/{withdrawn}/cancel", json={"reason": "kept as a spare"})
    response = api("GET", "/api/v1/claims/export.xlsx?status=open")
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.get_data()))["Claims"]
    rows = [row for row in sheet.iter_rows(values_only=True) if row[0]]
    assert rows[0][:3] == ("Claim", "Supplier", "Supplier name")
    assert [row[0] for row in rows[1:] if str(row[0]).startswith("CLM-")] == [f"CLM-{kept:05d}"]
