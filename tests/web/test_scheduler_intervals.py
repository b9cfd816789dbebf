"""SCHEDULER_INTERVALS: chosen jobs every so many seconds (rehearsals, the load tests)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask

from web import create_app
from web.scheduler import build_scheduler


@contextmanager
def app_with(tmp_path: Path, intervals: dict[str, float]) -> Iterator[Flask]:
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'sched.db'}",
            "SECRET_KEY": "x",
            "SCHEDULER_INTERVALS": intervals,
        }
    )
    try:
        yield app
    finally:
        app.extensions["spareflow"].engine.dispose()


def test_named_jobs_run_every_so_many_seconds_and_the_others_keep_their_schedule(
    tmp_path: Path,
) -> None:
    with app_with(tmp_path, {"drain_outbox": 1, "recompute_reorder_points": 2.5}) as app:
        jobs = {
            job.id: job.trigger
            for job in build_scheduler(app.extensions["spareflow"], app.config).get_jobs()
        }
    assert isinstance(jobs["drain_outbox"], IntervalTrigger)
    assert jobs["drain_outbox"].interval == timedelta(seconds=1)
    assert jobs["recompute_reorder_points"].interval == timedelta(seconds=2.5)
    assert isinstance(jobs["verify_stock_levels"], CronTrigger)  # untouched
    assert jobs["expire_authorisations"].interval == timedelta(hours=1)


def test_an_unknown_job_name_stops_the_scheduler_from_starting(tmp_path: Path) -> None:
    with app_with(tmp_path, {"drain_outbx": 1}) as app, pytest.raises(ValueError, match="outbx"):
        build_scheduler(app.extensions["spareflow"], app.config)
