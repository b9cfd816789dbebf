"""Enquiries and complaints beside returns, and follow-up calls, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from carriers.services import CarrierService
from core.errors import InvalidInput
from inventory.services import InventoryService
from returns.cases import ConvertComplaint, OpenCase
from returns.commands import AuthoriseRma, Customer, ReturnLine
from returns.errors import IllegalTransition, NotACase, NotAReturn
from returns.followups import FollowUp, FollowUpOutcome, FollowUpSettings, RecordCall
from returns.models import Notification
from returns.policy import ReturnPolicy
from returns.queries import RmaFilter, RmaQueries
from returns.queue_filter import QueueFilter
from returns.stages import Returns
from returns.status import (
    CaseKind,
    Channel,
    Priority,
    Reason,
    Resolution,
    RmaStatus,
    RootCause,
)
from tests.support import desk as builders

DESK = "desk@x.example"
MIA = Customer(name="Mia Chen", email="Mia@Example.com", phone="+44 20 7946 0000")
VIP = Customer(name="Wei Zhang", email="wei@example.com", phone="+86 755 0000", vip=True)
SETTINGS = FollowUpSettings.from_settings(
    {"FOLLOWUP_DAYS": {"complaint": {"urgent": 0.5, "medium": 2}, "enquiry": {"low": 10}}},
    3,
)


@pytest.fixture
def returns(stocked: InventoryService, session_factory: Any, clock: Any) -> Returns:
    carriers = CarrierService(session_factory, clock, {})
    return builders.wire_returns(
        session_factory,
        clock,
        ReturnPolicy(),
        carriers,
        None,
        default_return_carrier="",
        followups=SETTINGS,
    )


@pytest.fixture
def read(session_factory: Any, clock: Any) -> RmaQueries:
    return RmaQueries(session_factory, clock, ReturnPolicy())


def enquiry(returns: Returns, **fields: Any) -> Any:
    values = {
        "kind": CaseKind.ENQUIRY,
        "customer": MIA,
        "channel": Channel.EMAIL,
        "description": "Which fan fits the X200?",
        **fields,
    }
    return returns.cases.open(DESK, OpenCase(**values))


def complaint(returns: Returns, **fields: Any) -> Any:
    values = {"kind": CaseKind.COMPLAINT, "root_cause": RootCause.LATE_DELIVERY, **fields}
    return enquiry(returns, **values)


def a_return(returns: Returns, **fields: Any) -> Any:
    values = {
        "customer": {"name": "Ann Lee", "email": "ann@example.com"},
        "channel": Channel.PHONE,
        "reason": Reason.DEFECTIVE,
        "resolution": Resolution.REPAIR,
        "lines": [{"sku": "ABC-1", "qty": 1, "unit_price": "10"}],
        **fields,
    }
    return builders.open_rma(returns, DESK, **values)


def test_enquiries_complaints_and_returns_share_one_numbering_and_the_sla_clocks(
    returns, clock
) -> None:
    first = a_return(returns)
    question = enquiry(returns, priority=Priority.URGENT)
    grievance = complaint(returns, customer=VIP)
    assert [first.number, question.number, grievance.number] == [
        "RMA-20261123-0001",
        "RMA-20261123-0002",
        "RMA-20261123-0003",
    ]
    assert (question.kind, question.status, question.reason, question.resolution) == (
        CaseKind.ENQUIRY,
        RmaStatus.OPEN,
        None,
        None,
    )
    # The same targets as a return: urgent is answered within 1 hour, medium within 24 h
    # of the desk's working time (09:00-18:00 on weekdays), a VIP one step up.
    assert question.first_response_due_at == clock.now() + timedelta(hours=1)
    assert grievance.priority is Priority.HIGH
    assert grievance.first_response_due_at == clock.now() + timedelta(hours=4)
    assert grievance.root_cause is RootCause.LATE_DELIVERY
    assert [e.reason for e in grievance.timeline] == ["Opened via email"]


def test_a_complaint_needs_a_root_cause_and_an_enquiry_has_none(returns) -> None:
    with pytest.raises(InvalidInput) as refused:
        complaint(returns, root_cause=None)
    assert refused.value.field == "root_cause"
    with pytest.raises(InvalidInput):
        enquiry(returns, root_cause=RootCause.OTHER)
    with pytest.raises(InvalidInput):
        enquiry(returns, description="  ")


def test_a_case_goes_open_answered_waiting_resolved_closed_and_reopens(returns, clock) -> None:
    number = enquiry(returns).number
    clock.advance(timedelta(minutes=30))
    answered = returns.cases.move(DESK, number, "answer")
    assert answered.status is RmaStatus.ANSWERED
    assert answered.first_response_at == clock.now()  # the desk's first response
    assert returns.cases.move(DESK, number, "wait").status is RmaStatus.WAITING_FOR_CUSTOMER
    resolved = returns.cases.move(DESK, number, "resolve", "Sent the fan's datasheet")
    assert (resolved.status, resolved.resolved_at) == (RmaStatus.RESOLVED, clock.now())
    closed = returns.closing.close(DESK, number)
    assert closed.status is RmaStatus.CLOSED and closed.ended_at == clock.now()
    with pytest.raises(InvalidInput):
        returns.cases.move(DESK, number, "reopen")  # say why
    reopened = returns.cases.move(DESK, number, "reopen", "The customer called back")
    assert (reopened.status, reopened.resolved_at, reopened.ended_at) == (
        RmaStatus.OPEN,
        None,
        None,
    )
    assert reopened.followup_due_at is None
    statuses = [e.to_status for e in reopened.timeline if e.kind == "status"]
    assert statuses == [
        RmaStatus.OPEN,
        RmaStatus.ANSWERED,
        RmaStatus.WAITING_FOR_CUSTOMER,
        RmaStatus.RESOLVED,
        RmaStatus.CLOSED,
        RmaStatus.OPEN,
    ]


def test_a_case_cannot_close_before_it_is_resolved(returns) -> None:
    number = enquiry(returns).number
    with pytest.raises(IllegalTransition):
        returns.closing.close(DESK, number)


def test_no_return_step_applies_to_an_enquiry(returns) -> None:
    number = enquiry(returns).number
    with pytest.raises(NotAReturn) as refused:
        returns.authorisation.authorise(DESK, number, AuthoriseRma())
    assert refused.value.code == "not_a_return"
    assert "is an enquiry, not a return" in refused.value.message
    with pytest.raises(NotAReturn):
        returns.authorisation.reject(DESK, number, "no")
    with pytest.raises(NotAReturn):
        returns.refunds.release_by_supervisor(DESK, number, "pay", supervisor=True)
    with pytest.raises(NotAReturn):
        builders.receive(returns, DESK, number, lines=[{"sku": "ABC-1", "qty": 1}])
    assert returns.get(number).status is RmaStatus.OPEN


def test_case_moves_are_refused_on_a_return(returns) -> None:
    number = a_return(returns).number
    with pytest.raises(NotACase):
        returns.cases.move(DESK, number, "resolve")


def test_a_complaint_turns_into_a_linked_return_with_a_line_on_both_timelines(
    returns, read
) -> None:
    grievance = complaint(returns, customer=VIP, order_number="SO-77")
    converted = returns.cases.convert(
        DESK,
        grievance.number,
        ConvertComplaint(
            lines=(ReturnLine(sku="ABC-1", qty=1, unit_price=Decimal("12.50")),),
            reason=Reason.DEFECTIVE,
            resolution=Resolution.REPAIR,
        ),
    )
    assert converted.kind is CaseKind.RETURN and converted.status is RmaStatus.REQUESTED
    assert converted.origin_case_id == grievance.id
    assert (converted.customer_email, converted.order_number, converted.priority) == (
        "wei@example.com",
        "SO-77",
        Priority.HIGH,
    )
    assert f"Opened from complaint {grievance.number}" in [e.reason for e in converted.timeline]
    after = read.get(grievance.number)
    assert f"Turned into return {converted.number}" in [e.reason for e in after.timeline]
    with pytest.raises(InvalidInput) as refused:
        returns.cases.convert(
            DESK,
            enquiry(returns).number,
            ConvertComplaint(lines=(), reason=Reason.DEFECTIVE, resolution=Resolution.REPAIR),
        )
    assert refused.value.code == "not_a_complaint"


def test_the_returns_list_shows_returns_and_the_cases_list_its_kinds(returns, read) -> None:
    ret, question, grievance = a_return(returns), enquiry(returns), complaint(returns)
    assert [r.number for r in read.matching()] == [ret.number]
    both = RmaFilter(kinds=(CaseKind.ENQUIRY, CaseKind.COMPLAINT))
    assert [r.number for r in read.matching(both)] == [grievance.number, question.number]
    only = RmaFilter(kinds=(CaseKind.COMPLAINT,))
    assert [r.number for r in read.matching(only)] == [grievance.number]


def test_the_queue_filters_by_kind_state_priority_channel_and_searches(returns, read) -> None:
    ret = a_return(returns, order_number="SO-5521")
    question = enquiry(returns, priority=Priority.LOW, channel=Channel.CHAT)
    grievance = complaint(returns, customer=VIP, order_number="SO-9")
    returns.cases.move(DESK, question.number, "answer")

    def numbers(**wanted: Any) -> set[str]:
        return {row.number for row in read.desk_queue(QueueFilter(**wanted))}

    assert numbers() == {ret.number, question.number, grievance.number}
    assert numbers(kind=CaseKind.COMPLAINT) == {grievance.number}
    assert numbers(kind=CaseKind.RETURN) == {ret.number}
    assert numbers(status=RmaStatus.ANSWERED) == {question.number}
    assert numbers(priority=Priority.LOW) == {question.number}
    assert numbers(channel=Channel.CHAT) == {question.number}
    assert numbers(search="wei@EXAMPLE") == {grievance.number}
    assert numbers(search="ann lee") == {ret.number}
    assert numbers(search="so-5521") == {ret.number}
    assert numbers(search=question.number.lower()) == {question.number}
    assert numbers(search="%") == set()  # wildcards are taken literally
    assert numbers(search="nobody") == set()


def test_the_queue_puts_breaches_first_then_what_is_due_soonest(returns, read, clock) -> None:
    low = enquiry(returns, priority=Priority.LOW)  # first response due in 24 working hours
    clock.advance(timedelta(minutes=10))
    urgent = complaint(returns, priority=Priority.URGENT)  # due in 1 hour
    clock.advance(timedelta(minutes=10))
    high = enquiry(returns, priority=Priority.HIGH)  # due in 4 hours
    assert [r.number for r in read.desk_queue()] == [urgent.number, high.number, low.number]
    clock.advance(timedelta(hours=5))  # urgent and high are now breached; urgent the longer
    order = [r.number for r in read.desk_queue()]
    assert order == [urgent.number, high.number, low.number]
    # Answered, the urgent complaint's next target is its resolution (24 working hours from
    # 09:10 Monday: Wednesday 15:10), due after the low enquiry's first response (15:00).
    returns.cases.move(DESK, urgent.number, "answer")
    order = [r.number for r in read.desk_queue()]
    assert order == [high.number, low.number, urgent.number]


def test_follow_ups_fall_due_per_kind_and_priority_after_closing(returns, clock) -> None:
    def closed(number: str) -> Any:
        returns.cases.move(DESK, number, "resolve")
        return returns.closing.close(DESK, number)

    now = clock.now()
    assert closed(enquiry(returns, priority=Priority.LOW).number).followup_due_at == now + (
        timedelta(days=10)
    )
    assert closed(enquiry(returns).number).followup_due_at == now + timedelta(days=3)
    assert closed(
        complaint(returns, priority=Priority.URGENT).number
    ).followup_due_at == now + timedelta(hours=12)
    assert closed(complaint(returns).number).followup_due_at == now + timedelta(days=2)
    assert [row.due_at for row in returns.followups.queue()] == [
        now + timedelta(hours=12),
        now + timedelta(days=2),
        now + timedelta(days=3),
        now + timedelta(days=10),
    ]


def test_a_call_nobody_answers_stays_due_and_a_reached_one_completes(returns, clock) -> None:
    number = enquiry(returns).number
    returns.cases.move(DESK, number, "resolve")
    returns.closing.close(DESK, number)
    [due] = returns.followups.queue()
    with pytest.raises(InvalidInput):
        returns.followups.record(DESK, due.id, RecordCall(FollowUpOutcome.REACHED))  # no score
    again = returns.followups.record(DESK, due.id, RecordCall(FollowUpOutcome.NO_ANSWER))
    assert (again.attempts, again.due_at) == (1, clock.now() + timedelta(hours=24))
    done = returns.followups.record(
        DESK, due.id, RecordCall(FollowUpOutcome.REACHED, 4, "Fan fitted fine")
    )
    assert (done.status.value, done.satisfaction, done.attempts) == ("done", 4, 2)
    detail = returns.get(number)
    assert (detail.satisfaction, detail.followup_due_at) == (4, None)
    assert "Follow-up call 1: reached, satisfaction 4/5: Fan fitted fine" in [
        e.reason for e in detail.timeline
    ]
    assert returns.followups.queue() == []
    with pytest.raises(InvalidInput):
        returns.followups.record(DESK, due.id, RecordCall(FollowUpOutcome.DECLINED))


def test_a_vip_reached_is_followed_up_again_after_the_interval(returns, clock) -> None:
    number = complaint(returns, customer=VIP).number
    returns.cases.move(DESK, number, "resolve")
    returns.closing.close(DESK, number)
    [first] = returns.followups.queue()
    returns.followups.record(DESK, first.id, RecordCall(FollowUpOutcome.REACHED, 5))
    [repeat] = returns.followups.queue()
    assert (repeat.round, repeat.due_at) == (2, clock.now() + timedelta(days=30))
    returns.followups.record(DESK, repeat.id, RecordCall(FollowUpOutcome.REACHED, 3))
    assert returns.followups.queue() == []  # only one repeat
    assert returns.get(number).satisfaction == 5  # the first call's score stays the case's


def test_an_overdue_follow_up_is_reminded_once(returns, clock, session_factory) -> None:
    number = enquiry(returns).number
    returns.cases.move(DESK, number, "resolve")
    returns.closing.close(DESK, number)
    assert returns.followups.remind_overdue() == 0  # not due yet
    clock.advance(timedelta(days=3, minutes=1))
    assert returns.followups.remind_overdue() == 1
    assert returns.followups.remind_overdue() == 0
    clock.advance(timedelta(days=2))
    assert returns.followups.remind_overdue() == 0
    with session_factory() as session:
        [alert] = session.scalars(
            select(Notification).where(Notification.kind == "followup_overdue")
        ).all()
        assert alert.message.startswith(f"{number}: the follow-up call to Mia Chen was due")
        assert session.scalars(select(FollowUp)).one().reminded_at is not None


def test_reopening_cancels_the_follow_up_still_due(returns) -> None:
    number = complaint(returns).number
    returns.cases.move(DESK, number, "resolve")
    returns.closing.close(DESK, number)
    returns.cases.move(DESK, number, "reopen", "Still late")
    assert returns.followups.queue() == []


def test_a_return_closed_gets_its_follow_up_call_too(returns, clock) -> None:
    # Returns keep RETURNS_FOLLOWUP_DAYS (3) for every priority unless FOLLOWUP_DAYS says.
    assert SETTINGS.due_after(CaseKind.RETURN, Priority.URGENT) == timedelta(days=3)
    assert SETTINGS.due_after(CaseKind.COMPLAINT, Priority.LOW) == timedelta(days=3)
    with pytest.raises(ValueError):
        FollowUpSettings.from_settings({"FOLLOWUP_DAYS": {"refund": {}}}, 3)
    with pytest.raises(ValueError):
        FollowUpSettings.from_settings({"FOLLOWUP_DAYS": {"enquiry": {"soon": 1}}}, 3)
