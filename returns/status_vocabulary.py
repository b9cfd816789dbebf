"""One status vocabulary: what an RMA's state *means*, the same for the desk and the customer.

The RMA's own state (returns/status.py) moves on our scans and the carrier's events, but it
does not say everything a reader needs: a parcel the carrier has delivered to our dock keeps
the RMA "in transit" until the warehouse books it in (``received`` is our own scan), so the
RMA heading said "in transit" beside a parcel heading saying "delivered". This module derives
the one *shown* state from the RMA's state and its return parcel, the customer's progress step
it belongs to, and the notes that explain a combination that would otherwise look wrong (an
exchange whose original payment is refunded while the replacement goes out).

Plain values only (codes, enums): the words for each code, for the desk and for the customer,
are in web/status_words.py, the one place that translates them.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from carriers.models import Direction
from carriers.status import TrackingStatus
from returns.status import RefundStatus, Resolution, RmaStatus


class Shown(enum.StrEnum):
    """The state as pages and e-mails name it (a code; web/status_words.py has the words)."""

    REQUESTED = "requested"
    AUTHORISED = "authorised"
    AWAITING_PICKUP = "awaiting_pickup"
    PICKED_UP = "picked_up"
    IN_TRANSIT = "in_transit"
    #: The carrier reported a problem with the return parcel (lost, damaged, refused).
    PARCEL_PROBLEM = "parcel_problem"
    #: The carrier delivered the return parcel to us; the warehouse has not booked it in yet.
    DELIVERED = "delivered"
    RECEIVED = "received"
    INSPECTED = "inspected"
    DISPUTED = "disputed"
    CLOSED = "closed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    # An enquiry's or a complaint's states (no parcel, no progress bar).
    OPEN = "open"
    WAITING_FOR_CUSTOMER = "waiting_for_customer"
    ANSWERED = "answered"
    RESOLVED = "resolved"


class Step(enum.StrEnum):
    """The customer's progress bar, in order."""

    REQUESTED = "requested"
    AUTHORISED = "authorised"
    WITH_CARRIER = "with_carrier"
    RECEIVED = "received"
    INSPECTED = "inspected"
    CLOSED = "closed"


STEPS = tuple(Step)


class CaseStep(enum.StrEnum):
    """An enquiry's or a complaint's own progress bar, in order (no parcel in it)."""

    OPEN = "open"  # we are looking at it
    ANSWERED = "answered"  # answered, or waiting for the customer's answer
    RESOLVED = "resolved"
    CLOSED = "closed"


CASE_STEPS = tuple(CaseStep)
#: The case step each shown state stands on.
CASE_STEP_OF: dict[Shown, CaseStep] = {
    Shown.OPEN: CaseStep.OPEN,
    Shown.WAITING_FOR_CUSTOMER: CaseStep.ANSWERED,
    Shown.ANSWERED: CaseStep.ANSWERED,
    Shown.RESOLVED: CaseStep.RESOLVED,
    Shown.CLOSED: CaseStep.CLOSED,
}


def case_step_index(shown: Shown) -> int:
    """The case's progress bar step (0-based), -1 when it stands on none."""
    step = CASE_STEP_OF.get(shown)
    return CASE_STEPS.index(step) if step else -1


#: The step each shown state stands on (the ended ones stand on none).
STEP_OF: dict[Shown, Step] = {
    Shown.REQUESTED: Step.REQUESTED,
    Shown.AUTHORISED: Step.AUTHORISED,
    Shown.AWAITING_PICKUP: Step.AUTHORISED,
    Shown.PICKED_UP: Step.WITH_CARRIER,
    Shown.IN_TRANSIT: Step.WITH_CARRIER,
    Shown.PARCEL_PROBLEM: Step.WITH_CARRIER,
    Shown.DELIVERED: Step.RECEIVED,
    Shown.RECEIVED: Step.RECEIVED,
    Shown.INSPECTED: Step.INSPECTED,
    Shown.DISPUTED: Step.INSPECTED,
    Shown.CLOSED: Step.CLOSED,
}

#: States in which the return parcel is still on its way to us: the parcel's last scan may
#: tell more than the RMA's state.
_ON_THE_WAY = frozenset(
    {RmaStatus.AUTHORISED, RmaStatus.AWAITING_PICKUP, RmaStatus.PICKED_UP, RmaStatus.IN_TRANSIT}
)
_PROBLEMS = frozenset({TrackingStatus.EXCEPTION, TrackingStatus.RETURNED_TO_SENDER})


class Note(enum.StrEnum):
    """Why a combination that looks contradictory is right."""

    #: A replacement with the original payment to refund: DOMAIN.md's exchange.
    EXCHANGE_REFUND = "exchange_refund"


@dataclass(frozen=True)
class StatusView:
    shown: Shown
    step: Step | None
    notes: tuple[Note, ...]

    @property
    def step_index(self) -> int:
        """The progress bar's current step (0-based), -1 for an ended return."""
        return STEPS.index(self.step) if self.step else -1


def shown_state(status: RmaStatus, return_parcel: TrackingStatus | None) -> Shown:
    """The state to show for an RMA in ``status`` whose return parcel last scanned as
    ``return_parcel`` (None: no parcel yet)."""
    if status in _ON_THE_WAY and return_parcel is not None:
        if return_parcel is TrackingStatus.DELIVERED:
            return Shown.DELIVERED
        if return_parcel in _PROBLEMS:
            return Shown.PARCEL_PROBLEM
    return Shown(status.value)


class _Parcel(Protocol):
    @property
    def direction(self) -> Direction: ...
    @property
    def status(self) -> TrackingStatus: ...


class _Rma(Protocol):
    @property
    def status(self) -> RmaStatus: ...
    @property
    def resolution(self) -> Resolution: ...
    @property
    def refund_status(self) -> RefundStatus: ...
    @property
    def shipments(self) -> Iterable[_Parcel]: ...


def return_parcel_status(shipments: Iterable[_Parcel]) -> TrackingStatus | None:
    """The status of the RMA's latest inbound parcel (None: none yet)."""
    status = None
    for shipment in shipments:
        if shipment.direction is Direction.INBOUND:
            status = shipment.status
    return status


def notes(resolution: Resolution, refund_status: RefundStatus) -> tuple[Note, ...]:
    if resolution is Resolution.REPLACEMENT and refund_status is not RefundStatus.NONE:
        return (Note.EXCHANGE_REFUND,)
    return ()


def status_view(rma: _Rma) -> StatusView:
    """The shown state, step and notes of an RMA view (``returns.views.RmaDetail``)."""
    shown = shown_state(rma.status, return_parcel_status(rma.shipments))
    return StatusView(shown, STEP_OF.get(shown), notes(rma.resolution, rma.refund_status))
