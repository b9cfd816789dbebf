"""One status vocabulary (returns/status_vocabulary.py): the shown state never contradicts the
return parcel, every state has words for the desk and the customer, exchanges explain their
refund."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from carriers.models import Direction
from carriers.status import TrackingStatus
from returns.status import RefundStatus, Resolution, RmaStatus
from returns.status_vocabulary import (
    STEP_OF,
    STEPS,
    Note,
    Shown,
    Step,
    return_parcel_status,
    shown_state,
    status_view,
)


@dataclass(frozen=True)
class Parcel:
    direction: Direction
    status: TrackingStatus


@dataclass(frozen=True)
class Rma:
    status: RmaStatus
    resolution: Resolution = Resolution.REFUND
    refund_status: RefundStatus = RefundStatus.AWAITING_PICKUP
    shipments: tuple[Parcel, ...] = field(default=())


@pytest.mark.parametrize(
    "status",
    [RmaStatus.AUTHORISED, RmaStatus.AWAITING_PICKUP, RmaStatus.PICKED_UP, RmaStatus.IN_TRANSIT],
)
def test_a_delivered_parcel_is_never_shown_as_in_transit(status: RmaStatus) -> None:
    view = status_view(
        Rma(status, shipments=(Parcel(Direction.INBOUND, TrackingStatus.DELIVERED),))
    )
    assert view.shown is Shown.DELIVERED
    # The customer's bar moves on to the warehouse, not "Parcel with the carrier".
    assert view.step is Step.RECEIVED and view.step_index == STEPS.index(Step.RECEIVED)


def test_a_parcel_problem_is_named_while_we_wait_for_it() -> None:
    parcel = Parcel(Direction.INBOUND, TrackingStatus.EXCEPTION)
    assert shown_state(RmaStatus.IN_TRANSIT, parcel.status) is Shown.PARCEL_PROBLEM
    assert status_view(Rma(RmaStatus.IN_TRANSIT, shipments=(parcel,))).step is Step.WITH_CARRIER


def test_once_booked_in_the_rmas_own_state_wins_over_the_parcel() -> None:
    delivered = TrackingStatus.DELIVERED
    assert shown_state(RmaStatus.RECEIVED, delivered) is Shown.RECEIVED
    assert shown_state(RmaStatus.CLOSED, delivered) is Shown.CLOSED
    assert shown_state(RmaStatus.CANCELLED, TrackingStatus.EXCEPTION) is Shown.CANCELLED


def test_only_the_return_parcel_counts_and_the_latest_one_wins() -> None:
    shipments = (
        Parcel(Direction.INBOUND, TrackingStatus.EXCEPTION),
        Parcel(Direction.OUTBOUND, TrackingStatus.DELIVERED),  # the replacement to the customer
        Parcel(Direction.INBOUND, TrackingStatus.IN_TRANSIT),
    )
    assert return_parcel_status(shipments) is TrackingStatus.IN_TRANSIT
    assert status_view(Rma(RmaStatus.IN_TRANSIT, shipments=shipments)).shown is Shown.IN_TRANSIT
    assert return_parcel_status(()) is None


def test_every_rma_state_has_a_shown_state_and_every_open_one_a_step() -> None:
    """Every state has its shown state; a return's open states stand on a progress step, an
    enquiry's or a complaint's (no parcel, no progress bar) and the ended ones on none."""
    cases = {RmaStatus.OPEN, RmaStatus.WAITING_FOR_CUSTOMER, RmaStatus.ANSWERED, RmaStatus.RESOLVED}
    for status in RmaStatus:
        shown = shown_state(status, None)
        assert shown.value == status.value
        ended = status in (RmaStatus.REJECTED, RmaStatus.CANCELLED, RmaStatus.EXPIRED)
        assert (shown in STEP_OF) is not (ended or status in cases), status


def test_an_exchange_explains_its_refund_and_a_warranty_replacement_does_not() -> None:
    exchange = Rma(RmaStatus.PICKED_UP, Resolution.REPLACEMENT, RefundStatus.RELEASED)
    assert status_view(exchange).notes == (Note.EXCHANGE_REFUND,)
    warranty = Rma(RmaStatus.PICKED_UP, Resolution.REPLACEMENT, RefundStatus.NONE)
    assert status_view(warranty).notes == ()
    assert status_view(Rma(RmaStatus.PICKED_UP)).notes == ()


def test_every_shown_state_step_and_note_has_words_for_both_audiences() -> None:
    from web.status_words import NOTE_WORDS, STEP_WORDS, WORDS

    assert set(WORDS) == set(Shown) and set(STEP_WORDS) == set(Step)
    assert set(NOTE_WORDS) == set(Note)
    desk_words = [str(desk) for desk, _customer in WORDS.values()]
    assert len(set(desk_words)) == len(desk_words)  # no two states read the same to the desk
    assert "delivered" in str(WORDS[Shown.DELIVERED][1]).lower()
    assert "delivered" in str(WORDS[Shown.DELIVERED][0]).lower()
