"""READ_DATABASE_URL: the metrics and their reports read a streaming-replication standby.

A private primary and standby on loopback (tests/support/replica.py; never the shared
server). The proof that the reports read the standby: its session is in recovery, and with
the standby's replay paused, an RMA written to the primary shows in the primary but not in
the metrics API or the xlsx report until replay resumes. Skips only where the PostgreSQL server
binaries are missing.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from openpyxl import load_workbook
from sqlalchemy import text

from accounts.models import Role
from bootstrap import schema
from core.clock import FrozenClock
from returns.metrics_maths import Period
from tests.support.replica import Pair, primary_and_standby, server_binaries

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
BINARIES = server_binaries()
pytestmark = pytest.mark.skipif(BINARIES is None, reason="no PostgreSQL server binaries")


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    assert BINARIES is not None
    with primary_and_standby(BINARIES) as running:
        with psycopg.connect(running.url(running.primary_port), autocommit=True) as admin:
            admin.execute("CREATE DATABASE spareflow")
        schema.upgrade(running.url(running.primary_port, "spareflow"))
        running.wait_for_replay("spareflow")
        yield running


def add_rma(pair: Pair, number: int) -> None:
    """An RMA requested an hour before NOW, written on the primary."""
    with psycopg.connect(pair.url(pair.primary_port, "spareflow"), autocommit=True) as db:
        db.execute(
            "INSERT INTO rmas (number, status, customer_name, customer_email, vip, channel,"
            " reason, description, resolution, priority, currency, refund_status,"
            " refund_amount_minor, created_by, created_at, updated_at)"
            " VALUES (%s, 'requested', 'Ada', 'ada@example.com', false, 'web', 'defective', '',"
            " 'refund', 'medium', 'EUR', 'none', 0, 'test', %s, %s)",
            [f"RMA-R{number}", NOW.replace(hour=11), NOW.replace(hour=11)],
        )


def set_replay(pair: Pair, paused: bool) -> None:
    with psycopg.connect(pair.url(pair.standby_port, "spareflow"), autocommit=True) as standby:
        standby.execute(f"SELECT pg_wal_replay_{'pause' if paused else 'resume'}()")


@pytest.fixture
def app(pair: Pair) -> Iterator[Any]:
    from web import create_app

    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": pair.url(pair.primary_port, "spareflow"),
            "READ_DATABASE_URL": pair.url(pair.standby_port, "spareflow"),
            "SECRET_KEY": "test-secret-key",
            "CLOCK": FrozenClock(NOW),
            "LOG_LEVEL": "WARNING",
            "REFUNDS_API_BASE": "http://127.0.0.1:9",
            "REFUNDS_API_KEY": "sk_test_nobody",
        }
    )
    yield app
    app.extensions["spareflow"].close()


def test_the_metrics_read_the_standby_and_everything_else_the_primary(pair: Pair, app: Any) -> None:
    services = app.extensions["spareflow"]
    with services.metrics.session_factory() as session:
        assert session.scalar(text("SELECT pg_is_in_recovery()")) is True
    with services.session_factory() as session:
        assert session.scalar(text("SELECT pg_is_in_recovery()")) is False

    services.auth.create_user("desk@example.com", Role.SERVICE_DESK, "correct horse battery")
    token = services.auth.create_token("desk@example.com", "replica")[1]
    headers = {"Authorization": f"Bearer {token}"}
    client = app.test_client()
    day = NOW.date().isoformat()

    def requests_in_api() -> int:
        response = client.get(f"/api/v1/metrics?from={day}&to={day}", headers=headers)
        assert response.status_code == 200, response.text
        return int(response.json["overall"]["requests"])

    def requests_in_workbook() -> int:
        from returns.metrics_sheets import write_report

        stream = io.BytesIO()
        write_report(services.metrics.report(Period.last_days(NOW, 1)), stream)
        sheet = load_workbook(stream, read_only=True)["Summary"]
        values = {row[0]: row[1] for row in sheet.iter_rows(values_only=True)}
        return int(values["Requests (RMAs created)"])

    add_rma(pair, 1)
    pair.wait_for_replay("spareflow")
    assert requests_in_api() == 1 and requests_in_workbook() == 1

    set_replay(pair, paused=True)
    try:
        add_rma(pair, 2)
        with psycopg.connect(pair.url(pair.primary_port, "spareflow")) as primary:
            assert primary.execute("SELECT count(*) FROM rmas").fetchone() == (2,)
        # The standby has not replayed the second RMA: the reports still count one.
        assert requests_in_api() == 1 and requests_in_workbook() == 1
    finally:
        set_replay(pair, paused=False)
    pair.wait_for_replay("spareflow")
    # A standby is eventually consistent: once replay has passed the insert, the next reads
    # count it (seen once in CI under load only after a moment, hence the short wait).
    deadline = time.monotonic() + 10
    while requests_in_api() != 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert requests_in_api() == 2 and requests_in_workbook() == 2
