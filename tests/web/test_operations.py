"""Seeing what spareflow does (issue #23): /internal/metrics read by Prometheus' own parser,
/readyz both ways, JSON log lines whose request id follows a refund from the web request into
the outbox job, and the desk's alerts raised once."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select, text

from accounts.models import Role
from core import logs
from core.db import UnitOfWork
from core.outbox import OutboxMessage
from demo.sandboxes.refunds import create_refunds_sandbox
from returns.models import Notification, OutgoingEmail
from tests.support.sandbox_servers import serving
from tests.web.test_pages import sign_in
from tests.web.test_refund_trigger_http import api, authorise, open_rma

__all__ = ["api"]  # the fixture, shared with the refund trigger's tests
from web.scheduler import bound, check_operations

TOKEN = "metrics-token-for-tests"
REFUNDS_KEY = "sk_test_ops"


@pytest.fixture(scope="module")
def refunds() -> Iterator[str]:
    app = create_refunds_sandbox(REFUNDS_KEY)
    with serving(app) as url:
        yield url


@pytest.fixture
def app_config(refunds: str, smtp_sink: Any) -> dict[str, Any]:
    return {
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": smtp_sink.port,
        "REFUNDS_API_BASE": refunds,
        "REFUNDS_API_KEY": REFUNDS_KEY,
        "METRICS_TOKEN": TOKEN,
        "ALERT_STUCK_MINUTES": 30,
        "ALERT_EVENTS_MINUTES": 10,
        "ALERT_SCHEDULER_MINUTES": 10,
    }


def scrape(client: Any) -> dict[str, Any]:
    response = client.get("/internal/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    return {f.name: f for f in text_string_to_metric_families(response.get_data(as_text=True))}


def value(families: dict[str, Any], family: str, sample: str, **labels: str) -> float:
    found = [
        s.value
        for s in families[family].samples
        if s.name == sample and all(s.labels.get(k) == v for k, v in labels.items())
    ]
    return sum(found) if found else 0.0


def picked_up_refund(api: Any, request_id: str | None = None) -> str:
    number = open_rma(api)
    authorise(api, number, carrier="sandbox", tracking_number=f"SBX-{number}")
    pickup = api(
        "POST",
        f"/api/v1/shipments/SBX-{number}/events",
        Role.ADMIN,
        json={"status": "picked_up", "reason": "Depot confirmed collection"},
        **({"environ_base": {"HTTP_X_REQUEST_ID": request_id}} if request_id else {}),
    )
    assert pickup.status_code == 201, pickup.json
    if request_id:
        assert pickup.headers["X-Request-ID"] == request_id
    return number


# --- /internal/metrics --------------------------------------------------------------------


def test_metrics_are_refused_without_the_token(client: Any) -> None:
    assert client.get("/internal/metrics").status_code == 401
    wrong = client.get("/internal/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert wrong.headers["WWW-Authenticate"] == "Bearer"
    assert wrong.json["error"]["code"] == "unauthorized"


@pytest.mark.parametrize("app_config", [{}], indirect=False)
def test_metrics_are_off_without_a_token_set(client: Any) -> None:
    response = client.get("/internal/metrics", headers={"Authorization": "Bearer "})
    assert response.status_code == 404


def test_metrics_count_requests_queues_and_refunds_after_real_actions(
    app: Any, api: Any, client: Any, clock: Any
) -> None:
    before = scrape(client)
    requests_before = value(
        before,
        "spareflow_http_requests",
        "spareflow_http_requests_total",
        endpoint="healthz",
        method="GET",
        status="200",
    )
    for _ in range(3):
        assert client.get("/healthz").status_code == 200
    picked_up_refund(api)

    waiting = scrape(client)
    assert (
        value(
            waiting,
            "spareflow_http_requests",
            "spareflow_http_requests_total",
            endpoint="healthz",
            method="GET",
            status="200",
        )
        == requests_before + 3
    )
    assert (
        value(
            waiting,
            "spareflow_http_request_duration_seconds",
            "spareflow_http_request_duration_seconds_count",
            endpoint="healthz",
        )
        >= 3
    )
    assert (
        value(waiting, "spareflow_outbox_depth", "spareflow_outbox_depth", topic="refund.create")
        == 1
    )
    clock.advance(timedelta(minutes=4))
    aged = scrape(client)
    assert value(
        aged,
        "spareflow_outbox_oldest_age_seconds",
        "spareflow_outbox_oldest_age_seconds",
        topic="refund.create",
    ) == pytest.approx(240, abs=1)
    assert value(aged, "spareflow_refunds_released", "spareflow_refunds_released_total") == 0
    emails = value(aged, "spareflow_emails_waiting", "spareflow_emails_waiting")
    with UnitOfWork(app.extensions["spareflow"].session_factory) as uow:
        queued = uow.session.scalar(
            select(text("count(*)"))
            .select_from(OutgoingEmail)
            .where(OutgoingEmail.status == "queued")
        )
    assert emails == queued
    for family in (
        "spareflow_carrier_events_unapplied",
        "spareflow_carrier_events_lag_seconds",
        "spareflow_label_purchases",
        "spareflow_scheduler_runs",
        "spareflow_scheduler_failures",
        "spareflow_scheduler_heartbeat_age_seconds",
        "spareflow_outbox_jobs",
    ):
        assert family in aged, family

    done_before = value(
        aged,
        "spareflow_outbox_done_after_seconds",
        "spareflow_outbox_done_after_seconds_count",
        topic="refund.create",
    )
    app.extensions["spareflow"].outbox.drain()
    after = scrape(client)
    assert value(after, "spareflow_refunds_released", "spareflow_refunds_released_total") == 1
    assert (
        value(after, "spareflow_outbox_depth", "spareflow_outbox_depth", topic="refund.create") == 0
    )
    assert (
        value(after, "spareflow_outbox_done", "spareflow_outbox_done_total", topic="refund.create")
        == 1
    )
    assert (
        value(
            after,
            "spareflow_outbox_done_after_seconds",
            "spareflow_outbox_done_after_seconds_count",
            topic="refund.create",
        )
        == done_before + 1
    )
    # The pickup scan was four minutes before the refund: the histogram's sum says so.
    assert (
        value(
            after,
            "spareflow_outbox_done_after_seconds",
            "spareflow_outbox_done_after_seconds_sum",
            topic="refund.create",
        )
        >= 240
    )
    assert (
        value(
            after,
            "spareflow_outbox_jobs",
            "spareflow_outbox_jobs_total",
            topic="refund.create",
            outcome="done",
        )
        >= 1
    )


def test_scheduler_runs_and_failures_are_counted(app: Any, client: Any) -> None:
    services = app.extensions["spareflow"]
    bound(services, check_operations, "check_operations")()

    def broken(_services: Any) -> int:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        bound(services, broken, "broken_job")()
    families = scrape(client)
    assert (
        value(
            families,
            "spareflow_scheduler_runs",
            "spareflow_scheduler_runs_total",
            job="check_operations",
        )
        == 1
    )
    assert (
        value(
            families,
            "spareflow_scheduler_failures",
            "spareflow_scheduler_failures_total",
            job="broken_job",
        )
        == 1
    )
    assert (
        value(
            families,
            "spareflow_scheduler_heartbeat_age_seconds",
            "spareflow_scheduler_heartbeat_age_seconds",
        )
        == 0
    )


# --- /readyz --------------------------------------------------------------------------------


@pytest.fixture
def migrated(app: Any) -> Iterator[None]:
    """The tests' schema comes from the models (create_all): stamp it at the code's head."""
    from bootstrap import schema

    engine = app.extensions["spareflow"].engine
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
        connection.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
        connection.execute(
            text("INSERT INTO alembic_version VALUES (:head)"), {"head": schema.code_head()}
        )
    yield
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE alembic_version"))


@pytest.mark.usefixtures("migrated")
def test_readyz_is_ready_at_the_migration_head(client: Any) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json["status"] == "ready"
    assert response.json["revision"]


def test_readyz_is_not_ready_before_any_migration(client: Any) -> None:
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["error"]["code"] == "migrations_pending"


@pytest.mark.usefixtures("migrated")
def test_readyz_says_why_when_migrations_are_behind(app: Any, client: Any) -> None:
    with app.extensions["spareflow"].engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0022_plan19'"))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["error"]["code"] == "migrations_pending"
    assert "0022_plan19" in response.json["error"]["message"]
    assert client.get("/healthz").status_code == 200  # alive, only not ready


def test_readyz_is_not_ready_when_the_database_is_unreachable(tmp_path: Any) -> None:
    from web import create_app

    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "x",
            "LOG_LEVEL": "CRITICAL",
            "DATABASE_URL": "postgresql://nobody@127.0.0.1:9/none?connect_timeout=1",
        }
    )
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["error"]["code"] == "database_unreachable"
    assert response.headers["Retry-After"]


# --- logs -------------------------------------------------------------------------------------


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(logs.RequestIdFilter())
    handler.setFormatter(logs.JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


def test_the_request_id_follows_a_refund_from_the_request_into_its_outbox_job(
    app: Any, api: Any, json_lines: io.StringIO
) -> None:
    picked_up_refund(api, request_id="pickup-req-42")
    with UnitOfWork(app.extensions["spareflow"].session_factory) as uow:
        message = uow.session.scalars(
            select(OutboxMessage).where(OutboxMessage.topic == "refund.create")
        ).one()
    assert message.request_id == "pickup-req-42"

    app.extensions["spareflow"].outbox.drain()
    lines = [json.loads(line) for line in json_lines.getvalue().splitlines()]
    job = [
        line
        for line in lines
        if line["logger"] == "core.outbox" and "refund.create" in line["message"]
    ]
    assert job, lines
    assert {line["request_id"] for line in job} == {"pickup-req-42"}
    assert all({"time", "level", "message"} <= set(line) for line in lines)


def test_a_request_without_an_id_gets_one_and_a_hostile_one_is_replaced(client: Any) -> None:
    first = client.get("/healthz").headers["X-Request-ID"]
    second = client.get("/healthz").headers["X-Request-ID"]
    assert first and second and first != second
    hostile = client.get("/healthz", headers={"X-Request-ID": "a b\u00e9" + "x" * 100})
    assert hostile.headers["X-Request-ID"] != "a b\u00e9" + "x" * 100
    kept = client.get("/healthz", headers={"X-Request-ID": "lb-7f3a"})
    assert kept.headers["X-Request-ID"] == "lb-7f3a"


def test_request_lines_are_logged_only_when_asked(
    app: Any, client: Any, json_lines: io.StringIO
) -> None:
    client.get("/healthz", headers={"X-Request-ID": "quiet-1"})
    assert "quiet-1" not in json_lines.getvalue()
    app.config["LOG_REQUESTS"] = True
    client.get("/healthz", headers={"X-Request-ID": "loud-1"})
    line = json.loads(next(x for x in json_lines.getvalue().splitlines() if "loud-1" in x))
    assert (line["logger"], line["status"], line["endpoint"]) == (
        "spareflow.requests",
        200,
        "healthz",
    )


# --- alerts -----------------------------------------------------------------------------------


def desk_alerts(app: Any) -> list[tuple[str, str]]:
    with UnitOfWork(app.extensions["spareflow"].session_factory) as uow:
        return [
            (n.kind, n.key)
            for n in uow.session.scalars(
                select(Notification)
                .where(
                    Notification.kind.in_(
                        ["refund_stuck", "label_stuck", "events_unapplied", "scheduler_silent"]
                    )
                )
                .order_by(Notification.id)
            )
        ]


def ops_emails(app: Any) -> list[str]:
    with UnitOfWork(app.extensions["spareflow"].session_factory) as uow:
        return list(
            uow.session.scalars(
                select(OutgoingEmail.to_address).where(OutgoingEmail.kind == "ops_alert")
            )
        )


def test_a_stuck_refund_is_shown_to_the_desk_and_emailed_once(
    app: Any, api: Any, client: Any, clock: Any, role_headers: Any
) -> None:
    picked_up_refund(api)  # the refund provider is never called: the outbox is not drained
    watch = app.extensions["spareflow"].operations
    assert watch.check() == 0
    clock.advance(timedelta(minutes=31))
    assert watch.check() == 1
    assert watch.check() == 0  # once per fact, however often the job runs
    assert [kind for kind, _ in desk_alerts(app)] == ["refund_stuck"]
    assert ops_emails(app) == ["service_desk@test.example"]

    signed_in = sign_in(client, "service_desk@test.example", "correct horse battery")
    assert signed_in.status_code == 302
    page = client.get("/returns").get_data(as_text=True)
    assert "A refund has waited more than 30 minutes" in page


def test_carrier_events_waiting_and_a_silent_scheduler_alert_once(app: Any, clock: Any) -> None:
    services = app.extensions["spareflow"]
    # A carrier event stored and never applied (no applier runs here).
    with services.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO carrier_events (dedupe_key, carrier, tracking_number, status, "
                "raw_status, occurred_at, description, source, outcome, received_at) VALUES "
                "('k1', 'sandbox', 'SBX-1', 'in_transit', 'x', :at, '', 'webhook', 'pending', :at)"
            ),
            {"at": clock.now()},
        )
    bound(services, check_operations, "check_operations")()  # a heartbeat, nothing old yet
    assert desk_alerts(app) == []
    clock.advance(timedelta(minutes=11))
    assert services.operations.check() == 1
    assert services.operations.check_scheduler() == 1
    assert services.operations.check_scheduler(throttle=timedelta(0)) == 0
    assert [kind for kind, _ in desk_alerts(app)] == ["events_unapplied", "scheduler_silent"]


# --- several processes --------------------------------------------------------------------

COUNT_IN_A_PROCESS = """
from core import metrics
for _ in range({n}):
    metrics.REQUESTS.labels("healthz", "GET", "200").inc()
