# ruff: noqa: F811 (the desk and sandbox fixtures come from the label tests)
"""The desk's hand on a failed prepaid label (returns/label_desk.py), against the sandbox
carrier over loopback HTTP: the alert says what to do, a supervisor approves a dearer label,
the desk tries a label again, and an unreachable provider is given up on with one alert."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from core.audit import AuditEntry
from core.errors import Conflict, InvalidInput
from core.outbox import MAX_ATTEMPTS, OutboxMessage, OutboxStatus
from returns.context import LabelSettings
from returns.models import Notification
from returns.status import RmaStatus
from tests.integration.test_return_labels import (  # noqa: F401
    labelled,
    labels_for,
    outbox_row,
    rma_row,
    sandbox,
)
from tests.integration.test_returns import desk  # noqa: F401

DESK = "desk@x.example"
BOSS = "boss@x.example"


def alerts(session_factory: Any, *, unread: bool = False) -> list[Notification]:
    with session_factory() as session:
        query = select(Notification).where(Notification.kind == "label_failed")
        if unread:
            query = query.where(Notification.read_at.is_(None))
        return list(session.scalars(query.order_by(Notification.id)))


def above_ceiling(desk: dict[str, Any]) -> str:
    """An RMA whose label was refused: the sandbox's cheapest rate (6.50) is above 5.00."""
    desk["returns"].ctx.labels = LabelSettings(ceiling_minor=500)
    return labelled(desk)


def test_the_alert_names_the_cheapest_quote_and_the_ceiling(desk, sandbox, session_factory):
    number = above_ceiling(desk)
    [alert] = alerts(session_factory)
    assert alert.message == (
        f"{number}: Return label failed: the cheapest label costs 6.50 USD, above the "
        "5.00 USD ceiling: a supervisor can approve it on the RMA page. The customer has no "
        "return instructions yet."
    )
    failure = desk["returns"].label_desk.failure(number)
    assert failure is not None
    assert (failure.code, failure.cheapest_minor, failure.ceiling_minor, failure.currency) == (
        "above_ceiling",
        650,
        500,
        "USD",
    )


def test_a_supervisor_approves_a_dearer_label_which_is_bought_once(desk, sandbox, session_factory):
    number = above_ceiling(desk)
    view = desk["returns"].label_desk.approve_dearer_label(
        BOSS, number, 1500, "Customer waited long enough", supervisor=True
    )
    assert view.timeline[-1].reason == (
        "Prepaid return label up to 15.00 USD approved: Customer waited long enough"
    )
    assert view.timeline[-1].actor == BOSS
    assert alerts(session_factory, unread=True) == []  # the desk acted on it
    desk["worker"].drain()
    desk["worker"].drain()
    [label] = labels_for(sandbox, number)
    assert label["key"] == f"return-label:{number}:2"
    rma = rma_row(session_factory, number)
    assert rma.status is RmaStatus.AWAITING_PICKUP
    assert rma.return_label_cost_minor == 650  # the cheapest rate, now allowed
    message = outbox_row(session_factory, f"return-label:{number}:2")
    assert (message.status, message.payload["ceiling_minor"]) == (OutboxStatus.DONE, 1500)
    with session_factory() as session:
        [entry] = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "return_label.dearer_approved")
        ).all()
    assert (entry.actor, entry.target, entry.reason) == (
        BOSS,
        number,
        "Customer waited long enough",
    )
    assert entry.details == {
        "ceiling_minor": 1500,
        "cheapest_minor": 650,
        "default_ceiling_minor": 500,
        "currency": "USD",
    }
    # Approved once: nothing failed is left to approve.
    with pytest.raises(Conflict) as again:
        desk["returns"].label_desk.approve_dearer_label(BOSS, number, 1500, "x", supervisor=True)
    assert again.value.code == "label_not_failed"


