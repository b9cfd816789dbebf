"""RMA vocabulary: states and their allowed transitions, refund and replacement states."""

from __future__ import annotations

import enum


class RmaStatus(enum.StrEnum):
    REQUESTED = "requested"
    AUTHORISED = "authorised"
    AWAITING_PICKUP = "awaiting_pickup"  # a label or the customer's tracking number is attached
    PICKED_UP = "picked_up"  # the carrier has the parcel: the refund is released now
    IN_TRANSIT = "in_transit"
    RECEIVED = "received"
    INSPECTED = "inspected"
    CLOSED = "closed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    EXPIRED = "expired"  # authorised, but the parcel never reached the carrier in time
    DISPUTED = "disputed"  # refunded, but the parcel came back empty or wrong
    # The lifecycle of a case that is not a return (an enquiry, a complaint): CASE_TRANSITIONS.
    OPEN = "open"
    WAITING_FOR_CUSTOMER = "waiting_for_customer"  # the desk asked the customer something
    ANSWERED = "answered"  # the desk answered; the customer may come back
    RESOLVED = "resolved"  # the customer's question or complaint is settled


S = RmaStatus

#: The one table of allowed moves. Carrier events may skip ahead (a lost pickup scan), never back.
TRANSITIONS: dict[RmaStatus, frozenset[RmaStatus]] = {
    S.REQUESTED: frozenset({S.AUTHORISED, S.REJECTED, S.CANCELLED}),
    S.AUTHORISED: frozenset(
        {S.AWAITING_PICKUP, S.PICKED_UP, S.IN_TRANSIT, S.RECEIVED, S.CANCELLED, S.EXPIRED}
    ),
    S.AWAITING_PICKUP: frozenset({S.PICKED_UP, S.IN_TRANSIT, S.RECEIVED, S.CANCELLED, S.EXPIRED}),
    S.PICKED_UP: frozenset({S.IN_TRANSIT, S.RECEIVED}),
    S.IN_TRANSIT: frozenset({S.RECEIVED}),
    # Closing straight from received: the parcel held nothing to inspect and nothing is owed.
    S.RECEIVED: frozenset({S.INSPECTED, S.DISPUTED, S.CLOSED}),
    S.INSPECTED: frozenset({S.CLOSED, S.DISPUTED}),
    S.DISPUTED: frozenset({S.CLOSED}),
    S.CLOSED: frozenset(),
    S.REJECTED: frozenset(),
    S.CANCELLED: frozenset(),
    S.EXPIRED: frozenset(),
}
#: The states of an enquiry or a complaint; a return never reaches them.
CASE_STATES = frozenset({S.OPEN, S.WAITING_FOR_CUSTOMER, S.ANSWERED, S.RESOLVED})
RETURN_OPEN = frozenset(s for s, targets in TRANSITIONS.items() if targets)
TRANSITIONS.update({state: frozenset() for state in CASE_STATES})

#: An enquiry's or a complaint's moves: open -> waiting for the customer / answered ->
#: resolved -> closed; a resolved or closed case can be reopened.
CASE_TRANSITIONS: dict[RmaStatus, frozenset[RmaStatus]] = {
    S.OPEN: frozenset({S.WAITING_FOR_CUSTOMER, S.ANSWERED, S.RESOLVED}),
    S.WAITING_FOR_CUSTOMER: frozenset({S.OPEN, S.ANSWERED, S.RESOLVED}),
    S.ANSWERED: frozenset({S.OPEN, S.WAITING_FOR_CUSTOMER, S.RESOLVED}),
    S.RESOLVED: frozenset({S.CLOSED, S.OPEN}),
    S.CLOSED: frozenset({S.OPEN}),
}

#: Cases still on the desk: a return's open states and a case's open ones (resolved included:
#: it waits to be closed).
OPEN = RETURN_OPEN | CASE_STATES
#: Where an RMA ends: closed, rejected, cancelled, expired (a closed case may be reopened).
TERMINAL = frozenset({S.CLOSED, S.REJECTED, S.CANCELLED, S.EXPIRED})