"""


def test_gunicorn_workers_figures_add_up_in_multiprocess_mode(tmp_path: Any) -> None:
    """Two worker processes count requests; a third (answering the scrape) sees the sum."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for n in (3, 4):
        subprocess.run([sys.executable, "-c", COUNT_IN_A_PROCESS.format(n=n)], env=env, check=True)
    answer = subprocess.run(
        [
            sys.executable,
            "-c",
            "from prometheus_client import generate_latest\n"
            "from core.metrics import process_registry\n"
            "print(generate_latest(process_registry()).decode())",
        ],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    families = {f.name: f for f in text_string_to_metric_families(answer)}
    assert value(families, "spareflow_http_requests", "spareflow_http_requests_total") == 7


def test_a_worker_serves_its_metrics_on_a_port(app: Any) -> None:
    from core.metrics import serve_worker_metrics

    services = app.extensions["spareflow"]
    bound(services, check_operations, "check_operations")()
    thread = serve_worker_metrics(0, services.session_factory, services.clock, app.config)
    try:
        port = thread.server.server_address[1]  # type: ignore[attr-defined]
        response = httpx.get(f"http://127.0.0.1:{port}/metrics")
        assert response.status_code == 200
        families = {f.name: f for f in text_string_to_metric_families(response.text)}
        assert (
            value(
                families,
                "spareflow_scheduler_runs",
                "spareflow_scheduler_runs_total",
                job="check_operations",
            )
            == 1
        )
        assert httpx.get(f"http://127.0.0.1:{port}/other").status_code == 404
    finally:
        thread.server.shutdown()  # type: ignore[attr-defined]
        thread.server.server_close()  # type: ignore[attr-defined]
