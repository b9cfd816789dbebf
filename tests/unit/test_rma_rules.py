"""The RMA aggregate's rules, run on plain objects: no database, no session, milliseconds."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from core.errors import InvalidInput
from returns.errors import IllegalTransition
from returns.policy import ReturnPolicy
from returns.rma import SYSTEM, Replacement, Rma, RmaLine, check_return_policy, months_later
from returns.rma_texts import NO_PROVIDER
from returns.status import (
    Channel,
    Priority,
    Reason,
    RefundStatus,
    ReplacementStatus,
    Resolution,
    RmaStatus,
)

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
POLICY = ReturnPolicy(auto_refund_limit_minor=20_000, customer_refund_limit_minor=30_000)


def rma(
    *,
    status: RmaStatus = RmaStatus.REQUESTED,
    resolution: Resolution = Resolution.REFUND,
    payment_reference: str | None = "pi_1",
    reason: Reason = Reason.DEFECTIVE,
    lines: tuple[tuple[int, str], ...] = ((2, "24.99"),),
    email: str = "mia@example.com",
    refund_status: RefundStatus = RefundStatus.NONE,
    refund_amount_minor: int = 0,
) -> Rma:
    return Rma(
        number="RMA-20261123-0001",
        status=status,
        customer_name="Mia Chen",
        customer_email=email,
        channel=Channel.EMAIL,
        reason=reason,
        resolution=resolution,
        priority=Priority.MEDIUM,
        payment_reference=payment_reference,
        currency="usd",
        refund_status=refund_status,
        refund_amount_minor=refund_amount_minor,
        created_by="desk@x.example",
        created_at=NOW,
        updated_at=NOW,
        lines=[
            RmaLine(sku=f"P-{i}", qty=qty, unit_price=Decimal(price), received_qty=0)
            for i, (qty, price) in enumerate(lines)
        ],
    )


# --- what is owed ------------------------------------------------------------------------


def test_refunds_and_paid_exchanges_owe_a_refund_free_replacements_and_repairs_do_not() -> None:
    assert rma(resolution=Resolution.REFUND).owes_refund
    assert rma(resolution=Resolution.REPLACEMENT, payment_reference="pi_9").owes_refund
    assert not rma(resolution=Resolution.REPLACEMENT, payment_reference=None).owes_refund
    assert not rma(resolution=Resolution.REPAIR).owes_refund


def test_the_refund_is_what_was_paid_less_the_reasons_restocking_fee() -> None:
    policy = ReturnPolicy(restocking_fee_percent={Reason.NO_LONGER_NEEDED: Decimal("15")})
    assert rma(lines=((2, "24.99"), (1, "10.00"))).refund_amount(policy) == 5998
    unwanted = rma(reason=Reason.NO_LONGER_NEEDED, lines=((1, "100.00"),))
    assert unwanted.refund_amount(policy) == 8500
    assert rma(lines=((3, "0.335"),)).refund_amount(policy) == 100  # 1.005 rounds half even


def test_auto_authorisation_needs_a_limit_no_override_no_flag_and_a_value_within_it() -> None:
    policy = ReturnPolicy(auto_authorise_limit_minor=5_000, flagged_customers=frozenset({"x@y.z"}))
    assert rma(lines=((2, "24.99"),)).auto_authorisable(policy)
    assert not rma(lines=((3, "24.99"),)).auto_authorisable(policy)
    assert not rma(email="x@y.z").auto_authorisable(policy)
    overridden = rma()
    overridden.policy_override_reason = "key account"
    assert not overridden.auto_authorisable(policy)
    assert not rma().auto_authorisable(ReturnPolicy(auto_authorise_limit_minor=0))


# --- the refund decision -----------------------------------------------------------------


def due(amount: int, email: str = "mia@example.com") -> Rma:
    return rma(
        status=RmaStatus.PICKED_UP,
        refund_status=RefundStatus.AWAITING_PICKUP,
        refund_amount_minor=amount,
        email=email,
    )


def test_a_refund_within_every_limit_is_released() -> None:
    decision = due(5_000).refund_decision(POLICY, earlier_refunds_minor=0, provider_configured=True)
    assert decision.release and decision.hold_reason is None


def test_without_a_provider_every_refund_is_held_even_a_supervisors() -> None:
    for supervisor in (False, True):
        decision = due(100).refund_decision(
            POLICY, earlier_refunds_minor=0, provider_configured=False, by_supervisor=supervisor
        )
        assert decision.hold_reason == NO_PROVIDER


def test_a_flagged_customer_a_large_refund_and_a_customer_over_their_limit_are_held() -> None:
    flagged = ReturnPolicy(flagged_customers=frozenset({"mia@example.com"}))
    assert "flagged" in str(
        due(100)
        .refund_decision(flagged, earlier_refunds_minor=0, provider_configured=True)
        .hold_reason
    )
    large = due(20_001).refund_decision(POLICY, earlier_refunds_minor=0, provider_configured=True)
    assert large.hold_reason == "200.01 USD is above the automatic limit"
    at_limit = due(20_000).refund_decision(
        POLICY, earlier_refunds_minor=10_000, provider_configured=True
    )
    assert at_limit.release  # 30,000 is the limit, not over it
    over = due(20_000).refund_decision(
        POLICY, earlier_refunds_minor=10_001, provider_configured=True
    )
    assert over.hold_reason == (
        "the customer's refunds over 30 days would pass the automatic limit"
    )


def test_a_supervisor_passes_the_automatic_limits() -> None:
    decision = due(99_999).refund_decision(
        POLICY, earlier_refunds_minor=99_999, provider_configured=True, by_supervisor=True
    )
    assert decision.release


def test_a_held_refund_names_who_held_it_and_a_release_clears_the_hold() -> None:
    refund = due(100)
    entry = refund.hold_refund("wh@x.example", "parcel booked in by hand", NOW)
    assert (refund.refund_status, refund.refund_held_by) == (RefundStatus.HELD, "wh@x.example")
    assert entry.kind == "refund" and "parcel booked in by hand" in entry.reason
    refund.release_refund("boss@x.example")
    assert (refund.refund_status, refund.refund_hold_reason, refund.refund_released_by) == (
        RefundStatus.PENDING,
        None,
        "boss@x.example",
    )


def test_a_refund_already_on_its_way_cannot_be_released_twice() -> None:
    refund = due(100)
    refund.release_refund(SYSTEM)
    with pytest.raises(IllegalTransition):
        refund.release_refund(SYSTEM)


def test_a_made_refund_resolves_the_request_once() -> None:
    refund = due(100)
    refund.release_refund(SYSTEM)
    refund.refund_made("re_1", NOW)
    refund.refund_made("re_1", NOW + timedelta(hours=1))
    assert (refund.refund_status, refund.refund_released_at, refund.resolved_at) == (
        RefundStatus.RELEASED,
        NOW + timedelta(hours=1),
        NOW,
    )


# --- states and the timeline -------------------------------------------------------------


def test_a_move_outside_the_table_is_refused_and_changes_nothing() -> None:
    requested = rma()
    with pytest.raises(IllegalTransition):
        requested.move_to(RmaStatus.RECEIVED, "wh@x.example", "", NOW)
    assert requested.status is RmaStatus.REQUESTED


def test_a_move_is_on_the_timeline_and_the_first_agent_action_is_the_first_response() -> None:
    requested = rma()
    entry = requested.move_to(RmaStatus.AUTHORISED, "desk@x.example", "ok", NOW)
    assert (entry.from_status, entry.to_status, entry.actor, entry.at) == (
        RmaStatus.REQUESTED,
        RmaStatus.AUTHORISED,
        "desk@x.example",
        NOW,
    )
    assert requested.first_response_at == NOW == requested.updated_at


def test_spareflows_own_moves_are_not_a_response_to_the_customer() -> None:
    requested = rma()
    requested.move_to(RmaStatus.AUTHORISED, SYSTEM, "automatic", NOW)
    assert requested.first_response_at is None


def test_authorising_sets_the_deadline_and_makes_the_refund_wait_for_the_pickup() -> None:
    refund, repair = rma(), rma(resolution=Resolution.REPAIR)
    for each in (refund, repair):
        each.authorise("desk@x.example", "", NOW, POLICY)
        assert each.expires_at == NOW + timedelta(days=POLICY.authorisation_days)
    assert refund.refund_status is RefundStatus.AWAITING_PICKUP
    assert repair.refund_status is RefundStatus.NONE


def test_rejecting_or_cancelling_needs_a_reason_and_drops_an_unreleased_refund() -> None:
    with pytest.raises(InvalidInput):
        rma().end(RmaStatus.REJECTED, "desk@x.example", "  ", NOW)
    waiting = rma(status=RmaStatus.AUTHORISED, refund_status=RefundStatus.AWAITING_PICKUP)
    waiting.end(RmaStatus.CANCELLED, "desk@x.example", "customer changed their mind", NOW)
    assert (waiting.status, waiting.refund_status, waiting.ended_at, waiting.resolved_at) == (
        RmaStatus.CANCELLED,
        RefundStatus.NONE,
        NOW,
        NOW,
    )


def test_expiry_flags_a_refund_made_by_hand_and_a_replacement_already_out() -> None:
    quiet = rma(status=RmaStatus.AUTHORISED, refund_status=RefundStatus.AWAITING_PICKUP)
    assert [e.to_status for e in quiet.expire(NOW)] == [RmaStatus.EXPIRED]
    assert quiet.refund_status is RefundStatus.NONE and quiet.needs_recovery is None

    exchanged = rma(status=RmaStatus.AWAITING_PICKUP, refund_status=RefundStatus.RELEASED)
    exchanged.replacements = [
        Replacement(sku="P-0", qty=1, status=ReplacementStatus.SHIPPED, queued_at=NOW)
    ]
    kinds = [e.kind for e in exchanged.expire(NOW)]
    assert kinds == ["status", "refund", "replacement"]
    assert exchanged.needs_recovery and exchanged.needs_chase


def test_a_follow_up_needs_a_closed_rma() -> None:
    closed = rma(status=RmaStatus.INSPECTED)
    with pytest.raises(IllegalTransition):
        closed.record_followup("desk@x.example", 5, "", True, NOW)
    closed.close("desk@x.example", "", NOW, POLICY)
    assert closed.followup_due_at == NOW + timedelta(days=POLICY.followup_days)
    entry = closed.record_followup("desk@x.example", 4, "quick", True, NOW)
    assert (closed.satisfaction, closed.followup_due_at, entry.reason) == (
        4,
        None,
        "Satisfaction 4/5",
    )


# --- intake policy -----------------------------------------------------------------------


def test_the_same_day_months_later_or_the_months_last_day() -> None:
    assert months_later(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert months_later(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert months_later(date(2026, 11, 30), 3) == date(2027, 2, 28)


def test_a_defect_is_judged_by_the_parts_warranty_and_anything_else_by_the_window() -> None:
    policy = ReturnPolicy(return_window_days=30, warranty_months={"psu-65": 24})
    today = date(2026, 11, 23)
    check_return_policy(policy, date(2025, 1, 1), Reason.DEFECTIVE, ["PSU-65"], today)
    with pytest.raises(InvalidInput) as expired:
        check_return_policy(policy, date(2025, 1, 1), Reason.DEFECTIVE, ["FAN-1"], today)
    assert expired.value.code == "warranty_expired"
    with pytest.raises(InvalidInput) as window:
        check_return_policy(policy, date(2026, 10, 23), Reason.NO_LONGER_NEEDED, [], today)
    assert window.value.code == "return_window_expired"
    check_return_policy(policy, date(2026, 10, 24), Reason.NO_LONGER_NEEDED, [], today)
