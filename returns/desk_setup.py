"""Setting the desk up: teams and their members, each person's shifts and days off, and the
routing rules (returns/routing.py reads them). Admin use cases, one transaction each."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from accounts.models import User
from core.clock import Clock
from core.db import UnitOfWork
from core.errors import N_, Conflict, InvalidInput, NotFound
from returns.owner_models import Absence, RoutingRule, Shift, Team, TeamMember
from returns.ownership import OWNER_ROLES
from returns.shifts import DaysOff, Hours, coverage, on_shift, uncovered, zone


@dataclass(frozen=True)
class TeamView:
    id: int
    name: str
    member_ids: tuple[int, ...]
    members: tuple[str, ...]


@dataclass(frozen=True)
class PersonShifts:
    user_id: int
    name: str
    email: str
    hours: tuple[Hours, ...]
    days_off: tuple[DaysOff, ...]
    on_shift: bool


@dataclass(frozen=True)
class RuleView:
    id: int
    position: int
    channel: str | None
    kind: str | None
    language: str | None
    vip: bool | None
    part_category: str | None
    user_id: int | None
    team_id: int | None


@dataclass(frozen=True)
class Rule:
    """A routing rule to add: conditions (None: any) and a person and/or a team."""

    position: int = 0
    channel: str | None = None
    kind: str | None = None
    language: str | None = None
    vip: bool | None = None
    part_category: str | None = None
    user_id: int | None = None
    team_id: int | None = None


@dataclass(frozen=True)
class ShiftsPage:
    people: tuple[PersonShifts, ...]
    #: (weekday, UTC hour, who is on) for the 168 hours of this week.
    grid: tuple[tuple[int, int, tuple[str, ...]], ...]
    #: Runs of hours nobody covers ("Sat 00:00-Mon 08:00").
    uncovered: tuple[str, ...]


class DeskSetup:
    def __init__(self, session_factory: Callable[[], Session], clock: Clock):
        self.session_factory = session_factory
        self.clock = clock

    # --- teams ---------------------------------------------------------------------------

    def teams(self) -> list[TeamView]:
        with UnitOfWork(self.session_factory) as uow:
            return teams_in(uow.session)

    def save_team(
        self, name: str, member_ids: Sequence[int], team_id: int | None = None
    ) -> TeamView:
        """Create a team (no ``team_id``) or rename it and set its members."""
        if not name.strip():
            raise InvalidInput("name", N_("Name the team."))
        with UnitOfWork(self.session_factory) as uow:
            session = uow.session
            same = session.scalars(select(Team).where(Team.name == name.strip())).first()
            if same is not None and same.id != team_id:
                raise Conflict(
                    N_("A team %(name)s exists.", name=repr(name)), code="duplicate_team"
                )
            team = session.get(Team, team_id) if team_id else Team(created_at=self.clock.now())
            if team is None:
                raise NotFound(N_("No team %(id)s.", id=team_id), code="team_not_found")
            team.name = name.strip()
            session.add(team)
            session.flush()
            _check_people(session, member_ids, "member_ids")
            session.execute(delete(TeamMember).where(TeamMember.team_id == team.id))
            session.add_all(TeamMember(team_id=team.id, user_id=uid) for uid in set(member_ids))
            session.flush()
            view = next(t for t in teams_in(session) if t.id == team.id)
            uow.commit()
            return view

    # --- shifts and days off -------------------------------------------------------------

    def set_hours(self, user_id: int, hours: Sequence[Hours]) -> PersonShifts:
        """Replace the person's working hours (one row per weekday and span)."""
        for index, span in enumerate(hours):
            zone(span.time_zone)
            if not (0 <= span.weekday <= 6 and 0 <= span.start_minute < 1440):
                raise InvalidInput(
                    f"hours.{index}", N_("A weekday 0-6 and a start within the day.")
                )
            if not 0 <= span.end_minute <= 1440:
                raise InvalidInput(
                    f"hours.{index}.end", N_("The end is within the day (24:00 at most).")
                )
        with UnitOfWork(self.session_factory) as uow:
            session = uow.session
            _check_people(session, [user_id], "user_id")
            session.execute(delete(Shift).where(Shift.user_id == user_id))
            session.add_all(
                Shift(
                    user_id=user_id,
                    weekday=s.weekday,
                    start_minute=s.start_minute,
                    end_minute=s.end_minute,
                    time_zone=s.time_zone,
                )
                for s in hours
            )
            session.flush()
            view = self._person(session, user_id)
            uow.commit()
            return view

    def add_days_off(
        self, user_id: int, starts_on: date, ends_on: date, reason: str
    ) -> PersonShifts:
        if ends_on < starts_on:
            raise InvalidInput("ends_on", N_("The days off end on or after they start."))
        with UnitOfWork(self.session_factory) as uow:
            _check_people(uow.session, [user_id], "user_id")
            uow.session.add(
                Absence(user_id=user_id, starts_on=starts_on, ends_on=ends_on, reason=reason)
            )
            uow.session.flush()
            view = self._person(uow.session, user_id)
            uow.commit()
            return view

    def shifts(self) -> ShiftsPage:
        """Everyone who has hours or is in a team, with this week's coverage."""
        with UnitOfWork(self.session_factory) as uow:
            session = uow.session
            ids = set(session.scalars(select(Shift.user_id))) | set(
                session.scalars(select(TeamMember.user_id))
            )
            people = tuple(self._person(session, uid) for uid in sorted(ids))
        now = self.clock.now()
        grid = coverage({p.name: list(p.hours) for p in people}, now)
        return ShiftsPage(
            people=people,
            grid=tuple((d, h, tuple(names)) for d, h, names in grid),
            uncovered=tuple(uncovered(grid)),
        )

    def _person(self, session: Session, user_id: int) -> PersonShifts:
        user = session.get(User, user_id)
        assert user is not None
        hours = tuple(
            Hours(s.weekday, s.start_minute, s.end_minute, s.time_zone)
            for s in session.scalars(
                select(Shift)
                .where(Shift.user_id == user_id)
                .order_by(Shift.weekday, Shift.start_minute)
            )
        )
        days_off = tuple(
            DaysOff(a.starts_on, a.ends_on)
            for a in session.scalars(
                select(Absence)
                .where(Absence.user_id == user_id, Absence.ends_on >= self.clock.now().date())
                .order_by(Absence.starts_on)
            )
        )
        return PersonShifts(
            user_id=user.id,
            name=user.name or user.email,
            email=user.email,
            hours=hours,
            days_off=days_off,
            on_shift=on_shift(hours, days_off, self.clock.now()),
        )

    # --- routing rules -------------------------------------------------------------------

    def rules(self) -> list[RuleView]:
        with UnitOfWork(self.session_factory) as uow:
            rows = uow.session.scalars(
                select(RoutingRule).order_by(RoutingRule.position, RoutingRule.id)
            )
            return [_rule_view(row) for row in rows]

    def add_rule(self, rule: Rule) -> RuleView:
        if rule.user_id is None and rule.team_id is None:
            raise InvalidInput("team_id", N_("A rule routes to a person, a team, or both."))
        with UnitOfWork(self.session_factory) as uow:
            session = uow.session
            if rule.user_id is not None:
                _check_people(session, [rule.user_id], "user_id")
            if rule.team_id is not None and session.get(Team, rule.team_id) is None:
                raise InvalidInput(
                    "team_id", N_("No team %(id)s.", id=rule.team_id), code="unknown_team"
                )
            row = RoutingRule(**rule.__dict__)
            session.add(row)
            session.flush()
            view = _rule_view(row)
            uow.commit()
            return view

    def delete_rule(self, rule_id: int) -> None:
        with UnitOfWork(self.session_factory) as uow:
            row = uow.session.get(RoutingRule, rule_id)
            if row is None:
                raise NotFound(N_("No routing rule %(id)s.", id=rule_id), code="rule_not_found")
            uow.session.delete(row)
            uow.commit()

    def desk_people(self) -> list[tuple[int, str]]:
        """Who may own cases: (id, name), for the forms."""
        with UnitOfWork(self.session_factory) as uow:
            rows = uow.session.execute(
                select(User.id, User.name, User.email)
                .where(User.role.in_(OWNER_ROLES), User.active.is_(True))
                .order_by(User.name, User.email)
            )
            return [(row.id, row.name or row.email) for row in rows]


