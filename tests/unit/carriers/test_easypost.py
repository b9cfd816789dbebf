"""EasyPost adapter: status table, published payloads, HMAC scheme, polling over loopback."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from carriers.adapters.base import CarrierAdapter, map_status
from carriers.adapters.easypost import STATUS_MAP, EasyPostAdapter
from carriers.events import (
    CarrierEvent,
    CarrierUnavailable,
    LabelsNotSupported,
    MalformedWebhook,
    WebhookRejected,
    WebhookRequest,
)
from carriers.status import TrackingStatus
from core.errors import DomainError

FIXTURES = Path(__file__).parents[2] / "fixtures" / "carriers" / "easypost"
SECRET = "sekrit-webhook-secret"
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
T = TrackingStatus


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def sign(body: bytes, secret: str = SECRET) -> str:
    """Computed here the way EasyPost's SDK does, independently of the adapter."""
    import unicodedata

    key = unicodedata.normalize("NFKD", secret).encode("utf-8")
    return "hmac-sha256-hex=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def signed(body: bytes, secret: str = SECRET) -> WebhookRequest:
    return WebhookRequest(body=body, headers={"X-Hmac-Signature": sign(body, secret)})


@pytest.fixture
def adapter() -> EasyPostAdapter:
    return EasyPostAdapter({"EASYPOST_WEBHOOK_SECRET": SECRET, "EASYPOST_API_KEY": "EZTK123"})


# --- the status table ---------------------------------------------------------------------

EXPECTED_STATUS = {
    "unknown": T.UNKNOWN,
    "pre_transit": T.PRE_TRANSIT,
    "in_transit": T.IN_TRANSIT,
    "out_for_delivery": T.OUT_FOR_DELIVERY,
    "delivered": T.DELIVERED,
    "available_for_pickup": T.AVAILABLE_FOR_PICKUP,
    "return_to_sender": T.RETURNED_TO_SENDER,
    "failure": T.EXCEPTION,
    "cancelled": T.CANCELLED,
    "error": T.UNKNOWN,
}


def test_the_table_covers_exactly_easyposts_documented_statuses() -> None:
    assert set(STATUS_MAP) == set(EXPECTED_STATUS)


@pytest.mark.parametrize(("raw", "expected"), sorted(EXPECTED_STATUS.items()))
def test_each_easypost_status_maps_to_its_normalised_status(
    adapter: EasyPostAdapter, raw: str, expected: TrackingStatus
) -> None:
    assert map_status(STATUS_MAP, raw) is expected
    events = adapter.parse_webhook(signed(event_with_details([detail(status=raw)])))
    assert [(e.status, e.raw_status) for e in events] == [(expected, raw)]


def test_an_unknown_status_becomes_unknown_and_keeps_its_raw_value(
    adapter: EasyPostAdapter,
) -> None:
    [event] = adapter.parse_webhook(signed(event_with_details([detail(status="teleported")])))
    assert event.status is T.UNKNOWN
    assert event.raw_status == "teleported"


def detail(**overrides: Any) -> dict[str, Any]:
    base = {
        "object": "TrackingDetail",
        "message": "ORIGIN SCAN",
        "status": "in_transit",
        "datetime": "2014-08-21T14:48:00Z",
        "tracking_location": {"object": "TrackingLocation", "city": "X", "state": None},
    }
    return {**base, **overrides}


def event_with_details(details: Any, **tracker: Any) -> bytes:
    payload = json.loads(fixture("tracker_updated.json"))
    payload["result"]["tracking_details"] = details
    payload["result"].update(tracker)
    return json.dumps(payload).encode()


# --- published payloads ------------------------------------------------------------------


def ep(status: T, raw: str, when: str, message: str, location: str | None) -> CarrierEvent:
    return CarrierEvent(
        carrier="easypost",
        tracking_number="EZ4000000004",
        status=status,
        raw_status=raw,
        occurred_at=datetime.fromisoformat(when).replace(tzinfo=UTC),
        description=message,
        location=location,
    )


