"""Request and response schemas of the JSON API (and so of its OpenAPI document)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from inventory.commands import (
    AdjustStock,
    IssueReservedStock,
    IssueStock,
    ReceiveStock,
    ReserveStock,
    TransferStock,
)
from inventory.reserve_many import MAX_LINES as MAX_ORDER_LINES
from inventory.status import LocationKind, MoveKind, ReservationStatus
from web.api.fields import MAX_QTY, DatabaseId, Quantity, Text

SKU_PATTERN = validate.Regexp(
    r"^[A-Za-z0-9][A-Za-z0-9._-]*$", error="Letters, digits and . _ - only, no spaces."
)
CODE_PATTERN = validate.Regexp(
    r"^[A-Za-z0-9][A-Za-z0-9_-]*$", error="Letters, digits, _ and - only."
)


class StrictSchema(Schema):
    """Unknown fields are an error (marshmallow's default RAISE): a typo must not lose data."""


class EmptySchema(StrictSchema):
    """Nothing to send: an empty JSON object (every write to the API sends JSON)."""


def amount_in_range(value: Decimal) -> None:
    if not Decimal(0) <= value < Decimal(10**9):
        raise ValidationError("Must be at least 0 and below 1,000,000,000.")


# --- errors and paging -------------------------------------------------------------------


class ErrorBodySchema(Schema):
    code = fields.String(required=True, metadata={"example": "insufficient_stock"})
    message = fields.String(required=True)
    details = fields.Dict(required=True)


class ErrorSchema(Schema):
    error = fields.Nested(ErrorBodySchema, required=True)


class PageQuerySchema(StrictSchema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = Text(
        200, load_default=None, metadata={"description": "next_cursor of the previous page"}
    )


def page_of(item_schema: type[Schema], name: str) -> type[Schema]:
    return Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item_schema), required=True),
            "next_cursor": fields.String(
                allow_none=True,
                required=True,
                metadata={
                    "description": "Pass as `cursor` for the next page; null on the last page."
                },
            ),
        },
        name=name,
    )


# --- suppliers ---------------------------------------------------------------------------


class SupplierSchema(StrictSchema):
    code = Text(32, min_length=1, required=True, validate=CODE_PATTERN)
    name = Text(200, min_length=1, required=True)
    contact_name = Text(200, allow_none=True, load_default=None)
    email = fields.Email(allow_none=True, load_default=None, validate=validate.Length(max=254))
    phone = Text(50, allow_none=True, load_default=None)
    default_lead_time_days = fields.Integer(
        strict=True, load_default=14, validate=validate.Range(min=0, max=365)
    )


class SupplierQuerySchema(PageQuerySchema):
    pass


# --- locations ---------------------------------------------------------------------------


class LocationSchema(StrictSchema):
    code = Text(64, min_length=3, required=True, metadata={"example": "MAIN/A-01-03"})
    kind = fields.Enum(LocationKind, by_value=True, load_default=LocationKind.STORAGE)
    description = Text(200, load_default="")
    warehouse = fields.String(dump_only=True)
    bin = fields.String(dump_only=True)
    active = fields.Boolean(dump_only=True)


class LocationQuerySchema(PageQuerySchema):
    warehouse = Text(32, load_default=None)
    kind = fields.Enum(LocationKind, by_value=True, load_default=None)


# --- parts -------------------------------------------------------------------------------


