"""The whole returns story over loopback: spareflow, its scheduler, the Stripe-compatible refunds
sandbox and signed carrier webhooks, each a real process. And a worker killed mid-refund.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bench.processes import spareflow_command
from tests.support.processes import spareflow
from tests.web.stack import (
    call,
    carrier_event,
    refunds_at_provider,
    start_stack,
    stock_part,
    wait_for,
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
    # The refund, retried with its key, and the customer's e-mails queued meanwhile.
    assert "Attempted" in spareflow(stack["env"], "outbox", "drain")
    rma = call(stack, "desk", "GET", f"/api/v1/returns/{number}").json()
    assert rma["refund"]["status"] == "released"
    refunds = refunds_at_provider(stack)
    assert [(r["metadata"]["rma"], r["amount"]) for r in refunds] == [(number, 4500)]
    assert rma["refund"]["reference"] == refunds[0]["id"]
