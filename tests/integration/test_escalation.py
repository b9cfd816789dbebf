"""Response targets watched by the scheduler: warnings, breaches, e-mails, out-of-hours replies."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from inventory.status import LocationKind
from returns.escalation import ServiceLevelMonitor
from returns.models import Notification
from returns.queries import rma_detail
from returns.rma import Rma
from returns.service_levels import ServiceLevels
from returns.status import Channel, Priority
from returns.views import RmaDetail
from tests.integration.test_customer_messages import build_desk, drain, open_rma, text_of

STAFF = {
    "service_desk": [("desk@shop.example", "en")],
    "admin": [("boss@shop.example", "en"), ("laoban@shop.example", "zh_Hans")],
}
MONDAY_9 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture
def desk(
    stocked: Any,
    session_factory: Any,
    clock: Any,
    refunds_sandbox: Any,
    carrier_sandbox: str,
    smtp_sink: Any,
) -> Iterator[dict[str, Any]]:
    stocked.create_location(code="MAIN/RETURNS", kind=LocationKind.RETURNS)
    with httpx.Client(timeout=10) as http:
        desk = build_desk(
            session_factory, clock, carrier_sandbox, refunds_sandbox[0], smtp_sink.port, http
        )
        levels = ServiceLevels()  # office hours Mon-Fri 09:00-18:00 UTC, the default targets
        desk["monitor"] = ServiceLevelMonitor(
            session_factory,
            clock,
            levels,
            desk["returns"].ctx.messages,
            lambda session, role: STAFF[role],
            lambda number: f"https://returns.example.com/returns/{number}",
        )
        yield desk


def rma_row(session_factory: Any, number: str) -> Rma:
    with session_factory() as session:
        return session.scalars(select(Rma).where(Rma.number == number)).one()


def rma_detail_of(session_factory: Any, number: str) -> RmaDetail:
    with session_factory() as session:
        return rma_detail(session, number, date(2026, 11, 23))


def notifications(session_factory: Any) -> list[tuple[str, str]]:
    with session_factory() as session:
        rows = session.scalars(select(Notification).order_by(Notification.id)).all()
        return [(n.kind, n.audience) for n in rows]


def test_deadlines_are_set_at_intake_in_desk_hours(desk, clock, session_factory) -> None:
    clock.set(datetime(2026, 11, 27, 17, 30, tzinfo=UTC))  # Friday 17:30
    number = open_rma(desk, priority=Priority.HIGH, channel=Channel.PHONE)
    rma = rma_row(session_factory, number)
    # High: 4 working hours -> 30 min on Friday + 3 h 30 on Monday = Monday 12:30.
    assert rma.first_response_due_at == datetime(2026, 11, 30, 12, 30, tzinfo=UTC)
    # Resolution 72 working hours: Friday 0.5 h + 7 full days of 9 h (63 h) + 8.5 h
    # -> Mon 30 Nov .. Tue 8 Dec full, then Wed 9 Dec 17:30.
    assert rma.resolution_due_at == datetime(2026, 12, 9, 17, 30, tzinfo=UTC)


def test_the_desk_is_warned_then_supervisors_get_the_breach_once(
    desk, clock, smtp_sink, session_factory
) -> None:
    clock.set(MONDAY_9)
    number = open_rma(desk, priority=Priority.URGENT)  # first response within 1 hour
    monitor = desk["monitor"]
    clock.advance(timedelta(minutes=44))
    assert monitor.check() == 0  # warned at 75 % = 45 min
    clock.advance(timedelta(minutes=1))
    assert monitor.check() == 1
    assert monitor.check() == 0  # once
    assert notifications(session_factory) == [("first_response_warning", "desk")]
    clock.advance(timedelta(minutes=15))  # 10:00: due now
    assert monitor.check() == 1
    assert monitor.check() == 0
    assert notifications(session_factory) == [
        ("first_response_warning", "desk"),
        ("first_response_breach", "supervisors"),
    ]
    rma = rma_row(session_factory, number)
    assert rma.response_escalated_at == datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    timeline = rma_detail_of(session_factory, number).timeline
    assert [t.reason for t in timeline if t.kind == "sla"][-1].startswith(
        f"{number} missed its first response target"
    )
    drain(desk, clock)

    by_recipient = {str(m["To"]): m for m in smtp_sink.messages}
    assert set(by_recipient) == {"desk@shop.example", "boss@shop.example", "laoban@shop.example"}
    warning = by_recipient["desk@shop.example"]
    assert (
        warning["Subject"].strip()
        == f"[spareflow] {number}: first response due 2026-11-23 10:00 UTC"
    )
    assert "15 min left" in text_of(warning)
    assert f"https://returns.example.com/returns/{number}" in text_of(warning)
    breach = by_recipient["boss@shop.example"]
    assert "BREACH" in breach["Subject"] and "Escalated to supervisors" in text_of(breach)
    assert "首次响应" in str(by_recipient["laoban@shop.example"]["Subject"])


def test_an_agent_acting_in_time_stops_the_clock(desk, clock, session_factory) -> None:
    clock.set(MONDAY_9)
    number = open_rma(desk, priority=Priority.URGENT)
    clock.advance(timedelta(minutes=20))
    desk["returns"].closing.reply(
        "desk@shop.example", number, "We are on it: a replacement is ready."
    )
    assert rma_row(session_factory, number).first_response_at == MONDAY_9 + timedelta(minutes=20)
    clock.advance(timedelta(hours=2))
    assert desk["monitor"].check() == 0
    assert notifications(session_factory) == []


def test_an_automatic_step_is_not_an_agents_response(desk, clock, session_factory) -> None:
    clock.set(MONDAY_9)
    number = open_rma(desk, priority=Priority.URGENT)
    # A carrier scan or a system note is not an answer to the customer.
    desk["returns"].authorisation.remind_expiring()
    assert rma_row(session_factory, number).first_response_at is None


def test_two_monitors_at_once_raise_each_warning_once(desk, clock, session_factory) -> None:
    clock.set(MONDAY_9)
    for _ in range(3):
        open_rma(desk, priority=Priority.URGENT)
    clock.advance(timedelta(hours=1))
    second = ServiceLevelMonitor(
        session_factory, clock, ServiceLevels(), None, lambda s, r: [], lambda n: n
    )
    assert desk["monitor"].check() + second.check() == 3
    assert sorted(notifications(session_factory)) == [("first_response_breach", "supervisors")] * 3


def test_a_request_out_of_hours_gets_an_automatic_acknowledgement(
    desk, clock, smtp_sink, session_factory
) -> None:
    clock.set(datetime(2026, 11, 28, 22, 15, tzinfo=UTC))  # Saturday night
    number = open_rma(desk, priority=Priority.MEDIUM)
    drain(desk, clock)
    [ack] = smtp_sink.messages
    assert ack["Subject"] == f"We have your return request {number}"
    # Medium: 24 working hours from Monday 09:00 = Wednesday 15:00.
    assert "will answer by 2026-12-02 15:00 UTC at the latest" in text_of(ack)
    rma = rma_row(session_factory, number)
    assert rma.acknowledged_at is not None
    assert rma.first_response_at is None  # an acknowledgement is not the answer


def test_no_acknowledgement_in_office_hours(desk, clock, smtp_sink) -> None:
    clock.set(MONDAY_9 + timedelta(hours=3))
    open_rma(desk)
    drain(desk, clock)
    assert smtp_sink.messages == []