def test_only_a_supervisor_approves_with_a_reason_and_at_least_the_cheapest(
    desk, sandbox, session_factory
):
    number = above_ceiling(desk)
    label_desk = desk["returns"].label_desk
    with pytest.raises(Conflict) as not_boss:
        label_desk.approve_dearer_label(DESK, number, 1500, "please", supervisor=False)
    assert not_boss.value.code == "supervisor_required"
    with pytest.raises(InvalidInput) as no_reason:
        label_desk.approve_dearer_label(BOSS, number, 1500, "  ", supervisor=True)
    assert no_reason.value.field == "reason"
    with pytest.raises(InvalidInput) as too_low:
        label_desk.approve_dearer_label(BOSS, number, 649, "cheap", supervisor=True)
    assert (too_low.value.field, too_low.value.code) == ("ceiling_minor", "below_cheapest")
    assert "6.50 USD" in too_low.value.message
    with session_factory() as session:
        keys = session.scalars(select(OutboxMessage.key)).all()
        audited = session.scalars(select(AuditEntry.action)).all()
    assert keys == [f"return-label:{number}"]
    assert "return_label.dearer_approved" not in audited


def test_a_refused_label_is_tried_again_under_a_new_key(desk, sandbox, session_factory):
    sandbox.post("/v1/sandbox/faults", json={"refuse": 1}).raise_for_status()
    number = labelled(desk)
    [alert] = alerts(session_factory)
    assert "refuses this address" in alert.message
    assert "try the label again on the RMA page" in alert.message
    failure = desk["returns"].label_desk.failure(number)
    assert failure is not None and failure.code != "above_ceiling"
    with pytest.raises(Conflict) as not_price:
        desk["returns"].label_desk.approve_dearer_label(BOSS, number, 9999, "x", supervisor=True)
    assert not_price.value.code == "label_not_above_ceiling"
    view = desk["returns"].label_desk.retry_label(DESK, number)
    assert view.timeline[-1].reason == "Prepaid return label tried again"
    desk["worker"].drain()
    [label] = labels_for(sandbox, number)
    assert label["key"] == f"return-label:{number}:2"
    assert rma_row(session_factory, number).status is RmaStatus.AWAITING_PICKUP
    assert desk["returns"].label_desk.failure(number) is None
    with pytest.raises(Conflict):
        desk["returns"].label_desk.retry_label(DESK, number)


def test_an_unreachable_provider_is_retried_with_backoff_then_the_desk_is_alerted_once(
    desk, sandbox, session_factory, clock
):
    sandbox.post("/v1/sandbox/faults", json={"unavailable": MAX_ATTEMPTS}).raise_for_status()
    number = labelled(desk)
    key = f"return-label:{number}"
    waits = []
    for _ in range(MAX_ATTEMPTS - 1):
        message = outbox_row(session_factory, key)
        assert message.status is OutboxStatus.PENDING
        waits.append(message.next_attempt_at - clock.now())
        clock.advance(waits[-1])
        desk["worker"].drain()
    assert waits[:3] == [timedelta(seconds=5), timedelta(seconds=10), timedelta(seconds=20)]
    assert waits[-1] == timedelta(hours=1)  # the cap
    message = outbox_row(session_factory, key)
    assert (message.status, message.attempts) == (OutboxStatus.FAILED, MAX_ATTEMPTS)
    [alert] = alerts(session_factory)
    assert f"did not answer after {MAX_ATTEMPTS} attempts" in alert.message
    clock.advance(timedelta(hours=2))
    desk["worker"].drain()
    assert len(alerts(session_factory)) == 1
    # Back again: the same purchase, under the same key, looking for a lost label first.
    desk["returns"].label_desk.retry_label(DESK, number)
    desk["worker"].drain()
    assert [label["key"] for label in labels_for(sandbox, number)] == [key]
    assert rma_row(session_factory, number).status is RmaStatus.AWAITING_PICKUP
    assert alerts(session_factory, unread=True) == []