class PartFieldsSchema(StrictSchema):
    name = Text(200, min_length=1, required=True)
    description = Text(5000)
    unit = Text(16, min_length=1, metadata={"example": "pcs"})
    category = Text(100, allow_none=True)
    barcode = Text(64, allow_none=True)
    supplier = Text(32, allow_none=True, metadata={"description": "supplier code"})
    unit_cost = fields.Decimal(
        places=4,
        as_string=True,
        allow_nan=False,
        validate=amount_in_range,
        # Sent and returned as a decimal string: JSON numbers would round through floats.
        metadata={"type": "string", "format": "decimal", "example": "4.2500"},
    )
    lead_time_days = fields.Integer(
        strict=True, allow_none=True, validate=validate.Range(min=0, max=365)
    )
    reorder_point = fields.Integer(strict=True, validate=validate.Range(min=0, max=MAX_QTY))
    reorder_qty = fields.Integer(strict=True, validate=validate.Range(min=0, max=MAX_QTY))
    safety_stock = fields.Integer(strict=True, validate=validate.Range(min=0, max=MAX_QTY))
    active = fields.Boolean()
    serialised = fields.Boolean(
        metadata={"description": "Each unit has a serial, named on every stock move."}
    )


class PartCreateSchema(PartFieldsSchema):
    sku = Text(64, min_length=1, required=True, validate=SKU_PATTERN)


class PartSchema(PartCreateSchema):
    """A part as the API returns it, with stock totals over all locations."""

    supplier = fields.Function(
        lambda row: row.part.supplier.code if row.part.supplier else None,
        metadata={"type": "string", "nullable": True},
    )
    on_hand = fields.Integer(dump_only=True)
    reserved = fields.Integer(dump_only=True)
    available = fields.Integer(
        dump_only=True,
        metadata={
            "description": "Free stock in storage and receiving locations (not quarantine/returns)."
        },
    )
    below_reorder_point = fields.Boolean(dump_only=True)

    def get_attribute(self, obj: Any, attr: str, default: Any) -> Any:
        # Dumps a PartStock: part fields come from the part, totals from the row.
        source = (
            obj if attr in {"on_hand", "reserved", "available", "below_reorder_point"} else obj.part
        )
        return super().get_attribute(source, attr, default)


class PartQuerySchema(PageQuerySchema):
    supplier = Text(32, load_default=None)
    category = Text(100, load_default=None)
    below_reorder_point = fields.Boolean(
        load_default=None,
        metadata={
            "description": "true: parts whose available stock is at or below their reorder point"
        },
    )
    active = fields.Boolean(load_default=None)
    q = Text(200, load_default=None, metadata={"description": "search SKU, name or exact barcode"})


# --- stock -------------------------------------------------------------------------------


class _MoveCommand(StrictSchema):
    """Loads into the command dataclass of :mod:`inventory.commands` the view passes on."""

    reference = Text(100, allow_none=True, load_default=None, metadata={"example": "PO-2026-0042"})
    reason = Text(200, load_default="")


#: Serials in one move: a scanner session, not a bulk import.
MAX_SERIALS = 1000


def serials_field() -> fields.List:
    return fields.List(
        Text(100, min_length=1),
        load_default=list,
        validate=validate.Length(max=MAX_SERIALS),
        metadata={"description": "For a serialised part: one serial per unit moved."},
    )


def _with_serials(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "serials": tuple(data.get("serials") or ())}


class ReceiptSchema(_MoveCommand):
    serials = serials_field()
    sku = Text(64, min_length=1, required=True)
    location = Text(64, min_length=1, required=True)
    qty = Quantity(required=True)

    @post_load
    def _command(self, data: dict[str, Any], **kwargs: Any) -> ReceiveStock:
        return ReceiveStock(**_with_serials(data))


