"""The API's view of customer e-mails and service levels: language at intake, replies, SLA."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import Role


@pytest.fixture
def app_config(smtp_sink: Any) -> dict[str, Any]:
    return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": smtp_sink.port}


@pytest.fixture
def stocked_app(app: Any) -> Any:
    services = app.extensions["spareflow"]
    services.inventory.create_location(code="MAIN/A-01-01")
    services.inventory.create_part(sku="FAN-80", name="Cooling fan 80mm")
    return app


def intake(**customer: Any) -> dict[str, Any]:
    return {
        "customer": {"name": "Li Wei", "email": "li@example.cn", **customer},
        "channel": "marketplace",
        "reason": "defective",
        "resolution": "refund",
        "priority": "urgent",
        "payment_reference": "pi_1",
        "lines": [{"sku": "FAN-80", "qty": 1, "unit_price": "24.99"}],
    }


def test_a_reply_is_e_mailed_in_the_customers_language_and_is_the_first_response(
    stocked_app, client, role_headers, smtp_sink, clock
) -> None:
    desk = role_headers[Role.SERVICE_DESK]
    created = client.post("/api/v1/returns", json=intake(language="zh-CN"), headers=desk)
    assert created.status_code == 201, created.get_json()
    number = created.get_json()["rma_number"]
    rma = client.get(f"/api/v1/returns/{number}", headers=desk).get_json()
    assert rma["customer"]["language"] == "zh_Hans"
    # Monday 09:00, urgent: first response due within one working hour.
    assert rma["service_level"]["first_response_due_at"] == "2026-11-23T10:00:00+00:00"
    assert (rma["service_level"]["next_target"], rma["service_level"]["minutes_left"]) == (
        "first_response",
        60,
    )

    replied = client.post(
        f"/api/v1/returns/{number}/reply", json={"message": "我们正在处理。"}, headers=desk
    )
    assert replied.status_code == 200
    body = replied.get_json()
    assert body["service_level"]["first_response_at"] == "2026-11-23T09:00:00+00:00"
    assert body["service_level"]["next_target"] == "resolution"
    assert [(e["kind"], e["status"], e["language"]) for e in body["emails"]] == [
        ("reply", "queued", "zh_Hans")
    ]
    stocked_app.extensions["spareflow"].outbox.drain()
    [message] = smtp_sink.messages
    assert message["Subject"] == f"关于您的退货 {number}"
    assert "我们正在处理。" in message.get_body(preferencelist=("plain",)).get_content()


def test_bad_replies_and_languages_are_refused_naming_the_field(
    stocked_app, client, role_headers
) -> None:
    desk = role_headers[Role.SERVICE_DESK]
    refused = client.post("/api/v1/returns", json=intake(language="fr"), headers=desk)
    assert refused.status_code == 422
    assert "language" in str(refused.get_json())
    number = client.post("/api/v1/returns", json=intake(), headers=desk).get_json()["rma_number"]
    empty = client.post(f"/api/v1/returns/{number}/reply", json={"message": ""}, headers=desk)
    assert empty.status_code == 422 and "message" in str(empty.get_json())
    warehouse = role_headers[Role.WAREHOUSE]
    forbidden = client.post(
        f"/api/v1/returns/{number}/reply", json={"message": "hi"}, headers=warehouse
    )
    assert forbidden.status_code == 403


def test_a_late_bounce_is_recorded_by_message_id(stocked_app, client, role_headers) -> None:
    desk, admin = role_headers[Role.SERVICE_DESK], role_headers[Role.ADMIN]
    number = client.post("/api/v1/returns", json=intake(), headers=desk).get_json()["rma_number"]
    body = client.post(
        f"/api/v1/returns/{number}/reply", json={"message": "On its way."}, headers=desk
    ).get_json()
    stocked_app.extensions["spareflow"].outbox.drain()
    message_id = body["emails"][0]["message_id"]
    bounced = client.post(
        "/api/v1/emails/bounces",
        json={"message_id": message_id, "reason": "552 mailbox full"},
        headers=admin,
    )
    assert bounced.status_code == 200
    assert (bounced.get_json()["status"], bounced.get_json()["error"]) == (
        "bounced",
        "552 mailbox full",
    )
    rma = client.get(f"/api/v1/returns/{number}", headers=desk).get_json()
    assert rma["emails"][0]["status"] == "bounced"
    assert any("bounced: 552 mailbox full" in t["reason"] for t in rma["timeline"])
    unknown = client.post(
        "/api/v1/emails/bounces",
        json={"message_id": "<nope@spareflow>", "reason": "x"},
        headers=admin,
    )
    assert unknown.status_code == 422 and "message_id" in str(unknown.get_json())
    assert (
        client.post(
            "/api/v1/emails/bounces", json={"message_id": message_id, "reason": "x"}, headers=desk
        ).status_code
        == 403
    )
