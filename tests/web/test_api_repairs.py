"""The repair order over the API: open, a short part answered 409 ``parts_short`` and the
repair waiting, retried once stock arrives, labour, test, shipped back, the RMA closed."""

from __future__ import annotations

from typing import Any

from accounts.models import Role
from inventory.commands import ReceiveStock
from inventory.status import LocationKind
from tests.web import test_api_returns
from tests.web.test_api_returns import INTAKE

#: The API caller with each role's token (test_api_returns.py's fixture).
desk = test_api_returns.desk
W = Role.WAREHOUSE


def test_a_repair_over_the_api_waits_for_parts_then_ships_back_and_closes(
    desk: Any, app: Any
) -> None:
    inventory = app.extensions["spareflow"].inventory
    inventory.create_location(code="MAIN/RETURNS", kind=LocationKind.RETURNS)
    inventory.create_part(sku="CAP-10", name="Capacitor 10uF")
    intake = {**INTAKE, "resolution": "repair", "payment_reference": None}
    number = desk("POST", "/api/v1/returns", json=intake).json["rma_number"]
    desk(
        "POST",
        f"/api/v1/returns/{number}/authorise",
        json={"carrier": "sandbox", "tracking_number": "SBXREP1"},
    )
    missing = desk("GET", f"/api/v1/returns/{number}/repair")
    assert (missing.status_code, missing.json["error"]["code"]) == (404, "no_repair")
    received = desk(
        "POST",
        f"/api/v1/returns/{number}/receive",
        role=W,
        json={"lines": [{"sku": "FAN-80", "qty": 1}]},
    )
    assert received.status_code == 200, received.json
    refused = desk("POST", f"/api/v1/returns/{number}/repair", json={"diagnosis": "x"})
    assert refused.status_code == 403  # the service desk reads repairs, technicians do them
    opened = desk(
        "POST", f"/api/v1/returns/{number}/repair", role=W, json={"diagnosis": "Dry capacitor"}
    )
    assert (opened.status_code, opened.json["status"]) == (201, "open")
    short = desk(
        "POST", f"/api/v1/returns/{number}/repair/parts", role=W, json={"sku": "CAP-10", "qty": 1}
    )
    assert short.status_code == 409
    assert short.json["error"]["code"] == "parts_short"
    assert short.json["error"]["details"]["missing_skus"] == ["CAP-10"]
    waiting = desk("GET", f"/api/v1/returns/{number}/repair").json
    assert (waiting["status"], waiting["missing_skus"]) == ("waiting_for_parts", ["CAP-10"])
    inventory.receive("setup", ReceiveStock(sku="CAP-10", location="MAIN/A-01-01", qty=3))
    filled = desk("POST", f"/api/v1/returns/{number}/repair/parts/retry", role=W, json={}).json
    assert (filled["status"], filled["parts"][0]["status"]) == ("in_repair", "issued")
    assert filled["parts"][0]["stock_move_id"] is not None
    labour = desk(
        "POST", f"/api/v1/returns/{number}/repair/labour", role=W, json={"minutes": 40}
    ).json
    assert labour["labour_minutes"] == 40
    tested = desk(
        "POST",
        f"/api/v1/returns/{number}/repair/test",
        role=W,
        json={"passed": True, "result": "Runs quiet"},
    ).json
    assert tested["status"] == "tested_ok"
    shipped = desk(
        "POST",
        f"/api/v1/returns/{number}/repair/ship",
        role=W,
        json={"carrier": "sandbox", "tracking_number": "SBXREP2"},
    )
    assert (shipped.status_code, shipped.json["status"]) == (200, "shipped")
    rma = desk("GET", f"/api/v1/returns/{number}").json
    assert rma["status"] == "closed"
    assert any(t["reason"] == "Repaired unit shipped: sandbox SBXREP2" for t in rma["timeline"])
    moves = desk("GET", "/api/v1/stock/CAP-10/moves", role=W).json
    items = moves["items"] if isinstance(moves, dict) else moves
    assert any(m["reference"] == f"{number}/REP{shipped.json['id']}" for m in items)