def test_the_published_tracker_updated_event_gives_one_event_per_tracking_detail(
    adapter: EasyPostAdapter,
) -> None:
    sf, ssf = "SAN FRANCISCO, CA, US", "SOUTH SAN FRANCISCO, CA, US"
    assert adapter.parse_webhook(signed(fixture("tracker_updated.json"))) == [
        ep(T.PRE_TRANSIT, "pre_transit", "2014-08-21T14:24", "BILLING INFORMATION RECEIVED", None),
        ep(T.IN_TRANSIT, "in_transit", "2014-08-21T14:48", "ORIGIN SCAN", ssf),
        ep(T.IN_TRANSIT, "in_transit", "2014-08-22T08:51", "DEPARTURE SCAN", ssf),
        ep(T.IN_TRANSIT, "in_transit", "2014-08-23T09:31", "ARRIVAL SCAN", sf),
        ep(T.OUT_FOR_DELIVERY, "out_for_delivery", "2014-08-24T08:10", "OUT FOR DELIVERY", sf),
        ep(T.DELIVERED, "delivered", "2014-08-24T15:33", "DELIVERED", sf),
    ]


def test_a_tracker_without_details_gives_one_event_from_its_own_status(
    adapter: EasyPostAdapter,
) -> None:
    assert adapter.parse_webhook(signed(fixture("tracker_created_no_details.json"))) == [
        CarrierEvent(
            carrier="easypost",
            tracking_number="EZ1000000001",
            status=T.PRE_TRANSIT,
            raw_status="pre_transit",
            occurred_at=datetime(2023, 12, 1, 5, 14, 45, tzinfo=UTC),
            description="status_update",
        )
    ]


def test_local_offsets_in_detail_datetimes_are_converted_to_utc(adapter: EasyPostAdapter) -> None:
    body = event_with_details([detail(datetime="2014-08-21T09:48:00-05:00")])
    [event] = adapter.parse_webhook(signed(body))
    assert event.occurred_at == datetime(2014, 8, 21, 14, 48, tzinfo=UTC)
    assert event.occurred_at.utcoffset().total_seconds() == 0  # type: ignore[union-attr]


def test_events_about_other_objects_are_acknowledged_without_tracking_events(
    adapter: EasyPostAdapter,
) -> None:
    body = json.dumps({"object": "Event", "description": "batch.updated", "result": {}}).encode()
    assert adapter.parse_webhook(signed(body)) == []


def test_the_acknowledgement_is_a_plain_200(adapter: EasyPostAdapter) -> None:
    ack = adapter.acknowledge([])
    assert (ack.status, ack.content_type) == (200, "application/json")


# --- the signature -----------------------------------------------------------------------


def test_a_correctly_signed_webhook_is_accepted(adapter: EasyPostAdapter) -> None:
    adapter.verify_webhook(signed(fixture("tracker_updated.json")), NOW)


def test_the_signature_header_name_is_case_insensitive(adapter: EasyPostAdapter) -> None:
    body = fixture("tracker_updated.json")
    adapter.verify_webhook(WebhookRequest(body, {"x-hmac-signature": sign(body)}), NOW)


def test_the_secret_is_nfkd_normalised_before_signing() -> None:
    body = b'{"object": "Event"}'
    # U+FB01 (the "fi" ligature) normalises to "fi" under NFKD, as in EasyPost's SDK.
    adapter = EasyPostAdapter({"EASYPOST_WEBHOOK_SECRET": "\ufb01"})
    digest = hmac.new(b"fi", body, hashlib.sha256).hexdigest()
    adapter.verify_webhook(
        WebhookRequest(body, {"X-Hmac-Signature": f"hmac-sha256-hex={digest}"}), NOW
    )


def test_a_tampered_body_is_rejected(adapter: EasyPostAdapter) -> None:
    body = fixture("tracker_updated.json")
    tampered = body.replace(b'"status": "delivered"', b'"status": "return_to_sender"')
    with pytest.raises(WebhookRejected):
        adapter.verify_webhook(WebhookRequest(tampered, {"X-Hmac-Signature": sign(body)}), NOW)


def test_a_signature_made_with_another_secret_is_rejected(adapter: EasyPostAdapter) -> None:
    with pytest.raises(WebhookRejected):
        adapter.verify_webhook(signed(fixture("tracker_updated.json"), "other-secret"), NOW)


@pytest.mark.parametrize(
    "header",
    [
        {},
        {"X-Hmac-Signature": ""},
        {"X-Hmac-Signature": "hmac-sha256-hex="},
        {"X-Hmac-Signature": "sha256=abc"},
        {"X-Hmac-Signature": "hmac-sha256-hex=\u00e9\u00e9"},
    ],
)
def test_a_missing_or_garbled_signature_is_rejected(
    adapter: EasyPostAdapter, header: dict[str, str]
) -> None:
    with pytest.raises(WebhookRejected):
        adapter.verify_webhook(WebhookRequest(fixture("tracker_updated.json"), header), NOW)


