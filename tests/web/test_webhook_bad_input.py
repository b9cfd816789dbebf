"""Bad input at the real webhook endpoint: refused clearly, kept for review, never applied twice.

Each case goes through ``POST /webhooks/carriers/<name>`` (Flask test client) and then looks
at what was stored: the raw deliveries (``webhook_deliveries``) and the events.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import unicodedata
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from accounts.models import Role
from carriers.adapters.sandbox import SIGNATURE_HEADER, sign
from carriers.models import CarrierEventRecord, DeliveryStatus, EventOutcome, WebhookDelivery
from tests.support.sandbox_webhooks import SECRET, sandbox_payload
from web.webhooks import MAX_WEBHOOK_BYTES

URL = "/webhooks/carriers/sandbox"
EASYPOST_SECRET = "easypost-secret"


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"EASYPOST_WEBHOOK_SECRET": EASYPOST_SECRET}


def post(client: Any, body: bytes, signature: str | None, **kwargs: Any) -> Any:
    headers = {SIGNATURE_HEADER: signature} if signature is not None else {}
    return client.post(URL, data=body, content_type="application/json", headers=headers, **kwargs)


def signed(client: Any, clock: Any, body: bytes, *, age: timedelta = timedelta(0)) -> Any:
    return post(client, body, sign(SECRET, body, int((clock.now() - age).timestamp())))


def stored(app: Any) -> dict[str, Any]:
    """What the carriers' tables hold: deliveries by status, events by outcome."""
    with app.extensions["spareflow"].session_factory() as session:
        deliveries = session.execute(
            select(WebhookDelivery.status, func.count()).group_by(WebhookDelivery.status)
        ).all()
        events = session.execute(
            select(CarrierEventRecord.outcome, func.count()).group_by(CarrierEventRecord.outcome)
        ).all()
    return {
        "deliveries": {status.value: n for status, n in deliveries},
        "events": {outcome.value: n for outcome, n in events},
    }


NOTHING = {"deliveries": {}, "events": {}}


def error_of(response: Any) -> tuple[int, str, str]:
    assert response.is_json, response.get_data(as_text=True)
    assert set(response.json) == {"error"}
    error = response.json["error"]
    assert set(error) == {"code", "message", "details"}
    return response.status_code, error["code"], error["message"]


# --- authenticity: refused before anything is written ---------------------------------------


def bad_signatures(body: bytes, now: int) -> Iterator[tuple[str, str | None, str]]:
    good = sign(SECRET, body, now)
    yield "missing", None, "Missing Sandbox-Signature header"
    yield "empty", "", "Missing Sandbox-Signature header"
    yield "garbage", "not a signature", "must look like t=<seconds>,v1=<hex>"
    yield "no-timestamp", good.split(",", 1)[1], "must look like t=<seconds>,v1=<hex>"
    yield "wrong-secret", sign("guessed", body, now), "does not match the body"
    yield "other-body", sign(SECRET, body + b" ", now), "does not match the body"
    yield "replayed", sign(SECRET, body, now - 3600), "too old or in the future (replay?)"
    yield "from-the-future", sign(SECRET, body, now + 3600), "too old or in the future"
    yield "just-too-old", sign(SECRET, body, now - 301), "too old or in the future"


def test_every_kind_of_bad_signature_is_a_401_that_stores_nothing(
    app: Any, client: Any, clock: Any
) -> None:
    body = sandbox_payload("SBX900", "picked_up", clock.now())
    now = int(clock.now().timestamp())
    for name, signature, message in bad_signatures(body, now):
        response = post(client, body, signature)
        status, code, text = error_of(response)
        assert (status, code) == (401, "webhook_rejected"), name
        assert message in text, (name, text)
    assert stored(app) == NOTHING
    # The tolerance is five minutes each way: a delivery just inside it is accepted.
    assert signed(client, clock, body, age=timedelta(seconds=299)).status_code == 200


def test_a_provider_webhook_with_a_wrong_hmac_stores_nothing(app: Any, client: Any) -> None:
    body = b'{"object": "Event", "description": "tracker.updated", "result": {}}'
    for header in ("hmac-sha256-hex=" + "0" * 64, "sha256=abc", ""):
        response = client.post(
            "/webhooks/carriers/easypost",
            data=body,
            content_type="application/json",
            headers={"X-Hmac-Signature": header},
        )
        assert error_of(response)[:2] == (401, "webhook_rejected"), header
    assert stored(app) == NOTHING


# --- authentic but unreadable: 400, kept for review, nothing applied -----------------------


