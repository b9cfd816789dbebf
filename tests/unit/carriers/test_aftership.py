"""AfterShip adapter: tag/subtag tables, published payloads, base64 HMAC, optional ts check."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from carriers.adapters.aftership import SUBTAG_MAP, TAG_MAP, AfterShipAdapter, map_checkpoint
from carriers.adapters.base import CarrierAdapter
from carriers.events import (
    CarrierEvent,
    LabelsNotSupported,
    MalformedWebhook,
    PollingNotSupported,
    WebhookRejected,
    WebhookRequest,
)
from carriers.status import TrackingStatus

FIXTURES = Path(__file__).parents[2] / "fixtures" / "carriers" / "aftership"
SECRET = "aftership-webhook-secret"
T = TrackingStatus
USPS_TS = 1621242332  # the "ts" of tracking_update_usps.json
NOW = datetime.fromtimestamp(USPS_TS, tz=UTC)


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def sign(body: bytes, secret: str = SECRET) -> str:
    """base64(HMAC-SHA256(secret, raw body)), computed here as AfterShip documents it."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def signed(body: bytes, secret: str = SECRET) -> WebhookRequest:
    return WebhookRequest(body=body, headers={"aftership-hmac-sha256": sign(body, secret)})


@pytest.fixture
def adapter() -> AfterShipAdapter:
    return AfterShipAdapter({"AFTERSHIP_WEBHOOK_SECRET": SECRET})


def webhook(checkpoints: Any = None, **msg: Any) -> bytes:
    payload = json.loads(fixture("tracking_update_2026_07.json"))
    if checkpoints is not None:
        payload["msg"]["checkpoints"] = checkpoints
    payload["msg"].update(msg)
    return json.dumps(payload).encode()


def checkpoint(**fields: Any) -> dict[str, Any]:
    return {"checkpoint_time": "2021-01-14T00:52:00", "tag": "InTransit", **fields}


# --- the tables --------------------------------------------------------------------------

EXPECTED_TAGS = {
    "Pending": T.PRE_TRANSIT,
    "InfoReceived": T.PRE_TRANSIT,
    "InTransit": T.IN_TRANSIT,
    "OutForDelivery": T.OUT_FOR_DELIVERY,
    "AttemptFail": T.EXCEPTION,
    "Delivered": T.DELIVERED,
    "AvailableForPickup": T.AVAILABLE_FOR_PICKUP,
    "Exception": T.EXCEPTION,
    "Expired": T.UNKNOWN,
}
EXPECTED_SUBTAGS = {
    "InTransit_002": T.PICKED_UP,
    "Exception_010": T.RETURNED_TO_SENDER,
    "Exception_011": T.RETURNED_TO_SENDER,
    "Exception_020": T.CANCELLED,
}


def test_the_tag_table_covers_exactly_aftership_s_nine_delivery_statuses() -> None:
    assert set(TAG_MAP) == set(EXPECTED_TAGS)
    assert set(SUBTAG_MAP) == set(EXPECTED_SUBTAGS)


@pytest.mark.parametrize(("tag", "expected"), sorted(EXPECTED_TAGS.items()))
def test_each_tag_maps_to_its_normalised_status(
    adapter: AfterShipAdapter, tag: str, expected: TrackingStatus
) -> None:
    assert map_checkpoint(tag, None) is expected
    [event] = adapter.parse_webhook(signed(webhook([checkpoint(tag=tag, subtag=None)])))
    assert (event.status, event.raw_status) == (expected, tag)


@pytest.mark.parametrize(("subtag", "expected"), sorted(EXPECTED_SUBTAGS.items()))
def test_each_subtag_that_matters_overrides_its_tag(
    adapter: AfterShipAdapter, subtag: str, expected: TrackingStatus
) -> None:
    tag = subtag.split("_")[0]
    assert map_checkpoint(tag, subtag) is expected
    [event] = adapter.parse_webhook(signed(webhook([checkpoint(tag=tag, subtag=subtag)])))
    assert (event.status, event.raw_status) == (expected, subtag)


@pytest.mark.parametrize(
    ("tag", "subtag", "expected"),
    [
        ("InTransit", "InTransit_001", T.IN_TRANSIT),
        ("InTransit", "InTransit_007", T.IN_TRANSIT),
        ("Exception", "Exception_013", T.EXCEPTION),  # lost: the tag decides
        ("Delivered", "Delivered_002", T.DELIVERED),
    ],
)
def test_other_subtags_follow_their_tag(tag: str, subtag: str, expected: TrackingStatus) -> None:
    assert map_checkpoint(tag, subtag) is expected


