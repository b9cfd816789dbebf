"""Owners on both databases: routing rules at intake, round-robin among those on shift, the
out-of-hours team queue, take and hand over, internal notes, escalations to who is on, and
(PostgreSQL) cases routed at once staying fair and never reaching anyone off shift."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from accounts.models import Role
from core.errors import Conflict, InvalidInput
from returns import routing
from returns.cases import OpenCase
from returns.commands import Customer
from returns.desk_setup import Rule
from returns.escalation import ServiceLevelMonitor
from returns.metrics_maths import Period
from returns.metrics_people import people_and_teams
from returns.rma import Rma, RmaTransition
from returns.routing import CaseFacts, route
from returns.shifts import Hours
from returns.status import CaseKind, Channel, Reason, Resolution, RootCause
from tests.support import desk as builders

MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
WEEKDAYS_9_TO_17 = [Hours(d, 9 * 60, 17 * 60) for d in range(5)]


@pytest.fixture
def desk(app: Any, clock: Any) -> dict[str, Any]:
    """Team Returns (Ana, Ben on weekdays 09-17 UTC; Cai on Saturdays), team VIP (Dee, on
    weekdays 09-17), and part FAN-1 in category "fans"."""
    services = app.extensions["spareflow"]
    clock.set(MONDAY_10)
    services.inventory.create_location(code="MAIN/A-01-01")
    services.inventory.create_part(sku="FAN-1", name="Fan", category="fans")
    services.inventory.create_part(sku="BAT-1", name="Battery", category="batteries")
    ids = {}
    for name in ("ana", "ben", "cai", "dee"):
        user = services.auth.create_user(
            f"{name}@desk.example", Role.SERVICE_DESK, "correct horse battery", name.title()
        )
        ids[name] = user.id
    ids["boss"] = services.auth.create_user(
        "boss@desk.example", Role.ADMIN, "correct horse battery", "Boss"
    ).id
    setup = services.desk_setup
    returns_team = setup.save_team("Returns", [ids["ana"], ids["ben"], ids["cai"]])
    vip_team = setup.save_team("VIP", [ids["dee"]])
    for name in ("ana", "ben", "dee"):
        setup.set_hours(ids[name], WEEKDAYS_9_TO_17)
    setup.set_hours(ids["cai"], [Hours(5, 9 * 60, 17 * 60)])
    ids["returns"], ids["vip"] = returns_team.id, vip_team.id
    return {"services": services, "ids": ids}


def open_case(services: Any, sku: str = "BAT-1", vip: bool = False, **fields: Any) -> str:
    return builders.open_rma(
        services.returns,
        customer={"name": "Mia Chen", "email": "mia@example.com", "vip": vip},
        channel=fields.pop("channel", Channel.EMAIL),
        reason=Reason.DEFECTIVE,
        resolution=Resolution.REPAIR,
        lines=[{"sku": sku, "qty": 1, "unit_price": "30.00"}],
        **fields,
    ).number


def owner_of(services: Any, number: str) -> tuple[int | None, int | None]:
    with services.session_factory() as session:
        rma = session.scalars(select(Rma).where(Rma.number == number)).one()
        return rma.owner_user_id, rma.owner_team_id


def test_rules_route_by_vip_and_part_category_and_the_rest_round_robins(desk: Any) -> None:
    services, ids = desk["services"], desk["ids"]
    setup = services.desk_setup
    setup.add_rule(Rule(position=1, vip=True, team_id=ids["vip"]))
    setup.add_rule(
        Rule(position=2, part_category="fans", user_id=ids["ben"], team_id=ids["returns"])
    )
    setup.add_rule(Rule(position=3, team_id=ids["returns"]))

    assert owner_of(services, open_case(services, vip=True)) == (ids["dee"], ids["vip"])
    assert owner_of(services, open_case(services, sku="FAN-1")) == (ids["ben"], ids["returns"])
    # Round-robin among Ana and Ben (Cai is off on weekdays), in id order, wrapping round.
    turns = [owner_of(services, open_case(services))[0] for _ in range(4)]
    assert turns == [ids["ana"], ids["ben"], ids["ana"], ids["ben"]]


def test_out_of_hours_a_case_waits_in_the_teams_queue_and_says_so(desk: Any, clock: Any) -> None:
    services, ids = desk["services"], desk["ids"]
    clock.set(MONDAY_10.replace(hour=20))  # Monday 20:00: nobody of the team is on
    number = open_case(services)
    assert owner_of(services, number) == (None, ids["returns"])  # the first team: no rule
    view = services.ownership.owner(number)
    assert (view.owner_team, view.out_of_hours) == ("Returns", True)
    clock.set(datetime(2026, 11, 28, 10, 0, tzinfo=UTC))  # Saturday: only Cai
    assert owner_of(services, open_case(services)) == (ids["cai"], ids["returns"])
    with services.session_factory() as session:
        lines = session.scalars(
            select(RmaTransition.reason).where(RmaTransition.kind == "owner")
        ).all()
    assert "Routed to team Returns: nobody on shift, in its queue" in lines
    assert "Routed to Cai (team Returns)" in lines


def test_days_off_take_a_person_out_of_the_round_robin(desk: Any) -> None:
    services, ids = desk["services"], desk["ids"]
    services.desk_setup.add_days_off(ids["ana"], date(2026, 11, 23), date(2026, 11, 24), "leave")
    owners = {owner_of(services, open_case(services))[0] for _ in range(3)}
    assert owners == {ids["ben"]}


def test_the_desk_takes_a_case_and_hands_it_over_with_lines_on_the_timeline(desk: Any) -> None:
    services, ids = desk["services"], desk["ids"]
    number = open_case(services)
    first_response = builders_first_response(services, number)
    taken = services.ownership.take(ids["dee"], number)
    assert (taken.owner_name, taken.owner_team) == ("Dee", "VIP")  # Dee's own team
    handed = services.ownership.hand_over("dee@desk.example", number, user_id=ids["ben"])
    assert (handed.owner_user_id, handed.owner_team) == (ids["ben"], "Returns")
    to_team = services.ownership.hand_over("ben@desk.example", number, team_id=ids["vip"])
    assert (to_team.owner_user_id, to_team.owner_team_id) == (ids["dee"], ids["vip"])
    with services.session_factory() as session:
        lines = session.scalars(
            select(RmaTransition.reason)
            .where(RmaTransition.kind == "owner")
            .order_by(RmaTransition.id)
        ).all()
    assert lines[-3:] == ["Taken by Dee", "Handed over to Ben", "Handed over to team VIP (Dee)"]
    # Owning a case is no answer to the customer: the first-response clock still runs.
    assert builders_first_response(services, number) == first_response is None
    with pytest.raises(InvalidInput):
        services.ownership.hand_over("ben@desk.example", number, user_id=999999)
    with pytest.raises(InvalidInput):
        services.ownership.hand_over("ben@desk.example", number)


def builders_first_response(services: Any, number: str) -> datetime | None:
    with services.session_factory() as session:
        return session.scalars(select(Rma.first_response_at).where(Rma.number == number)).one()


def test_an_ended_case_cannot_be_taken(desk: Any) -> None:
    services, ids = desk["services"], desk["ids"]
    number = open_case(services)
    services.returns.authorisation.reject("ana@desk.example", number, "not ours")
    with pytest.raises(Conflict):
        services.ownership.take(ids["ana"], number)


def monitor_of(services: Any, clock: Any) -> ServiceLevelMonitor:
    """The service-level job, its supervisors being one address per role."""
    return ServiceLevelMonitor(
        services.session_factory,
        clock,
        services.returns.ctx.levels,
        None,
        lambda session, role: [(f"{role}@all.example", "en")],
        lambda number: number,
    )


def test_escalations_go_to_the_owner_on_shift_else_the_team_on_shift_else_supervisors(
    desk: Any, clock: Any
) -> None:
    services, ids = desk["services"], desk["ids"]
    monitor = monitor_of(services, clock)
    number = open_case(services)  # routed to Ana
    now = clock.now()

    def recipients(kind: str, at: datetime) -> list[tuple[str, str]]:
        with services.session_factory() as session:
            rma = session.scalars(select(Rma).where(Rma.number == number)).one()
            return monitor.recipients(session, rma, kind, at)

    assert recipients("warning", now) == [("ana@desk.example", "en")]
    services.desk_setup.add_days_off(ids["ana"], date(2026, 11, 23), date(2026, 11, 23), "")
    assert recipients("warning", now) == [("ben@desk.example", "en")]
    assert recipients("breach", now) == [("admin@all.example", "en"), ("ben@desk.example", "en")]
    assert recipients("warning", now.replace(hour=20)) == [("admin@all.example", "en")]


def test_cases_routed_at_once_stay_fair_and_never_reach_anyone_off_shift(
    desk: Any, database_url: str
) -> None:
    """Twenty routings in parallel sessions (PostgreSQL: the team row's lock orders them)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("concurrency needs PostgreSQL (SQLite serialises every writer)")
    services, ids = desk["services"], desk["ids"]
    facts = CaseFacts(channel="email")
    barrier = threading.Barrier(10)
    chosen: list[int | None] = []
    failures: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            for _ in range(2):
                with services.session_factory() as session, session.begin():
                    chosen.append(route(session, facts, MONDAY_10).user_id)
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=worker) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    counts = Counter(chosen)
    assert counts == {ids["ana"]: 10, ids["ben"]: 10}  # fair, and never Cai (off shift)


