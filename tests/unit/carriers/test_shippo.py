"""Shippo adapter: status/substatus tables, published payloads, HMAC-or-token authenticity."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from carriers.adapters.base import CarrierAdapter
from carriers.adapters.shippo import STATUS_MAP, SUBSTATUS_MAP, ShippoAdapter, map_track_status
from carriers.events import (
    CarrierEvent,
    LabelsNotSupported,
    MalformedWebhook,
    PollingNotSupported,
    WebhookRejected,
    WebhookRequest,
)
from carriers.status import TrackingStatus

FIXTURES = Path(__file__).parents[2] / "fixtures" / "carriers" / "shippo"
SECRET = "shippo-hmac-secret"
TOKEN = "s3cr3t-url-token"
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
T = TrackingStatus


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def signature(body: bytes, at: datetime = NOW, secret: str = SECRET) -> str:
    """``t=<ts>,v1=<hex HMAC-SHA256(secret, "<ts>.<body>")>``, computed independently."""
    ts = int(at.timestamp())
    digest = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={ts},v1={digest}"


def signed(body: bytes, at: datetime = NOW, secret: str = SECRET) -> WebhookRequest:
    return WebhookRequest(body=body, headers={"Shippo-Auth-Signature": signature(body, at, secret)})


@pytest.fixture
def adapter() -> ShippoAdapter:
    return ShippoAdapter({"SHIPPO_WEBHOOK_SECRET": SECRET})


def track(history: Any = None, current: Any = "keep", **data: Any) -> bytes:
    payload = json.loads(fixture("track_updated_delivered.json"))
    if history is not None:
        payload["data"]["tracking_history"] = history
    if current != "keep":
        payload["data"]["tracking_status"] = current
    payload["data"].update(data)
    return json.dumps(payload).encode()


def entry(status: str = "TRANSIT", code: str | None = None, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "status": status,
        "status_details": "details",
        "status_date": "2023-07-21T15:33:00Z",
        "location": {"city": "Las Vegas", "state": "NV", "zip": "89101", "country": "US"},
    }
    if code is not None:
        base["substatus"] = {"code": code, "text": "", "action_required": False}
    return {**base, **fields}


# --- the tables --------------------------------------------------------------------------

EXPECTED_STATUS = {
    "PRE_TRANSIT": T.PRE_TRANSIT,
    "TRANSIT": T.IN_TRANSIT,
    "DELIVERED": T.DELIVERED,
    "RETURNED": T.RETURNED_TO_SENDER,
    "FAILURE": T.EXCEPTION,
    "UNKNOWN": T.UNKNOWN,
}
EXPECTED_SUBSTATUS = {
    ("PRE_TRANSIT", "information_received"): T.PRE_TRANSIT,
    ("TRANSIT", "address_issue"): T.EXCEPTION,
    ("TRANSIT", "contact_carrier"): T.EXCEPTION,
    ("TRANSIT", "delayed"): T.IN_TRANSIT,
    ("TRANSIT", "delivery_attempted"): T.EXCEPTION,
    ("TRANSIT", "delivery_rescheduled"): T.IN_TRANSIT,
    ("TRANSIT", "delivery_scheduled"): T.IN_TRANSIT,
    ("TRANSIT", "location_inaccessible"): T.EXCEPTION,
    ("TRANSIT", "notice_left"): T.EXCEPTION,
    ("TRANSIT", "out_for_delivery"): T.OUT_FOR_DELIVERY,
    ("TRANSIT", "package_accepted"): T.PICKED_UP,
    ("TRANSIT", "package_arrived"): T.IN_TRANSIT,
    ("TRANSIT", "package_damaged"): T.EXCEPTION,
    ("TRANSIT", "package_departed"): T.IN_TRANSIT,
    ("TRANSIT", "package_forwarded"): T.IN_TRANSIT,
    ("TRANSIT", "package_held"): T.EXCEPTION,
    ("TRANSIT", "package_processed"): T.IN_TRANSIT,
    ("TRANSIT", "package_processing"): T.IN_TRANSIT,
    ("TRANSIT", "pickup_available"): T.AVAILABLE_FOR_PICKUP,
    ("TRANSIT", "reschedule_delivery"): T.EXCEPTION,
    ("DELIVERED", "delivered"): T.DELIVERED,
    ("RETURNED", "return_to_sender"): T.RETURNED_TO_SENDER,
    ("RETURNED", "package_unclaimed"): T.RETURNED_TO_SENDER,
    ("FAILURE", "package_undeliverable"): T.EXCEPTION,
    ("FAILURE", "package_disposed"): T.EXCEPTION,
    ("FAILURE", "package_lost"): T.EXCEPTION,
    ("UNKNOWN", "other"): T.UNKNOWN,
}


def test_the_tables_cover_exactly_shippo_s_documented_statuses_and_substatuses() -> None:
    assert set(STATUS_MAP) == set(EXPECTED_STATUS)
    assert set(SUBSTATUS_MAP) == set(EXPECTED_SUBSTATUS)


@pytest.mark.parametrize(("raw", "expected"), sorted(EXPECTED_STATUS.items()))
def test_each_status_maps_to_its_normalised_status(
    adapter: ShippoAdapter, raw: str, expected: TrackingStatus
) -> None:
    assert map_track_status(raw, None) is expected
    [event] = adapter.parse_webhook(signed(track([entry(raw)], current=None)))
    assert (event.status, event.raw_status) == (expected, raw)


@pytest.mark.parametrize(
    ("key", "expected"), sorted(EXPECTED_SUBSTATUS.items()), ids=lambda v: str(v)
)
def test_each_documented_substatus_refines_its_status(
    adapter: ShippoAdapter, key: tuple[str, str], expected: TrackingStatus
) -> None:
    status, code = key
    assert map_track_status(status, code) is expected
    [event] = adapter.parse_webhook(signed(track([entry(status, code)], current=None)))
    assert (event.status, event.raw_status) == (expected, f"{status}/{code}")


def test_a_substatus_under_another_status_does_not_override_it() -> None:
    # Shippo's own webhook sample pairs DELIVERED with information_received.
    assert map_track_status("DELIVERED", "information_received") is T.DELIVERED
    assert map_track_status("RETURNED", "package_accepted") is T.RETURNED_TO_SENDER


def test_an_unknown_status_becomes_unknown_and_keeps_its_raw_value(adapter: ShippoAdapter) -> None:
    [event] = adapter.parse_webhook(signed(track([entry("LOST_IN_SPACE", "nebula")], current=None)))
    assert (event.status, event.raw_status) == (T.UNKNOWN, "LOST_IN_SPACE/nebula")


def test_an_unknown_substatus_falls_back_to_its_status(adapter: ShippoAdapter) -> None:
    [event] = adapter.parse_webhook(signed(track([entry("TRANSIT", "warp_drive")], current=None)))
    assert (event.status, event.raw_status) == (T.IN_TRANSIT, "TRANSIT/warp_drive")


# --- published payloads ------------------------------------------------------------------


def test_the_published_delivered_track_gives_its_history_once(adapter: ShippoAdapter) -> None:
    def event(status: T, raw: str, when: datetime, loc: str, object_id: str) -> CarrierEvent:
        return CarrierEvent(
            carrier="shippo",
            tracking_number="9205590164917312751089",
            status=status,
            raw_status=raw,
            occurred_at=when,
            description=(
                "Your shipment has been accepted."
                if raw == "TRANSIT"
                else "Your shipment has been delivered at the destination mailbox."
            ),
            location=loc,
            provider_event_id=object_id,
        )

    # tracking_status repeats the last history entry: it is not reported twice
    assert adapter.parse_webhook(signed(fixture("track_updated_delivered.json"))) == [
        event(
            T.IN_TRANSIT,
            "TRANSIT",
            datetime(2023, 7, 21, 15, 33, tzinfo=UTC),
            "Las Vegas, NV, US",
            "265c7a7c23354da5b87b2bf52656c625",
        ),
        event(
            T.DELIVERED,
            "DELIVERED",
            datetime(2023, 7, 23, 13, 3, tzinfo=UTC),
            "Spotsylvania, VA, US",
            "aab1d7c0559d43ccbba4ff8603089e56",
        ),
    ]


def test_the_published_webhook_sample_is_read(adapter: ShippoAdapter) -> None:
    assert adapter.parse_webhook(signed(fixture("track_updated_docs_sample.json"))) == [
        CarrierEvent(
            carrier="shippo",
            tracking_number="9205590164917312751089",
            status=T.DELIVERED,
            raw_status="DELIVERED/information_received",
            occurred_at=datetime(2016, 7, 23, tzinfo=UTC),
            description="Your shipment has been delivered at the destination mailbox.",
            location="Las Vegas, NV, US",
            provider_event_id="string",
        )
    ]


def test_a_track_shippo_knows_nothing_about_gives_no_events(adapter: ShippoAdapter) -> None:
    # As Shippo answers a fresh registration: tracking_status null, empty history.
    assert adapter.parse_webhook(signed(track([], current=None))) == []


def test_a_status_without_a_date_uses_object_created(adapter: ShippoAdapter) -> None:
    body = track([entry(status_date=None, object_created="2023-07-22T14:36:50.943Z")], current=None)
    [event] = adapter.parse_webhook(signed(body))
    assert event.occurred_at == datetime(2023, 7, 22, 14, 36, 50, 943000, tzinfo=UTC)


@pytest.mark.parametrize("event", ["transaction_created", "transaction_updated", "batch_created"])
def test_other_event_types_are_acknowledged_without_tracking_events(
    adapter: ShippoAdapter, event: str
) -> None:
    body = json.dumps({"event": event, "test": True, "data": {}}).encode()
    assert adapter.parse_webhook(signed(body)) == []


def test_the_acknowledgement_is_a_plain_200(adapter: ShippoAdapter) -> None:
    assert adapter.acknowledge([]).status == 200


# --- HMAC signature ----------------------------------------------------------------------


def test_a_correctly_signed_fresh_webhook_is_accepted(adapter: ShippoAdapter) -> None:
    adapter.verify_webhook(signed(fixture("track_updated_delivered.json")), NOW)


def test_a_signature_within_the_tolerance_either_side_is_accepted(adapter: ShippoAdapter) -> None:
    body = fixture("track_updated_delivered.json")
    adapter.verify_webhook(signed(body, NOW - timedelta(seconds=299)), NOW)
    adapter.verify_webhook(signed(body, NOW + timedelta(seconds=299)), NOW)


def test_a_stale_signature_timestamp_is_rejected(adapter: ShippoAdapter) -> None:
    with pytest.raises(WebhookRejected):
        adapter.verify_webhook(
            signed(fixture("track_updated_delivered.json"), NOW - timedelta(seconds=301)), NOW
        )


def test_a_signature_from_the_future_is_rejected(adapter: ShippoAdapter) -> None:
    with pytest.raises(WebhookRejected):
        adapter.verify_webhook(
            signed(fixture("track_updated_delivered.json"), NOW + timedelta(seconds=301)), NOW
        )


def test_a_replay_is_accepted_only_inside_the_window_and_dedupes_to_the_same_events(
    adapter: ShippoAdapter,
) -> None:
    request = signed(fixture("track_updated_delivered.json"))
    adapter.verify_webhook(request, NOW + timedelta(seconds=60))
    first = adapter.parse_webhook(request)
    again = adapter.parse_webhook(request)
    assert [e.dedupe_key() for e in first] == [e.dedupe_key() for e in again]
    with pytest.raises(WebhookRejected):
        adapter.verify_webhook(request, NOW + timedelta(seconds=301))


def test_moving_the_timestamp_breaks_the_signature(adapter: ShippoAdapter) -> None:
    body = fixture("track_updated_delivered.json")
    digest = signature(body, NOW - timedelta(hours=1)).split("v1=")[1]
    header = f"t={int(NOW.timestamp())},v1={digest}"  # fresh t, old signature
    with pytest.raises(WebhookRejected):
        adapter.verify_webhook(WebhookRequest(body, {"Shippo-Auth-Signature": header}), NOW)


def test_a_tampered_body_is_rejected(adapter: ShippoAdapter) -> None:
    body = fixture("track_updated_delivered.json")
    tampered = body.replace(b'"status": "TRANSIT"', b'"status": "RETURNED"')
    header = {"Shippo-Auth-Signature": signature(body)}
    with pytest.raises(WebhookRejected):
        adapter.verify_webhook(WebhookRequest(tampered, header), NOW)


def test_a_signature_made_with_another_secret_is_rejected(adapter: ShippoAdapter) -> None:
    with pytest.raises(WebhookRejected):
        adapter.verify_webhook(signed(fixture("track_updated_delivered.json"), secret="other"), NOW)


def test_one_matching_v1_among_several_is_enough(adapter: ShippoAdapter) -> None:
    body = fixture("track_updated_delivered.json")
    header = signature(body).replace(",v1=", ",v1=" + "0" * 64 + ",v1=")
    adapter.verify_webhook(WebhookRequest(body, {"shippo-auth-signature": header}), NOW)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "v1=abc",
        "t=1700000000",
        "t=soon,v1=abc",
        "t=" + "9" * 5000 + ",v1=abc",
        "t=" + "9" * 400 + ",v1=abc",
        "garbage",
        "t=1700000000,v1=\u00e9",
    ],
)
def test_a_missing_or_garbled_signature_header_is_rejected(
    adapter: ShippoAdapter, header: str | None
) -> None:
    headers = {} if header is None else {"Shippo-Auth-Signature": header}
    with pytest.raises(WebhookRejected):
        adapter.verify_webhook(
            WebhookRequest(fixture("track_updated_delivered.json"), headers), NOW
        )


def test_with_a_secret_configured_a_url_token_alone_is_not_enough() -> None:
    both = ShippoAdapter({"SHIPPO_WEBHOOK_SECRET": SECRET, "SHIPPO_WEBHOOK_TOKEN": TOKEN})
    request = WebhookRequest(fixture("track_updated_delivered.json"), {}, query={"token": TOKEN})
    with pytest.raises(WebhookRejected):
        both.verify_webhook(request, NOW)


# --- URL token ---------------------------------------------------------------------------


def test_without_a_secret_the_url_token_is_required_and_enough() -> None:
    adapter = ShippoAdapter({"SHIPPO_WEBHOOK_TOKEN": TOKEN})
    body = fixture("track_updated_delivered.json")
    adapter.verify_webhook(WebhookRequest(body, {}, query={"token": TOKEN}), NOW)
    for query in ({}, {"token": ""}, {"token": TOKEN + "x"}, {"token": TOKEN.upper()}):
        with pytest.raises(WebhookRejected):
            adapter.verify_webhook(WebhookRequest(body, {}, query=query), NOW)


def test_with_neither_secret_nor_token_configured_everything_is_rejected() -> None:
    adapter = ShippoAdapter({})
    body = fixture("track_updated_delivered.json")
    for request in (signed(body), WebhookRequest(body, {}, query={"token": TOKEN})):
        with pytest.raises(WebhookRejected):
            adapter.verify_webhook(request, NOW)


# --- malformed bodies --------------------------------------------------------------------

MALFORMED = {
    "empty": b"",
    "not json": b"event=track_updated",
    "not utf-8": b"\x80\x81\x82",
    "a json list": b'["track_updated"]',
    "no event": b'{"data": {}}',
    "data missing": b'{"event": "track_updated"}',
    "data not an object": b'{"event": "track_updated", "data": []}',
    "no tracking number": track(tracking_number=""),
    "tracking number a number": track(tracking_number=9205590164917312751089),
    "history not a list": track({"status": "TRANSIT"}),
    "entry not an object": track(["TRANSIT"]),
    "entry without status": track([entry(status=None)], current=None),
    "status not a string": track([{**entry(), "status": 3}], current=None),
    "substatus code not a string": track([{**entry(), "substatus": {"code": 1}}], current=None),
    "entry without any date": track([entry(status_date=None)], current=None),
    "entry with a bad date": track([entry(status_date="21 July")], current=None),
    "tracking status a string": track([], current="DELIVERED"),
    "huge integer": b'{"event": "track_updated", "data": ' + b"7" * 5000 + b"}",
    "huge float": b'{"event": "track_updated", "data": {"tracking_number": 1e999}}',
    "deeply nested": b'{"event": "track_updated", "data": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
}


@pytest.mark.parametrize("body", MALFORMED.values(), ids=MALFORMED.keys())
def test_unreadable_bodies_raise_malformed_webhook_and_nothing_else(
    adapter: ShippoAdapter, body: bytes
) -> None:
    with pytest.raises(MalformedWebhook):
        adapter.parse_webhook(signed(body))


def test_shippo_neither_polls_nor_creates_labels(adapter: ShippoAdapter) -> None:
    assert (ShippoAdapter.polls, ShippoAdapter.creates_labels) == (False, False)
    with pytest.raises(PollingNotSupported):
        adapter.fetch_tracking("9205590164917312751089")
    with pytest.raises(LabelsNotSupported):
        adapter.create_label(
            reference="RMA-1", from_address={}, to_address={}, idempotency_key="k-1"
        )


def test_it_is_built_the_way_build_adapters_builds_every_adapter() -> None:
    with httpx.Client() as client:
        built: CarrierAdapter = ShippoAdapter({}, http=client)
        assert built.name == "shippo"


def test_the_tolerance_can_be_set_from_an_environment_string() -> None:
    wide = ShippoAdapter({"SHIPPO_WEBHOOK_SECRET": SECRET, "SHIPPO_SIGNATURE_TOLERANCE": "900"})
    body = fixture("track_updated_delivered.json")
    wide.verify_webhook(signed(body, NOW - timedelta(seconds=600)), NOW)
    with pytest.raises(WebhookRejected):
        wide.verify_webhook(signed(body, NOW - timedelta(seconds=901)), NOW)
