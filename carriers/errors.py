"""Carriers' domain errors."""

from __future__ import annotations

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