class IssueSchema(_MoveCommand):
    serials = serials_field()
    sku = Text(64, min_length=1, load_default=None)
    location = Text(64, min_length=1, load_default=None)
    qty = Quantity(load_default=None)
    reservation_id = DatabaseId(
        load_default=None,
        metadata={"description": "Issue the stock this reservation holds (all of it)."},
    )

    @validates_schema
    def _needs_what_to_issue(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("reservation_id") is None:
            missing = {
                name: ["Missing data for required field."]
                for name in ("sku", "location", "qty")
                if data.get(name) is None
            }
            if missing:
                raise ValidationError(missing)

    @post_load
    def _command(self, data: dict[str, Any], **kwargs: Any) -> IssueStock | IssueReservedStock:
        if data["reservation_id"] is not None:
            return IssueReservedStock(**_with_serials(data))
        del data["reservation_id"]
        return IssueStock(**_with_serials(data))


class TransferSchema(_MoveCommand):
    serials = serials_field()
    sku = Text(64, min_length=1, required=True)
    from_location = Text(64, min_length=1, required=True)
    to_location = Text(64, min_length=1, required=True)
    qty = Quantity(required=True)

    @post_load
    def _command(self, data: dict[str, Any], **kwargs: Any) -> TransferStock:
        return TransferStock(**_with_serials(data))


class AdjustmentSchema(_MoveCommand):
    serials = serials_field()
    sku = Text(64, min_length=1, required=True)
    location = Text(64, min_length=1, required=True)
    counted_qty = Quantity(required=True, minimum=0)

    @post_load
    def _command(self, data: dict[str, Any], **kwargs: Any) -> AdjustStock:
        return AdjustStock(**_with_serials(data))


class MoveSchema(Schema):
    id = fields.Integer()
    kind = fields.Enum(MoveKind, by_value=True)
    sku = fields.Function(lambda move: move.part.sku)
    qty = fields.Integer()
    from_location = fields.Function(lambda m: m.from_location.code if m.from_location else None)
    to_location = fields.Function(lambda m: m.to_location.code if m.to_location else None)
    reason = fields.String()
    reference = fields.String(allow_none=True)
    reservation_id = fields.Integer(allow_none=True)
    counted_qty = fields.Integer(allow_none=True)
    serials = fields.List(fields.String(), attribute="serial_list")
    difference = fields.Integer(attribute="signed_difference", allow_none=True)
    actor = fields.String()
    created_at = fields.AwareDateTime()


class MoveQuerySchema(PageQuerySchema):
    pass


class LevelSchema(Schema):
    location = fields.Function(lambda level: level.location.code)
    kind = fields.Function(lambda level: level.location.kind.value)
    on_hand = fields.Integer()
    reserved = fields.Integer()
    available = fields.Integer()


class StockSchema(Schema):
    sku = fields.Function(lambda report: report.totals.part.sku)
    on_hand = fields.Function(lambda report: report.totals.on_hand)
    reserved = fields.Function(lambda report: report.totals.reserved)
    available = fields.Function(lambda report: report.totals.available)
    locations = fields.List(fields.Nested(LevelSchema), attribute="levels")


# --- reservations ------------------------------------------------------------------------


class ReservationCreateSchema(_MoveCommand):
    sku = Text(64, min_length=1, required=True)
    qty = Quantity(required=True)
    location = Text(
        64,
        min_length=1,
        load_default=None,
        metadata={
            "description": "Reserve at this location; by default the storage bin with most free."
        },
    )

    @post_load
    def _command(self, data: dict[str, Any], **kwargs: Any) -> ReserveStock:
        return ReserveStock(**data)


class ReservationSchema(Schema):
    id = fields.Integer()
    sku = fields.String()
    location = fields.String()
    qty = fields.Integer()
    reference = fields.String(allow_none=True)
    status = fields.Enum(ReservationStatus, by_value=True)
    created_by = fields.String()
    created_at = fields.AwareDateTime()
    closed_at = fields.AwareDateTime(allow_none=True)


class ReservationLineSchema(StrictSchema):
    sku = Text(64, min_length=1, required=True)
    qty = Quantity(required=True)
    location = Text(
        64,
        min_length=1,
        load_default=None,
        metadata={"description": "This line at this location; by default the bin with most free."},
    )


class ReservationBatchCreateSchema(_MoveCommand):
    """Every line of an order, reserved all together or not at all."""

    lines = fields.List(
        fields.Nested(ReservationLineSchema),
        required=True,
        validate=validate.Length(min=1, max=MAX_ORDER_LINES),
        metadata={"description": f"1 to {MAX_ORDER_LINES} lines; a part may appear on several."},
    )


class ReservationBatchSchema(Schema):
    reservations = fields.List(fields.Nested(ReservationSchema))