def test_an_unknown_tag_becomes_unknown_and_keeps_its_raw_value(
    adapter: AfterShipAdapter,
) -> None:
    body = webhook([checkpoint(tag="Teleported", subtag="Teleported_001")])
    [event] = adapter.parse_webhook(signed(body))
    assert (event.status, event.raw_status) == (T.UNKNOWN, "Teleported_001")


# --- published payloads ------------------------------------------------------------------


def usps(status: T, raw: str, when: str, message: str, location: str) -> CarrierEvent:
    return CarrierEvent(
        carrier="aftership",
        tracking_number="9405516902697649303570",
        status=status,
        raw_status=raw,
        occurred_at=datetime.fromisoformat(when).replace(tzinfo=UTC),
        description=message,
        location=location,
    )


def test_the_published_usps_webhook_gives_one_event_per_checkpoint(
    adapter: AfterShipAdapter,
) -> None:
    boca = "BOCA RATON, FL, 33487, USA, United States"
    wpb = "WEST PALM BEACH FL DISTRIBUTION CENTER"
    fay = "FAYETTEVILLE NC DISTRIBUTION CENTER ANNEX"
    holly = "HOLLY RIDGE, NC, 28445, USA, United States"
    assert adapter.parse_webhook(signed(fixture("tracking_update_usps.json"))) == [
        usps(
            T.PRE_TRANSIT,
            "InfoReceived_001",
            "2021-05-13T13:04",
            "Shipping Label Created, USPS Awaiting Item",
            boca,
        ),
        usps(
            T.PICKED_UP,
            "InTransit_002",
            "2021-05-13T18:10",
            "Accepted at USPS Origin Facility",
            boca,
        ),
        usps(
            T.IN_TRANSIT,
            "InTransit_003",
            "2021-05-13T19:25",
            "Arrived at USPS Regional Origin Facility",
            wpb,
        ),
        usps(
            T.IN_TRANSIT,
            "InTransit_007",
            "2021-05-14T00:25",
            "Departed USPS Regional Origin Facility",
            wpb,
        ),
        usps(
            T.IN_TRANSIT,
            "InTransit_003",
            "2021-05-15T13:06",
            "Arrived at USPS Regional Destination Facility",
            fay,
        ),
        usps(
            T.IN_TRANSIT,
            "InTransit_007",
            "2021-05-16T05:52",
            "Departed USPS Regional Facility",
            fay,
        ),
        usps(T.IN_TRANSIT, "InTransit_003", "2021-05-17T03:45", "Arrived at Post Office", holly),
    ]


def test_the_published_2026_07_sample_is_read(adapter: AfterShipAdapter) -> None:
    assert adapter.parse_webhook(signed(fixture("tracking_update_2026_07.json"))) == [
        CarrierEvent(
            carrier="aftership",
            tracking_number="0000000000000000",
            status=T.IN_TRANSIT,
            raw_status="InTransit_001",
            occurred_at=datetime(2021, 1, 14, 0, 52, tzinfo=UTC),
            description="Departed Shipping Partner Facility, USPS Awaiting Item",
        )
    ]


def test_checkpoint_times_with_an_offset_are_converted_to_utc(adapter: AfterShipAdapter) -> None:
    body = webhook([checkpoint(checkpoint_time="2021-05-13T13:04:00-04:00")])
    [event] = adapter.parse_webhook(signed(body))
    assert event.occurred_at == datetime(2021, 5, 13, 17, 4, tzinfo=UTC)


def test_a_date_only_checkpoint_time_is_midnight_utc(adapter: AfterShipAdapter) -> None:
    [event] = adapter.parse_webhook(signed(webhook([checkpoint(checkpoint_time="2021-05-13")])))
    assert event.occurred_at == datetime(2021, 5, 13, tzinfo=UTC)


def test_the_location_is_built_from_parts_when_there_is_no_location_string(
    adapter: AfterShipAdapter,
) -> None:
    fields = {"city": "Berlin", "state": None, "country_region_name": "Germany", "hash": "h-1"}
    [event] = adapter.parse_webhook(signed(webhook([checkpoint(**fields)])))
    assert (event.location, event.provider_event_id) == ("Berlin, Germany", "h-1")


