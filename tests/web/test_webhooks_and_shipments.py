"""Carrier webhooks and the shipments API over HTTP (Flask test client)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from accounts.models import Role
from carriers.adapters.sandbox import SIGNATURE_HEADER, sign
from tests.support.sandbox_webhooks import SECRET, sandbox_payload
from web import create_app, scheduler

URL = "/webhooks/carriers/sandbox"


def post_signed(client: Any, body: bytes, clock: Any, secret: str = SECRET, **headers: str) -> Any:
    signature = sign(secret, body, int(clock.now().timestamp()))
    return client.post(
        URL,
        data=body,
        content_type="application/json",
        headers={SIGNATURE_HEADER: signature, **headers},
    )


def error_code(response: Any) -> str:
    assert set(response.json) == {"error"}
    return response.json["error"]["code"]


def test_a_signed_webhook_is_acknowledged_and_shows_on_the_shipment(
    client: Any, clock: Any, role_headers: Any
) -> None:
    desk = role_headers[Role.SERVICE_DESK]
    created = client.post(
        "/api/v1/shipments",
        headers=desk,
        json={
            "direction": "inbound",
            "carrier": "sandbox",
            "tracking_number": "SBX100",
            "reference": "RMA-1",
        },
    )
    assert created.status_code == 201, created.json
    assert created.json["status"] == "pre_transit"
    body = sandbox_payload(
        "SBX100", "picked_up", clock.now() - timedelta(minutes=2), location="Kiosk 4"
    )
    response = post_signed(client, body, clock)
    assert (response.status_code, response.json) == (200, {"received": True})
    assert post_signed(client, body, clock).status_code == 200  # a duplicate is fine, and absorbed
    shipment = client.get("/api/v1/shipments/sbx100", headers=role_headers[Role.BUYER]).json
    assert shipment["status"] == "picked_up"
    assert shipment["picked_up_at"] == (clock.now() - timedelta(minutes=2)).isoformat()
    assert [
        (e["status"], e["location"], e["outcome"], e["source"]) for e in shipment["events"]
    ] == [("picked_up", "Kiosk 4", "applied", "webhook")]


def test_unsigned_wrongly_signed_and_replayed_webhooks_get_a_401(client: Any, clock: Any) -> None:
    body = sandbox_payload("SBX101", "picked_up", clock.now())
    unsigned = client.post(URL, data=body, content_type="application/json")
    assert (unsigned.status_code, error_code(unsigned)) == (401, "webhook_rejected")
    wrong = post_signed(client, body, clock, secret="guess")
    assert (wrong.status_code, error_code(wrong)) == (401, "webhook_rejected")
    old = sign(SECRET, body, int((clock.now() - timedelta(hours=2)).timestamp()))
    replay = client.post(
        URL, data=body, content_type="application/json", headers={SIGNATURE_HEADER: old}
    )
    assert (replay.status_code, error_code(replay)) == (401, "webhook_rejected")


def test_an_unknown_carrier_is_a_404_and_a_huge_body_a_413(client: Any, clock: Any) -> None:
    unknown = client.post("/webhooks/carriers/pigeon", data=b"{}", content_type="application/json")
    assert (unknown.status_code, error_code(unknown)) == (404, "unknown_carrier")
    huge = client.post(URL, data=b"x" * (1024 * 1024 + 1), content_type="application/json")
    assert (huge.status_code, error_code(huge)) == (413, "payload_too_large")


def test_an_authentic_malformed_webhook_is_a_400(client: Any, clock: Any) -> None:
    response = post_signed(client, b"not json at all", clock)
    assert (response.status_code, error_code(response)) == (400, "malformed_webhook")


def test_staff_record_a_pickup_by_hand_through_the_api(client: Any, role_headers: Any) -> None:
    warehouse = role_headers[Role.WAREHOUSE]
    client.post(
        "/api/v1/shipments",
        headers=warehouse,
        json={"direction": "inbound", "carrier": "sandbox", "tracking_number": "SBX102"},
    )
    response = client.post(
        "/api/v1/shipments/SBX102/events",
        headers=warehouse,
        json={"status": "picked_up", "reason": "Driver confirmed by phone"},
    )
    assert response.status_code == 201
    assert response.json["status"] == "picked_up"
    [event] = response.json["events"]
    assert (event["source"], event["recorded_by"]) == ("manual", "warehouse@test.example")
    missing_reason = client.post(
        "/api/v1/shipments/SBX102/events", headers=warehouse, json={"status": "delivered"}
    )
    assert (missing_reason.status_code, error_code(missing_reason)) == (422, "validation_error")
    naive_time = client.post(
        "/api/v1/shipments/SBX102/events",
        headers=warehouse,
        json={"status": "delivered", "reason": "x", "occurred_at": "2026-11-23T08:00:00"},
    )
    assert naive_time.status_code == 422


def test_shipment_registration_errors_are_clear(client: Any, role_headers: Any) -> None:
    desk = role_headers[Role.SERVICE_DESK]
    body = {"direction": "inbound", "carrier": "sandbox", "tracking_number": "SBX103"}
    assert client.post("/api/v1/shipments", headers=desk, json=body).status_code == 201
    again = client.post("/api/v1/shipments", headers=desk, json=body)
    assert (again.status_code, error_code(again)) == (409, "duplicate_shipment")
    unknown = client.post("/api/v1/shipments", headers=desk, json={**body, "carrier": "pigeon"})
    assert (unknown.status_code, error_code(unknown)) == (422, "unknown_carrier")
    missing = client.get("/api/v1/shipments/NOPE", headers=desk)
    assert (missing.status_code, error_code(missing)) == (404, "shipment_not_found")
    no_label = client.get("/api/v1/shipments/SBX103/label", headers=desk)
    assert (no_label.status_code, error_code(no_label)) == (404, "no_label")


@pytest.mark.parametrize("app_config", [{"CARRIER_EVENTS_APPLY": "worker"}])
def test_in_worker_mode_a_webhook_is_acknowledged_and_the_scheduler_job_applies_it(
    app: Any, client: Any, clock: Any, role_headers: Any
) -> None:
    desk = role_headers[Role.SERVICE_DESK]
    created = client.post(
        "/api/v1/shipments",
        headers=desk,
        json={"direction": "inbound", "carrier": "sandbox", "tracking_number": "SBX150"},
    )
    assert created.status_code == 201, created.json
    body = sandbox_payload("SBX150", "picked_up", clock.now() - timedelta(minutes=2))
    response = post_signed(client, body, clock)
    assert (response.status_code, response.json) == (200, {"received": True})
    carriers = app.extensions["spareflow"].carriers
    assert carriers.pending_events() == 1
    shipment = client.get("/api/v1/shipments/SBX150", headers=desk).json
    assert (shipment["status"], shipment["picked_up_at"], shipment["events"]) == (
        "pre_transit",
        None,
        [],
    )

    # The job needs the services only, no app context.
    assert scheduler.apply_carrier_events(app.extensions["spareflow"]) == 1
    assert scheduler.apply_carrier_events(app.extensions["spareflow"]) == 0
    assert carriers.pending_events() == 0
    shipment = client.get("/api/v1/shipments/SBX150", headers=desk).json
    assert shipment["status"] == "picked_up"
    assert shipment["picked_up_at"] == (clock.now() - timedelta(minutes=2)).isoformat()
    assert [(e["status"], e["outcome"]) for e in shipment["events"]] == [("picked_up", "applied")]


def test_an_unknown_carrier_events_apply_mode_stops_the_app_from_starting(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"CARRIER_EVENTS_APPLY.*'nightly'"):
        create_app(
            {
                "TESTING": True,
                "DATABASE_URL": f"sqlite:///{tmp_path / 'apply.db'}",
                "SECRET_KEY": "x",
                "CARRIER_EVENTS_APPLY": "nightly",
            }
        )
