"""The scheduled watch on service levels: warn the desk before a deadline, escalate a breach.

Each RMA has two deadlines (first response, resolution), set at intake in its desk's working
hours (``returns.service_levels``). When most of the time is gone the desk is warned; when a
deadline passes unmet, supervisors are alerted. Who is warned follows the case's owner and
shifts (``recipients``): the owner if on shift, else who is on shift in the owner's team.
Each warning and each breach is a notification (shown in the web pages) and an e-mail,
created once per RMA, target and kind, however often the job runs and however many
schedulers run it (row locks and unique keys).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from core.clock import Clock
from core.db import UnitOfWork
from core.errors import N_, filled
from returns.messages import Messages
from returns.models import Notification
from returns.notifications import notify, system_note
from returns.rma import Rma
from returns.routing import on_call
from returns.service_levels import ServiceLevels, format_left
from returns.status import OPEN

#: Who hears of what: the desk is warned, supervisors (admins) get the breaches.
DESK_ROLE, SUPERVISOR_ROLE = "service_desk", "admin"

#: Addresses and languages of the active staff with a role.
StaffDirectory = Callable[[Session, str], list[tuple[str, str]]]


@dataclass(frozen=True)
class Target:
    name: str  # "first_response" or "resolution"
    due: str
    done: str
    warned: str
    escalated: str


#: A service-level target missed, or near (the timeline's line, and the alert).
BREACH = N_("%(number)s missed its %(target)s target (due %(due)s UTC): escalated to supervisors")
WARNING = N_("%(number)s: %(target)s due %(due)s UTC (%(left)s of desk time left)")
TARGETS = (
    Target(
        "first_response",
        "first_response_due_at",
        "first_response_at",
        "response_warned_at",
        "response_escalated_at",
    ),
    Target(
        "resolution",
        "resolution_due_at",
        "resolved_at",
        "resolution_warned_at",
        "resolution_escalated_at",
    ),
)


class ServiceLevelMonitor:
    def __init__(
        self,
        session_factory: Callable[[], Session],
        clock: Clock,
        levels: ServiceLevels,
        messages: Messages | None,
        staff: StaffDirectory,
        rma_url: Callable[[str], str],
    ):
        self.session_factory = session_factory
        self.clock = clock
        self.levels = levels
        self.messages = messages
        self.staff = staff
        self.rma_url = rma_url

    def check(self) -> int:
        """One pass over the open RMAs; returns how many warnings and breaches it raised."""
        raised = 0
        with UnitOfWork(self.session_factory) as uow:
            session, now = uow.session, self.clock.now()
            watched = session.scalars(
                select(Rma)
                .where(
                    Rma.status.in_(OPEN),
                    or_(
                        and_(
                            Rma.first_response_at.is_(None),
                            Rma.response_escalated_at.is_(None),
                            Rma.first_response_due_at.is_not(None),
                        ),
                        and_(
                            Rma.resolved_at.is_(None),
                            Rma.resolution_escalated_at.is_(None),
                            Rma.resolution_due_at.is_not(None),
                        ),
                    ),
                )
                .order_by(Rma.id)
                .with_for_update(skip_locked=True)
            ).all()
            for rma in watched:
                deadlines = self.levels.deadlines(rma.channel, rma.priority, rma.created_at)
                for target in TARGETS:
                    raised += self._watch(session, rma, target, deadlines.warning(target.name), now)
            uow.commit()
        return raised

    def _watch(
        self, session: Session, rma: Rma, target: Target, warn_at: datetime, now: datetime
    ) -> int:
        due: datetime | None = getattr(rma, target.due)
        if due is None or getattr(rma, target.done) or getattr(rma, target.escalated):
            return 0
        label = target.name.replace("_", " ")
        if now >= due:
            setattr(rma, target.escalated, now)
            if getattr(rma, target.warned) is None:
                setattr(rma, target.warned, now)  # no warning after the breach
            text = filled(
                BREACH,
                number=rma.number,
                target=label,
                due=f"{due:%Y-%m-%d %H:%M}",
            )
            self._raise(session, rma, target, "breach", "supervisors", due, text)
            return 1
        if now >= warn_at and getattr(rma, target.warned) is None:
            setattr(rma, target.warned, now)
            left = self.levels.time_left(rma.channel, due, now)
            # ``left_minutes`` beside ``left``: a page shows the time left in its own units.
            text = filled(
                WARNING,
                number=rma.number,
                target=label,
                due=f"{due:%Y-%m-%d %H:%M}",
                left=format_left(left),
                left_minutes=int(left.total_seconds() // 60) if left is not None else "",
            )
            self._raise(session, rma, target, "warning", "desk", due, text)
            return 1
        return 0

    def _raise(
        self,
        session: Session,
        rma: Rma,
        target: Target,
        kind: str,
        audience: str,
        due: datetime,
        text: str,
    ) -> None:
        now = self.clock.now()
        key = f"sla:{rma.number}:{target.name}:{kind}"
        notify(
            session,
            key=key,
            rma_id=rma.id,
            kind=f"{target.name}_{kind}",
            audience=audience,
            message=text,
            now=now,
        )
        system_note(session, rma, "sla", text, now)
        if self.messages:
            self.messages.to_staff(
                session,
                rma,
                f"sla_{kind}",
                self.recipients(session, rma, kind, now),
                key,
                {
                    "number": rma.number,
                    "customer_name": rma.customer_name,
                    "priority": rma.priority.value,
                    "channel": rma.channel.value,
                    "target": target.name,
                    "due": f"{due:%Y-%m-%d %H:%M} UTC",
                    "time_left": format_left(self.levels.time_left(rma.channel, due, now)),
                    "desk_url": self.rma_url(rma.number),
                },
            )

    def recipients(
        self, session: Session, rma: Rma, kind: str, now: datetime
    ) -> list[tuple[str, str]]:
        """A warning goes to the case's owner if on shift, else to its team's members on
        shift, else to supervisors; a breach to supervisors and to that person on shift. A
        case without an owner (no routing set up) warns the whole desk, as before."""
        people = on_call(session, rma, now)
        if kind == "breach":
            supervisors = self.staff(session, SUPERVISOR_ROLE)
            return supervisors + [p for p in people if p not in supervisors]
        if people:
            return people
        if rma.owner_user_id is None and rma.owner_team_id is None:
            return self.staff(session, DESK_ROLE)
        return self.staff(session, SUPERVISOR_ROLE)

    # --- what the pages show --------------------------------------------------------------

    def unread(self, audiences: list[str], limit: int = 20) -> list[Notification]:
        with UnitOfWork(self.session_factory) as uow:
            return list(
                uow.session.scalars(
                    select(Notification)
                    .where(Notification.audience.in_(audiences), Notification.read_at.is_(None))
                    .order_by(Notification.id.desc())
                    .limit(limit)
                )
            )

    def mark_read(self, actor: str, ids: list[int], audiences: list[str]) -> int:
        """Mark notifications read; only those meant for the reader's audiences."""
        with UnitOfWork(self.session_factory) as uow:
            rows = uow.session.scalars(
                select(Notification).where(
                    Notification.id.in_(ids),
                    Notification.audience.in_(audiences),
                    Notification.read_at.is_(None),
                )
            ).all()
            for row in rows:
                row.read_at, row.read_by = self.clock.now(), actor
            uow.commit()
            return len(rows)
