"""The whole returns story over loopback: spareflow, its scheduler, the Stripe-compatible refunds
sandbox and signed carrier webhooks, each a real process. And a worker killed mid-refund.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from carriers.adapters.sandbox import SIGNATURE_HEADER, sign
from tests.carriers_support import SECRET
from tests.web.servers import free_port, running, spareflow, spareflow_command, spareflow_env

REFUNDS_KEY = "sk_test_e2e"


def start_stack(tmp_path: Path, *, with_scheduler: bool) -> Iterator[dict[str, Any]]:
    app_port, refunds_port = free_port(), free_port()
    env = {
        **spareflow_env(tmp_path),
        "SPAREFLOW_SANDBOX_WEBHOOK_SECRET": SECRET,
        "SPAREFLOW_REFUNDS_API_BASE": f"http://127.0.0.1:{refunds_port}",
        "SPAREFLOW_REFUNDS_API_KEY": REFUNDS_KEY,
        "SPAREFLOW_OUTBOX_LEASE_SECONDS": "2",
    }
    spareflow(env, "db", "upgrade")
    spareflow(env, "demo-data", "--parts", "10")
    tokens = {
        role: spareflow(env, "tokens", "create", f"{email}@demo.spareflow").strip()
        for role, email in (("desk", "desk"), ("warehouse", "warehouse"), ("admin", "admin"))
    }
    scheduler = None
    with (
        running(spareflow_command("serve", "--port", str(app_port)), env, app_port) as app_url,
        running(
            spareflow_command("sandbox", "refunds", "--port", str(refunds_port)), env, refunds_port
        ) as refunds_url,
        httpx.Client(timeout=15) as http,
    ):
        if with_scheduler:
            scheduler = subprocess.Popen(
                spareflow_command("scheduler"),
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        try:
            yield {
                "app": app_url,
                "refunds": refunds_url,
                "env": env,
                "tokens": tokens,
                "http": http,
            }
        finally:
            if scheduler is not None:
                scheduler.terminate()
                scheduler.wait(timeout=15)


def call(stack: dict[str, Any], role: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {stack['tokens'][role]}"}
    return stack["http"].request(method, stack["app"] + path, headers=headers, **kwargs)


def carrier_event(stack: dict[str, Any], tracking: str, status: str, at: datetime) -> int:
    body = json.dumps(
        {
            "id": f"evt_{tracking}_{status}",
            "type": "tracking.updated",
            "created": int(at.timestamp()),
            "data": {"tracking_number": tracking, "status": status, "occurred_at": at.isoformat()},
        }
    ).encode()
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(SECRET, body, int(time.time())),
    }
    response = stack["http"].post(
        f"{stack['app']}/webhooks/carriers/sandbox", content=body, headers=headers
    )
    return response.status_code


def refunds_at_provider(stack: dict[str, Any]) -> list[dict[str, Any]]:
    response = stack["http"].get(
        f"{stack['refunds']}/v1/refunds", headers={"Authorization": f"Bearer {REFUNDS_KEY}"}
    )
    return response.json()["data"]


def wait_for(check: Callable[[], bool], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"not true within {seconds}s")


def stock_part(stack: dict[str, Any], sku: str, qty: int) -> None:
    assert (
        call(
            stack,
            "admin",
            "POST",
            "/api/v1/parts",
            json={"sku": sku, "name": "Cooling fan 80mm", "unit_cost": "9.50"},
        ).status_code
        == 201
    )
    assert (
        call(
            stack,
            "warehouse",
            "POST",
            "/api/v1/stock/receipts",
            json={"sku": sku, "location": "MAIN/A-01-01", "qty": qty},
        ).status_code
        == 201
    )


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    yield from start_stack(tmp_path_factory.mktemp("returns-e2e"), with_scheduler=True)


@pytest.fixture(scope="module")
def quiet_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """No scheduler: the test itself runs (and kills) the outbox worker."""
    yield from start_stack(tmp_path_factory.mktemp("returns-crash"), with_scheduler=False)


def test_an_exchange_ships_at_once_and_refunds_exactly_once_on_pickup(
    stack: dict[str, Any],
) -> None:
    stock_part(stack, "E2E-FAN", 3)
    created = call(
        stack,
        "desk",
        "POST",
        "/api/v1/returns",
        json={
            "customer": {"name": "Mia Chen", "email": "mia@example.com", "vip": False},
            "order_number": "SO-9001",
            "payment_reference": "pi_e2e_exchange",
            "purchase_date": (datetime.now(UTC).date() - timedelta(days=5)).isoformat(),
            "channel": "marketplace",
            "reason": "defective",
            "description": "Fan rattles",
            "resolution": "replacement",
            "priority": "high",
            "lines": [{"sku": "E2E-FAN", "qty": 1, "serial": "SN-1", "unit_price": "30.00"}],
        },
    )
    assert created.status_code == 201, created.text
    number = created.json()["rma_number"]

    authorised = call(
        stack,
        "desk",
        "POST",
        f"/api/v1/returns/{number}/authorise",
        json={"carrier": "sandbox", "tracking_number": "SBXE2E900"},
    ).json()
    assert authorised["status"] == "awaiting_pickup"
    assert authorised["replacements"][0]["status"] == "queued"
    stock = call(stack, "warehouse", "GET", "/api/v1/stock/E2E-FAN").json()
    assert (stock["on_hand"], stock["reserved"]) == (3, 1)
    queue = [
        item
        for item in call(stack, "warehouse", "GET", "/api/v1/replacements").json()
        if item["rma_number"] == number
    ]  # the demo data has its own queue too
    assert [item["sku"] for item in queue] == ["E2E-FAN"]

    picked_up = datetime.now(UTC) - timedelta(minutes=2)
    assert carrier_event(stack, "SBXE2E900", "picked_up", picked_up) == 200
    assert carrier_event(stack, "SBXE2E900", "picked_up", picked_up) == 200  # the duplicate
    assert carrier_event(stack, "SBXE2E900", "in_transit", picked_up + timedelta(minutes=1)) == 200
    assert carrier_event(stack, "SBXE2E900", "label_created", picked_up - timedelta(hours=1)) == 200

    def refunded() -> bool:
        rma = call(stack, "desk", "GET", f"/api/v1/returns/{number}").json()
        return rma["refund"]["status"] == "released"

    wait_for(refunded)  # the scheduler process drains the outbox every few seconds
    refunds = [r for r in refunds_at_provider(stack) if r["metadata"].get("rma") == number]
    assert [(r["amount"], r["payment_intent"]) for r in refunds] == [(3000, "pi_e2e_exchange")]

    shipped = call(
        stack,
        "warehouse",
        "POST",
        f"/api/v1/replacements/{queue[0]['id']}/ship",
        json={"carrier": "sandbox", "tracking_number": "SBXOUT900"},
    ).json()
    assert shipped["replacements"][0]["status"] == "shipped"
    received = call(
        stack,
        "warehouse",
        "POST",
        f"/api/v1/returns/{number}/receive",
        json={"lines": [{"sku": "E2E-FAN", "qty": 1, "serial": "SN-1", "condition": "used"}]},
    )
    assert received.json()["status"] == "received"
    inspected = call(
        stack,
        "warehouse",
        "POST",
        f"/api/v1/returns/{number}/inspect",
        json={"lines": [{"sku": "E2E-FAN", "disposition": "restock", "location": "MAIN/A-01-02"}]},
    )
    assert inspected.json()["status"] == "inspected"
    closed = call(stack, "desk", "POST", f"/api/v1/returns/{number}/close", json={})
    assert closed.json()["status"] == "closed"
    timeline = [
        (t["kind"], t["to_status"]) for t in closed.json()["timeline"] if t["kind"] == "status"
    ]
    assert [status for _, status in timeline] == [
        "requested",
        "authorised",
        "awaiting_pickup",
        "picked_up",
        "in_transit",
        "received",
        "inspected",
        "closed",
    ]
    stock = call(stack, "warehouse", "GET", "/api/v1/stock/E2E-FAN").json()
    assert (stock["on_hand"], stock["reserved"]) == (3, 0)  # one out as the replacement, one back
    assert "match the ledger" in spareflow(stack["env"], "stock", "verify")
    assert len([r for r in refunds_at_provider(stack) if r["metadata"].get("rma") == number]) == 1


def test_a_worker_killed_between_the_refund_and_its_commit_neither_loses_nor_doubles_it(
    quiet_stack: dict[str, Any],
) -> None:
    stack = quiet_stack
    stock_part(stack, "E2E-PSU", 1)
    number = call(
        stack,
        "desk",
        "POST",
        "/api/v1/returns",
        json={
            "customer": {"name": "Li Wei", "email": "li@example.com"},
            "payment_reference": "pi_e2e_crash",
            "channel": "web",
            "reason": "defective",
            "resolution": "refund",
            "lines": [{"sku": "E2E-PSU", "qty": 1, "unit_price": "45.00"}],
        },
    ).json()["rma_number"]
    call(
        stack,
        "desk",
        "POST",
        f"/api/v1/returns/{number}/authorise",
        json={"carrier": "sandbox", "tracking_number": "SBXCRASH1"},
    )
    assert carrier_event(stack, "SBXCRASH1", "picked_up", datetime.now(UTC)) == 200

    # The provider makes the refund, then takes its time answering: the worker dies waiting.
    stack["http"].post(f"{stack['refunds']}/sandbox/faults", json={"answer_delay_seconds": 30})
    worker = subprocess.Popen(
        spareflow_command("outbox", "drain"),
        env=stack["env"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: len(refunds_at_provider(stack)) == 1, seconds=30)
    finally:
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    rma = call(stack, "desk", "GET", f"/api/v1/returns/{number}").json()
    assert rma["refund"]["status"] == "pending"  # the refund happened; we never heard

    stack["http"].post(f"{stack['refunds']}/sandbox/faults", json={"answer_delay_seconds": 0})
    time.sleep(2.5)  # the dead worker's lease runs out
    assert "Attempted 1" in spareflow(stack["env"], "outbox", "drain")
    rma = call(stack, "desk", "GET", f"/api/v1/returns/{number}").json()
    assert rma["refund"]["status"] == "released"
    refunds = refunds_at_provider(stack)
    assert [(r["metadata"]["rma"], r["amount"]) for r in refunds] == [(number, 4500)]
    assert rma["refund"]["reference"] == refunds[0]["id"]
