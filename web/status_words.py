"""The words of the one status vocabulary (returns/status_vocabulary.py), for both audiences.

The desk reads what to do next; the customer reads where their return is. Both come from
the same shown state, so they never contradict each other or the parcel beside them.
Templates use ``status_view(rma)`` (the shown state, step, notes) and the filters
``desk_status``, ``customer_status``, ``status_note``; ``STEP_WORDS`` names the customer's
progress steps.
"""

from __future__ import annotations

from flask import Flask
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

from returns.status_vocabulary import CaseStep, Note, Shown, Step, shown_state, status_view

#: Each shown state: (the desk's words, the customer's words).
WORDS: dict[Shown, tuple[LazyString, LazyString]] = {
    Shown.REQUESTED: (_l("Requested: to authorise or reject"), _l("Request received")),
    Shown.AUTHORISED: (
        _l("Authorised: waiting for the parcel"),
        _l("Return authorised: please send the parcel"),
    ),
    Shown.AWAITING_PICKUP: (
        _l("Waiting for the carrier to collect"),
        _l("Waiting for the carrier to collect your parcel"),
    ),
    Shown.PICKED_UP: (_l("Collected by the carrier"), _l("The carrier has your parcel")),
    Shown.IN_TRANSIT: (_l("On its way to us"), _l("Your parcel is on its way to us")),
    Shown.PARCEL_PROBLEM: (
        _l("The carrier reported a problem with the parcel"),
        _l("The carrier reported a problem with your parcel; we are looking into it"),
    ),
    Shown.DELIVERED: (
        _l("Delivered to us: to book in"),
        _l("Delivered to our warehouse"),
    ),
    Shown.RECEIVED: (_l("Received: to inspect"), _l("Parcel at our warehouse")),
    Shown.INSPECTED: (_l("Inspected: to close"), _l("Parts inspected")),
    Shown.DISPUTED: (
        _l("Disputed: the parcel was empty or wrong"),
        _l("We found a problem with the returned parcel"),
    ),
    Shown.CLOSED: (_l("Closed"), _l("Complete")),
    Shown.REJECTED: (_l("Rejected"), _l("Not accepted")),
    Shown.CANCELLED: (_l("Cancelled"), _l("Cancelled")),
    Shown.EXPIRED: (
        _l("Expired: the parcel never reached the carrier"),
        _l("Authorisation expired"),
    ),
    Shown.OPEN: (_l("Open: to answer"), _l("We are looking at your question")),
    Shown.WAITING_FOR_CUSTOMER: (
        _l("Waiting for the customer"),
        _l("We are waiting for your answer"),
    ),
    Shown.ANSWERED: (_l("Answered"), _l("We have answered")),
    Shown.RESOLVED: (_l("Resolved"), _l("Resolved")),
}

#: The customer's progress bar.
STEP_WORDS: dict[Step, LazyString] = {
    Step.REQUESTED: _l("Request received"),
    Step.AUTHORISED: _l("Return authorised"),
    Step.WITH_CARRIER: _l("Parcel with the carrier"),
    Step.RECEIVED: _l("Parcel at our warehouse"),
    Step.INSPECTED: _l("Parts inspected"),
    Step.CLOSED: _l("Complete"),
}

#: An enquiry's or a complaint's progress bar.
CASE_STEP_WORDS: dict[CaseStep, LazyString] = {
    CaseStep.OPEN: _l("We are looking at it"),
    CaseStep.ANSWERED: _l("Answered"),
    CaseStep.RESOLVED: _l("Resolved"),
    CaseStep.CLOSED: _l("Complete"),
}

#: Each note: (the desk's words, the customer's words).
NOTE_WORDS: dict[Note, tuple[LazyString, LazyString]] = {
    Note.EXCHANGE_REFUND: (
        _l(
            "Exchange: the original payment is refunded when the carrier collects the parcel, "
            "and the replacement ships as a new order."
        ),
        _l(
            "This is an exchange: we refund your original payment once the carrier collects "
            "your parcel, and send the replacement as a new order."
        ),
    ),
}


def desk_status(shown: Shown) -> str:
    return str(WORDS[shown][0])


def customer_status(shown: Shown) -> str:
    return str(WORDS[shown][1])


def status_note(note: Note, audience: str = "desk") -> str:
    desk, customer = NOTE_WORDS[note]
    return str(customer if audience == "customer" else desk)


def init_app(app: Flask) -> None:
    app.add_template_filter(desk_status, "desk_status")
    app.add_template_filter(customer_status, "customer_status")
    app.add_template_filter(status_note, "status_note")
    app.add_template_global(status_view, "status_view")
    app.add_template_global(shown_state, "shown_state")
    app.add_template_global(STEP_WORDS, "status_steps")
