"""Status codes and movement codes of the inventory, with what each one does to stock."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class LocationKind(enum.StrEnum):
    STORAGE = "storage"
    RECEIVING = "receiving"
    QUARANTINE = "quarantine"
    RETURNS = "returns"
    #: Units the desk lends to customers while theirs is repaired or replaced.
    LOAN_POOL = "loan_pool"
    #: Where a lent unit is on the books while the customer has it (one per warehouse).
    ON_LOAN = "on_loan"


#: Stock in these locations can be promised to customers; quarantine, returns and loaners
#: cannot.
PICKABLE_KINDS = (LocationKind.STORAGE, LocationKind.RECEIVING)


class MoveKind(enum.StrEnum):
    """Every change of stock is one of these, written as one ledger row."""

    RECEIPT = "receipt"  # into a location from outside (supplier, found stock)
    ISSUE = "issue"  # out of a location to outside (repair, sale), from unreserved stock
    TRANSFER = "transfer"  # from one location to another
    ADJUSTMENT = "adjustment"  # cycle count: records the counted quantity and the difference
    RESERVE = "reserve"  # earmark stock at a location; on hand unchanged
    RELEASE = "release"  # give an earmark back
    RESERVED_ISSUE = "reserved_issue"  # ship what was earmarked: on hand and reserved both drop


class SerialState(enum.StrEnum):
    """Where a serialised unit is: in one of our locations, or gone from stock (and why)."""

    IN_STOCK = "in_stock"
    WITH_CUSTOMER = "with_customer"
    SCRAPPED = "scrapped"
    ISSUED = "issued"  # left stock otherwise (a repair, back to the supplier)


class ReservationStatus(enum.StrEnum):
    ACTIVE = "active"
    RELEASED = "released"
    ISSUED = "issued"


@dataclass(frozen=True)
class Effect:
    """How one move changes the level at one of its two locations, per unit of quantity."""

    side: str  # "from" or "to": which location column of the move it applies to
    on_hand: int
    reserved: int


#: The single source of truth for what a move does. Live updates and the ledger rebuild
#: (``spareflow stock verify``) both read this table, so they cannot disagree.
MOVE_EFFECTS: dict[MoveKind, tuple[Effect, ...]] = {
    MoveKind.RECEIPT: (Effect("to", +1, 0),),
    MoveKind.ISSUE: (Effect("from", -1, 0),),
    MoveKind.TRANSFER: (Effect("from", -1, 0), Effect("to", +1, 0)),
    # A count above the book quantity fills ``to``, one below it fills ``from``.
    MoveKind.ADJUSTMENT: (Effect("from", -1, 0), Effect("to", +1, 0)),
    MoveKind.RESERVE: (Effect("from", 0, +1),),
    MoveKind.RELEASE: (Effect("from", 0, -1),),
    MoveKind.RESERVED_ISSUE: (Effect("from", -1, -1),),
}

ACTIVE_RESERVATION = (ReservationStatus.ACTIVE,)


class SheetKind(enum.StrEnum):
    """The workbooks spareflow exports and reads back."""

    REORDER = "reorder"
    CATALOGUE = "catalogue"
    CYCLE_COUNT = "cycle_count"
