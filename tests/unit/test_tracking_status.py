"""The normalised tracking vocabulary: what may follow what."""

from __future__ import annotations

import pytest

from carriers.status import PROGRESS, PROVES_PICKUP, TrackingStatus, moves_forward

S = TrackingStatus


@pytest.mark.parametrize(
    ("current", "new", "allowed"),
    [
        (S.PRE_TRANSIT, S.PICKED_UP, True),
        (S.PICKED_UP, S.IN_TRANSIT, True),
        (S.IN_TRANSIT, S.DELIVERED, True),
        (S.PRE_TRANSIT, S.DELIVERED, True),  # scans lost on the way: jump ahead
        (S.DELIVERED, S.IN_TRANSIT, False),  # a late scan never undoes a later one
        (S.IN_TRANSIT, S.PICKED_UP, False),
        (S.DELIVERED, S.DELIVERED, False),
        (S.IN_TRANSIT, S.EXCEPTION, False),  # exceptions go on the timeline, not into the state
        (S.IN_TRANSIT, S.UNKNOWN, False),
        (S.PRE_TRANSIT, S.CANCELLED, True),
        (S.PICKED_UP, S.CANCELLED, False),  # too late to cancel a parcel the carrier has
        (S.DELIVERED, S.RETURNED_TO_SENDER, True),
    ],
)
def test_a_shipment_state_only_moves_forward(current: S, new: S, allowed: bool) -> None:
    assert moves_forward(current, new) is allowed


def test_every_status_after_the_first_scan_proves_the_carrier_had_the_parcel() -> None:
    assert S.PRE_TRANSIT not in PROVES_PICKUP
    assert S.CANCELLED not in PROVES_PICKUP
    assert {s for s in PROGRESS if PROGRESS[s] >= PROGRESS[S.PICKED_UP]} == PROVES_PICKUP
