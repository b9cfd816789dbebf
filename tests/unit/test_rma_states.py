"""The RMA state machine's table, checked as data."""

from __future__ import annotations

import itertools

from returns.status import (
    CASE_STATES,
    CASE_TRANSITIONS,
    OPEN,
    PRIORITY_ORDER,
    TERMINAL,
    TRANSITIONS,
    CaseKind,
    Priority,
    RmaStatus,
    raised,
    transitions_for,
)

S = RmaStatus


def test_every_state_has_a_row_and_every_target_is_a_state() -> None:
    assert set(TRANSITIONS) == set(RmaStatus)
    assert all(targets <= set(RmaStatus) for targets in TRANSITIONS.values())


def test_nothing_ever_leads_back_to_requested_and_no_state_loops_to_itself() -> None:
    assert all(S.REQUESTED not in targets for targets in TRANSITIONS.values())
    assert all(state not in targets for state, targets in TRANSITIONS.items())


def test_the_ends_are_terminal_and_everything_else_is_open() -> None:
    # A return never reaches a case's states: they lead nowhere in its table.
    assert (
        {s for s, targets in TRANSITIONS.items() if not targets} - CASE_STATES
        == {
            S.CLOSED,
            S.REJECTED,
            S.CANCELLED,
            S.EXPIRED,
        }
        == TERMINAL
    )
    assert set(RmaStatus) - {S.CLOSED, S.REJECTED, S.CANCELLED, S.EXPIRED} == OPEN


def test_a_case_moves_only_among_its_own_states_and_closed() -> None:
    table = transitions_for(CaseKind.ENQUIRY)
    assert set(table) == set(RmaStatus)
    reachable = set().union(*CASE_TRANSITIONS.values())
    assert reachable == CASE_STATES | {S.CLOSED}
    assert table[S.RESOLVED] == {S.CLOSED, S.OPEN} and table[S.CLOSED] == {S.OPEN}
    assert not table[S.REQUESTED] and not table[S.AUTHORISED]
    assert transitions_for(CaseKind.RETURN) is TRANSITIONS


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
