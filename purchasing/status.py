"""Purchase-order states, the moves allowed between them, and the reorder vocabulary."""

from __future__ import annotations

import enum


class PurchaseOrderStatus(enum.StrEnum):
    DRAFT = "draft"  # created (e.g. from a reorder sheet), not yet with the supplier
    SENT = "sent"  # placed with the supplier; goods expected
    PARTIALLY_RECEIVED = "partially_received"
    RECEIVED = "received"  # every line received in full
    CANCELLED = "cancelled"  # withdrawn; after a partial receipt, the rest is no longer expected


S = PurchaseOrderStatus

#: The only moves a purchase order can make. Anything else is ``illegal_transition``.
TRANSITIONS: dict[PurchaseOrderStatus, frozenset[PurchaseOrderStatus]] = {
    S.DRAFT: frozenset({S.SENT, S.CANCELLED}),
    S.SENT: frozenset({S.PARTIALLY_RECEIVED, S.RECEIVED, S.CANCELLED}),
    S.PARTIALLY_RECEIVED: frozenset({S.RECEIVED, S.CANCELLED}),
    S.RECEIVED: frozenset(),
    S.CANCELLED: frozenset(),
}

#: Orders whose unreceived quantities count as "on order" in reorder suggestions. Drafts
#: count too: once a buyer has drafted an order, suggesting the same units again would
#: order them twice.
ON_ORDER = (S.DRAFT, S.SENT, S.PARTIALLY_RECEIVED)
#: Orders goods can be received against.
RECEIVABLE = (S.SENT, S.PARTIALLY_RECEIVED)
CLOSED = (S.RECEIVED, S.CANCELLED)


class ReorderMethod(enum.StrEnum):
    """How a part's reorder point and quantity are set."""

    MANUAL = "manual"  # by hand; the computed figures are shown as advice only
    COMPUTED = "computed"  # from demand history, written by each recompute
    #: From the fill-rate plan (docs/planning.md): the planned order-up-to level sets the
    #: point and quantity at each recompute.
    PLANNED = "planned"


class Urgency(enum.StrEnum):
    """Why a part is suggested, most urgent first."""

    SHORT = "short"  # no free stock: everything on hand is reserved (or there is none)
    BELOW_SAFETY_STOCK = "below_safety_stock"  # free stock has eaten into the buffer
    BELOW_POINT = "below_point"  # stock position at or below the reorder point

    @property
    def rank(self) -> int:
        return URGENCY_ORDER.index(self)


URGENCY_ORDER = (Urgency.SHORT, Urgency.BELOW_SAFETY_STOCK, Urgency.BELOW_POINT)