MALFORMED = [
    (b"not json at all", "not JSON"),
    (b"\xff\xfe\x00 binary", "not JSON"),
    (b"", "not JSON"),
    (b"[1, 2, 3]", "tracking.updated"),
    (b'{"type": "charge.succeeded", "data": {}}', "tracking.updated"),
    (b'{"type": "tracking.updated", "data": "SBX1"}', "no data object"),
    (b'{"type": "tracking.updated", "data": {"status": "picked_up"}}', "tracking_number"),
    (
        b'{"type": "tracking.updated", "data": {"tracking_number": 7, "status": "picked_up"}}',
        "non-empty strings",
    ),
    (
        b'{"type": "tracking.updated", "data": {"tracking_number": "SBX1", "status": "picked_up",'
        b' "occurred_at": "yesterday"}}',
        "not ISO 8601",
    ),
    (
        b'{"type": "tracking.updated", "data": {"tracking_number": "SBX1", "status": "picked_up",'
        b' "occurred_at": "2026-11-23T08:00:00"}}',
        "needs a time zone",
    ),
    (b'{"type": "tracking.updated", "data": ' * 2000 + b"{}" + b"}" * 2000, "nested too deeply"),
]


def test_an_authentic_but_malformed_webhook_is_a_400_and_kept_for_review(
    app: Any, client: Any, clock: Any
) -> None:
    for body, message in MALFORMED:
        response = signed(client, clock, body)
        status, code, text = error_of(response)
        assert (status, code) == (400, "malformed_webhook"), body[:60]
        assert message in text, (body[:60], text)
    assert stored(app) == {"deliveries": {"malformed": len(MALFORMED)}, "events": {}}
    with app.extensions["spareflow"].session_factory() as session:
        kept = session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)).all()
    assert [d.body for d in kept] == [body for body, _ in MALFORMED]  # byte for byte
    assert all(d.error for d in kept)


# --- too big: 413 before anything is read into the database --------------------------------


def test_a_webhook_body_over_the_limit_is_a_413_with_or_without_a_length(
    app: Any, client: Any, clock: Any
) -> None:
    huge = b'{"pad": "' + b"x" * MAX_WEBHOOK_BYTES + b'"}'
    response = signed(client, clock, huge)
    status, code, text = error_of(response)
    assert (status, code) == (413, "payload_too_large")
    assert str(MAX_WEBHOOK_BYTES) in text

    # Chunked, without Content-Length: the endpoint reads at most the limit plus one byte.
    def chunks() -> Iterator[bytes]:
        for _ in range(MAX_WEBHOOK_BYTES // 65536 + 2):
            yield b"x" * 65536

    stream = _Stream(chunks())
    streamed = client.post(
        URL,
        content_type="application/json",
        headers={"Transfer-Encoding": "chunked", SIGNATURE_HEADER: "t=1,v1=00"},
        environ_overrides={"wsgi.input": stream, "wsgi.input_terminated": True},
    )
    assert stream.served <= MAX_WEBHOOK_BYTES + 65536  # it stopped reading at the limit
    assert error_of(streamed)[:2] == (413, "payload_too_large")
    assert stored(app) == NOTHING


class _Stream:
    """A file-like request body of unknown length."""

    def __init__(self, chunks: Iterator[bytes]):
        self.chunks = chunks
        self.buffer = b""
        self.served = 0

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self.buffer) < size:
            try:
                self.buffer += next(self.chunks)
            except StopIteration:
                break
        if size < 0:
            size = len(self.buffer)
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        self.served += len(data)
        return data

    def readline(self, size: int = -1) -> bytes:
        return self.read(size)


def test_any_request_body_over_max_content_length_is_a_413_in_the_error_shape(
    app: Any, client: Any, role_headers: dict[Role, dict[str, str]]
) -> None:
    limit = app.config["MAX_CONTENT_LENGTH"]
    assert limit == 16 * 1024 * 1024
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024  # the same rule, a smaller number to send
    body = json.dumps({"sku": "X-1", "name": "n" * 70_000}).encode()
    response = client.post(
        "/api/v1/parts",
        data=body,
        content_type="application/json",
        headers=role_headers[Role.ADMIN],
    )
    assert error_of(response)[:2] == (413, "payload_too_large")
    assert client.get("/api/v1/parts/X-1", headers=role_headers[Role.ADMIN]).status_code == 404


# --- unknown parcels and statuses: accepted, stored, applied when they can be -------------


def register(client: Any, role_headers: Any, number: str) -> None:
    response = client.post(
        "/api/v1/shipments",
        headers=role_headers[Role.SERVICE_DESK],
        json={"direction": "inbound", "carrier": "sandbox", "tracking_number": number},
    )
    assert response.status_code == 201, response.json


