"""The RMA state machine's table, checked as data."""

from __future__ import annotations

import itertools

from returns.status import OPEN, PRIORITY_ORDER, TRANSITIONS, Priority, RmaStatus, raised

S = RmaStatus


def test_every_state_has_a_row_and_every_target_is_a_state() -> None:
    assert set(TRANSITIONS) == set(RmaStatus)
    assert all(targets <= set(RmaStatus) for targets in TRANSITIONS.values())


def test_nothing_ever_leads_back_to_requested_and_no_state_loops_to_itself() -> None:
    assert all(S.REQUESTED not in targets for targets in TRANSITIONS.values())
    assert all(state not in targets for state, targets in TRANSITIONS.items())


def test_the_ends_are_terminal_and_everything_else_is_open() -> None:
    assert {s for s, targets in TRANSITIONS.items() if not targets} == {
        S.CLOSED,
        S.REJECTED,
        S.CANCELLED,
        S.EXPIRED,
    }
    assert set(RmaStatus) - {S.CLOSED, S.REJECTED, S.CANCELLED, S.EXPIRED} == OPEN


def test_a_parcel_the_carrier_has_can_no_longer_be_cancelled_or_expire() -> None:
    for state in (S.PICKED_UP, S.IN_TRANSIT, S.RECEIVED, S.INSPECTED):
        assert not TRANSITIONS[state] & {S.CANCELLED, S.EXPIRED, S.REJECTED}


def test_the_happy_path_is_allowed_step_by_step() -> None:
    path = [
        S.REQUESTED,
        S.AUTHORISED,
        S.AWAITING_PICKUP,
        S.PICKED_UP,
        S.IN_TRANSIT,
        S.RECEIVED,
        S.INSPECTED,
        S.CLOSED,
    ]
    assert all(b in TRANSITIONS[a] for a, b in itertools.pairwise(path))


def test_vip_raises_the_priority_one_step_and_urgent_stays_urgent() -> None:
    assert [raised(p) for p in PRIORITY_ORDER] == [
        Priority.MEDIUM,
        Priority.HIGH,
        Priority.URGENT,
        Priority.URGENT,
    ]
