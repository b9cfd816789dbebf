"""kill -9 the outbox worker after the label provider sold a return label and before the worker
recorded it: the next worker finds that label (``find_label``) and never buys a second one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from bench.databases import scratch_database
from bench.harness import Stack, authorised_returns, seeding_services, stock_parts, wait_for
from bench.processes import kill, spareflow_command, stop
from bootstrap.schema import metadata
from core.db import make_engine
from tests.conftest import postgres_url


@pytest.fixture
def label_stack(tmp_path: Path) -> Iterator[tuple[Stack, Engine]]:
    """A stack over a database made from the models (the RMA's label columns come with the
    addresses migration of issue #16), with the sandbox carrier running."""
    url = postgres_url()
    if not url:
        pytest.skip("load tests need SPAREFLOW_TEST_DATABASE_URL (a PostgreSQL server)")
    with scratch_database(url, "spareflow_labels") as scratch:
        engine = make_engine(scratch)
        metadata().create_all(engine)
        stack = Stack(scratch, tmp_path / "stack")
        try:
            stack.start_carrier_sandbox()
            yield stack, engine
        finally:
            stack.close()
            engine.dispose()


def outbox(db: Engine, key: str) -> tuple[str, int]:
    with db.connect() as connection:
        row = connection.execute(
            text("select status, attempts from outbox where key = :key"), {"key": key}
        ).one()
    return row[0], row[1]


def test_a_worker_killed_between_the_providers_answer_and_its_commit_buys_no_second_label(
    label_stack: tuple[Stack, Engine],
) -> None:
    stack, db = label_stack
    spareflow = seeding_services(stack.database_url)
    try:
        stock_parts(spareflow, {"CRASH-LBL": 0})
        [(number, _)] = authorised_returns(
            spareflow, 1, prefix="LBLKILL", sku="CRASH-LBL", with_tracking=False
        )
    finally:
        spareflow.close()
    key = f"return-label:{number}"
    # The carrier sells the label, counts it, then takes its time to answer.
    stack.http.post(
        f"{stack.carrier}/v1/sandbox/faults", json={"answer_delay_seconds": 30}
    ).raise_for_status()
    worker = ["outbox", "drain", "--loop", "--interval", "0.2"]
    victim = stack.spawn(spareflow_command(*worker), "worker-killed")
    wait_for(lambda: len(stack.labels_made()) == 1, 60, "the label sold")
    kill(victim)
    assert outbox(db, key) == ("pending", 1)
    with db.connect() as connection:
        assert (
            connection.scalar(
                text("select return_tracking_number from rmas where number = :n"), {"n": number}
            )
            is None
        )

    stack.http.post(f"{stack.carrier}/v1/sandbox/faults", json={}).raise_for_status()
    survivor = stack.spawn(spareflow_command(*worker), "worker-final")
    try:  # the victim's lease (2 s) runs out, then the survivor retries the message
        wait_for(lambda: outbox(db, key)[0] == "done", 60, "the label recorded")
    finally:
        stop(survivor)

    [label] = stack.labels_made()
    assert (label["reference"], label["key"]) == (number, key)
    assert outbox(db, key) == ("done", 2)
    with db.connect() as connection:
        row = connection.execute(
            text(
                "select status, return_tracking_number, return_label_id, "
                "return_label_cost_minor from rmas where number = :n"
            ),
            {"n": number},
        ).one()
        shipments = connection.scalar(
            text("select count(*) from shipments where reference = :n"), {"n": number}
        )
    assert tuple(row) == ("awaiting_pickup", label["tracking_number"], label["id"], 650)
    assert shipments == 1
