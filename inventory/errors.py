"""Inventory's domain errors. Each has a stable ``code`` clients can rely on."""

from __future__ import annotations

from typing import Any

from core.errors import N_, Conflict, InvalidInput, NotFound


class PartNotFound(NotFound):
    code = "part_not_found"

    def __init__(self, sku: str):
        super().__init__(N_("No part with SKU %(sku)s.", sku=repr(sku)), sku=sku)


class UnknownPart(InvalidInput):
    code = "unknown_sku"

    def __init__(self, sku: str, field: str = "sku"):
        super().__init__(field, N_("No part with SKU %(sku)s.", sku=repr(sku)), sku=sku)


class UnknownLocation(InvalidInput):
    code = "unknown_location"

    def __init__(self, code: str, field: str = "location"):
        super().__init__(
            field, N_("No location with code %(code)s.", code=repr(code)), location=code
        )


class UnknownSupplier(InvalidInput):
    code = "unknown_supplier"

    def __init__(self, code: str, field: str = "supplier"):
        super().__init__(
            field, N_("No supplier with code %(code)s.", code=repr(code)), supplier=code
        )


class InactivePart(InvalidInput):
    code = "inactive_part"

    def __init__(self, sku: str):
        super().__init__(
            "sku",
            N_("Part %(sku)s is inactive; reactivate it before moving stock.", sku=repr(sku)),
        )


class SameLocation(InvalidInput):
    code = "same_location"

    def __init__(self, code: str):
        super().__init__(
            "to_location",
            N_("A transfer needs two different locations; both are %(code)s.", code=repr(code)),
        )


class DuplicateSku(Conflict):
    code = "duplicate_sku"

    def __init__(self, sku: str):
        super().__init__(
            N_("A part with SKU %(sku)s already exists (SKUs ignore case).", sku=repr(sku)), sku=sku
        )


class DuplicateBarcode(Conflict):
    code = "duplicate_barcode"

    def __init__(self, barcode: str):
        super().__init__(
            N_("Barcode %(barcode)s is already used by another part.", barcode=repr(barcode)),
            barcode=barcode,
        )


class DuplicateLocation(Conflict):
    code = "duplicate_location"

    def __init__(self, code: str):
        super().__init__(N_("Location %(code)s already exists.", code=repr(code)), location=code)


class DuplicateSupplier(Conflict):
    code = "duplicate_supplier"

    def __init__(self, code: str):
        super().__init__(N_("Supplier %(code)s already exists.", code=repr(code)), supplier=code)


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
        message = (
            N_(
                "Only %(available)s of %(sku)s at %(location)s available; %(requested)s requested.",
                available=available,
                sku=sku,
                location=location,
                requested=requested,
            )
            if location
            else N_(
                "Only %(available)s of %(sku)s available; %(requested)s requested.",
                available=available,
                sku=sku,
                requested=requested,
            )
        )
        details: dict[str, Any] = {}
        if largest_in_one_location is not None:
            message = N_(
                "No single bin holds %(requested)s free units of %(sku)s (most in one bin: "
                "%(largest)s; %(available)s across all bins). Reserve in smaller amounts or "
                "move the stock into one bin first.",
                requested=requested,
                sku=sku,
                largest=largest_in_one_location,
                available=available,
            )
            details["largest_in_one_location"] = largest_in_one_location
        super().__init__(
            message, sku=sku, location=location, requested=requested, available=available, **details
        )


class CountBelowReserved(Conflict):
    code = "count_below_reserved"

    def __init__(self, sku: str, location: str, counted: int, reserved: int):
        super().__init__(
            N_(
                "Counted %(counted)s of %(sku)s at %(location)s, but %(reserved)s are reserved "
                "there. Release or move the reservations first, then record the count.",
                counted=counted,
                sku=sku,
                location=location,
                reserved=reserved,
            ),
            sku=sku,
            location=location,
            counted=counted,
            reserved=reserved,
        )


class ReservationNotFound(NotFound):
    code = "reservation_not_found"

    def __init__(self, reservation_id: int):
        super().__init__(
            N_("No reservation %(id)s.", id=reservation_id), reservation_id=reservation_id
        )


class ReservationNotActive(Conflict):
    code = "reservation_not_active"

    def __init__(self, reservation_id: int, status: str):
        super().__init__(
            N_(
                "Reservation %(id)s is %(status)s; only an active reservation can change.",
                id=reservation_id,
                status=status,
            ),
            reservation_id=reservation_id,
            status=status,
        )


class ReservationMismatch(InvalidInput):
    code = "reservation_mismatch"

    def __init__(self, reservation_id: int, message: str):
        super().__init__("reservation_id", message, reservation_id=reservation_id)


class AlreadyImported(Conflict):
    code = "already_imported"

    def __init__(self, kind: str, when: str, actor: str, summary: str):
        super().__init__(
            N_(
                "This %(kind)s workbook was imported already (%(when)s by %(actor)s: "
                "%(summary)s), so nothing was done again. To go again, download a fresh one.",
                kind=kind,
                when=when,
                actor=actor,
                summary=summary,
            ),
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
        super().__init__(N_("No unit with serial %(serial)s.", serial=repr(serial)), serial=serial)
