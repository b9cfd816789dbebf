"""The repair order of an RMA resolved by repair (returns/repairs.py): open it, use parts,
book labour, record the test, ship the repaired unit back. Warehouse staff (technicians) and
admins act; the desk may read."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from accounts.models import Role
from returns.repair_orders import RepairPartStatus, RepairStatus
from returns.repairs import (
    OpenRepair,
    RecordLabour,
    RecordRepairTest,
    ShipRepair,
    UseRepairPart,
)
from web.api.auth import current_api_user, roles
from web.api.fields import Text
from web.api.schemas import EmptySchema
from web.extensions import services

blp = Blueprint(
    "repair_orders",
    __name__,
    url_prefix="/api/v1/returns",
    description="Repair orders: parts from stock, labour, test, the unit shipped back",
)

TECHNICIANS = (Role.ADMIN, Role.WAREHOUSE)
READERS = (Role.ADMIN, Role.WAREHOUSE, Role.SERVICE_DESK)


class OpenRepairSchema(Schema):
    diagnosis = Text(5000, min_length=1, required=True)
    technician = Text(254, load_default=None)

    @post_load
    def _command(self, data: dict[str, Any], **_: Any) -> OpenRepair:
        return OpenRepair(**data)


class UsePartSchema(Schema):
    sku = Text(64, min_length=1, required=True)
    qty = fields.Integer(required=True, validate=validate.Range(1, 10_000))
    location = Text(64, load_default=None, metadata={"description": "the bin; omit for any"})

    @post_load
    def _command(self, data: dict[str, Any], **_: Any) -> UseRepairPart:
        return UseRepairPart(**data)


class LabourSchema(Schema):
    minutes = fields.Integer(required=True, validate=validate.Range(1, 10_000))
    technician = Text(254, load_default=None)
    diagnosis = Text(5000, load_default=None)

    @post_load
    def _command(self, data: dict[str, Any], **_: Any) -> RecordLabour:
        return RecordLabour(**data)


class RepairTestSchema(Schema):
    passed = fields.Boolean(required=True)
    result = Text(5000, min_length=1, required=True)

    @post_load
    def _command(self, data: dict[str, Any], **_: Any) -> RecordRepairTest:
        return RecordRepairTest(**data)


class ShipRepairSchema(Schema):
    """The carrier and tracking number of a label bought elsewhere; send neither (an empty
    object) to buy the label from SPAREFLOW_OUTBOUND_CARRIER."""

    carrier = Text(32, min_length=1, load_default=None)
    tracking_number = Text(64, min_length=1, load_default=None)

    @validates_schema
    def _both_or_neither(self, data: dict[str, Any], **_: Any) -> None:
        if (data.get("carrier") is None) != (data.get("tracking_number") is None):
            raise ValidationError(
                "Give both the carrier and the tracking number, or neither to buy the label.",
                "tracking_number",
            )

    @post_load
    def _command(self, data: dict[str, Any], **_: Any) -> ShipRepair | None:
        return ShipRepair(**data) if data.get("carrier") else None


class RepairPartSchema(Schema):
    id = fields.Integer()
    sku = fields.String()
    qty = fields.Integer()
    status = fields.Enum(RepairPartStatus, by_value=True)
    location = fields.String(allow_none=True)
    stock_move_id = fields.Integer(allow_none=True, metadata={"description": "its ledger row"})
    requested_by = fields.String()
    requested_at = fields.AwareDateTime()
    issued_at = fields.AwareDateTime(allow_none=True)


class RepairSchema(Schema):
    id = fields.Integer()
    rma_number = fields.String()
    status = fields.Enum(RepairStatus, by_value=True)
    diagnosis = fields.String()
    technician = fields.String(allow_none=True)
    labour_minutes = fields.Integer()
    test_passed = fields.Boolean(allow_none=True)
    test_result = fields.String(allow_none=True)
    missing_skus = fields.List(fields.String(), metadata={"description": "why it waits for parts"})
    received_at = fields.AwareDateTime(allow_none=True)
    opened_by = fields.String()
    opened_at = fields.AwareDateTime()
    tested_at = fields.AwareDateTime(allow_none=True)
    carrier = fields.String(allow_none=True)
    tracking_number = fields.String(allow_none=True)
    shipped_by = fields.String(allow_none=True)
    shipped_at = fields.AwareDateTime(allow_none=True)
    turnaround_hours = fields.Float(allow_none=True)
    parts = fields.List(fields.Nested(RepairPartSchema))


def _actor() -> str:
    return current_api_user().email


@blp.get("/<rma>/repair")
@roles(*READERS)
@blp.response(200, RepairSchema)
def get(rma: str) -> Any:
    """The repair order of an RMA (404 ``no_repair`` before one is opened)."""
    return services().returns.repairs.get(rma)


@blp.post("/<rma>/repair")
@roles(*TECHNICIANS)
@blp.arguments(OpenRepairSchema)
@blp.response(201, RepairSchema)
def open_repair(command: OpenRepair, rma: str) -> Any:
    """Open the repair order of a received unit (resolution ``repair``)."""
    return services().returns.repairs.open(_actor(), rma, command)


@blp.post("/<rma>/repair/parts")
@roles(*TECHNICIANS)
@blp.arguments(UsePartSchema)
@blp.response(200, RepairSchema)
@blp.alt_response(409, description="parts_short: the repair now waits for parts")
def use_part(command: UseRepairPart, rma: str) -> Any:
    """Issue a part from stock for the repair (a ledger row referencing the repair). When it
    is short the answer is 409 ``parts_short`` with ``missing_skus``, and the repair waits."""
    return services().returns.repairs.use_part(_actor(), rma, command)


@blp.post("/<rma>/repair/parts/retry")
@roles(*TECHNICIANS)
@blp.arguments(EmptySchema)
@blp.response(200, RepairSchema)
def retry_parts(_: dict[str, Any], rma: str) -> Any:
    """Issue the parts the repair waits for where stock now exists (oldest requests first)."""
    return services().returns.repairs.retry_parts(_actor(), rma)


@blp.post("/<rma>/repair/labour")
@roles(*TECHNICIANS)
@blp.arguments(LabourSchema)
@blp.response(200, RepairSchema)
def labour(command: RecordLabour, rma: str) -> Any:
    """Book labour minutes (added up), optionally naming the technician or refining the
    diagnosis."""
    return services().returns.repairs.record_labour(_actor(), rma, command)


@blp.post("/<rma>/repair/test")
@roles(*TECHNICIANS)
@blp.arguments(RepairTestSchema)
@blp.response(200, RepairSchema)
def test(command: RecordRepairTest, rma: str) -> Any:
    """Record the test: passed (ready to ship) or failed (back to work)."""
    return services().returns.repairs.record_test(_actor(), rma, command)


@blp.post("/<rma>/repair/ship")
@roles(*TECHNICIANS)
@blp.arguments(ShipRepairSchema)
@blp.response(200, RepairSchema)
@blp.alt_response(202, schema=RepairSchema, description="The outbound label is being bought")
@blp.alt_response(409, description="Not tested, or no outbound carrier configured")
def ship(command: ShipRepair | None, rma: str) -> Any:
    """Ship the tested unit back: with a carrier and tracking number it ships now and the RMA
    closes (200); with neither, the label is bought from SPAREFLOW_OUTBOUND_CARRIER through the
    outbox (202), and the unit ships in that parcel, closing the RMA, once it is bought."""
    returns = services().returns
    if command is None:
        return returns.outbound_labels.order_for_repair(_actor(), rma), 202
    return returns.repairs.ship(_actor(), rma, command)