def test_the_hex_digest_is_not_accepted_base64_encoded(adapter: EasyPostAdapter) -> None:
    body = fixture("tracker_updated.json")
    b64 = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
    with pytest.raises(WebhookRejected):
        adapter.verify_webhook(WebhookRequest(body, {"X-Hmac-Signature": b64}), NOW)


def test_without_a_configured_secret_every_webhook_is_rejected() -> None:
    body = fixture("tracker_updated.json")
    with pytest.raises(WebhookRejected):
        EasyPostAdapter({}).verify_webhook(signed(body, ""), NOW)


# --- malformed bodies --------------------------------------------------------------------

MALFORMED = {
    "empty": b"",
    "not json": b"<html>hello</html>",
    "not utf-8": b"\xff\xfe\xfa{",
    "a json list": b"[1, 2, 3]",
    "a json string": b'"Event"',
    "not an Event": b'{"object": "Tracker"}',
    "no description": b'{"object": "Event"}',
    "result not a tracker": b'{"object": "Event", "description": "tracker.updated", "result": 3}',
    "tracker without code": (
        b'{"object": "Event", "description": "tracker.updated", '
        b'"result": {"object": "Tracker", "tracking_details": []}}'
    ),
    "details not a list": event_with_details({"status": "delivered"}),
    "detail not an object": event_with_details(["delivered"]),
    "detail without datetime": event_with_details([detail(datetime=None)]),
    "detail with a bad datetime": event_with_details([detail(datetime="yesterday")]),
    "detail in year 99999": event_with_details([detail(datetime="99999-01-01T00:00:00Z")]),
    "status not a string": event_with_details([detail(status=["delivered"])]),
    "tracking code a number": event_with_details([detail()], tracking_code=12345),
    "huge integer": b'{"object": "Event", "description": "tracker.updated", "result": '
    + b"9" * 5000
    + b"}",
    "huge float": b'{"object": "Event", "description": 1e999}',
    "deeply nested": b"[" * 100_000 + b"]" * 100_000,
}


@pytest.mark.parametrize("body", MALFORMED.values(), ids=MALFORMED.keys())
def test_unreadable_bodies_raise_malformed_webhook_and_nothing_else(
    adapter: EasyPostAdapter, body: bytes
) -> None:
    with pytest.raises(MalformedWebhook):
        adapter.parse_webhook(signed(body))


# --- labels ------------------------------------------------------------------------------


def test_creating_a_label_is_a_clear_domain_error(adapter: EasyPostAdapter) -> None:
    with pytest.raises(LabelsNotSupported) as caught:
        adapter.create_label(
            reference="RMA-1", from_address={}, to_address={}, idempotency_key="k-1"
        )
    assert isinstance(caught.value, DomainError)
    assert caught.value.code == "labels_not_supported"
    assert "does not buy labels" in caught.value.message
    assert (EasyPostAdapter.creates_labels, EasyPostAdapter.polls) == (False, True)


# --- polling, against a real HTTP server on loopback ---------------------------------------


class FakeEasyPost(ThreadingHTTPServer):
    daemon_threads = False
    block_on_close = True  # server_close() waits for handler threads: no stray sockets

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.reply: tuple[int, bytes] = (200, b"{}")
        self.stall = False
        self.release = threading.Event()
        self.requests: list[tuple[str, dict[str, str]]] = []

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v2"

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that timed out and left is expected here


class Handler(BaseHTTPRequestHandler):
    server: FakeEasyPost

    def do_GET(self) -> None:
        self.server.requests.append((self.path, dict(self.headers)))
        if self.server.stall:
            self.server.release.wait(timeout=5)
        status, body = self.server.reply
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def easypost_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeEasyPost]:
    for name in (
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ):
        monkeypatch.delenv(name, raising=False)
    server = FakeEasyPost()
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def polling_adapter(server: FakeEasyPost, **settings: object) -> EasyPostAdapter:
    return EasyPostAdapter(
        {"EASYPOST_API_KEY": "EZTK123", "EASYPOST_API_BASE": server.base, **settings}
    )