def shipment(client: Any, role_headers: Any, number: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/shipments/{number}", headers=role_headers[Role.BUYER])
    assert response.status_code == 200, response.json
    return response.json


def test_an_unknown_tracking_number_is_accepted_and_waits_for_its_shipment(
    app: Any, client: Any, clock: Any, role_headers: Any
) -> None:
    body = sandbox_payload("SBX901", "picked_up", clock.now() - timedelta(minutes=5))
    assert signed(client, clock, body).status_code == 200
    assert stored(app) == {"deliveries": {"accepted": 1}, "events": {"unmatched": 1}}
    register(client, role_headers, "sbx901")
    parcel = shipment(client, role_headers, "SBX901")
    assert parcel["status"] == "picked_up"
    assert [e["outcome"] for e in parcel["events"]] == ["applied"]


def test_an_unknown_status_is_recorded_on_the_timeline_and_moves_nothing(
    app: Any, client: Any, clock: Any, role_headers: Any
) -> None:
    register(client, role_headers, "SBX902")
    body = sandbox_payload("SBX902", "abducted_by_aliens", clock.now() - timedelta(minutes=1))
    assert signed(client, clock, body).status_code == 200
    parcel = shipment(client, role_headers, "SBX902")
    assert parcel["status"] == "pre_transit"
    [event] = parcel["events"]
    assert (event["status"], event["raw_status"], event["outcome"]) == (
        "unknown",
        "abducted_by_aliens",
        "recorded",
    )


# --- nothing applied twice --------------------------------------------------------------------


def test_a_redelivered_event_is_stored_once_and_applied_once(
    app: Any, client: Any, clock: Any, role_headers: Any
) -> None:
    register(client, role_headers, "SBX903")
    picked = clock.now() - timedelta(minutes=30)
    body = sandbox_payload("SBX903", "picked_up", picked)
    assert signed(client, clock, body).status_code == 200
    # The provider retries: the same body again, then re-signed a minute later.
    assert signed(client, clock, body).status_code == 200
    clock.advance(timedelta(minutes=1))
    assert signed(client, clock, body).status_code == 200
    # A later scan, then an older one arriving late: neither undoes the other.
    later = sandbox_payload("SBX903", "delivered", clock.now() - timedelta(minutes=2))
    assert signed(client, clock, later).status_code == 200
    assert signed(client, clock, body).status_code == 200

    with app.extensions["spareflow"].session_factory() as session:
        deliveries = session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)).all()
    assert [(d.status, d.new_event_count) for d in deliveries] == [
        (DeliveryStatus.ACCEPTED, 1),
        (DeliveryStatus.ACCEPTED, 0),
        (DeliveryStatus.ACCEPTED, 0),
        (DeliveryStatus.ACCEPTED, 1),
        (DeliveryStatus.ACCEPTED, 0),
    ]
    parcel = shipment(client, role_headers, "SBX903")
    assert parcel["status"] == "delivered"
    assert parcel["picked_up_at"] == picked.isoformat()
    assert [(e["status"], e["outcome"]) for e in parcel["events"]] == [
        ("picked_up", "applied"),
        ("delivered", "applied"),
    ]
    assert stored(app)["events"] == {EventOutcome.APPLIED.value: 2}


def test_a_malformed_delivery_then_its_corrected_retry_applies_once(
    app: Any, client: Any, clock: Any, role_headers: Any
) -> None:
    register(client, role_headers, "SBX904")
    good = sandbox_payload("SBX904", "picked_up", clock.now() - timedelta(minutes=3))
    broken = good.replace(b'"occurred_at": "', b'"occurred_at": "x')
    assert error_of(signed(client, clock, broken))[:2] == (400, "malformed_webhook")
    assert signed(client, clock, good).status_code == 200
    assert signed(client, clock, good).status_code == 200
    assert stored(app) == {
        "deliveries": {"malformed": 1, "accepted": 2},
        "events": {"applied": 1},
    }
    assert shipment(client, role_headers, "SBX904")["status"] == "picked_up"


def test_an_easypost_webhook_signed_right_but_unreadable_is_kept_for_review(
    app: Any, client: Any
) -> None:
    body = b'{"object": "Event", "description": "tracker.updated", "result": "nope"}'
    key = unicodedata.normalize("NFKD", EASYPOST_SECRET).encode()
    signature = "hmac-sha256-hex=" + hmac.new(key, body, hashlib.sha256).hexdigest()
    response = client.post(
        "/webhooks/carriers/easypost",
        data=body,
        content_type="application/json",
        headers={"X-Hmac-Signature": signature},
    )
    assert error_of(response)[:2] == (400, "malformed_webhook")
    assert stored(app) == {"deliveries": {"malformed": 1}, "events": {}}