class CaseKind(enum.StrEnum):
    """What a case on the desk is: a return (an RMA), a technical question, a complaint."""

    RETURN = "return"
    ENQUIRY = "enquiry"
    COMPLAINT = "complaint"


def transitions_for(kind: CaseKind) -> dict[RmaStatus, frozenset[RmaStatus]]:
    """The table of allowed moves for a case of ``kind``."""
    if kind is CaseKind.RETURN:
        return TRANSITIONS
    return {state: CASE_TRANSITIONS.get(state, frozenset()) for state in RmaStatus}


class RootCause(enum.StrEnum):
    """Why a complaint arose (docs/desk.md lists what each means)."""

    PRODUCT_DEFECT = "product_defect"
    WRONG_ITEM_SENT = "wrong_item_sent"
    MISSING_ITEM = "missing_item"
    DAMAGED_IN_TRANSIT = "damaged_in_transit"
    LATE_DELIVERY = "late_delivery"
    SERVICE = "service"  # how the desk or the warehouse treated the customer
    COMMUNICATION = "communication"  # unclear or missing information (return address, ...)
    BILLING = "billing"  # charges, refunds, invoices
    POLICY = "policy"  # the return window, warranty or fees themselves
    OTHER = "other"


#: Authorised and waiting for the customer to hand the parcel over.
WAITING_FOR_PARCEL = frozenset({S.AUTHORISED, S.AWAITING_PICKUP})


class Channel(enum.StrEnum):
    PHONE = "phone"
    EMAIL = "email"
    WEB = "web"
    CHAT = "chat"
    MARKETPLACE = "marketplace"
    #: The customer started the return on the returns portal.
    PORTAL = "portal"


class Reason(enum.StrEnum):
    DEFECTIVE = "defective"
    WRONG_ITEM = "wrong_item"
    MISSING_ITEM = "missing_item"
    DAMAGED_IN_TRANSIT = "damaged_in_transit"
    NOT_AS_DESCRIBED = "not_as_described"
    NO_LONGER_NEEDED = "no_longer_needed"


class Resolution(enum.StrEnum):
    REFUND = "refund"
    REPLACEMENT = "replacement"
    REPAIR = "repair"


class Priority(enum.StrEnum):
    URGENT = "urgent"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


PRIORITY_ORDER = [Priority.LOW, Priority.MEDIUM, Priority.HIGH, Priority.URGENT]


def raised(priority: Priority) -> Priority:
    """One step up (VIP and key-account customers); urgent stays urgent."""
    index = PRIORITY_ORDER.index(priority)
    return PRIORITY_ORDER[min(index + 1, len(PRIORITY_ORDER) - 1)]


class RefundStatus(enum.StrEnum):
    NONE = "none"  # no refund for this resolution
    AWAITING_PICKUP = "awaiting_pickup"  # released when the carrier has the parcel
    HELD = "held"  # above the automatic limits: waits for a supervisor
    PENDING = "pending"  # queued in the outbox, on its way to the provider
    #: The provider took it but answered ``pending``: released only when its webhook says so.
    PROCESSING = "processing"
    RELEASED = "released"
    FAILED = "failed"  # the provider refused; the desk is alerted


#: Refunds that are out of our hands (on their way or made): count against customer limits,
#: and a parcel that goes wrong after them needs recovering.
REFUND_UNDER_WAY = frozenset({RefundStatus.PENDING, RefundStatus.PROCESSING, RefundStatus.RELEASED})


class ReplacementStatus(enum.StrEnum):
    QUEUED = "queued"  # reserved, in the warehouse pick queue
    BACKORDERED = "backordered"  # no stock to reserve
    SHIPPED = "shipped"
    CANCELLED = "cancelled"


class Disposition(enum.StrEnum):
    RESTOCK = "restock"
    REFURBISH = "refurbish"
    QUARANTINE = "quarantine"
    SCRAP = "scrap"
    RETURN_TO_VENDOR = "return_to_vendor"
