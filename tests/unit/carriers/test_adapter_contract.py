"""One contract, every carrier adapter (carriers/adapters/base.py, ``CarrierAdapter``).

Each adapter gets its provider's documented sample body (tests/fixtures/carriers/; the
sandbox's is the one docs/carriers.md shows) and is held to the same promises:

* a correctly authenticated delivery parses to events in the one tracking vocabulary
  (``TrackingStatus``), each with a tracking number, a status, an aware UTC time and a
  stable dedupe key;
* a wrong signature or token is refused (``WebhookRejected``);
* a tampered body is refused, where the provider signs the body (SF Express signs nothing:
  its secret URL token is the only proof, see docs/carriers.md, so it is listed apart);
* a body that parses but names a status the adapter does not know maps to the documented
  fallback, ``TrackingStatus.UNKNOWN`` (the provider's word kept in ``raw_status``).

The signatures are computed here, the way each provider documents them, not by the adapters.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import pytest

from carriers.adapters.aftership import AfterShipAdapter
from carriers.adapters.base import CarrierAdapter
from carriers.adapters.easypost import EasyPostAdapter
from carriers.adapters.sandbox import SandboxAdapter
from carriers.adapters.sfexpress import SFExpressAdapter
from carriers.adapters.shippo import ShippoAdapter
from carriers.events import CarrierEvent, WebhookRejected, WebhookRequest
from carriers.registry import ADAPTER_CLASSES
from carriers.status import TrackingStatus

FIXTURES = Path(__file__).parents[2] / "fixtures" / "carriers"
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
SECRET = "contract-secret-4f1c"
WRONG = "not-the-secret-9d2e"

#: The sandbox carrier's webhook, as docs/carriers.md ("Webhook format") documents it.
SANDBOX_SAMPLE = json.dumps(
    {
        "id": "evt_SBX42137000001_picked_up",
        "type": "tracking.updated",
        "created": 1795424400,
        "data": {
            "tracking_number": "SBX42137000001",
            "status": "picked_up",
            "occurred_at": "2026-11-23T09:00:00.123456+00:00",
            "description": "Picked up",
            "location": "Customer drop-off point",
        },
    }
).encode()


def _stripe_style(secret: str, body: bytes, at: datetime) -> str:
    """``t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`` (sandbox and Shippo)."""
    ts = int(at.timestamp())
    digest = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={ts},v1={digest}"


def _sandbox(body: bytes, secret: str) -> WebhookRequest:
    return WebhookRequest(
        body=body, headers={"Sandbox-Signature": _stripe_style(secret, body, NOW)}
    )


def _shippo(body: bytes, secret: str) -> WebhookRequest:
    return WebhookRequest(
        body=body, headers={"Shippo-Auth-Signature": _stripe_style(secret, body, NOW)}
    )


def _easypost(body: bytes, secret: str) -> WebhookRequest:
    key = unicodedata.normalize("NFKD", secret).encode()
    digest = hmac.new(key, body, hashlib.sha256).hexdigest()
    return WebhookRequest(body=body, headers={"X-Hmac-Signature": f"hmac-sha256-hex={digest}"})


def _aftership(body: bytes, secret: str) -> WebhookRequest:
    digest = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return WebhookRequest(body=body, headers={"aftership-hmac-sha256": digest})


def _sfexpress(body: bytes, secret: str) -> WebhookRequest:
    return WebhookRequest(
        body=body,
        headers={},
        query={"token": secret},
        content_type="application/json;charset=UTF-8",
    )


@dataclass(frozen=True)
class Case:
    """One adapter under the contract."""

    name: str
    make: Callable[[], CarrierAdapter]
    sample: bytes
    deliver: Callable[[bytes, str], WebhookRequest]  # the body, authenticated with a secret
    status_keys: tuple[str, ...]  # the JSON keys that carry the provider's status words
    unknown_status: str  # a word no table of the adapter knows
    signs_body: bool = True

    def __str__(self) -> str:
        return self.name


CASES = [
    Case(
        "sandbox",
        lambda: SandboxAdapter({"SANDBOX_WEBHOOK_SECRET": SECRET}),
        SANDBOX_SAMPLE,
        _sandbox,
        ("status",),
        "teleported",
    ),
    Case(
        "easypost",
        lambda: EasyPostAdapter({"EASYPOST_WEBHOOK_SECRET": SECRET}),
        (FIXTURES / "easypost" / "tracker_updated.json").read_bytes(),
        _easypost,
        ("status",),
        "teleported",
    ),
    Case(
        "aftership",
        lambda: AfterShipAdapter({"AFTERSHIP_WEBHOOK_SECRET": SECRET}),
        (FIXTURES / "aftership" / "tracking_update_2026_07.json").read_bytes(),
        _aftership,
        ("tag", "subtag"),
        "Teleported",
    ),
    Case(
        "shippo",
        lambda: ShippoAdapter({"SHIPPO_WEBHOOK_SECRET": SECRET}),
        (FIXTURES / "shippo" / "track_updated_delivered.json").read_bytes(),
        _shippo,
        ("status",),
        "TELEPORTED",
    ),
    Case(
        "sfexpress",
        lambda: SFExpressAdapter({"SFEXPRESS_WEBHOOK_TOKEN": SECRET}),
        (FIXTURES / "sfexpress" / "route_push.json").read_bytes(),
        _sfexpress,
        ("opCode",),
        "9999",
        signs_body=False,
    ),
]
SIGNED = [case for case in CASES if case.signs_body]


def _replace_keys(value: Any, keys: tuple[str, ...], new: str) -> Any:
    if isinstance(value, dict):
        return {
            key: new if key in keys and isinstance(item, str) else _replace_keys(item, keys, new)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_replace_keys(item, keys, new) for item in value]
    return value


def _accepted(case: Case, body: bytes) -> list[CarrierEvent]:
    adapter = case.make()
    request = case.deliver(body, SECRET)
    adapter.verify_webhook(request, NOW)
    return adapter.parse_webhook(request)


def test_the_contract_covers_every_adapter_the_app_can_use() -> None:
    assert {case.name for case in CASES} == {cls.name for cls in ADAPTER_CLASSES}


def test_only_sfexpress_leaves_its_body_unsigned() -> None:
    """A new adapter must sign its body or be listed here on purpose (and documented)."""
    assert {case.name for case in CASES if not case.signs_body} == {"sfexpress"}


@pytest.mark.parametrize("case", CASES, ids=str)
def test_an_authenticated_documented_sample_parses_to_normalised_events(case: Case) -> None:
    events = _accepted(case, case.sample)

    assert events
    for event in events:
        assert event.carrier == case.name
        assert event.tracking_number.strip()
        assert isinstance(event.status, TrackingStatus)
        assert event.status is not TrackingStatus.UNKNOWN  # the samples name known statuses
        assert event.raw_status
        assert event.occurred_at.tzinfo is not None
        assert event.occurred_at.utcoffset() == timedelta(0)
        assert len(event.dedupe_key()) == 64
    # The same delivery twice is the same events: the dedupe key absorbs a re-send.
    again = _accepted(case, case.sample)
    assert [event.dedupe_key() for event in again] == [event.dedupe_key() for event in events]
    assert len({event.dedupe_key() for event in events}) == len(events)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_a_wrong_signature_or_token_is_refused(case: Case) -> None:
    adapter = case.make()
    with pytest.raises(WebhookRejected):
        adapter.verify_webhook(case.deliver(case.sample, WRONG), NOW)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_a_delivery_without_any_credentials_is_refused(case: Case) -> None:
    adapter = case.make()
    with pytest.raises(WebhookRejected):
        adapter.verify_webhook(WebhookRequest(body=case.sample, headers={}), NOW)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_an_adapter_without_its_secret_refuses_everything(case: Case) -> None:
    adapter = type(case.make())({})
    with pytest.raises(WebhookRejected):
        adapter.verify_webhook(case.deliver(case.sample, SECRET), NOW)


@pytest.mark.parametrize("case", SIGNED, ids=str)
def test_a_tampered_body_is_refused(case: Case) -> None:
    honest = case.deliver(case.sample, SECRET)
    number = case.make().parse_webhook(honest)[0].tracking_number
    tampered = case.sample.replace(number.encode(), b"ATTACKER" + number[8:].encode())
    assert tampered != case.sample
    forged = WebhookRequest(body=tampered, headers=honest.headers, query=honest.query)
    with pytest.raises(WebhookRejected):
        case.make().verify_webhook(forged, NOW)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_an_unknown_status_maps_to_the_documented_fallback(case: Case) -> None:
    payload = _replace_keys(json.loads(case.sample), case.status_keys, case.unknown_status)
    body = json.dumps(payload, ensure_ascii=False).encode()

    events = _accepted(case, body)

    assert events
    assert {event.status for event in events} == {TrackingStatus.UNKNOWN}
    assert {event.raw_status for event in events} == {case.unknown_status}
    assert all(event.occurred_at.tzinfo is not None for event in events)


def test_an_sfexpress_form_push_meets_the_contract_too() -> None:
    """SF pushes JSON or an XML form (SFEXPRESS_PUSH_MODE): the contract holds for both."""
    adapter = SFExpressAdapter({"SFEXPRESS_WEBHOOK_TOKEN": SECRET})
    xml = (FIXTURES / "sfexpress" / "route_push.xml").read_text(encoding="utf-8")
    form = WebhookRequest(
        body=("content=" + quote_plus(xml)).encode("ascii"),
        headers={},
        query={"token": SECRET},
        content_type="application/x-www-form-urlencoded; charset=UTF-8",
    )
    adapter.verify_webhook(form, NOW)
    events = adapter.parse_webhook(form)
    assert events
    assert all(event.occurred_at.utcoffset() == timedelta(0) for event in events)
    assert all(event.status is not TrackingStatus.UNKNOWN for event in events)
