"""Inventory's domain errors. Each has a stable ``code`` clients can rely on."""

from __future__ import annotations

from typing import Any

from core.errors import Conflict, InvalidInput, NotFound


class PartNotFound(NotFound):
    code = "part_not_found"

    def __init__(self, sku: str):
        super().__init__(f"No part with SKU {sku!r}.", sku=sku)


class UnknownPart(InvalidInput):
    code = "unknown_sku"

    def __init__(self, sku: str, field: str = "sku"):
        super().__init__(field, f"No part with SKU {sku!r}.", sku=sku)


class UnknownLocation(InvalidInput):
    code = "unknown_location"

    def __init__(self, code: str, field: str = "location"):
        super().__init__(field, f"No location with code {code!r}.", location=code)


class UnknownSupplier(InvalidInput):
    code = "unknown_supplier"

    def __init__(self, code: str, field: str = "supplier"):
        super().__init__(field, f"No supplier with code {code!r}.", supplier=code)


class InactivePart(InvalidInput):
    code = "inactive_part"

    def __init__(self, sku: str):
        super().__init__("sku", f"Part {sku!r} is inactive; reactivate it before moving stock.")


class SameLocation(InvalidInput):
    code = "same_location"

    def __init__(self, code: str):
        super().__init__(
            "to_location", f"A transfer needs two different locations; both are {code!r}."
        )


class DuplicateSku(Conflict):
    code = "duplicate_sku"

    def __init__(self, sku: str):
        super().__init__(f"A part with SKU {sku!r} already exists (SKUs ignore case).", sku=sku)


class DuplicateBarcode(Conflict):
    code = "duplicate_barcode"

    def __init__(self, barcode: str):
        super().__init__(f"Barcode {barcode!r} is already used by another part.", barcode=barcode)


class DuplicateLocation(Conflict):
    code = "duplicate_location"

    def __init__(self, code: str):
        super().__init__(f"Location {code!r} already exists.", location=code)


class DuplicateSupplier(Conflict):
    code = "duplicate_supplier"

    def __init__(self, code: str):
        super().__init__(f"Supplier {code!r} already exists.", supplier=code)


class InsufficientStock(Conflict):
    code = "insufficient_stock"

    def __init__(
        self,
        sku: str,
        location: str | None,
        requested: int,
        available: int,
        largest_in_one_location: int | None = None,
    ):
        where = f" at {location}" if location else ""
        message = f"Only {available} of {sku}{where} available; {requested} requested."
        details: dict[str, Any] = {}
        if largest_in_one_location is not None:
            message = (
                f"No single bin holds {requested} free units of {sku} (most in one bin: "
                f"{largest_in_one_location}; {available} across all bins). Reserve in smaller "
                "amounts or move the stock into one bin first."
            )
            details["largest_in_one_location"] = largest_in_one_location
        super().__init__(
            message, sku=sku, location=location, requested=requested, available=available, **details
        )


class CountBelowReserved(Conflict):
    code = "count_below_reserved"

    def __init__(self, sku: str, location: str, counted: int, reserved: int):
        super().__init__(
            f"Counted {counted} of {sku} at {location}, but {reserved} are reserved there. "
            "Release or move the reservations first, then record the count.",
            sku=sku,
            location=location,
            counted=counted,
            reserved=reserved,
        )


class ReservationNotFound(NotFound):
    code = "reservation_not_found"

    def __init__(self, reservation_id: int):
        super().__init__(f"No reservation {reservation_id}.", reservation_id=reservation_id)


class ReservationNotActive(Conflict):
    code = "reservation_not_active"

    def __init__(self, reservation_id: int, status: str):
        super().__init__(
            f"Reservation {reservation_id} is {status}; only an active reservation can change.",
            reservation_id=reservation_id,
            status=status,
        )


class ReservationMismatch(InvalidInput):
    code = "reservation_mismatch"

    def __init__(self, reservation_id: int, what: str):
        super().__init__("reservation_id", f"Reservation {reservation_id} {what}.")


class AlreadyImported(Conflict):
    code = "already_imported"

    def __init__(self, kind: str, when: str, actor: str, summary: str):
        super().__init__(
            f"This {kind} workbook was imported already ({when} by {actor}: {summary}), so "
            "nothing was done again. To go again, download a fresh one.",
            imported_at=when,
            imported_by=actor,
            summary=summary,
        )


class SerialProblem(InvalidInput):
    """A serialised move whose serials do not fit: ``code`` says which rule (missing,
    unknown, duplicated, not at the from-location, already in stock, not serialised)."""

    def __init__(self, code: str, message: str, field: str = "serials", **details: Any):
        super().__init__(field, message, code=code, **details)


class SerialNotFound(NotFound):
    code = "serial_not_found"

    def __init__(self, serial: str):
        super().__init__(f"No unit with serial {serial!r}.", serial=serial)
