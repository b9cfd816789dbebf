"""Carriers' domain errors."""

from __future__ import annotations

from sqlalchemy.exc import DataError, DBAPIError, IntegrityError

from core.errors import NotFound


class UnknownCarrier(NotFound):
    code = "unknown_carrier"

    def __init__(self, name: str):
        super().__init__(
            f"No carrier adapter named {name!r}."
            if name
            else "No carrier is configured for this (set SPAREFLOW_RETURNS_CARRIER).",
            carrier=name,
        )


class ShipmentNotFound(NotFound):
    code = "shipment_not_found"

    def __init__(self, tracking_number: str):
        super().__init__(
            f"No shipment with tracking number {tracking_number!r}.",
            tracking_number=tracking_number,
        )


def caused_by_an_event(error: Exception) -> bool:
    """Whether applying an event failed because of that event: an error in the code that
    applies it, or a constraint or value the database refused. Set it aside. Any other
    database error (connection lost, deadlock, missing table) is retried later, the event
    untouched."""
    return not isinstance(error, DBAPIError) or isinstance(error, IntegrityError | DataError)


def storable(text: str) -> str:
    """A reason that may quote the body, as text any database holds (no NUL, no surrogate)."""
    return text.encode("utf-8", "backslashreplace").decode().replace("\x00", "\\x00")