def test_a_tracking_without_checkpoints_gives_one_event_from_its_tag(
    adapter: AfterShipAdapter,
) -> None:
    body = webhook(
        [],
        tag="Pending",
        subtag="Pending_001",
        subtag_message="Pending",
        updated_at="2024-04-10T09:34:56+00:00",
    )
    assert adapter.parse_webhook(signed(body)) == [
        CarrierEvent(
            carrier="aftership",
            tracking_number="0000000000000000",
            status=T.PRE_TRANSIT,
            raw_status="Pending_001",
            occurred_at=datetime(2024, 4, 10, 9, 34, 56, tzinfo=UTC),
            description="Pending",
        )
    ]


def test_without_checkpoints_or_updated_at_the_event_time_is_ts(adapter: AfterShipAdapter) -> None:
    [event] = adapter.parse_webhook(signed(webhook([], tag="Pending", subtag=None)))
    assert event.occurred_at == datetime.fromtimestamp(1712741696, tz=UTC)


@pytest.mark.parametrize("event", ["edd_revise", "tracking_pending_time"])
def test_non_status_events_are_acknowledged_without_tracking_events(
    adapter: AfterShipAdapter, event: str
) -> None:
    body = json.dumps({"event": event, "msg": {}, "ts": USPS_TS}).encode()
    assert adapter.parse_webhook(signed(body)) == []


def test_the_acknowledgement_is_a_plain_200(adapter: AfterShipAdapter) -> None:
    assert adapter.acknowledge([]).status == 200


# --- the signature -----------------------------------------------------------------------


def test_a_correctly_signed_webhook_is_accepted(adapter: AfterShipAdapter) -> None:
    adapter.verify_webhook(signed(fixture("tracking_update_usps.json")), NOW)


def test_the_header_name_is_matched_case_insensitively(adapter: AfterShipAdapter) -> None:
    body = fixture("tracking_update_usps.json")
    adapter.verify_webhook(WebhookRequest(body, {"Aftership-Hmac-Sha256": sign(body)}), NOW)


def test_a_tampered_body_is_rejected(adapter: AfterShipAdapter) -> None:
    body = fixture("tracking_update_usps.json")
    tampered = body.replace(b'"tag": "InTransit"', b'"tag": "Delivered"', 1)
    with pytest.raises(WebhookRejected):
        adapter.verify_webhook(WebhookRequest(tampered, {"aftership-hmac-sha256": sign(body)}), NOW)


def test_a_signature_made_with_another_secret_is_rejected(adapter: AfterShipAdapter) -> None:
    with pytest.raises(WebhookRejected):
        adapter.verify_webhook(signed(fixture("tracking_update_usps.json"), "other"), NOW)


def test_a_hex_digest_is_not_accepted(adapter: AfterShipAdapter) -> None:
    body = fixture("tracking_update_usps.json")
    hex_digest = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    with pytest.raises(WebhookRejected):
        adapter.verify_webhook(WebhookRequest(body, {"aftership-hmac-sha256": hex_digest}), NOW)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"aftership-hmac-sha256": ""},
        {"aftership-hmac-sha256": "\u00e9t\u00e9"},
        {"as-signature-hmac-sha256": "x"},
    ],
)
def test_a_missing_or_garbled_signature_is_rejected(
    adapter: AfterShipAdapter, headers: dict[str, str]
) -> None:
    with pytest.raises(WebhookRejected):
        adapter.verify_webhook(WebhookRequest(fixture("tracking_update_usps.json"), headers), NOW)


def test_without_a_configured_secret_every_webhook_is_rejected() -> None:
    with pytest.raises(WebhookRejected):
        AfterShipAdapter({}).verify_webhook(signed(fixture("tracking_update_usps.json")), NOW)


def test_by_default_a_late_retry_with_an_old_ts_is_still_accepted(
    adapter: AfterShipAdapter,
) -> None:
    # AfterShip retries for about 68 hours; the old ts cannot tell a retry from a replay.
    adapter.verify_webhook(signed(fixture("tracking_update_usps.json")), NOW + timedelta(hours=60))


def test_a_replayed_webhook_yields_the_same_dedupe_keys(adapter: AfterShipAdapter) -> None:
    first = adapter.parse_webhook(signed(fixture("tracking_update_usps.json")))
    again = adapter.parse_webhook(signed(fixture("tracking_update_usps.json")))
    assert [e.dedupe_key() for e in first] == [e.dedupe_key() for e in again]


