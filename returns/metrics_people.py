"""The desk's performance per person and per team, for a period.

Which cases count: those **opened in the period** and owned (now) by the person, or routed
through the team (``rmas.owner_user_id`` / ``owner_team_id``). For each person and team:

- *cases handled*: how many such cases;
- *first-response time*: ``first_response_at - created_at`` in hours, of those answered;
- *resolution time*: ``resolved_at - created_at`` in hours, of those resolved;
- *reopen rate*: of the resolved cases, the share reopened afterwards (a move to
  ``disputed``, the desk's reopen of a case: a move back to ``open``, or a ``reopened`` line
  on the timeline);
- *satisfaction*: the follow-up scores (1-5) given so far: count and mean;
- *service-level breaches*: first responses and resolutions late, or still missing past their
  due time (the same rule as the overall figures in returns/metrics.py).

One query, however many cases the period holds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session

from accounts.models import User
from returns.metrics_figures import _late as late
from returns.metrics_maths import DurationStats, Period, Rate
from returns.owner_models import Team
from returns.rma import Rma, RmaTransition
from returns.status import RmaStatus

HOUR = 3600.0


@dataclass(frozen=True)
class OwnedCase:
    owner_user_id: int | None
    owner_team_id: int | None
    created_at: datetime
    first_response_due_at: datetime | None
    first_response_at: datetime | None
    resolution_due_at: datetime | None
    resolved_at: datetime | None
    satisfaction: int | None
    reopened: bool
    person: str | None = None
    team: str | None = None


@dataclass(frozen=True)
class DeskFigures:
    """One person's or one team's figures (``kind`` "person" or "team")."""

    kind: str
    key: int
    name: str
    handled: int
    first_response_hours: DurationStats
    resolution_hours: DurationStats
    reopened: Rate
    satisfaction: DurationStats
    response_breaches: int
    resolution_breaches: int

    @property
    def breaches(self) -> int:
        return self.response_breaches + self.resolution_breaches


def hours_between(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / HOUR


def desk_figures(
    kind: str, key: int, name: str, cases: Iterable[OwnedCase], now: datetime
) -> DeskFigures:
    """The figures of one owner's cases (no database: tests/unit/test_desk_figures.py)."""
    chosen = list(cases)
    answered = [c for c in chosen if c.first_response_at is not None]
    resolved = [c for c in chosen if c.resolved_at is not None]
    scores = [float(c.satisfaction) for c in chosen if c.satisfaction is not None]
    return DeskFigures(
        kind=kind,
        key=key,
        name=name,
        handled=len(chosen),
        first_response_hours=DurationStats.of(
            [hours_between(c.created_at, c.first_response_at) for c in answered]  # type: ignore[arg-type]
        ),
        resolution_hours=DurationStats.of(
            [hours_between(c.created_at, c.resolved_at) for c in resolved]  # type: ignore[arg-type]
        ),
        reopened=Rate(sum(1 for c in resolved if c.reopened), len(resolved)),
        satisfaction=DurationStats.of(scores),
        response_breaches=sum(
            1 for c in chosen if late(c.first_response_due_at, c.first_response_at, now)
        ),
        resolution_breaches=sum(1 for c in chosen if late(c.resolution_due_at, c.resolved_at, now)),
    )


def load_owned_cases(session: Session, period: Period) -> list[OwnedCase]:
    reopened = exists().where(
        RmaTransition.rma_id == Rma.id,
        or_(
            (RmaTransition.kind == "status") & (RmaTransition.to_status == RmaStatus.DISPUTED),
            # The desk's reopen move on an enquiry or a complaint (returns/cases.py): a status
            # line back to open (the opening line has no from_status).
            (RmaTransition.kind == "status")
            & (RmaTransition.to_status == RmaStatus.OPEN)
            & RmaTransition.from_status.is_not(None),
            RmaTransition.kind == "reopened",
        ),
    )
    rows = session.execute(
        select(
            Rma.owner_user_id,
            Rma.owner_team_id,
            Rma.created_at,
            Rma.first_response_due_at,
            Rma.first_response_at,
            Rma.resolution_due_at,
            Rma.resolved_at,
            Rma.satisfaction,
            reopened.label("reopened"),
            func.coalesce(func.nullif(User.name, ""), User.email).label("person"),
            Team.name.label("team"),
        )
        .outerjoin(User, User.id == Rma.owner_user_id)
        .outerjoin(Team, Team.id == Rma.owner_team_id)
        .where(
            Rma.created_at >= period.start,
            Rma.created_at < period.end,
            or_(Rma.owner_user_id.is_not(None), Rma.owner_team_id.is_not(None)),
        )
    ).all()
    return [OwnedCase(**row._mapping) for row in rows]


def people_and_teams(
    session: Session, period: Period, now: datetime
) -> tuple[list[DeskFigures], list[DeskFigures]]:
    """Per person (by name) and per team (by name), for the cases opened in ``period``."""
    cases = load_owned_cases(session, period)  # one query, the names joined
    people = {c.owner_user_id: c.person or "" for c in cases if c.owner_user_id is not None}
    teams = {c.owner_team_id: c.team or "" for c in cases if c.owner_team_id is not None}
    by_person = [
        desk_figures("person", uid, name, (c for c in cases if c.owner_user_id == uid), now)
        for uid, name in people.items()
    ]
    by_team = [
        desk_figures("team", tid, name, (c for c in cases if c.owner_team_id == tid), now)
        for tid, name in teams.items()
    ]
    return sorted(by_person, key=lambda f: f.name), sorted(by_team, key=lambda f: f.name)