def test_polling_lists_trackers_by_code_with_basic_auth_and_maps_the_published_answer(
    easypost_api: FakeEasyPost,
) -> None:
    easypost_api.reply = (200, fixture("trackers_list.json"))
    events = polling_adapter(easypost_api).fetch_tracking("EZ1000000001")

    [(path, headers)] = easypost_api.requests
    assert path == "/v2/trackers?tracking_code=EZ1000000001"
    assert headers["Authorization"] == "Basic " + base64.b64encode(b"EZTK123:").decode()
    assert events == [
        CarrierEvent(
            carrier="easypost",
            tracking_number="EZ1000000001",
            status=T.PRE_TRANSIT,
            raw_status="pre_transit",
            occurred_at=datetime(2025, 4, 9, 20, 40, 17, tzinfo=UTC),
            description="Pre-Shipment Info Sent to USPS",
        ),
        CarrierEvent(
            carrier="easypost",
            tracking_number="EZ1000000001",
            status=T.PRE_TRANSIT,
            raw_status="pre_transit",
            occurred_at=datetime(2025, 4, 10, 9, 17, 17, tzinfo=UTC),
            description="Shipping Label Created",
            location="HOUSTON, TX",
        ),
    ]


def test_polling_uses_an_injected_shared_client_and_its_timeout(
    easypost_api: FakeEasyPost,
) -> None:
    easypost_api.reply = (200, fixture("trackers_list.json"))
    settings = {"EASYPOST_API_KEY": "EZTK123", "EASYPOST_API_BASE": easypost_api.base}
    with httpx.Client(timeout=0.2) as shared:
        adapter = EasyPostAdapter(settings, http=shared)
        assert len(adapter.fetch_tracking("EZ1000000001")) == 2
        easypost_api.stall = True
        with pytest.raises(CarrierUnavailable):
            adapter.fetch_tracking("EZ1000000001")


def test_polling_a_code_easypost_does_not_track_gives_no_events(
    easypost_api: FakeEasyPost,
) -> None:
    easypost_api.reply = (200, fixture("trackers_list.json"))
    assert polling_adapter(easypost_api).fetch_tracking("NOT-THIS-ONE") == []


def test_polling_takes_the_newest_tracker_when_a_code_was_recycled(
    easypost_api: FakeEasyPost,
) -> None:
    listing = json.loads(fixture("trackers_list.json"))
    old = json.loads(json.dumps(listing["trackers"][0]))
    old.update(created_at="2019-01-01T00:00:00Z", status="delivered")
    old["tracking_details"] = []
    listing["trackers"].append(old)
    easypost_api.reply = (200, json.dumps(listing).encode())
    events = polling_adapter(easypost_api).fetch_tracking("EZ1000000001")
    assert [e.occurred_at.year for e in events] == [2025, 2025]


@pytest.mark.parametrize(
    "reply",
    [(500, b'{"error": {"code": "INTERNAL_SERVER_ERROR"}}'), (401, b"{}"), (200, b"<html>")],
    ids=["server error", "bad api key", "unreadable answer"],
)
def test_a_failing_answer_from_easypost_is_carrier_unavailable(
    easypost_api: FakeEasyPost, reply: tuple[int, bytes]
) -> None:
    easypost_api.reply = reply
    with pytest.raises(CarrierUnavailable):
        polling_adapter(easypost_api).fetch_tracking("EZ1000000001")


def test_a_timeout_is_carrier_unavailable(easypost_api: FakeEasyPost) -> None:
    easypost_api.stall = True
    with pytest.raises(CarrierUnavailable):
        polling_adapter(easypost_api, EASYPOST_TIMEOUT=0.2).fetch_tracking("EZ1000000001")


def test_an_unreachable_api_is_carrier_unavailable(easypost_api: FakeEasyPost) -> None:
    base = easypost_api.base
    easypost_api.shutdown()
    easypost_api.server_close()  # nothing listens on that port any more
    adapter = EasyPostAdapter({"EASYPOST_API_KEY": "EZTK123", "EASYPOST_API_BASE": base})
    with pytest.raises(CarrierUnavailable):
        adapter.fetch_tracking("EZ1000000001")


def test_polling_without_an_api_key_is_carrier_unavailable() -> None:
    with pytest.raises(CarrierUnavailable):
        EasyPostAdapter({}).fetch_tracking("EZ1000000001")


def test_it_is_built_the_way_build_adapters_builds_every_adapter() -> None:
    with httpx.Client() as client:
        built: CarrierAdapter = EasyPostAdapter({}, http=client)
        assert built.name == "easypost"
