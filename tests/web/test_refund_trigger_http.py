"""The refund trigger over HTTP, played as the attacks of issue #14: a desk or warehouse
token forging a pickup, a Shippo webhook moving an EasyPost parcel, a second return parcel
swapped in, and Stripe's "pending" refund that later fails, end to end over loopback."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from accounts.models import Role
from carriers.adapters.sandbox import SIGNATURE_HEADER, sign
from core.audit import AuditEntry
from core.db import UnitOfWork
from demo.sandboxes.refunds import create_refunds_sandbox
from returns.models import Notification, OutgoingEmail
from returns.rma import Rma
from returns.stripe_webhooks import signature_header
from tests.support.sandbox_servers import serving
from tests.support.sandbox_webhooks import SECRET, sandbox_payload
from web import create_app

FIXTURES = Path(__file__).parents[1] / "fixtures"
WHSEC = "whsec_http_tests"
REFUNDS_KEY = "sk_test_http"
SHIPPO_NUMBER = "9205590164917312751089"  # the number in Shippo's published example


@pytest.fixture(scope="module")
def refunds() -> Iterator[tuple[str, Any]]:
    app = create_refunds_sandbox(REFUNDS_KEY, webhook_secret=WHSEC)
    with serving(app) as url:
        yield url, app.extensions["refunds_sandbox"]


@pytest.fixture
def app_config(refunds: tuple[str, Any], smtp_sink: Any) -> dict[str, Any]:
    sandbox = refunds[1]
    sandbox.refunds.clear()
    sandbox.by_key.clear()
    sandbox.deliveries.clear()
    sandbox.answer_pending = False
    return {
        "REFUNDS_API_BASE": refunds[0],
        "REFUNDS_API_KEY": REFUNDS_KEY,
        "STRIPE_WEBHOOK_SECRET": WHSEC,
        "EASYPOST_WEBHOOK_SECRET": "easypost-secret",
        "AFTERSHIP_WEBHOOK_SECRET": "aftership-secret",
        "SHIPPO_WEBHOOK_TOKEN": "shippo-url-token",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": smtp_sink.port,
    }


@pytest.fixture
def api(app: Any, client: Any, role_headers: Any) -> Any:
    inventory = app.extensions["spareflow"].inventory
    inventory.create_location(code="MAIN/A-01-01")
    inventory.create_part(sku="FAN-80", name="Cooling fan 80mm")

    def call(method: str, path: str, role: Role = Role.SERVICE_DESK, **kwargs: Any) -> Any:
        return client.open(path, method=method, headers=role_headers[role], **kwargs)

    return call


def open_rma(api: Any, email: str = "mia@example.com") -> str:
    response = api(
        "POST",
        "/api/v1/returns",
        json={
            "customer": {"name": "Mia Chen", "email": email},
            "payment_reference": "pi_3OrderPaid",
            "purchase_date": "2026-11-13",
            "channel": "email",
            "lines": [{"sku": "FAN-80", "qty": 1, "unit_price": "24.99"}],
            "reason": "defective",
            "resolution": "refund",
        },
    )
    assert response.status_code == 201, response.json
    return response.json["rma_number"]


def authorise(api: Any, number: str, **parcel: str) -> dict[str, Any]:
    response = api("POST", f"/api/v1/returns/{number}/authorise", json={"reason": "ok", **parcel})
    assert response.status_code == 200, response.json
    return response.json


def audit_actions(app: Any) -> list[tuple[str, str, str]]:
    with UnitOfWork(app.extensions["spareflow"].session_factory) as uow:
        return [
            (e.action, e.actor, e.target)
            for e in uow.session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        ]


# --- a forged pickup ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.SERVICE_DESK, Role.WAREHOUSE])
def test_a_desk_or_warehouse_token_cannot_release_a_refund_by_registering_and_picking_up(
    app: Any, api: Any, role: Role
) -> None:
    number = open_rma(api)
    authorise(api, number)  # the prepaid label is on order: no parcel yet
    registered = api(
        "POST",
        "/api/v1/shipments",
        role,
        json={
            "direction": "inbound",
            "carrier": "sandbox",
            "tracking_number": "FORGED-1",
            "reference": number,
        },
    )
    assert registered.status_code == 201, registered.json
    forged = api(
        "POST",
        "/api/v1/shipments/FORGED-1/events",
        role,
        json={"status": "picked_up", "reason": "Courier said so"},
    )
    assert forged.status_code == 201

    rma = api("GET", f"/api/v1/returns/{number}").json
    who = f"{role.value}@test.example"
    assert rma["refund"]["status"] == "held"  # the old code answered "pending": money out
    assert rma["refund"]["held_by"] == who
    assert f"entered by hand by {who}" in rma["refund"]["hold_reason"]
    pickup = next(t for t in rma["timeline"] if t["to_status"] == "picked_up")
    assert pickup["actor"] == who and "Courier said so" in pickup["reason"]  # not "spareflow"
    assert ("refund.held", who, number) in audit_actions(app)
    app.extensions["spareflow"].outbox.drain()
    assert refunds_at(app) == []


def refunds_at(app: Any) -> list[dict[str, Any]]:
    base, key = app.config["REFUNDS_API_BASE"], app.config["REFUNDS_API_KEY"]
    return httpx.get(f"{base}/v1/refunds", headers={"Authorization": f"Bearer {key}"}).json()[
        "data"
    ]


def test_an_admins_pickup_by_hand_releases_the_refund_in_their_name(app: Any, api: Any) -> None:
    number = open_rma(api)
    authorise(api, number, carrier="sandbox", tracking_number="SBX-ADM")
    response = api(
        "POST",
        "/api/v1/shipments/SBX-ADM/events",
        Role.ADMIN,
        json={"status": "picked_up", "reason": "Depot confirmed collection"},
    )
    assert response.status_code == 201
    refund = api("GET", f"/api/v1/returns/{number}").json["refund"]
    assert (refund["status"], refund["released_by"]) == ("pending", "admin@test.example")
    assert ("refund.released_by_hand", "admin@test.example", number) in audit_actions(app)


# --- a cross-carrier event ------------------------------------------------------------------------


def test_a_shippo_webhook_for_an_easypost_parcels_number_moves_nothing_and_releases_nothing(
    app: Any, api: Any, client: Any
) -> None:
    number = open_rma(api)
    authorise(api, number, carrier="easypost", tracking_number=SHIPPO_NUMBER)
    body = (FIXTURES / "carriers" / "shippo" / "track_updated_delivered.json").read_bytes()
    response = client.post(
        "/webhooks/carriers/shippo?token=shippo-url-token",
        data=body,
        content_type="application/json",
    )
    assert response.status_code == 200  # authentic for Shippo's own parcels: stored

    rma = api("GET", f"/api/v1/returns/{number}").json
    assert rma["status"] == "awaiting_pickup"
    assert rma["refund"]["status"] == "awaiting_pickup"  # the old code released it
    shipment = api("GET", f"/api/v1/shipments/{SHIPPO_NUMBER}").json
    assert (shipment["carrier"], shipment["status"], shipment["events"]) == (
        "easypost",
        "pre_transit",
        [],
    )
    app.extensions["spareflow"].outbox.drain()
    assert refunds_at(app) == []


def test_an_aftership_tracked_ups_parcel_named_as_such_takes_aftership_events(
    api: Any, client: Any
) -> None:
    import base64
    import hashlib
    import hmac

    body = (FIXTURES / "carriers" / "aftership" / "tracking_update_usps.json").read_bytes()
    number = json.loads(body)["msg"]["tracking_number"]
    registered = api(
        "POST",
        "/api/v1/shipments",
        json={
            "direction": "inbound",
            "carrier": "usps",
            "tracked_via": "aftership",
            "tracking_number": number,
        },
    )
    assert registered.status_code == 201, registered.json
    assert registered.json["tracked_via"] == "aftership"
    digest = hmac.new(b"aftership-secret", body, hashlib.sha256).digest()
    response = client.post(
        "/webhooks/carriers/aftership",
        data=body,
        content_type="application/json",
        headers={"aftership-hmac-sha256": base64.b64encode(digest).decode()},
    )
    assert response.status_code == 200
    shipment = api("GET", f"/api/v1/shipments/{number}").json
    assert shipment["status"] != "pre_transit" and shipment["events"]
    unknown = api(
        "POST",
        "/api/v1/shipments",
        json={
            "direction": "inbound",
            "carrier": "usps",
            "tracked_via": "nosuch",
            "tracking_number": "X1",
        },
    )
    assert (unknown.status_code, unknown.json["error"]["code"]) == (422, "unknown_carrier")


# --- a second return parcel -------------------------------------------------------------------


def test_a_second_return_parcel_is_refused_to_the_desk_and_recorded_for_a_supervisor(
    app: Any, api: Any
) -> None:
    number = open_rma(api)
    authorise(api, number, carrier="sandbox", tracking_number="SBX-FIRST")
    second = {
        "direction": "inbound",
        "carrier": "sandbox",
        "tracking_number": "SBX-SWAP",
        "reference": number,
    }
    for role in (Role.SERVICE_DESK, Role.WAREHOUSE):
        refused = api("POST", "/api/v1/shipments", role, json=second)
        assert (refused.status_code, refused.json["error"]["code"]) == (
            409,
            "second_return_parcel",
        )
    # The swapped parcel does not exist: its "pickup" cannot be posted.
    forged = api(
        "POST", "/api/v1/shipments/SBX-SWAP/events", json={"status": "picked_up", "reason": "x"}
    )
    assert forged.status_code == 404
    no_reason = api("POST", "/api/v1/shipments", Role.ADMIN, json=second)
    assert no_reason.status_code == 422
    assert "reason" in no_reason.json["error"]["details"]["fields"]
    allowed = api("POST", "/api/v1/shipments", Role.ADMIN, json={**second, "reason": "Two boxes"})
    assert allowed.status_code == 201
    timeline = api("GET", f"/api/v1/returns/{number}").json["timeline"]
    assert any(
        t["actor"] == "admin@test.example" and t["reason"].endswith("SBX-SWAP: Two boxes")
        for t in timeline
    )


# --- Stripe: pending, then the signed webhook, over loopback ------------------------------------


def carrier_pickup(client: Any, clock: Any, tracking: str) -> None:
    body = sandbox_payload(tracking, "picked_up", clock.now() - timedelta(minutes=1))
    response = client.post(
        "/webhooks/carriers/sandbox",
        data=body,
        content_type="application/json",
        headers={SIGNATURE_HEADER: sign(SECRET, body, int(clock.now().timestamp()))},
    )
    assert response.status_code == 200


def emails(app: Any, number: str) -> list[str]:
    with UnitOfWork(app.extensions["spareflow"].session_factory) as uow:
        return list(
            uow.session.scalars(
                select(OutgoingEmail.kind)
                .join(Rma, Rma.id == OutgoingEmail.rma_id)
                .where(Rma.number == number)
                .order_by(OutgoingEmail.id)
            )
        )


def test_a_pending_refund_is_released_only_by_the_signed_webhook_and_a_failed_one_goes_back(
    app: Any, api: Any, client: Any, clock: Any, refunds: tuple[str, Any]
) -> None:
    sandbox = refunds[1]
    sandbox.answer_pending = True
    sandbox.now = lambda: clock.now().timestamp()
    services = app.extensions["spareflow"]
    with serving(app) as app_url:
        sandbox.webhook_url = f"{app_url}/webhooks/stripe"
        good, bad = open_rma(api, "good@example.com"), open_rma(api, "bad@example.com")
        for number, tracking in ((good, "SBX-GOOD"), (bad, "SBX-BAD")):
            authorise(api, number, carrier="sandbox", tracking_number=tracking)
            carrier_pickup(client, clock, tracking)
        services.outbox.drain()
        for number in (good, bad):
            refund = api("GET", f"/api/v1/returns/{number}").json["refund"]
            assert refund["status"] == "processing"  # the old code said "released"
            assert "refunded" not in emails(app, number)

        ok_id = api("GET", f"/api/v1/returns/{good}").json["refund"]["reference"]
        settled = httpx.post(
            f"{refunds[0]}/sandbox/refunds/{ok_id}/settle", json={"status": "succeeded"}
        ).json()
        assert settled["answered"] == 200
        assert api("GET", f"/api/v1/returns/{good}").json["refund"]["status"] == "released"
        assert emails(app, good).count("refunded") == 1
        sandbox.send(settled["event"])  # Stripe delivers it again: nothing happens twice
        assert sandbox.deliveries[-1]["answered"] == 200
        assert emails(app, good).count("refunded") == 1

        bad_id = api("GET", f"/api/v1/returns/{bad}").json["refund"]["reference"]
        httpx.post(
            f"{refunds[0]}/sandbox/refunds/{bad_id}/settle",
            json={"status": "failed", "failure_reason": "lost_or_stolen_card"},
        )
    refund = api("GET", f"/api/v1/returns/{bad}").json["refund"]
    assert refund["status"] == "failed" and "lost_or_stolen_card" in refund["error"]
    assert "refunded" not in emails(app, bad)  # the customer is told nothing false
    with UnitOfWork(services.session_factory) as uow:
        kinds = [n.kind for n in uow.session.scalars(select(Notification))]
    assert "refund_failed" in kinds
    # Back in the desk's queue, and sent again by a supervisor through the usual flow.
    sandbox.answer_pending = False
    retried = api(
        "POST", f"/api/v1/returns/{bad}/refund/retry", Role.ADMIN, json={"reason": "new card"}
    )
    assert retried.status_code == 200
    services.outbox.drain()
    assert api("GET", f"/api/v1/returns/{bad}").json["refund"]["status"] == "released"
    assert emails(app, bad).count("refunded") == 1


def test_the_stripe_endpoint_refuses_unsigned_forged_and_stale_deliveries(
    client: Any, clock: Any
) -> None:
    body = (FIXTURES / "stripe" / "refund_updated.json").read_bytes()
    now = int(clock.now().timestamp())
    for header in (
        {},
        {"Stripe-Signature": signature_header("whsec_other", body, now)},
        {"Stripe-Signature": signature_header(WHSEC, body, now - 301)},
        {"Stripe-Signature": "t=abc,v1=zz"},
    ):
        response = client.post(
            "/webhooks/stripe", data=body, content_type="application/json", headers=header
        )
        assert (response.status_code, response.json["error"]["code"]) == (
            401,
            "webhook_rejected",
        )
    signed = {"Stripe-Signature": signature_header(WHSEC, body, now)}
    first = client.post(
        "/webhooks/stripe", data=body, content_type="application/json", headers=signed
    )
    again = client.post(
        "/webhooks/stripe", data=body, content_type="application/json", headers=signed
    )
    assert (first.status_code, first.json) == (200, {"received": True, "duplicate": False})
    assert (again.status_code, again.json) == (200, {"received": True, "duplicate": True})
    junk = b"not json"
    bad = client.post(
        "/webhooks/stripe",
        data=junk,
        content_type="application/json",
        headers={"Stripe-Signature": signature_header(WHSEC, junk, now)},
    )
    assert bad.status_code == 400


# --- no refund provider -----------------------------------------------------------------------


def test_a_start_without_a_refund_provider_warns_loudly_and_holds_refunds(
    database_url: str, clock: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from tests.conftest import RETURN_ADDRESS

    with caplog.at_level(logging.WARNING, logger="bootstrap.services"):
        app = create_app(
            {
                "TESTING": True,
                "DATABASE_URL": database_url,
                "SECRET_KEY": "x",
                "CLOCK": clock,
                "SANDBOX_WEBHOOK_SECRET": SECRET,
                "RETURNS_ADDRESS": RETURN_ADDRESS,
                "REFUNDS_API_BASE": "",
                "CARRIERS_SANDBOX": True,
                "REFUNDS_API_KEY": "",
            }
        )
    try:
        assert any("NO REFUND PROVIDER CONFIGURED" in r.getMessage() for r in caplog.records)
        services = app.extensions["spareflow"]
        assert services.returns.ctx.refund_provider is None
        services.auth.create_user("boss@test.example", Role.ADMIN, "correct horse battery")
        _, secret = services.auth.create_token("boss@test.example", "t")
        headers = {"Authorization": f"Bearer {secret}"}
        client = app.test_client()
        services.inventory.create_part(sku="FAN-80", name="Fan")
        number = client.post(
            "/api/v1/returns",
            headers=headers,
            json={
                "customer": {"name": "Mia", "email": "mia@example.com"},
                "payment_reference": "pi_1",
                "purchase_date": "2026-11-13",
                "channel": "email",
                "lines": [{"sku": "FAN-80", "qty": 1, "unit_price": "24.99"}],
                "reason": "defective",
                "resolution": "refund",
            },
        ).json["rma_number"]
        client.post(
            f"/api/v1/returns/{number}/authorise",
            headers=headers,
            json={"carrier": "sandbox", "tracking_number": "SBX-NP"},
        )
        carrier_pickup(client, clock, "SBX-NP")
        refund = client.get(f"/api/v1/returns/{number}", headers=headers).json["refund"]
        assert (refund["status"], refund["hold_reason"]) == (
            "held",
            "no refund provider configured",
        )
        release = client.post(
            f"/api/v1/returns/{number}/refund/release", headers=headers, json={"reason": "pay"}
        )
        assert (release.status_code, release.json["error"]["code"]) == (409, "no_refund_provider")
    finally:
        app.extensions["spareflow"].engine.dispose()
