"""The demo's desk: two teams on shifts in two time zones, routing rules, canned replies in
English and Chinese, and owners on the demo history's cases (so the desk's performance per
person shows on the metrics page)."""

from __future__ import annotations

from sqlalchemy import select, update

from accounts.models import Role
from bootstrap import Services
from core.db import UnitOfWork
from returns.desk_setup import Rule
from returns.rma import Rma
from returns.shifts import Hours
from returns.status import OPEN

#: (e-mail, name, team); the demo's desk@ user is in the European team.
DESK_PEOPLE = [
    ("desk@demo.spareflow", "Demo service desk", "Returns Europe"),
    ("emma.clark@demo.spareflow", "Emma Clark", "Returns Europe"),
    ("tom.baker@demo.spareflow", "Tom Baker", "Returns Europe"),
    ("li.na@demo.spareflow", "Li Na", "Returns Asia"),
    ("zhang.wei@demo.spareflow", "Zhang Wei", "Returns Asia"),
]
PASSWORD = "demo-desk-pass"  # noqa: S105 (the demo's published password)
#: Working hours per team: weekdays, in the team's own time zone.
HOURS = {
    "Returns Europe": (8 * 60, 17 * 60, "Europe/London"),
    "Returns Asia": (9 * 60, 18 * 60, "Asia/Shanghai"),
}
CANNED = [
    (
        "Received",
        "en",
        "Dear {customer_name},\n\nthank you: we have your request {number} and are on it. "
        "Its status is now: {status}.\n\n{owner}",
    ),
    (
        "Label on its way",
        "en",
        "Dear {customer_name},\n\nyour prepaid return label for {number} is attached to our "
        "e-mail; the refund goes out as soon as the carrier collects the parcel.\n\n{owner}",
    ),
    (
        "已收到",
        "zh_Hans",
        "{customer_name}，您好：\n\n我们已收到您的申请 {number}，正在处理。\n\n{owner}",  # noqa: RUF001
    ),
]


def load_demo_desk(services: Services) -> dict[str, int]:
    """Teams, shifts, rules and canned replies; the team ids by name ({} if done before)."""
    setup = services.desk_setup
    if setup.teams():
        return {}
    ids: dict[str, list[int]] = {}
    for email, name, team in DESK_PEOPLE:
        user = services.auth.find_user(email) or services.auth.create_user(
            email, Role.SERVICE_DESK, PASSWORD, name=name
        )
        ids.setdefault(team, []).append(user.id)
        start, end, zone = HOURS[team]
        setup.set_hours(user.id, [Hours(day, start, end, zone) for day in range(5)])
    teams = {name: setup.save_team(name, members).id for name, members in ids.items()}
    setup.add_rule(Rule(position=10, language="zh_Hans", team_id=teams["Returns Asia"]))
    setup.add_rule(Rule(position=20, vip=True, team_id=teams["Returns Europe"]))
    setup.add_rule(Rule(position=30, channel="marketplace", team_id=teams["Returns Asia"]))
    setup.add_rule(Rule(position=90, team_id=teams["Returns Europe"]))
    for title, language, body in CANNED:
        services.ownership.save_canned_reply("demo-data", title, language, body)
    return teams


def own_demo_history(services: Services) -> int:
    """Give the history's cases (made without intake) owners, in turn within each team, so
    every open case has one and the metrics show each person; how many were given."""
    teams = services.desk_setup.teams()
    if not teams:
        return 0
    people = [(team.id, uid) for team in teams for uid in team.member_ids]
    with UnitOfWork(services.session_factory) as uow:
        session = uow.session
        # Without a person: the history's cases, and those intake routed to a team's queue
        # because the demo was loaded while nobody was on shift (a weekend, a night).
        unowned = session.execute(
            select(Rma.id, Rma.owner_team_id).where(Rma.owner_user_id.is_(None)).order_by(Rma.id)
        ).all()
        for index, (rma_id, routed_to) in enumerate(unowned):
            team_id, user_id = people[index % len(people)]
            if routed_to is not None:
                members = [uid for tid, uid in people if tid == routed_to] or [user_id]
                team_id, user_id = routed_to, members[index % len(members)]
            session.execute(
                update(Rma)
                .where(Rma.id == rma_id)
                .values(owner_team_id=team_id, owner_user_id=user_id)
            )
        # One open case waits in a team queue: it came in while nobody was on.
        waiting = session.scalars(
            select(Rma.id).where(Rma.status.in_(OPEN)).order_by(Rma.id.desc()).limit(1)
        ).first()
        if waiting is not None:
            session.execute(update(Rma).where(Rma.id == waiting).values(owner_user_id=None))
        uow.commit()
        return len(unowned)
