"""The APScheduler process (``spareflow scheduler``) and its jobs.

Jobs are entry points like views: each is given the process's services (bootstrap), calls
one service and ends its transaction; no app context is needed. They are idempotent, so a
second scheduler process is harmless.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bootstrap import Services
from core.job_runs import record_run

log = logging.getLogger(__name__)


def verify_stock_levels(services: Services) -> int:
    """Nightly: compare stored levels with the ledger and log every difference."""
    differences = services.inventory.verify_levels()
    for d in differences:
        log.error(
            "stock level differs from ledger: %s at %s stored on_hand=%s reserved=%s, "
            "ledger on_hand=%s reserved=%s",
            d.sku,
            d.location,
            d.stored_on_hand,
            d.stored_reserved,
            d.ledger_on_hand,
            d.ledger_reserved,
        )
    if not differences:
        log.info("stock levels match the ledger")
    return len(differences)


@dataclass(frozen=True)
class Job:
    id: str
    func: Callable[[Services], object]
    trigger: BaseTrigger


def poll_carriers(services: Services) -> int:
    """Every minute: ask carriers without webhooks about open shipments that are due."""
    return services.carriers.poll_due()


def apply_carrier_events(services: Services) -> int:
    """Every two seconds: apply carrier events that webhooks stored (and any left waiting)."""
    return services.carriers.apply_pending()


def drain_outbox(services: Services) -> int:
    """Every few seconds: carry out refunds and label purchases decided since the last run."""
    return services.outbox.drain()


def expire_authorisations(services: Services) -> int:
    """Hourly: authorisations whose parcel never reached the carrier expire."""
    return services.returns.authorisation.expire_overdue()


def remind_expiring_authorisations(services: Services) -> int:
    """Hourly: remind customers whose authorisation expires soon with no parcel in sight."""
    return services.returns.authorisation.remind_expiring()


def remind_overdue_loaners(services: Services) -> int:
    """Daily: remind customers whose loaner is past due (once per loan)."""
    return services.returns.loans.remind_overdue()


def remind_overdue_followups(services: Services) -> int:
    """Hourly: remind the desk of follow-up calls past due (once per follow-up)."""
    return services.returns.followups.remind_overdue()


def check_service_levels(services: Services) -> int:
    """Every minute: warn the desk before response deadlines, escalate breaches."""
    return services.service_levels.check()


def check_operations(services: Services) -> int:
    """Every minute: alert the desk to refunds or labels stuck and carrier events waiting."""
    return services.operations.check()


def recompute_reorder_points(services: Services) -> int:
    """Nightly: recompute suggested reorder points from demand and flag parts at their point."""
    summary = services.buying.reorder.recompute()
    log.info(
        "reorder points recomputed for %s parts (%s with demand, %s computed points changed); "
        "%s at or below their point, %s newly",
        summary.parts,
        summary.parts_with_demand,
        summary.points_applied,
        summary.flagged,
        summary.newly_flagged,
    )
    return summary.flagged


def alert_late_purchase_order_lines(services: Services) -> int:
    """Hourly: alert buyers, once per line, to purchase-order lines past their expected date."""
    return services.buying.late_lines.alert()


def prune_logs(services: Services) -> int:
    """Nightly: delete logs older than their retention (RETENTION_*_DAYS); records stay."""
    counts = services.pruner.prune()
    log.info("pruned: %s", ", ".join(f"{n} {name}" for name, n in counts.items()))
    return sum(counts.values())


JOBS = [
    Job("verify_stock_levels", verify_stock_levels, CronTrigger(hour=2, minute=30, timezone="UTC")),
    Job("poll_carriers", poll_carriers, IntervalTrigger(minutes=1, timezone="UTC")),
    Job(
        "recompute_reorder_points",
        recompute_reorder_points,
        CronTrigger(hour=3, minute=15, timezone="UTC"),
    ),
    Job("apply_carrier_events", apply_carrier_events, IntervalTrigger(seconds=2, timezone="UTC")),
    Job("drain_outbox", drain_outbox, IntervalTrigger(seconds=3, timezone="UTC")),
    Job("expire_authorisations", expire_authorisations, IntervalTrigger(hours=1, timezone="UTC")),
    Job(
        "remind_expiring_authorisations",
        remind_expiring_authorisations,
        IntervalTrigger(hours=1, timezone="UTC"),
    ),
    Job(
        "remind_overdue_loaners",
        remind_overdue_loaners,
        CronTrigger(hour=8, minute=0, timezone="UTC"),
    ),
    Job(
        "remind_overdue_followups",
        remind_overdue_followups,
        IntervalTrigger(hours=1, timezone="UTC"),
    ),
    Job("check_service_levels", check_service_levels, IntervalTrigger(minutes=1, timezone="UTC")),
    Job("check_operations", check_operations, IntervalTrigger(minutes=1, timezone="UTC")),
    Job(
        "alert_late_purchase_order_lines",
        alert_late_purchase_order_lines,
        IntervalTrigger(hours=1, timezone="UTC"),
    ),
    Job("prune_logs", prune_logs, CronTrigger(hour=4, minute=10, timezone="UTC")),
]


def bound(
    services: Services, func: Callable[[Services], object], job_id: str | None = None
) -> Callable[[], object]:
    """``func`` as APScheduler calls it: with no arguments, on these services. Each run is
    counted in ``job_runs`` (core/job_runs.py): the scheduler's heartbeat and its metrics."""

    def run() -> object:
        started = services.clock.now()
        try:
            result = func(services)
        except Exception as error:
            record_run(
                services.session_factory, services.clock, job_id or func.__name__, started, error
            )
            raise
        record_run(services.session_factory, services.clock, job_id or func.__name__, started, None)
        return result

    run.__name__ = func.__name__
    return run


def configure(
    services: Services, settings: Mapping[str, Any], scheduler: BaseScheduler
) -> BaseScheduler:
    """Add every job. ``SCHEDULER_INTERVALS`` (``{"drain_outbox": 1}``, seconds) runs a job
    every so many seconds instead of on its usual schedule: for load tests and rehearsals."""
    intervals = dict(settings.get("SCHEDULER_INTERVALS") or {})
    unknown = set(intervals) - {job.id for job in JOBS}
    if unknown:
        raise ValueError(f"SCHEDULER_INTERVALS names unknown jobs: {sorted(unknown)}")
    for job in JOBS:
        trigger = job.trigger
        if job.id in intervals:
            trigger = IntervalTrigger(seconds=float(intervals[job.id]), timezone="UTC")
        scheduler.add_job(
            bound(services, job.func, job.id),
            trigger,
            id=job.id,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=3600,
        )
    return scheduler


def build_scheduler(services: Services, settings: Mapping[str, Any]) -> BlockingScheduler:
    return configure(services, settings, BlockingScheduler(timezone="UTC"))  # type: ignore[return-value]