def teams_in(session: Session) -> list[TeamView]:
    names: dict[int, list[tuple[int, str]]] = {}
    for team_id, user_id, name, email in session.execute(
        select(TeamMember.team_id, User.id, User.name, User.email)
        .join(User, User.id == TeamMember.user_id)
        .order_by(User.id)
    ):
        names.setdefault(team_id, []).append((user_id, name or email))
    return [
        TeamView(
            team.id,
            team.name,
            tuple(uid for uid, _ in names.get(team.id, [])),
            tuple(label for _, label in names.get(team.id, [])),
        )
        for team in session.scalars(select(Team).order_by(Team.name))
    ]


def _check_people(session: Session, user_ids: Sequence[int], field: str) -> None:
    if not user_ids:
        return
    found = set(
        session.scalars(
            select(User.id).where(
                User.id.in_(user_ids), User.role.in_(OWNER_ROLES), User.active.is_(True)
            )
        )
    )
    missing = sorted(set(user_ids) - found)
    if missing:
        raise InvalidInput(
            field,
            N_("Not active desk members: %(ids)s.", ids=str(missing)),
            code="unknown_person",
        )


def _rule_view(row: RoutingRule) -> RuleView:
    return RuleView(
        row.id,
        row.position,
        row.channel,
        row.kind,
        row.language,
        row.vip,
        row.part_category,
        row.user_id,
        row.team_id,
    )
