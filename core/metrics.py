"""What spareflow counts, in Prometheus' terms (docs/operations.md, "Monitoring").

Two kinds of figures:

- **Counted in the process** (counters and histograms below): requests and their latency, the
  outbox jobs a worker carried out, the scheduler's job runs. Each process counts its own; under
  gunicorn with several workers set ``PROMETHEUS_MULTIPROC_DIR`` (an empty folder, the same for
  every worker, emptied at each start) and the figures of all workers are added up
  (prometheus_client's multiprocess mode).
- **Read from the database** when scraped (``DatabaseCollector``): the outbox's depth and the age
  of its oldest row, carrier events stored but not applied and their lag, refunds released,
  label purchases, e-mails waiting, the scheduler's runs and failures and its heartbeat. These
  are the same whichever process answers, so they are never added up across processes.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.db import UnitOfWork

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
#: Refunds and labels are expected within minutes of the change that asked for them.
DONE_AFTER_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 24 * 3600)

REQUESTS = Counter(
    "spareflow_http_requests",
    "HTTP requests answered, by endpoint (the route's name), method and status code.",
    ["endpoint", "method", "status"],
)
REQUEST_SECONDS = Histogram(
    "spareflow_http_request_duration_seconds",
    "Time to answer an HTTP request, by endpoint.",
    ["endpoint", "method"],
    buckets=LATENCY_BUCKETS,
)
OUTBOX_JOBS = Counter(
    "spareflow_outbox_jobs",
    "Outbox messages carried out by this process, by topic and outcome "
    "(done, failed: retried later, permanent_failure).",
    ["topic", "outcome"],
)
OUTBOX_JOB_SECONDS = Histogram(
    "spareflow_outbox_job_duration_seconds",
    "Time a provider call of the outbox took, by topic.",
    ["topic"],
    buckets=LATENCY_BUCKETS,
)
OUTBOX_DONE_AFTER_SECONDS = Histogram(
    "spareflow_outbox_done_after_seconds",
    "From the change that wrote an outbox message to its success, by topic; for "
    "refund.create that is the time from the pickup scan to the refund.",
    ["topic"],
    buckets=DONE_AFTER_BUCKETS,
)
SCHEDULER_JOBS = Counter(
    "spareflow_scheduler_job_runs",
    "Scheduler job runs in this process, by job and outcome (ok, failed).",
    ["job", "outcome"],
)


def multiprocess_folder() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR")


def process_registry() -> CollectorRegistry:
    """The in-process figures: this process's, or every gunicorn worker's added up."""
    if multiprocess_folder():
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return registry
    from prometheus_client import REGISTRY

    return REGISTRY


def render(session_factory: Callable[[], Session], clock: Any, settings: Any) -> bytes:
    """The whole exposition: the process's figures, then the database's."""
    registry = CollectorRegistry()
    registry.register(DatabaseCollector(session_factory, clock, settings))
    return generate_latest(process_registry()) + generate_latest(registry)


def _age(now: datetime, then: datetime | None) -> float:
    return max((now - then).total_seconds(), 0.0) if then else 0.0


class DatabaseCollector(Collector):
    """The queues and the desk's figures, read when Prometheus scrapes (one short read)."""

    def __init__(self, session_factory: Callable[[], Session], clock: Any, settings: Any):
        self.session_factory = session_factory
        self.clock = clock
        self.settings = settings

    def collect(self) -> Iterator[Metric]:
        from carriers.models import CarrierEventRecord, EventOutcome
        from core.job_runs import JobRun
        from core.outbox import OutboxMessage, OutboxStatus
        from returns.models import OutgoingEmail
        from returns.rma import Rma

        now = self.clock.now()
        with UnitOfWork(self.session_factory) as uow:
            s = uow.session
            outbox = s.execute(
                select(
                    OutboxMessage.topic,
                    OutboxMessage.status,
                    func.count(),
                    func.min(OutboxMessage.created_at),
                ).group_by(OutboxMessage.topic, OutboxMessage.status)
            ).all()
            events = s.execute(
                select(func.count(), func.min(CarrierEventRecord.received_at)).where(
                    CarrierEventRecord.outcome == EventOutcome.PENDING
                )
            ).one()
            released = s.scalar(
                select(func.count()).select_from(Rma).where(Rma.refund_released_at.is_not(None))
            )
            emails = s.scalar(
                select(func.count())
                .select_from(OutgoingEmail)
                .where(OutgoingEmail.status == "queued")
            )
            jobs = s.scalars(select(JobRun)).all()

        depth = GaugeMetricFamily(
            "spareflow_outbox_depth",
            "Outbox messages waiting (pending), by topic.",
            labels=["topic"],
        )
        oldest = GaugeMetricFamily(
            "spareflow_outbox_oldest_age_seconds",
            "Age of the oldest waiting outbox message, by topic.",
            labels=["topic"],
        )
        failed = GaugeMetricFamily(
            "spareflow_outbox_failed", "Outbox messages given up on, by topic.", labels=["topic"]
        )
        done = CounterMetricFamily(
            "spareflow_outbox_done",
            "Outbox messages carried out (kept until retention prunes them), by topic.",
            labels=["topic"],
        )
        for topic, status, count, first in outbox:
            if status is OutboxStatus.PENDING:
                depth.add_metric([topic], count)
                oldest.add_metric([topic], _age(now, first))
            elif status is OutboxStatus.FAILED:
                failed.add_metric([topic], count)
            else:
                done.add_metric([topic], count)
        yield from (depth, oldest, failed, done)
        labels = CounterMetricFamily(
            "spareflow_label_purchases",
            "Labels bought (return and replacement labels carried out by the outbox).",
        )
        labels.add_metric(
            [],
            sum(
                n
                for topic, status, n, _ in outbox
                if status is OutboxStatus.DONE and topic.endswith("label.buy")
            ),
        )
        yield labels
        pending, first_event = events
        yield GaugeMetricFamily(
            "spareflow_carrier_events_unapplied",
            "Carrier events stored but not applied yet.",
            value=pending,
        )
        yield GaugeMetricFamily(
            "spareflow_carrier_events_lag_seconds",
            "Age of the oldest carrier event stored but not applied (0: none waiting).",
            value=_age(now, first_event),
        )
        yield CounterMetricFamily(
            "spareflow_refunds_released",
            "Refunds the provider made (rate() of it: refunds released per minute).",
            value=released or 0,
        )
        yield GaugeMetricFamily(
            "spareflow_emails_waiting", "E-mails queued and not sent yet.", value=emails or 0
        )
        runs = CounterMetricFamily(
            "spareflow_scheduler_runs", "Scheduler job runs (every process).", labels=["job"]
        )
        failures = CounterMetricFamily(
            "spareflow_scheduler_failures", "Scheduler job runs that failed.", labels=["job"]
        )
        for job in jobs:
            runs.add_metric([job.job_id], job.runs)
            failures.add_metric([job.job_id], job.failures)
        yield runs
        yield failures
        beats = [job.last_finished_at for job in jobs if job.last_finished_at]
        yield GaugeMetricFamily(
            "spareflow_scheduler_heartbeat_age_seconds",
            "Seconds since any scheduler job last finished (-1: never ran).",
            value=_age(now, max(beats)) if beats else -1,
        )


def serve_worker_metrics(
    port: int, session_factory: Callable[[], Session], clock: Any, settings: Any
) -> threading.Thread:
    """A worker's metrics on ``port`` (GET /metrics, loopback or a private network only)."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.split("?")[0] not in ("/metrics", "/internal/metrics"):
                self.send_error(404)
                return
            body = render(session_factory, clock, settings)
            self.send_response(200)
            self.send_header("Content-Type", CONTENT_TYPE)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return  # quiet: Prometheus scrapes every few seconds

    host = str(settings.get("WORKER_METRICS_HOST") or "127.0.0.1")
    server = ThreadingHTTPServer((host, port), Handler)
    thread = threading.Thread(target=server.serve_forever, name="metrics", daemon=True)
    thread.server = server  # type: ignore[attr-defined]
    thread.start()
    return thread
