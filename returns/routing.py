"""Routing: every new case gets an owner, in the transaction that opens it.

The routing rules are read in ``position`` order; the first that matches the case (channel,
kind, language, VIP, part category; an empty condition matches anything) names a person, a
team, or both:

- a person on shift gets the case;
- otherwise the team's next member on shift gets it, round-robin (the team's row is locked
  while its cursor moves, so two cases routed at once never both go to the same turn, and
  never to anyone off shift);
- otherwise, nobody of the team being on shift, the case waits in the team's queue (owned by
  the team, no person): out of hours, visible as such on the desk.

A rule that names only a person who is off shift does not match; when no rule matches, the
first team (by id) takes the case. With no team at all, the case has no owner (a desk that
has not set routing up yet works as before)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from accounts.models import User
from core.errors import N_
from inventory.models import Part
from returns.owner_models import RoutingRule, Team, TeamMember
from returns.rma import Rma, RmaLine
from returns.shifts import people_on_shift
from returns.status import CaseKind


@dataclass(frozen=True)
class CaseFacts:
    """What routing rules match on."""

    channel: str
    kind: str = "return"
    language: str = "en"
    vip: bool = False
    part_categories: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Owner:
    user_id: int | None
    team_id: int | None

    @property
    def out_of_hours(self) -> bool:
        """Waiting in a team's queue: nobody of the team is on shift."""
        return self.user_id is None and self.team_id is not None


NOBODY = Owner(None, None)


def matches(rule: RoutingRule, facts: CaseFacts) -> bool:
    return (
        (rule.channel is None or rule.channel == facts.channel)
        and (rule.kind is None or rule.kind == facts.kind)
        and (rule.language is None or rule.language == facts.language)
        and (rule.vip is None or rule.vip == facts.vip)
        and (rule.part_category is None or rule.part_category in facts.part_categories)
    )


def facts_of(session: Session, rma: Rma) -> CaseFacts:
    part_ids = [line.part_id for line in rma.lines] or [
        row for row in session.scalars(select(RmaLine.part_id).where(RmaLine.rma_id == rma.id))
    ]
    categories = (
        session.scalars(select(Part.category).where(Part.id.in_(part_ids))).all()
        if part_ids
        else []
    )
    return CaseFacts(
        channel=rma.channel.value,
        kind=(rma.kind or CaseKind.RETURN).value,
        language=rma.customer_language,
        vip=rma.vip,
        part_categories=frozenset(c for c in categories if c),
    )


def route(session: Session, facts: CaseFacts, now: datetime) -> Owner:
    """The owner the rules give a case with ``facts`` at ``now`` (moves a team's cursor)."""
    rules = session.scalars(select(RoutingRule).order_by(RoutingRule.position, RoutingRule.id))
    for rule in rules:
        if not matches(rule, facts):
            continue
        if rule.user_id is not None and people_on_shift(session, [rule.user_id], now):
            return Owner(rule.user_id, rule.team_id)
        if rule.team_id is not None:
            return next_in_team(session, rule.team_id, now)
    first_team = session.scalars(select(Team.id).order_by(Team.id).limit(1)).first()
    return next_in_team(session, first_team, now) if first_team is not None else NOBODY


def route_in(session: Session, rma: Rma, now: datetime) -> Owner:
    """Give the new ``rma`` its owner (inside the caller's transaction)."""
    owner = route(session, facts_of(session, rma), now)
    rma.owner_user_id, rma.owner_team_id = owner.user_id, owner.team_id
    return owner


def members(session: Session, team_id: int) -> list[int]:
    return list(
        session.scalars(
            select(TeamMember.user_id)
            .where(TeamMember.team_id == team_id)
            .order_by(TeamMember.user_id)
        )
    )


def next_in_team(session: Session, team_id: int, now: datetime) -> Owner:
    """Round-robin among the team's members on shift, under the team row's lock."""
    team = session.scalars(select(Team).where(Team.id == team_id).with_for_update()).one()
    session.refresh(team)  # the cursor as the lock holder left it, not as this session cached it
    on = sorted(people_on_shift(session, members(session, team_id), now))
    if not on:
        return Owner(None, team_id)
    chosen = turn_after(on, team.last_user_id)
    team.last_user_id = chosen
    session.flush()
    return Owner(chosen, team_id)


def turn_after(on_shift: Sequence[int], last: int | None) -> int:
    """The next member after ``last`` (ids ascending, wrapping round)."""
    later = [uid for uid in on_shift if last is None or uid > last]
    return later[0] if later else on_shift[0]


def routed_text(session: Session, owner: Owner) -> str:
    """The timeline's line for a routed case."""
    team = session.get(Team, owner.team_id) if owner.team_id is not None else None
    if owner.user_id is None:
        return N_(
            "Routed to team %(team)s: nobody on shift, in its queue",
            team=team.name if team else "?",
        )
    user = session.get(User, owner.user_id)
    who = (user.name or user.email) if user else str(owner.user_id)
    if team is None:
        return N_("Routed to %(who)s", who=who)
    return N_("Routed to %(who)s (team %(team)s)", who=who, team=team.name)


def on_call(session: Session, rma: Rma, now: datetime) -> list[tuple[str, str]]:
    """Who hears of the case's service-level warnings now: its owner if on shift, else its
    team's members on shift; (e-mail, language) pairs, empty when nobody of them is on."""
    if rma.owner_user_id is not None and people_on_shift(session, [rma.owner_user_id], now):
        ids = [rma.owner_user_id]
    elif rma.owner_team_id is not None:
        ids = sorted(people_on_shift(session, members(session, rma.owner_team_id), now))
    else:
        ids = []
    if not ids:
        return []
    rows = session.execute(
        select(User.id, User.email, User.language).where(User.id.in_(ids), User.active.is_(True))
    ).all()
    by_id = {row.id: (row.email, row.language) for row in rows}
    return [by_id[uid] for uid in ids if uid in by_id]