def test_an_optional_max_age_rejects_a_stale_ts() -> None:
    strict = AfterShipAdapter(
        {"AFTERSHIP_WEBHOOK_SECRET": SECRET, "AFTERSHIP_WEBHOOK_MAX_AGE": 300}
    )
    request = signed(fixture("tracking_update_usps.json"))
    strict.verify_webhook(request, NOW + timedelta(seconds=299))
    with pytest.raises(WebhookRejected):
        strict.verify_webhook(request, NOW + timedelta(seconds=301))
    with pytest.raises(WebhookRejected):
        strict.verify_webhook(request, NOW - timedelta(seconds=301))  # from the future


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b'{"event": "tracking_update"}',
        b'{"ts": "yesterday"}',
        b'{"ts": 1e999}',
        b'{"ts": ' + b"9" * 400 + b"}",
        b'{"ts": true}',
    ],
)
def test_with_a_max_age_an_unreadable_ts_is_rejected(body: bytes) -> None:
    strict = AfterShipAdapter(
        {"AFTERSHIP_WEBHOOK_SECRET": SECRET, "AFTERSHIP_WEBHOOK_MAX_AGE": 300}
    )
    with pytest.raises(WebhookRejected):
        strict.verify_webhook(signed(body), NOW)


# --- malformed bodies --------------------------------------------------------------------

MALFORMED = {
    "empty": b"",
    "not json": b"event=tracking_update",
    "not utf-8": b"\xc3\x28\xff",
    "a json list": b"[]",
    "no event": b'{"msg": {}}',
    "event not a string": b'{"event": 7, "msg": {}}',
    "msg missing": b'{"event": "tracking_update", "ts": 1}',
    "msg not an object": b'{"event": "tracking_update", "msg": "x"}',
    "no tracking number": webhook(tracking_number=None),
    "tracking number a list": webhook(tracking_number=["1"]),
    "checkpoints not a list": webhook({"tag": "Delivered"}),
    "checkpoint not an object": webhook(["Delivered"]),
    "checkpoint without time": webhook([checkpoint(checkpoint_time=None)]),
    "checkpoint with a bad time": webhook([checkpoint(checkpoint_time="13/05/2021")]),
    "tag not a string": webhook([checkpoint(tag=3)]),
    "no checkpoints, bad ts": json.dumps(
        {"event": "tracking_update", "msg": {"tracking_number": "1", "tag": "Pending"}, "ts": 1e300}
    ).encode(),
    "huge integer": b'{"event": "tracking_update", "ts": ' + b"1" * 5000 + b"}",
    "deeply nested": b'{"event": "tracking_update", "msg": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
}


@pytest.mark.parametrize("body", MALFORMED.values(), ids=MALFORMED.keys())
def test_unreadable_bodies_raise_malformed_webhook_and_nothing_else(
    adapter: AfterShipAdapter, body: bytes
) -> None:
    with pytest.raises(MalformedWebhook):
        adapter.parse_webhook(signed(body))


def test_aftership_neither_polls_nor_creates_labels(adapter: AfterShipAdapter) -> None:
    assert (AfterShipAdapter.polls, AfterShipAdapter.creates_labels) == (False, False)
    with pytest.raises(PollingNotSupported):
        adapter.fetch_tracking("9405516902697649303570")
    with pytest.raises(LabelsNotSupported) as caught:
        adapter.create_label(
            reference="RMA-1", from_address={}, to_address={}, idempotency_key="k-1"
        )
    assert caught.value.code == "labels_not_supported"


def test_it_is_built_the_way_build_adapters_builds_every_adapter() -> None:
    with httpx.Client() as client:
        built: CarrierAdapter = AfterShipAdapter({}, http=client)
        assert built.name == "aftership"


def test_a_max_age_given_as_an_environment_string_is_honoured() -> None:
    strict = AfterShipAdapter(
        {"AFTERSHIP_WEBHOOK_SECRET": SECRET, "AFTERSHIP_WEBHOOK_MAX_AGE": "300"}
    )
    with pytest.raises(WebhookRejected):
        strict.verify_webhook(
            signed(fixture("tracking_update_usps.json")), NOW + timedelta(hours=1)
        )


def test_a_signed_body_too_deep_to_read_its_ts_is_malformed_not_unauthenticated() -> None:
    # Signed, so authentic: with a max age set, the ts could not be read for nesting, which
    # is an unreadable delivery (400, kept for review), not a forged one (401).
    strict = AfterShipAdapter(
        {"AFTERSHIP_WEBHOOK_SECRET": SECRET, "AFTERSHIP_WEBHOOK_MAX_AGE": "300"}
    )
    with pytest.raises(MalformedWebhook):
        strict.verify_webhook(signed(MALFORMED["deeply nested"]), NOW)
