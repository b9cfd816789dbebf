"""Alerts that matter to the desk: refunds or labels stuck, carrier events not applied, the
scheduler stopped (docs/operations.md, "What each alert means for the desk").

Each is a desk notification (shown on the desk's queue page with the SLA warnings) and one
e-mail to the desk, raised once per fact: per stuck outbox message, per oldest waiting carrier
event, per silence of the scheduler (keyed by its last heartbeat).

The scheduler runs ``check`` every minute; it cannot notice its own silence, so the web app
runs ``check_scheduler`` when the desk opens its queue (at most once a minute per process).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from carriers.models import CarrierEventRecord, EventOutcome
from core.clock import Clock
from core.db import UnitOfWork, read_outside_transaction
from core.errors import N_, filled
from core.job_runs import JobRun
from core.outbox import OutboxMessage, OutboxStatus
from returns.escalation import DESK_ROLE, StaffDirectory
from returns.labels import LABEL_TOPIC
from returns.messages import Messages
from returns.notifications import notify
from returns.outbound_labels import OUTBOUND_LABEL_TOPIC
from returns.refunds import REFUND_TOPIC

#: The desk's alerts (the e-mail's title is the first part, before " (").
REFUND_WAITED = N_("A refund has waited more than %(minutes)s minutes (%(key)s).")
LABEL_WAITED = N_("A label purchase has waited more than %(minutes)s minutes (%(key)s).")
EVENTS_WAITED = N_("Carrier events have waited since %(since)s UTC without being applied.")
SCHEDULER_SILENT = N_("No scheduled job has run since %(since)s UTC.")
OPS_ALERTS = (REFUND_WAITED, LABEL_WAITED, EVENTS_WAITED, SCHEDULER_SILENT)

ADVICE = {
    "refund_stuck": "The refund provider is not answering or refusing: check its status page "
    "and the outbox (spareflow outbox drain); tell the customer the refund is on its way.",
    "label_stuck": "The carrier's label service is not answering: the customer has no label "
    "yet. Check the carrier, or send a label bought by hand.",
    "events_unapplied": "Carrier scans are stored but not applied: pickups do not release "
    "refunds. Check the scheduler or `spareflow carriers apply-events`.",
    "scheduler_silent": "The scheduler is not running: no refunds, labels, e-mails or carrier "
    "events move. Restart `spareflow scheduler`.",
}


@dataclass(frozen=True)
class Thresholds:
    stuck: timedelta
    events: timedelta
    scheduler: timedelta

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> Thresholds:
        return cls(
            timedelta(minutes=float(settings.get("ALERT_STUCK_MINUTES") or 30)),
            timedelta(minutes=float(settings.get("ALERT_EVENTS_MINUTES") or 10)),
            timedelta(minutes=float(settings.get("ALERT_SCHEDULER_MINUTES") or 10)),
        )


class OperationsWatch:
    def __init__(
        self,
        session_factory: Callable[[], Session],
        engine: Engine,
        clock: Clock,
        thresholds: Thresholds,
        messages: Messages | None,
        staff: StaffDirectory,
        desk_url: str,
    ):
        self.session_factory = session_factory
        self.engine = engine
        self.clock = clock
        self.thresholds = thresholds
        self.messages = messages
        self.staff = staff
        self.desk_url = desk_url
        self._scheduler_checked: datetime | None = None

    def check(self) -> int:
        """Refunds and labels stuck, carrier events waiting; returns alerts newly raised."""
        now = self.clock.now()
        raised = 0
        with UnitOfWork(self.session_factory) as uow:
            s = uow.session
            stuck = s.execute(
                select(OutboxMessage.id, OutboxMessage.topic, OutboxMessage.key)
                .where(
                    OutboxMessage.status == OutboxStatus.PENDING,
                    OutboxMessage.topic.in_([REFUND_TOPIC, LABEL_TOPIC, OUTBOUND_LABEL_TOPIC]),
                    OutboxMessage.created_at < now - self.thresholds.stuck,
                )
                .order_by(OutboxMessage.id)
            ).all()
            minutes = int(self.thresholds.stuck.total_seconds() // 60)
            for row in stuck:
                kind = "refund_stuck" if row.topic == REFUND_TOPIC else "label_stuck"
                waited = REFUND_WAITED if kind == "refund_stuck" else LABEL_WAITED
                raised += self._raise(
                    s,
                    kind,
                    f"ops:{kind}:{row.id}",
                    filled(waited, minutes=minutes, key=row.key),
                )
            oldest = s.execute(
                select(CarrierEventRecord.id, CarrierEventRecord.received_at)
                .where(
                    CarrierEventRecord.outcome == EventOutcome.PENDING,
                    CarrierEventRecord.received_at < now - self.thresholds.events,
                )
                .order_by(CarrierEventRecord.received_at, CarrierEventRecord.id)
                .limit(1)
            ).first()
            if oldest is not None:
                raised += self._raise(
                    s,
                    "events_unapplied",
                    f"ops:events_unapplied:{oldest.id}",
                    filled(EVENTS_WAITED, since=f"{oldest.received_at:%Y-%m-%d %H:%M}"),
                )
            uow.commit()
        return raised

    def check_scheduler(self, *, throttle: timedelta = timedelta(minutes=1)) -> int:
        """The scheduler's heartbeat (job_runs): alert once per silence. Only once it has run
        here at all (a site without a scheduler yet is not told every minute)."""
        now = self.clock.now()
        if self._scheduler_checked and now - self._scheduler_checked < throttle:
            return 0
        self._scheduler_checked = now
        last = read_outside_transaction(self.engine, select(func.max(JobRun.last_finished_at)))
        beat = last[0][0] if last else None
        if beat is None or now - beat < self.thresholds.scheduler:
            return 0
        with UnitOfWork(self.session_factory) as uow:
            raised = self._raise(
                uow.session,
                "scheduler_silent",
                f"ops:scheduler_silent:{beat:%Y%m%dT%H%M%S}",
                filled(SCHEDULER_SILENT, since=f"{beat:%Y-%m-%d %H:%M}"),
            )
            uow.commit()
        return raised

    def _raise(self, session: Session, kind: str, key: str, message: str) -> int:
        now = self.clock.now()
        if not notify(
            session, key=key, rma_id=None, kind=kind, audience="desk", message=message, now=now
        ):
            return 0
        if self.messages:
            self.messages.to_staff(
                session,
                None,
                "ops_alert",
                self.staff(session, DESK_ROLE),
                key,
                {
                    "title": message.split(" (")[0],
                    "message": message,
                    "advice": ADVICE[kind],
                    "desk_url": self.desk_url,
                },
            )
        return 1
