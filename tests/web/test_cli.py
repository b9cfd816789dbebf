"""The spareflow command, as an operator runs it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from flask.cli import ScriptInfo
from sqlalchemy import text

from bootstrap import schema
from demo.data import DEMO_PORTAL_ORDER
from demo.promises import PARCEL_CARRIER, STORY_ORDERS
from web import create_app
from web.cli import main


@pytest.fixture
def fresh_app(tmp_path: Path) -> Any:
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "x",
            "LOG_LEVEL": "WARNING",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
            "CARRIERS_SANDBOX": True,
        }
    )
    yield app
    app.extensions["spareflow"].engine.dispose()


@pytest.fixture
def run(fresh_app: Any) -> Any:
    runner = fresh_app.test_cli_runner()

    def invoke(*args: str, input: str | None = None) -> Any:
        return runner.invoke(
            main, list(args), input=input, obj=ScriptInfo(create_app=lambda: fresh_app)
        )

    return invoke


def test_db_upgrade_creates_the_schema(run: Any) -> None:
    result = run("db", "upgrade")
    assert result.exit_code == 0, result.output
    head = ScriptDirectory.from_config(schema.alembic_config("sqlite://")).get_current_head()
    assert f"is at revision {head}" in result.output
    assert run("db", "current").output.strip() == head


def test_users_and_tokens_are_created_from_the_command_line(run: Any, fresh_app: Any) -> None:
    run("db", "upgrade")
    created = run(
        "users", "create", "Ops@Example.com", "--role", "warehouse", input="a long password\n"
    )
    assert created.exit_code == 0, created.output
    assert "Created ops@example.com (warehouse)" in created.output
    token = run("tokens", "create", "ops@example.com", "--name", "scanner")
    assert token.exit_code == 0
    secret = token.stdout.strip()  # the token alone on standard output, for scripts
    assert secret.startswith("sf_")
    assert "Expires 2" in token.stderr and "(90 days)" in token.stderr
    client = fresh_app.test_client()
    assert (
        client.get("/api/v1/parts", headers={"Authorization": f"Bearer {secret}"}).status_code
        == 200
    )
    with fresh_app.extensions["spareflow"].engine.connect() as connection:
        stored = connection.execute(text("SELECT token_hash FROM api_tokens")).scalar()
    assert secret not in stored  # only a hash is kept


def test_bad_user_input_is_a_clear_error_not_a_traceback(run: Any) -> None:
    run("db", "upgrade")
    short = run("users", "create", "a@b.example", "--role", "buyer", input="short\n")
    assert short.exit_code == 1
    assert "at least 12 characters" in short.output
    common = run("users", "create", "a@b.example", "--role", "buyer", input="Password1234\n")
    assert common.exit_code == 1
    assert "most common passwords" in common.output
    run("users", "create", "a@b.example", "--role", "buyer", input="long enough pw\n")
    again = run("users", "create", "a@b.example", "--role", "buyer", input="long enough pw\n")
    assert (again.exit_code, "already exists" in again.output) == (1, True)
    unknown = run("tokens", "create", "nobody@b.example")
    assert unknown.exit_code == 1
    assert "No user" in unknown.output
    bad_role = run("users", "create", "c@b.example", "--role", "boss", input="long enough pw\n")
    assert bad_role.exit_code == 2


def test_demo_data_loads_once_and_the_ledger_verifies(run: Any, fresh_app: Any) -> None:
    run("db", "upgrade")
    loaded = run("demo-data", "--parts", "60")
    assert loaded.exit_code == 0, loaded.output
    assert "Loaded demo data: 60 parts." in loaded.output
    assert "warehouse@demo.spareflow" in loaded.output
    assert "Demo data already present" in run("demo-data").output
    # The order the README offers for the returns portal, found by its customer's e-mail.
    number, email = DEMO_PORTAL_ORDER
    orders = fresh_app.extensions["spareflow"].orders
    demo_order = orders.find_for_customer(number, email=email.upper())
    assert demo_order is not None and demo_order.lines and demo_order.shipped_at is not None
    verified = run("stock", "verify")
    assert (verified.exit_code, verified.output.strip()) == (0, "Stock levels match the ledger.")
    inventory = fresh_app.extensions["spareflow"].inventory
    assert len(inventory.list_parts(limit=100)) == 60
    assert inventory.list_parts(below_reorder_point=True, limit=100), (
        "some parts should need reordering"
    )
    assert_promise_stories(fresh_app.extensions["spareflow"])


def assert_promise_stories(services: Any) -> None:
    """The demo's promises kept (#18): a backorder filled by a purchase order's first delivery, a
    repair in progress with a part used, a supplier claim shipped, acknowledged, credited."""
    from purchasing.claims import ClaimStatus
    from purchasing.status import PurchaseOrderStatus
    from returns.queries import RmaFilter
    from returns.repair_orders import RepairPartStatus, RepairStatus
    from returns.status import ReplacementStatus, RmaStatus

    def story(name: str) -> Any:
        [row] = services.rma_queries.matching(RmaFilter(order_number=STORY_ORDERS[name]))
        rma = services.rma_queries.get(row.number)
        assert rma.description.startswith("Demo: "), rma.description
        return rma

    backorder = story("backorder")
    [replacement] = backorder.replacements
    assert replacement.status is ReplacementStatus.QUEUED  # reserved, in the pick queue
    assert replacement.location_code is not None
    reasons = [t.reason for t in backorder.timeline]
    assert any(" backordered: " in r for r in reasons), reasons
    assert any(r.startswith("Backordered replacement 1 x ") for r in reasons), reasons
    [order] = [
        o
        for o in services.buying.purchasing.list_orders()
        if o.source == f"Demo: backorder of {backorder.number}"
    ]
    # Its first delivery filled the backorder; the last unit is still expected.
    assert order.status is PurchaseOrderStatus.PARTIALLY_RECEIVED
    assert [line.qty_ordered - line.qty_received for line in order.lines] == [1]

    repair_rma = story("repair")
    assert repair_rma.status is RmaStatus.RECEIVED
    repair = services.returns.repairs.get(repair_rma.number)
    assert repair.status is RepairStatus.IN_REPAIR
    assert [(p.qty, p.status) for p in repair.parts] == [(1, RepairPartStatus.ISSUED)]

    claim_rma = story("claim")
    [opened] = claim_rma.claims
    claim = services.buying.claims.get(int(opened.id))
    assert claim.status is ClaimStatus.CREDITED
    assert (claim.carrier, claim.shipment_status) == (PARCEL_CARRIER, "pre_transit")
    assert claim.tracking_number and claim.vendor_rma
    assert claim.credit_amount and claim.credit_amount > 0 and claim.credit_note
    assert [e.to_status for e in claim.events] == [
        "open",
        "shipped_to_vendor",
        "acknowledged",
        "credited",
    ]


def test_the_tiny_demo_tells_the_promise_stories_too(run: Any, fresh_app: Any) -> None:
    run("db", "upgrade")
    loaded = run("demo-data", "--parts", "10")
    assert loaded.exit_code == 0, loaded.output
    assert_promise_stories(fresh_app.extensions["spareflow"])
    verified = run("stock", "verify")
    assert (verified.exit_code, verified.output.strip()) == (0, "Stock levels match the ledger.")


def test_stock_verify_reports_drift_and_repair_fixes_it(run: Any, fresh_app: Any) -> None:
    run("db", "upgrade")
    run("demo-data", "--parts", "20")
    with fresh_app.extensions["spareflow"].engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE stock_levels SET on_hand = on_hand + 1"
                " WHERE part_id = (SELECT MIN(part_id) FROM stock_levels)"
                " AND location_id = (SELECT MIN(location_id) FROM stock_levels"
                " WHERE part_id = (SELECT MIN(part_id) FROM stock_levels))"
            )
        )
    drift = run("stock", "verify")
    assert drift.exit_code == 1
    assert "1 level(s) differ from the ledger" in drift.output
    repaired = run("stock", "verify", "--repair")
    assert (repaired.exit_code, "Repaired 1 level(s)" in repaired.output) == (0, True)
    assert run("stock", "verify").exit_code == 0


def test_carriers_apply_events_applies_what_webhooks_stored_and_says_what_still_waits(
    run: Any, fresh_app: Any
) -> None:
    from datetime import UTC, datetime

    from sqlalchemy import update

    from carriers import tracking
    from carriers.events import CarrierEvent
    from carriers.models import CarrierEventRecord, Direction, EventOutcome, EventSource
    from carriers.status import TrackingStatus
    from core.db import UnitOfWork

    run("db", "upgrade")
    spareflow = fresh_app.extensions["spareflow"]
    spareflow.carriers.register_shipment(
        direction=Direction.INBOUND, carrier="sandbox", tracking_number="SBXCLI1", reference="X"
    )
    scans = [
        CarrierEvent(
            carrier="sandbox",
            tracking_number=number,
            status=TrackingStatus.PICKED_UP,
            raw_status="picked_up",
            occurred_at=datetime(2026, 11, 30, 9, 0, tzinfo=UTC),
        )
        for number in ("SBXCLI1", "SBXCLI2", "SBXCLI3")
    ]
    with UnitOfWork(spareflow.session_factory) as uow:  # as a webhook in worker mode leaves them
        tracking.insert_events(
            uow.session, scans, source=EventSource.WEBHOOK, received_at=datetime.now(UTC)
        )
        uow.commit()

    first = run("carriers", "apply-events", "--limit", "2")
    assert first.exit_code == 0, first.output
    assert first.output.strip() == "Processed 2 event(s); 1 still waiting."
    second = run("carriers", "apply-events")
    assert second.output.strip() == "Processed 1 event(s); 0 still waiting."
    assert spareflow.carriers.get_shipment("SBXCLI1").status is TrackingStatus.PICKED_UP

    # An event that failed to apply goes back in the queue once its cause is fixed.
    failed = CarrierEvent(
        carrier="sandbox",
        tracking_number="SBXCLI1",
        status=TrackingStatus.IN_TRANSIT,
        raw_status="in_transit",
        occurred_at=datetime(2026, 11, 30, 12, 0, tzinfo=UTC),
    )
    with UnitOfWork(spareflow.session_factory) as uow:
        (event_id,) = tracking.insert_events(
            uow.session, [failed], source=EventSource.WEBHOOK, received_at=datetime.now(UTC)
        )
        uow.session.execute(
            update(CarrierEventRecord)
            .where(CarrierEventRecord.id == event_id)
            .values(outcome=EventOutcome.FAILED, apply_error="RuntimeError: fixed since")
        )
        uow.commit()
    assert (
        run("carriers", "apply-events").output.strip() == "Processed 0 event(s); 0 still waiting."
    )
    retried = run("carriers", "apply-events", "--retry-failed")
    assert retried.output.splitlines() == [
        "1 failed event(s) back in the queue.",
        "Processed 1 event(s); 0 still waiting.",
    ]
    assert spareflow.carriers.get_shipment("SBXCLI1").status is TrackingStatus.IN_TRANSIT


def test_the_scheduler_registers_its_jobs_and_they_run_without_an_app_context(
    fresh_app: Any, run: Any, caplog: Any
) -> None:
    from web.scheduler import JOBS, build_scheduler

    run("db", "upgrade")
    scheduler = build_scheduler(fresh_app.extensions["spareflow"], fresh_app.config)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {job.id for job in JOBS}
    assert {"verify_stock_levels", "poll_carriers", "recompute_reorder_points"} <= set(jobs)
    # Each runs outside any request and any app context, on the services it was given.
    assert jobs["verify_stock_levels"].func() == 0
    assert jobs["poll_carriers"].func() == 0  # nothing open to poll
    assert jobs["apply_carrier_events"].func() == 0  # nothing stored, nothing waits
    assert jobs["recompute_reorder_points"].func() == 0  # no parts: none flagged


def test_the_installed_spareflow_command_migrates_and_loads_demo_data(tmp_path: Path) -> None:
    command = shutil.which("spareflow", path=str(Path(sys.executable).parent))
    assert command, "the spareflow console script is installed with the package"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}",
        "SECRET_KEY": "x",
        "SPAREFLOW_INSTANCE_PATH": str(tmp_path / "instance"),
    }
    for args in (["db", "upgrade"], ["demo-data", "--parts", "10"], ["stock", "verify"]):
        result = subprocess.run(
            [command, *args], env=env, capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, result.stderr
    assert "Stock levels match the ledger." in result.stdout


def test_token_expiry_is_chosen_on_the_command_line_and_never_only_explicitly(
    run: Any, fresh_app: Any
) -> None:
    run("db", "upgrade")
    run("users", "create", "ops@example.com", "--role", "buyer", input="a long password\n")
    short = run("tokens", "create", "ops@example.com", "--expires-days", "5")
    assert short.exit_code == 0, short.output
    assert "(5 days)" in short.stderr
    forever = run("tokens", "create", "ops@example.com", "--expires-days", "never")
    assert forever.exit_code == 0, forever.output
    assert "never expires" in forever.stderr
    for bad in ("0", "99999", "soon", ""):
        refused = run("tokens", "create", "ops@example.com", "--expires-days", bad)
        assert refused.exit_code == 2, bad
    tokens = {t.prefix: t for t in fresh_app.extensions["spareflow"].auth.list_tokens()}
    assert tokens[short.stdout.strip()[:10]].expires_at is not None
    assert tokens[forever.stdout.strip()[:10]].expires_at is None
    assert {t.created_by for t in tokens.values()} == {"cli"}


def test_a_user_created_on_the_command_line_keeps_the_password_without_a_forced_change(
    run: Any, fresh_app: Any
) -> None:
    run("db", "upgrade")
    run("users", "create", "ops@example.com", "--role", "admin", input="a long password\n")
    assert (
        fresh_app.extensions["spareflow"].auth.find_user("ops@example.com").must_change_password
        is False
    )
    gone = run("users", "reset-2fa", "nobody@example.com")
    assert gone.exit_code == 1 and "No user" in gone.output
    reset = run("users", "reset-2fa", "ops@example.com")
    assert reset.exit_code == 0 and "Two-factor sign-in is off" in reset.output


def test_a_worker_loop_rests_whenever_a_run_did_less_than_a_full_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The appliers' loop (``rest_below``): a run that drained the queue is followed by a
    rest, so what trickles in meanwhile is applied as one batch; a full run is not."""
    from web import cli

    runs = iter([5, 3, 5, 5, 0])
    rests: list[float] = []

    def step() -> int:
        try:
            return next(runs)
        except StopIteration:
            raise KeyboardInterrupt from None  # how a worker is stopped

    monkeypatch.setattr(cli.time, "sleep", rests.append)
    cli._keep_working(step, 0.25, rest_below=5)
    assert rests == [0.25, 0.25]  # after the 3 and after the 0
