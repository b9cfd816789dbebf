"""Each provider's published example payload, through the real endpoint, into a shipment."""

from __future__ import annotations

import base64
import hashlib
import hmac
import unicodedata
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import pytest

from accounts.models import Role
from carriers.events import WebhookRequest
from carriers.status import TrackingStatus, moves_forward

FIXTURES = Path(__file__).parents[1] / "fixtures" / "carriers"
SETTINGS = {
    "EASYPOST_WEBHOOK_SECRET": "easypost-secret",
    "AFTERSHIP_WEBHOOK_SECRET": "aftership-secret",
    "SHIPPO_WEBHOOK_TOKEN": "shippo-url-token",
    "SFEXPRESS_WEBHOOK_TOKEN": "sf-url-token",
}


@pytest.fixture
def app_config() -> dict[str, Any]:
    return SETTINGS


def easypost(body: bytes) -> dict[str, Any]:
    key = unicodedata.normalize("NFKD", SETTINGS["EASYPOST_WEBHOOK_SECRET"]).encode()
    signature = "hmac-sha256-hex=" + hmac.new(key, body, hashlib.sha256).hexdigest()
    return {"headers": {"X-Hmac-Signature": signature}, "content_type": "application/json"}


def aftership(body: bytes) -> dict[str, Any]:
    digest = hmac.new(SETTINGS["AFTERSHIP_WEBHOOK_SECRET"].encode(), body, hashlib.sha256).digest()
    return {
        "headers": {"aftership-hmac-sha256": base64.b64encode(digest).decode()},
        "content_type": "application/json",
    }


def shippo(body: bytes) -> dict[str, Any]:
    return {
        "query_string": {"token": SETTINGS["SHIPPO_WEBHOOK_TOKEN"]},
        "content_type": "application/json",
    }


def sfexpress(body: bytes) -> dict[str, Any]:
    return {
        "query_string": {"token": SETTINGS["SFEXPRESS_WEBHOOK_TOKEN"]},
        "content_type": "application/json"
        if body.lstrip().startswith(b"{")
        else "application/x-www-form-urlencoded; charset=UTF-8",
    }


def sf_form(xml: bytes) -> bytes:
    return ("content=" + quote_plus(xml.decode("utf-8"))).encode("ascii")


CASES = [
    ("easypost", (FIXTURES / "easypost" / "tracker_updated.json").read_bytes(), easypost),
    ("aftership", (FIXTURES / "aftership" / "tracking_update_usps.json").read_bytes(), aftership),
    ("shippo", (FIXTURES / "shippo" / "track_updated_delivered.json").read_bytes(), shippo),
    ("sfexpress", (FIXTURES / "sfexpress" / "route_push.json").read_bytes(), sfexpress),
    ("sfexpress", sf_form((FIXTURES / "sfexpress" / "route_push.xml").read_bytes()), sfexpress),
]


@pytest.mark.parametrize(
    ("carrier", "body", "auth"), CASES, ids=[c[0] + str(i) for i, c in enumerate(CASES)]
)
def test_a_published_example_moves_its_registered_shipment(
    app: Any,
    client: Any,
    role_headers: Any,
    carrier: str,
    body: bytes,
    auth: Any,
) -> None:
    options = auth(body)
    adapter = app.extensions["spareflow"].carriers.adapter(carrier)
    request = WebhookRequest(
        body=body,
        headers=options.get("headers", {}),
        query=options.get("query_string", {}),
        content_type=options["content_type"],
    )
    events = adapter.parse_webhook(request)
    number = events[0].tracking_number
    desk = role_headers[Role.SERVICE_DESK]
    assert (
        client.post(
            "/api/v1/shipments",
            headers=desk,
            json={"direction": "inbound", "carrier": carrier, "tracking_number": number},
        ).status_code
        == 201
    )

    response = client.post(f"/webhooks/carriers/{carrier}", data=body, **options)
    assert 200 <= response.status_code < 300, response.get_data(as_text=True)
    again = client.post(f"/webhooks/carriers/{carrier}", data=body, **options)
    assert again.status_code == response.status_code and again.data == response.data

    shipment = client.get(f"/api/v1/shipments/{number}", headers=desk).json
    assert len(shipment["events"]) == len({e.dedupe_key() for e in events})  # each scan once
    expected = TrackingStatus.PRE_TRANSIT
    for event in sorted(events, key=lambda e: e.occurred_at):
        expected = event.status if moves_forward(expected, event.status) else expected
    assert shipment["status"] == expected.value


@pytest.mark.parametrize(
    ("carrier", "body", "auth"), CASES, ids=[c[0] + str(i) for i, c in enumerate(CASES)]
)
def test_the_same_example_without_its_signature_or_token_is_refused(
    client: Any,
    carrier: str,
    body: bytes,
    auth: Any,
) -> None:
    options = auth(body)
    response = client.post(
        f"/webhooks/carriers/{carrier}", data=body, content_type=options["content_type"]
    )
    assert response.status_code == 401
    assert response.json["error"]["code"] == "webhook_rejected"


def test_sf_express_gets_the_acknowledgement_it_expects_in_each_mode(client: Any) -> None:
    json_body = (FIXTURES / "sfexpress" / "route_push.json").read_bytes()
    answer = client.post("/webhooks/carriers/sfexpress", data=json_body, **sfexpress(json_body))
    assert answer.json == {"return_code": "0000", "return_msg": "成功"}
    form_body = sf_form((FIXTURES / "sfexpress" / "route_push.xml").read_bytes())
    answer = client.post("/webhooks/carriers/sfexpress", data=form_body, **sfexpress(form_body))
    assert b"<Head>OK</Head>" in answer.data
