"""The returns API over the Flask test client: intake contract, errors, actions."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import Role
from inventory.commands import ReceiveStock

INTAKE = {
    "customer": {
        "name": "Mia Chen",
        "email": "mia@example.com",
        "phone": "+44 20 7946 0000",
        "vip": False,
    },
    "order_number": "SO-1001",
    "payment_reference": "pi_3OrderPaid",
    "purchase_date": "2026-11-13",
    "channel": "email",
    "lines": [{"sku": "FAN-80", "qty": 1, "serial": "SN-77", "unit_price": "24.99"}],
    "reason": "defective",
    "description": "Fan rattles at full speed",
    "resolution": "refund",
    "priority": "medium",
}


@pytest.fixture
def desk(client: Any, role_headers: Any, app: Any) -> Any:
    inventory = app.extensions["spareflow"].inventory
    inventory.create_location(code="MAIN/A-01-01")
    inventory.create_part(sku="FAN-80", name="Cooling fan 80mm")
    inventory.receive("setup", ReceiveStock(sku="FAN-80", location="MAIN/A-01-01", qty=5))

    def call(method: str, path: str, role: Role = Role.SERVICE_DESK, **kwargs: Any) -> Any:
        return client.open(path, method=method, headers=role_headers[role], **kwargs)

    return call


def test_intake_answers_201_with_the_rma_number_and_status(desk: Any) -> None:
    response = desk("POST", "/api/v1/returns", json=INTAKE)
    assert response.status_code == 201, response.json
    body = response.json
    assert body["rma_number"] == "RMA-20261123-0001"
    assert body["status"] == "requested"
    assert body["refund"] == {
        "status": "none",
        "amount_minor": 2499,
        "currency": "usd",
        "hold_reason": None,
        "held_by": None,
        "released_by": None,
        "reference": None,
        "released_at": None,
        "error": None,
    }
    assert body["lines"][0]["sku"] == "FAN-80"
    assert body["timeline"][0]["to_status"] == "requested"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"lines": [{"sku": "NOPE", "qty": 1, "unit_price": "1"}]}, "lines.0.sku"),
        ({"purchase_date": "2027-01-01"}, "purchase_date"),
        ({"purchase_date": "2020-01-01"}, "purchase_date"),
        ({"channel": "fax"}, "channel"),
        ({"lines": []}, "lines"),
        ({"customer": {"name": "x", "email": "not-an-email"}}, "customer"),
        ({"lines": [{"sku": "FAN-80", "qty": 0, "unit_price": "1"}]}, "lines"),
    ],
)
def test_intake_errors_are_422_with_the_field_named(
    desk: Any, change: dict[str, Any], field: str
) -> None:
    response = desk("POST", "/api/v1/returns", json={**INTAKE, **change})
    assert response.status_code == 422, response.json
    assert field in response.json["error"]["details"]["fields"]
    assert desk("GET", "/api/v1/returns").json["items"] == []


def test_only_a_supervisor_can_override_the_policy(desk: Any) -> None:
    late = {
        **INTAKE,
        "purchase_date": "2020-01-01",
        "override_reason": "Goodwill for a key account",
    }
    assert desk("POST", "/api/v1/returns", json=late).status_code == 422
    response = desk("POST", "/api/v1/returns", json=late, role=Role.ADMIN)
    assert response.status_code == 201
    assert response.json["policy_override_reason"] == "Goodwill for a key account"


def test_actions_move_the_rma_and_illegal_ones_answer_409_with_the_state(desk: Any) -> None:
    number = desk("POST", "/api/v1/returns", json={**INTAKE, "resolution": "replacement"}).json[
        "rma_number"
    ]
    illegal = desk("POST", f"/api/v1/returns/{number}/close", json={})
    assert illegal.status_code == 409
    assert illegal.json["error"]["code"] == "illegal_transition"
    assert illegal.json["error"]["details"]["status"] == "requested"
    authorised = desk(
        "POST",
        f"/api/v1/returns/{number}/authorise",
        json={"carrier": "sandbox", "tracking_number": "SBX1"},
    )
    assert authorised.status_code == 200
    body = authorised.json
    assert body["status"] == "awaiting_pickup"
    assert body["replacements"][0]["status"] == "queued"
    assert body["shipments"][0]["tracking_number"] == "SBX1"
    queue = desk("GET", "/api/v1/replacements", role=Role.WAREHOUSE).json
    assert [(r["rma_number"], r["sku"]) for r in queue] == [(number, "FAN-80")]
    shipped = desk(
        "POST",
        f"/api/v1/replacements/{queue[0]['id']}/ship",
        role=Role.WAREHOUSE,
        json={"carrier": "sandbox", "tracking_number": "SBXOUT1"},
    )
    assert shipped.json["replacements"][0]["status"] == "shipped"


def test_the_list_filters_by_state_priority_and_customer(desk: Any) -> None:
    desk("POST", "/api/v1/returns", json=INTAKE)
    desk(
        "POST",
        "/api/v1/returns",
        json={
            **INTAKE,
            "priority": "urgent",
            "customer": {**INTAKE["customer"], "name": "Li Wei", "email": "li@example.com"},
        },
    )
    urgent = desk("GET", "/api/v1/returns?priority=urgent").json["items"]
    assert [r["customer_email"] for r in urgent] == ["li@example.com"]
    assert len(desk("GET", "/api/v1/returns?customer=MIA").json["items"]) == 1
    assert len(desk("GET", "/api/v1/returns?state=requested").json["items"]) == 2
    assert desk("GET", "/api/v1/returns?state=closed").json["items"] == []
    missing = desk("GET", "/api/v1/returns/RMA-20990101-0001")
    assert (missing.status_code, missing.json["error"]["code"]) == (404, "rma_not_found")
