"""End to end over loopback: spareflow and the sandbox carrier as real servers.

The sandbox carrier plays parcel journeys with faults (duplicates, out of order, lost scans)
and sends signed webhooks to spareflow; polling fills in for webhooks that never arrive.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.processes import free_port, spareflow_command
from carriers.adapters.sandbox import SandboxAdapter
from carriers.label_providers.sandbox import SandboxLabels
from carriers.labels import Address, LabelRequest, Parcel
from carriers.models import Direction
from carriers.services import CarrierService
from carriers.status import TrackingStatus
from core.clock import SystemClock
from core.db import make_engine, make_session_factory
from tests.support.processes import running, spareflow, spareflow_env
from tests.support.sandbox_webhooks import SECRET

ADDRESS = {"name": "Returns desk", "street": "1 Dock Road", "city": "Leeds", "country": "GB"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp_path: Path = tmp_path_factory.mktemp("e2e")
    app_port, carrier_port, silent_port = free_port(), free_port(), free_port()
    env = {
        **spareflow_env(tmp_path),
        "SPAREFLOW_SANDBOX_WEBHOOK_SECRET": SECRET,
        "SPAREFLOW_SANDBOX_CARRIER_URL": f"http://127.0.0.1:{carrier_port}",
        "SPAREFLOW_CARRIERS_SANDBOX": "true",
    }
    spareflow(env, "db", "upgrade")
    spareflow(
        env,
        "users",
        "create",
        "desk@e2e.example",
        "--role",
        "service_desk",
        stdin="a long password\n",
    )
    token = spareflow(env, "tokens", "create", "desk@e2e.example").strip()
    webhook = f"http://127.0.0.1:{app_port}/webhooks/carriers/sandbox"
    app_cmd = spareflow_command("serve", "--port", str(app_port))
    carrier_cmd = spareflow_command(
        "sandbox",
        "carrier",
        "--port",
        str(carrier_port),
        "--webhook-url",
        webhook,
        "--step-seconds",
        "0",
    )
    # A second carrier whose webhooks go nowhere: only polling can learn what it knows.
    silent_cmd = spareflow_command(
        "sandbox",
        "carrier",
        "--port",
        str(silent_port),
        "--retries",
        "1",
        "--webhook-url",
        f"http://127.0.0.1:{free_port()}/nowhere",
        "--step-seconds",
        "0",
    )
    with (
        running(app_cmd, env, app_port) as app_url,
        running(carrier_cmd, env, carrier_port) as carrier_url,
        running(silent_cmd, env, silent_port) as silent_url,
    ):
        engine = make_engine(env["DATABASE_URL"])
        with httpx.Client(timeout=10) as http:
            yield {
                "app": app_url,
                "carrier": carrier_url,
                "silent": silent_url,
                "token": token,
                "session_factory": make_session_factory(engine),
                "http": http,
            }
        engine.dispose()


def service(stack: dict[str, Any], carrier_url: str) -> CarrierService:
    settings = {"SANDBOX_WEBHOOK_SECRET": SECRET, "SANDBOX_CARRIER_URL": carrier_url}
    adapter = SandboxAdapter(settings, http=stack["http"])
    return CarrierService(stack["session_factory"], SystemClock(), {"sandbox": adapter})


def api(stack: dict[str, Any], method: str, path: str, **kwargs: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {stack['token']}"}
    return stack["http"].request(method, stack["app"] + path, headers=headers, **kwargs)


def play(carrier_url: str, number: str, **journey: Any) -> list[int]:
    with httpx.Client(timeout=30) as http:
        response = http.post(
            f"{carrier_url}/v1/parcels/{number}/journey", json={"wait": True, **journey}
        )
    response.raise_for_status()
    return response.json()["deliveries"]


def test_a_label_is_bought_once_per_key_and_served_as_a_pdf(stack: dict[str, Any]) -> None:
    carriers = service(stack, stack["carrier"])
    provider = SandboxLabels(stack["carrier"], stack["http"])
    request = LabelRequest(
        reference="RMA-E2E-1",
        direction=Direction.INBOUND,
        from_address=Address.from_mapping(ADDRESS),
        to_address=Address.from_mapping(ADDRESS),
        parcel=Parcel(1000),
        idempotency_key="rma-e2e-1-label",
    )
    first = carriers.buy_label(provider, request).shipment
    again = carriers.buy_label(provider, request, look_first=True).shipment
    assert first.tracking_number == again.tracking_number
    label = api(stack, "GET", f"/api/v1/shipments/{first.tracking_number}/label")
    assert label.status_code == 200
    assert label.headers["content-type"] == "application/pdf"
    assert label.content.startswith(b"%PDF")


def test_a_journey_with_duplicate_and_out_of_order_scans_ends_delivered_with_each_scan_once(
    stack: dict[str, Any],
) -> None:
    api(
        stack,
        "POST",
        "/api/v1/shipments",
        json={
            "direction": "inbound",
            "carrier": "sandbox",
            "tracking_number": "SBXE2E1",
            "reference": "RMA-2",
        },
    )
    statuses = play(stack["carrier"], "SBXE2E1", faults={"duplicate": True, "out_of_order": True})
    assert statuses == [200] * 8  # 4 scans, each delivered twice, last scan first
    shipment = api(stack, "GET", "/api/v1/shipments/SBXE2E1").json()
    assert shipment["status"] == "delivered"
    assert [e["status"] for e in shipment["events"]] == [
        "picked_up",
        "in_transit",
        "out_for_delivery",
        "delivered",
    ]
    assert shipment["picked_up_at"] == shipment["events"][0]["occurred_at"]


def test_a_lost_pickup_scan_is_implied_by_the_next_one(stack: dict[str, Any]) -> None:
    api(
        stack,
        "POST",
        "/api/v1/shipments",
        json={"direction": "inbound", "carrier": "sandbox", "tracking_number": "SBXE2E2"},
    )
    play(
        stack["carrier"],
        "SBXE2E2",
        steps=["picked_up", "in_transit"],
        faults={"lose": ["picked_up"]},
    )
    shipment = api(stack, "GET", "/api/v1/shipments/SBXE2E2").json()
    assert shipment["status"] == "in_transit"
    assert [e["status"] for e in shipment["events"]] == ["in_transit"]
    assert shipment["picked_up_at"] == shipment["events"][0]["occurred_at"]


def test_polling_learns_what_webhooks_never_delivered_and_applies_it_once(
    stack: dict[str, Any],
) -> None:
    carriers = service(stack, stack["silent"])
    carriers.register_shipment(
        direction=Direction.INBOUND, carrier="sandbox", tracking_number="SBXE2E3"
    )
    statuses = play(stack["silent"], "SBXE2E3", steps=["picked_up", "in_transit"])
    assert all(status == 0 for status in statuses)  # nobody listening: every webhook failed
    assert carriers.get_shipment("SBXE2E3").status is TrackingStatus.PRE_TRANSIT
    assert carriers.poll_due() >= 1
    polled = carriers.get_shipment("SBXE2E3")
    assert polled.status is TrackingStatus.IN_TRANSIT
    assert [e.source.value for e in polled.events] == ["poll", "poll"]
    assert isinstance(polled.picked_up_at, datetime)
    assert carriers.poll_due() == 0  # not due again until the poll interval has passed
