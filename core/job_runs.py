"""The scheduler's record of its jobs: runs, failures, last start and finish (its heartbeat).

One row per job, updated when a run ends (core/metrics.py reads it; returns/ops_alerts.py
raises "the scheduler is not running" when no job has finished for a while).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import BigInteger, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core import metrics
from core.clock import Clock
from core.db import Base, UnitOfWork, UTCDateTime, insert_ignoring_conflicts

log = logging.getLogger(__name__)


class JobRun(Base):
    __tablename__ = "job_runs"

    job_id: Mapped[str] = mapped_column(String(60), primary_key=True)
    runs: Mapped[int] = mapped_column(BigInteger, default=0)
    failures: Mapped[int] = mapped_column(BigInteger, default=0)
    last_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)


def record_run(
    session_factory: Callable[[], Session],
    clock: Clock,
    job_id: str,
    started: datetime,
    error: BaseException | None,
) -> None:
    """Count one run of ``job_id`` (its own short transaction; never fails the job)."""
    metrics.SCHEDULER_JOBS.labels(job=job_id, outcome="failed" if error else "ok").inc()
    try:
        with UnitOfWork(session_factory) as uow:
            insert_ignoring_conflicts(
                uow.session, JobRun.__table__, {"job_id": job_id, "runs": 0, "failures": 0}
            )
            run = uow.session.scalars(
                select(JobRun).where(JobRun.job_id == job_id).with_for_update()
            ).one()
            run.runs += 1
            run.last_started_at = started
            run.last_finished_at = clock.now()
            if error is not None:
                run.failures += 1
                run.last_error = f"{type(error).__name__}: {error}"[:2000]
            uow.commit()
    except Exception:
        log.exception("could not record the run of job %s", job_id)
