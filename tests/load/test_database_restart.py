"""PostgreSQL restarts in the middle of a webhook storm, an outbox drain and a reservation
burst, on a private cluster of the test's own (never the shared server).

Proves: while the database is down, requests get ``503`` with ``Retry-After`` (never a 500);
the web workers' and the outbox worker's connections come back by themselves; no event is
lost, no refund is made twice, no reservation is half made (the ledger verifies)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from bench.harness import (
    Stack,
    authorised_returns,
    event_body,
    seeding_services,
    signed_headers,
    spareflow_command,
    stack,
    stock_parts,
    tokens,
    wait_for,
)
from core.db import make_engine
from tests.support.private_postgres import PrivateCluster, discard, private_cluster, server_binaries

PARCELS = 30
SENDERS = 4
RESERVERS = 2
OUTAGE_SECONDS = 3.0


@pytest.fixture
def cluster() -> Iterator[PrivateCluster]:
    if server_binaries() is None:
        pytest.skip("the PostgreSQL server binaries are not installed (/usr/lib/postgresql)")
    made = private_cluster()
    try:
        yield made
    finally:
        discard(made)


def until_accepted(
    http: httpx.Client, send: callable, answers: Counter[int], retry_after: list[str | None]
) -> httpx.Response:
    """Send until the answer is not a 5xx (as a carrier or a client does), within 90 s; every
    answer's status is counted, and each 503's Retry-After kept."""
    deadline = time.monotonic() + 90
    while True:
        try:
            answer = send(http)
        except httpx.HTTPError:
            answers[0] += 1
        else:
            answers[answer.status_code] += 1
            if answer.status_code == 503:
                retry_after.append(answer.headers.get("Retry-After"))
            if answer.status_code < 500:
                return answer
        assert time.monotonic() < deadline, "not accepted within 90 s"
        time.sleep(0.3)  # shorter than Retry-After (5 s): the test has no time to wait


def test_a_database_restart_mid_storm_loses_nothing_and_doubles_nothing(
    cluster: PrivateCluster, tmp_path: Path
) -> None:
    with stack(cluster.url, tmp_path / "stack") as running:
        run_storm_through_an_outage(running, cluster)


def run_storm_through_an_outage(running: Stack, cluster: PrivateCluster) -> None:
    spareflow = seeding_services(running.database_url)
    try:
        stock_parts(spareflow, {"SPARE-1": 1000})
        headers = {"Authorization": f"Bearer {tokens(spareflow)['warehouse']}"}
        parcels = [
            tracking
            for _, tracking in authorised_returns(spareflow, PARCELS, prefix="PGR", sku="SPARE-1")
        ]
    finally:
        spareflow.close()
    running.start_refunds_sandbox()
    running.refund_faults(answer_delay_seconds=0.05)
    base = running.start_gunicorn(workers=2)
    running.spawn(spareflow_command("outbox", "drain", "--loop", "--interval", "0.2"), "outbox")
    # An event stored as the database went down, before it was applied, is answered as a
    # duplicate when the carrier retries; the scheduler applies what is left pending.
    running.start_scheduler("scheduler", {"apply_carrier_events": 0.5})

    start = datetime.now(UTC) - timedelta(hours=3)
    bodies = [
        event_body(tracking, "picked_up", start + timedelta(seconds=n))
        for n, tracking in enumerate(parcels)
    ] * 2
    answers: Counter[int] = Counter()
    retry_after: list[str | None] = []
    reserved: list[int] = []
    storm_over = threading.Event()

    def sender(worker: int) -> None:
        with httpx.Client(base_url=base, timeout=30) as http:
            for body in bodies[worker::SENDERS]:
                until_accepted(
                    http,
                    lambda h, b=body: h.post(
                        "/webhooks/carriers/sandbox", content=b, headers=signed_headers(b)
                    ),
                    answers,
                    retry_after,
                )
                time.sleep(0.08)

    def reserver() -> None:
        with httpx.Client(base_url=base, headers=headers, timeout=30) as http:
            while not storm_over.is_set():
                answer = until_accepted(
                    http,
                    lambda h: h.post("/api/v1/reservations", json={"sku": "SPARE-1", "qty": 1}),
                    answers,
                    retry_after,
                )
                assert answer.status_code == 201, answer.text
                reserved.append(answer.json()["id"])
                time.sleep(0.05)

    with ThreadPoolExecutor(max_workers=SENDERS + RESERVERS) as pool:
        senders = [pool.submit(sender, worker) for worker in range(SENDERS)]
        reservers = [pool.submit(reserver) for _ in range(RESERVERS)]
        time.sleep(1.0)  # the storm, the drain and the burst are under way
        cluster.outage(OUTAGE_SECONDS)
        for future in senders:
            future.result(timeout=180)
        storm_over.set()
        for future in reservers:
            future.result(timeout=180)

    # During the outage: 503 with Retry-After, never a 500 or another 5xx.
    assert answers[503] > 0, answers
    assert set(answers) <= {0, 200, 201, 202, 503}, answers
    assert all(value and value.isdigit() for value in retry_after), retry_after

    # The outbox worker came back by itself and finished every refund, each once.
    engine = make_engine(running.database_url)
    try:

        def all_released() -> bool:
            with engine.connect() as connection:
                return (
                    connection.scalar(
                        text("select count(*) from rmas where refund_status = 'released'")
                    )
                    == PARCELS
                )

        wait_for(all_released, 60, "every refund released after the restart")
        made = running.refunds_made()
        assert len(made) == PARCELS
        assert len({refund["metadata"]["rma"] for refund in made}) == PARCELS
        keys = Counter(request["key"] for request in running.refund_requests())
        assert len(keys) == PARCELS  # one idempotency key per RMA; replays answered, not made
        with engine.connect() as connection:
            stored = connection.scalar(text("select count(*) from carrier_events"))
            rows = connection.execute(
                text("select id, qty, status from reservations order by id")
            ).all()
            level = connection.execute(
                text(
                    "select l.on_hand, l.reserved from stock_levels l "
                    "join parts p on p.id = l.part_id where p.sku = 'SPARE-1'"
                )
            ).one()
        assert stored == PARCELS  # every distinct pickup stored once: none lost, none twice
        # Every reservation a client was told about exists; any other was committed as the
        # server went down (its answer lost); none is half made: the level agrees with them.
        assert set(reserved) <= {row.id for row in rows}
        active = sum(row.qty for row in rows if row.status == "active")
        assert tuple(level) == (1000, active)
    finally:
        engine.dispose()
    verify = running.spawn(spareflow_command("stock", "verify"), "verify")
    assert verify.wait(timeout=120) == 0, running.log("verify")
    assert "Stock levels match the ledger." in running.log("verify")
