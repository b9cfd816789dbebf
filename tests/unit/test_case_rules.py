"""An enquiry's or a complaint's rules on the aggregate alone (no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from returns.errors import IllegalTransition, NotAReturn
from returns.policy import ReturnPolicy
from returns.rma import Rma
from returns.status import CaseKind, Channel, Priority, RefundStatus, RmaStatus

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
POLICY = ReturnPolicy()


def case(kind: CaseKind = CaseKind.ENQUIRY, status: RmaStatus = RmaStatus.OPEN) -> Rma:
    return Rma(
        number="RMA-20261123-0007",
        kind=kind,
        status=status,
        customer_name="Mia Chen",
        customer_email="mia@example.com",
        channel=Channel.EMAIL,
        priority=Priority.MEDIUM,
        currency="usd",
        refund_status=RefundStatus.NONE,
        refund_amount_minor=0,
        created_by="desk@x.example",
        created_at=NOW,
        updated_at=NOW,
    )


@pytest.mark.parametrize("kind", [CaseKind.ENQUIRY, CaseKind.COMPLAINT])
def test_no_return_step_applies_to_a_case(kind: CaseKind) -> None:
    enquiry = case(kind)
    with pytest.raises(NotAReturn) as refused:
        enquiry.authorise("desk@x.example", "", NOW, POLICY)
    assert refused.value.details == {
        "rma": "RMA-20261123-0007",
        "kind": kind.value,
        "step": "authorised",
    }
    for step in (
        lambda: enquiry.hold_refund("desk@x.example", "why", NOW),
        lambda: enquiry.release_refund("desk@x.example"),
        lambda: enquiry.expire(NOW),
        lambda: enquiry.move_to(RmaStatus.RECEIVED, "desk@x.example", "", NOW),
    ):
        with pytest.raises(NotAReturn):
            step()
    assert enquiry.status is RmaStatus.OPEN


def test_a_case_closes_only_once_resolved_with_its_follow_up_due() -> None:
    enquiry = case()
    with pytest.raises(IllegalTransition):
        enquiry.close("desk@x.example", "", NOW, POLICY, timedelta(days=2))
    enquiry.move_to(RmaStatus.RESOLVED, "desk@x.example", "Answered", NOW)
    enquiry.close("desk@x.example", "", NOW, POLICY, timedelta(days=2))
    assert (enquiry.status, enquiry.followup_due_at, enquiry.ended_at) == (
        RmaStatus.CLOSED,
        NOW + timedelta(days=2),
        NOW,
    )
    assert enquiry.can_move_to(RmaStatus.OPEN)  # reopen


def test_a_return_refuses_a_case_state() -> None:
    a_return = case(CaseKind.RETURN, RmaStatus.REQUESTED)
    with pytest.raises(IllegalTransition):
        a_return.move_to(RmaStatus.ANSWERED, "desk@x.example", "", NOW)
