"""The one tracking vocabulary every provider status is mapped to."""

from __future__ import annotations

import enum


class TrackingStatus(enum.StrEnum):
    PRE_TRANSIT = "pre_transit"  # label created, carrier told about the parcel, no scan yet
    PICKED_UP = "picked_up"  # first carrier scan: the carrier has the parcel
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    AVAILABLE_FOR_PICKUP = "available_for_pickup"  # waiting at an access point / locker
    DELIVERED = "delivered"
    EXCEPTION = "exception"  # failed attempt, damage, held: the journey may go on
    RETURNED_TO_SENDER = "returned_to_sender"
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"  # a provider status we do not know; kept with its raw value


#: How far along a parcel is. A shipment's state only ever moves to a higher rank, so a
#: late or replayed event can never undo a later one. Statuses without a rank (exception,
#: unknown) are recorded on the timeline but do not move the state.
PROGRESS: dict[TrackingStatus, int] = {
    TrackingStatus.PRE_TRANSIT: 0,
    TrackingStatus.CANCELLED: 1,
    TrackingStatus.PICKED_UP: 2,
    TrackingStatus.IN_TRANSIT: 3,
    TrackingStatus.OUT_FOR_DELIVERY: 4,
    TrackingStatus.AVAILABLE_FOR_PICKUP: 5,
    TrackingStatus.DELIVERED: 6,
    TrackingStatus.RETURNED_TO_SENDER: 7,
}

#: Any of these proves the carrier has (or had) the parcel, even if no pickup scan arrived:
#: aggregators often report the first scan as plain "in transit".
PROVES_PICKUP = frozenset(
    {
        TrackingStatus.PICKED_UP,
        TrackingStatus.IN_TRANSIT,
        TrackingStatus.OUT_FOR_DELIVERY,
        TrackingStatus.AVAILABLE_FOR_PICKUP,
        TrackingStatus.DELIVERED,
        TrackingStatus.RETURNED_TO_SENDER,
    }
)

#: The journey ended without the parcel reaching its destination.
ENDS_BADLY = frozenset({TrackingStatus.RETURNED_TO_SENDER, TrackingStatus.CANCELLED})


def moves_forward(current: TrackingStatus, new: TrackingStatus) -> bool:
    """Whether ``new`` may replace ``current`` as a shipment's state."""
    if new not in PROGRESS:
        return False
    if new is TrackingStatus.CANCELLED:
        return current is TrackingStatus.PRE_TRANSIT  # only a parcel nobody has picked up yet
    return PROGRESS[new] > PROGRESS.get(current, -1)