def test_intake_in_parallel_routes_every_case_and_keeps_the_turns_even(
    desk: Any, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("concurrency needs PostgreSQL")
    services, ids = desk["services"], desk["ids"]
    barrier = threading.Barrier(6)
    numbers: list[str] = []

    def worker() -> None:
        barrier.wait()
        numbers.append(open_case(services))

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    owners = Counter(owner_of(services, number)[0] for number in numbers)
    assert owners == {ids["ana"]: 3, ids["ben"]: 3}


def test_the_first_team_takes_cases_no_rule_matches_and_no_team_means_no_owner(
    app: Any, clock: Any
) -> None:
    services = app.extensions["spareflow"]
    clock.set(MONDAY_10)
    services.inventory.create_location(code="MAIN/A-01-01")
    services.inventory.create_part(sku="BAT-1", name="Battery")
    number = open_case(services)
    assert owner_of(services, number) == (None, None)


def open_enquiry(services: Any, kind: CaseKind = CaseKind.ENQUIRY) -> str:
    return services.returns.cases.open(
        "desk@example.com",
        OpenCase(
            kind=kind,
            customer=Customer(name="Mia Chen", email="mia@example.com"),
            channel=Channel.EMAIL,
            description="Which fan fits the X200?",
            root_cause=RootCause.LATE_DELIVERY if kind is CaseKind.COMPLAINT else None,
        ),
    ).number


def test_a_rule_on_kind_sends_enquiries_to_their_team_and_their_escalations_to_who_is_on(
    desk: Any, clock: Any
) -> None:
    """The kind comes from the case itself (facts_of reads rma.kind): an enquiry goes to the
    VIP team by the rule on kind, a complaint and a return fall through to Returns; the
    enquiry's service-level warnings reach its owner on shift, else the supervisors."""
    services, ids = desk["services"], desk["ids"]
    setup = services.desk_setup
    setup.add_rule(Rule(position=1, kind="enquiry", team_id=ids["vip"]))
    setup.add_rule(Rule(position=2, team_id=ids["returns"]))
    question = open_enquiry(services)
    assert owner_of(services, question) == (ids["dee"], ids["vip"])
    assert owner_of(services, open_enquiry(services, CaseKind.COMPLAINT)) == (
        ids["ana"],
        ids["returns"],
    )
    assert owner_of(services, open_case(services)) == (ids["ben"], ids["returns"])
    with services.session_factory() as session:
        rma = session.scalars(select(Rma).where(Rma.number == question)).one()
        assert routing.facts_of(session, rma).kind == "enquiry"
    monitor = monitor_of(services, clock)
    now = clock.now()
    with services.session_factory() as session:
        rma = session.scalars(select(Rma).where(Rma.number == question)).one()
        assert monitor.recipients(session, rma, "warning", now) == [("dee@desk.example", "en")]
        late = now.replace(hour=20)  # Dee is off: nobody of VIP on, the supervisors hear
        assert monitor.recipients(session, rma, "warning", late) == [("admin@all.example", "en")]


def test_the_desks_reopen_move_counts_in_the_owners_reopen_rate(desk: Any, clock: Any) -> None:
    """Worked figures: Ana and Ben (round-robin) own two enquiries each; all four resolved,
    Ana's first one reopened by the desk's move (and resolved again), so Ana's reopen rate is
    1 of 2 = 0.5 and Ben's 0 of 2; the team's 1 of 4 = 0.25."""
    services, ids = desk["services"], desk["ids"]
    services.desk_setup.add_rule(Rule(position=1, team_id=ids["returns"]))
    numbers = [open_enquiry(services) for _ in range(4)]
    assert [owner_of(services, n)[0] for n in numbers] == [ids["ana"], ids["ben"]] * 2
    cases = services.returns.cases
    for number in numbers:
        cases.move("ana@desk.example", number, "resolve")
    cases.move("ana@desk.example", numbers[0], "reopen", "the fan still rattles")
    cases.move("ana@desk.example", numbers[0], "resolve")
    period = Period(MONDAY_10.replace(hour=0), MONDAY_10.replace(hour=0) + timedelta(days=7))
    with services.session_factory() as session:
        people, teams = people_and_teams(session, period, clock.now())
    by_name = {figures.name: figures.reopened for figures in people}
    assert (by_name["Ana"].part, by_name["Ana"].whole, by_name["Ana"].value) == (1, 2, 0.5)
    assert (by_name["Ben"].part, by_name["Ben"].whole) == (0, 2)
    [team] = teams
    assert (team.reopened.part, team.reopened.whole, team.reopened.value) == (1, 4, 0.25)
