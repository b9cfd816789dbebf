"""The desk queue's order (returns/queries.py ``by_urgency``): cases needing action first
(breached service levels, then whatever is due soonest), then priority (issue #20; before it
the queue put priority first)."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from returns.queries import by_urgency
from returns.service_levels import SlaClock
from returns.status import (
    PRIORITY_ORDER,
    CaseKind,
    Channel,
    Priority,
    RefundStatus,
    Resolution,
    RmaStatus,
)
from returns.views import DeskQueueRow

OPENED = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
MET = SlaClock("", None, None, "met")


def clock(minutes_left: int) -> SlaClock:
    level = "breached" if minutes_left <= 0 else "ok"
    return SlaClock("first_response", OPENED, timedelta(minutes=minutes_left), level)


def row(id: int, priority: Priority, sla: SlaClock = MET, opened_minutes: int = 0) -> DeskQueueRow:
    return DeskQueueRow(
        id=id,
        number=f"RMA-20261123-{id:04d}",
        kind=CaseKind.RETURN,
        status=RmaStatus.REQUESTED,
        priority=priority,
        channel=Channel.EMAIL,
        customer_name="Mia Chen",
        vip=False,
        resolution=Resolution.REFUND,
        refund_status=RefundStatus.NONE,
        created_at=OPENED + timedelta(minutes=opened_minutes),
        backordered=False,
        clock=sla,
    )


def ids(rows: list[DeskQueueRow]) -> list[int]:
    return [r.id for r in rows]


def needs_action_order(rows: list[DeskQueueRow]) -> list[DeskQueueRow]:
    """The rule written out: a stable sort of the newest-first list on this key."""
    rank = {priority: index for index, priority in enumerate(reversed(PRIORITY_ORDER))}
    never = timedelta(days=36500)

    def urgency(rma: Any) -> tuple[Any, ...]:
        left = rma.clock.left
        breached = rma.clock.level == "breached"
        return (not breached, left if left is not None else never, rank[rma.priority])

    ordered = sorted(sorted(rows, key=lambda r: r.id, reverse=True), key=lambda r: r.created_at)
    return sorted(ordered, key=urgency)


def test_breaches_come_first_whatever_the_priority_then_what_is_due_soonest() -> None:
    rows = [
        row(1, Priority.LOW, clock(-600)),
        row(2, Priority.MEDIUM, clock(-60)),
        row(3, Priority.HIGH, MET),
        row(4, Priority.URGENT, clock(600)),
    ]
    assert ids(by_urgency(rows)) == [1, 2, 4, 3]


def test_with_the_same_time_left_the_higher_priority_comes_first() -> None:
    rows = [row(1, Priority.LOW, clock(30)), row(2, Priority.URGENT, clock(30))]
    assert ids(by_urgency(rows)) == [2, 1]


def test_within_a_priority_what_runs_out_first_comes_first_breaches_at_the_top() -> None:
    rows = [
        row(1, Priority.HIGH, clock(120)),
        row(2, Priority.HIGH, clock(-5)),
        row(3, Priority.HIGH, clock(15)),
        row(4, Priority.HIGH, clock(-90)),
    ]
    assert ids(by_urgency(rows)) == [4, 2, 3, 1]


def test_an_rma_whose_targets_are_met_goes_after_every_running_clock() -> None:
    rows = [row(1, Priority.MEDIUM, MET), row(2, Priority.MEDIUM, clock(60 * 24 * 365))]
    assert ids(by_urgency(rows)) == [2, 1]


def test_with_the_same_time_left_the_oldest_comes_first() -> None:
    rows = [
        row(1, Priority.MEDIUM, clock(30), opened_minutes=20),
        row(2, Priority.MEDIUM, clock(30), opened_minutes=5),
        row(3, Priority.MEDIUM, MET, opened_minutes=10),
        row(4, Priority.MEDIUM, MET, opened_minutes=1),
    ]
    assert ids(by_urgency(rows)) == [2, 1, 4, 3]


def test_rmas_equal_in_everything_keep_the_newest_first() -> None:
    rows = [row(n, Priority.LOW, clock(30)) for n in (3, 9, 5)]
    assert ids(by_urgency(rows)) == [9, 5, 3]


def test_the_order_is_the_rule_written_out() -> None:
    choices = [
        *itertools.product(Priority, [MET, clock(-30), clock(0), clock(30), clock(600)], [0, 1, 2])
    ] * 2  # each twice: ties in everything but the id
    rows = [
        row(index, priority, sla, opened)
        for index, (priority, sla, opened) in enumerate(choices, start=1)
    ]
    for seed in range(5):
        shuffled = random.Random(seed).sample(rows, len(rows))
        assert ids(by_urgency(shuffled)) == ids(needs_action_order(shuffled))
