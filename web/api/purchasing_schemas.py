"""Schemas of the reorder, purchase-order and workbook endpoints."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask_smorest.fields import Upload
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from purchasing.reorder.formulas import MAX_SERVICE_LEVEL, MIN_SERVICE_LEVEL
from purchasing.reorder.targets import MAX_FILL_RATE, MIN_FILL_RATE
from purchasing.status import PurchaseOrderStatus, ReorderMethod, Urgency
from web.api.fields import MAX_QTY, Quantity, Text
from web.api.schemas import MoveSchema, PageQuerySchema, StrictSchema, serials_field


def _decimal(places: int, **kwargs: Any) -> fields.Decimal:
    """A decimal sent and returned as a string: JSON numbers would round through floats."""
    metadata = {"type": "string", "format": "decimal", **kwargs.pop("metadata", {})}
    return fields.Decimal(
        places=places, as_string=True, allow_nan=False, metadata=metadata, **kwargs
    )


def _service_level_in_range(value: Decimal) -> None:
    if not MIN_SERVICE_LEVEL <= value <= MAX_SERVICE_LEVEL:
        raise ValidationError(f"Must be from {MIN_SERVICE_LEVEL} to {MAX_SERVICE_LEVEL}.")


def fill_rate_in_range(value: Decimal | None) -> None:
    if value is not None and not MIN_FILL_RATE <= value <= MAX_FILL_RATE:
        raise ValidationError(f"Must be from {MIN_FILL_RATE} to {MAX_FILL_RATE}.")


# --- suggestions -------------------------------------------------------------------------


class SuggestionFilterSchema(StrictSchema):
    supplier = Text(32, load_default=None, metadata={"description": "supplier code"})
    category = Text(100, load_default=None)
    urgency = fields.Enum(
        Urgency,
        by_value=True,
        load_default=None,
        metadata={
            "description": "The least urgency to include, from the most urgent: short, "
            "below_safety_stock, below_point (below_safety_stock lists short parts too)."
        },
    )


class SuggestionQuerySchema(PageQuerySchema, SuggestionFilterSchema):
    pass


class SuggestionSchema(Schema):
    sku = fields.String(attribute="stock.sku")
    name = fields.String(attribute="stock.name")
    category = fields.String(attribute="stock.category", allow_none=True)
    supplier = fields.String(attribute="stock.supplier_code", allow_none=True)
    supplier_name = fields.String(attribute="stock.supplier_name", allow_none=True)
    unit = fields.String(attribute="stock.unit")
    unit_cost = _decimal(4, attribute="stock.unit_cost")
    on_hand = fields.Integer(
        attribute="stock.on_hand", metadata={"description": "Everywhere, quarantine included."}
    )
    reserved = fields.Integer(
        attribute="stock.reserved", metadata={"description": "Reserved replacements and orders."}
    )
    available = fields.Integer(
        attribute="stock.available", metadata={"description": "Free in storage and receiving bins."}
    )
    on_order = fields.Integer(
        attribute="stock.on_order", metadata={"description": "Outstanding on draft and open POs."}
    )
    on_order_in_drafts = fields.Integer(attribute="stock.on_order_in_drafts")
    returns_picked_up = fields.Function(
        lambda s: s.incoming_returns.picked_up if s.incoming_returns else 0,
        metadata={"type": "integer"},
    )
    returns_restock_rate = fields.Function(
        lambda s: str(s.incoming_returns.restock_rate) if s.incoming_returns else None,
        metadata={"type": "string", "format": "decimal", "nullable": True},
    )
    returns_expected = fields.Integer(attribute="expected_returns")
    position = fields.Integer(metadata={"description": "available + on_order + returns_expected"})
    reorder_point = fields.Integer(attribute="stock.reorder_point")
    safety_stock = fields.Integer(attribute="stock.safety_stock")
    reorder_qty = fields.Integer(attribute="stock.reorder_qty")
    max_level = fields.Integer(attribute="stock.max_level", allow_none=True)
    pack_size = fields.Integer(attribute="stock.pack_size")
    min_order_qty = fields.Integer(attribute="stock.min_order_qty")
    target = fields.Integer(metadata={"description": "The level the order brings stock up to."})
    qty = fields.Integer(metadata={"description": "The quantity to order."})
    line_value = _decimal(2)
    urgency = fields.Enum(Urgency, by_value=True)
    lead_time_days = fields.Integer(attribute="stock.lead_time_days")
    expected_arrival = fields.Date()
    needed_by = fields.Date(allow_none=True)
    flagged_since = fields.AwareDateTime(attribute="stock.flagged_since", allow_none=True)
    reasons = fields.List(
        fields.String(), metadata={"description": "Why each figure is what it is."}
    )


class ReorderRecomputeSchema(StrictSchema):
    window_days = fields.Integer(
        strict=True, load_default=None, validate=validate.Range(min=2, max=3650)
    )
    service_level = _decimal(
        4,
        load_default=None,
        validate=_service_level_in_range,
        metadata={"example": "0.9500"},
    )


class ReorderRecomputeResultSchema(Schema):
    computed_at = fields.AwareDateTime()
    window_days = fields.Integer()
    service_level = _decimal(4)
    parts = fields.Integer()
    parts_with_demand = fields.Integer()
    points_applied = fields.Integer(
        metadata={"description": "Parts with the computed method whose figures changed."}
    )
    flagged = fields.Integer(metadata={"description": "Parts at or below their point now."})
    newly_flagged = fields.Integer()
    cleared = fields.Integer()


class ReorderComputedSchema(Schema):
    computed_at = fields.AwareDateTime(allow_none=True)
    window_days = fields.Integer(allow_none=True)
    demand_total = fields.Integer(allow_none=True)
    avg_daily_demand = _decimal(4, allow_none=True)
    demand_std_dev = _decimal(4, allow_none=True)
    lead_time_days = fields.Integer(attribute="lead_time_days_used", allow_none=True)
    service_level = _decimal(4, attribute="service_level_used", allow_none=True)
    safety_stock = fields.Integer(attribute="suggested_safety_stock", allow_none=True)
    reorder_point = fields.Integer(attribute="suggested_reorder_point", allow_none=True)
    reorder_qty = fields.Integer(attribute="suggested_reorder_qty", allow_none=True)


class ReorderPlanSchema(Schema):
    """The fill-rate plan of the last recompute (docs/planning.md)."""

    demand_class = fields.String(allow_none=True)
    adi = _decimal(4, attribute="demand_adi", allow_none=True)
    cv2 = _decimal(4, attribute="demand_cv2", allow_none=True)
    forecast_per_month = _decimal(4, allow_none=True)
    forecast_method = fields.String(allow_none=True)
    target_fill_rate = _decimal(4, attribute="fill_rate_target_used", allow_none=True)
    planned_level = fields.Integer(allow_none=True)
    expected_fill_rate = _decimal(4, allow_none=True)
    stock_value = _decimal(2, attribute="planned_stock_value", allow_none=True)


class ReorderPolicySchema(Schema):
    sku = fields.String()
    method = fields.Enum(ReorderMethod, by_value=True)
    pack_size = fields.Integer()
    min_order_qty = fields.Integer()
    max_level = fields.Integer(allow_none=True)
    service_level = _decimal(4, allow_none=True)
    order_cycle_days = fields.Integer(allow_none=True)
    reorder_point = fields.Integer()
    reorder_qty = fields.Integer()
    safety_stock = fields.Integer()
    flagged_since = fields.AwareDateTime(allow_none=True)
    computed = fields.Function(
        lambda view: ReorderComputedSchema().dump(view),
        metadata={"description": "What the last recompute found (nulls before the first)."},
    )
    fill_rate_target = _decimal(4, allow_none=True)
    plan = fields.Function(
        lambda view: ReorderPlanSchema().dump(view),
        metadata={"description": "The fill-rate plan of the last recompute."},
    )


class ReorderPolicyUpdateSchema(StrictSchema):
    method = fields.Enum(ReorderMethod, by_value=True)
    pack_size = fields.Integer(strict=True, validate=validate.Range(min=1, max=MAX_QTY))
    min_order_qty = fields.Integer(strict=True, validate=validate.Range(min=0, max=MAX_QTY))
    max_level = fields.Integer(
        strict=True, allow_none=True, validate=validate.Range(min=0, max=MAX_QTY)
    )
    service_level = _decimal(4, allow_none=True, validate=_service_level_in_range)
    order_cycle_days = fields.Integer(
        strict=True, allow_none=True, validate=validate.Range(min=1, max=365)
    )
    fill_rate_target = _decimal(4, allow_none=True, validate=fill_rate_in_range)


# --- purchase orders ---------------------------------------------------------------------


class PurchaseOrderLineSchema(Schema):
    line_no = fields.Integer()
    sku = fields.String()
    name = fields.String()
    qty_ordered = fields.Integer()
    qty_received = fields.Integer()
    qty_outstanding = fields.Integer()
    unit_cost = _decimal(4)
    line_value = _decimal(2)
    serialised = fields.Boolean(
        metadata={"description": "Receipts of this line name one serial per unit."}
    )


class PurchaseOrderEventSchema(Schema):
    from_status = fields.Enum(PurchaseOrderStatus, by_value=True, allow_none=True)
    to_status = fields.Enum(PurchaseOrderStatus, by_value=True)
    actor = fields.String()
    at = fields.AwareDateTime(attribute="created_at")
    reason = fields.String()


class PurchaseOrderSchema(Schema):
    number = fields.String(metadata={"example": "PO-2026-00042"})
    supplier = fields.Function(lambda order: order.supplier.code)
    supplier_name = fields.Function(lambda order: order.supplier.name)
    status = fields.Enum(PurchaseOrderStatus, by_value=True)
    source = fields.String()
    created_by = fields.String()
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()
    sent_at = fields.AwareDateTime(allow_none=True)
    closed_at = fields.AwareDateTime(allow_none=True)
    expected_on = fields.Date(allow_none=True)
    total_value = _decimal(2)
    lines = fields.List(fields.Nested(PurchaseOrderLineSchema))
    events = fields.List(
        fields.Nested(PurchaseOrderEventSchema),
        metadata={"description": "Every transition: who, when, from, to, why."},
    )


class PurchaseOrderQuerySchema(PageQuerySchema):
    supplier = Text(32, load_default=None, metadata={"description": "supplier code"})
    status = fields.Enum(PurchaseOrderStatus, by_value=True, load_default=None)


class PurchaseOrderTransitionSchema(StrictSchema):
    reason = Text(200, load_default="")


class PurchaseOrderReceiptLineSchema(StrictSchema):
    sku = Text(64, min_length=1, required=True)
    qty = Quantity(required=True)
    location = Text(
        64,
        min_length=1,
        load_default=None,
        metadata={"description": "Where this line goes; default: the receipt's location."},
    )
    serials = serials_field()


class PurchaseOrderReceiptSchema(StrictSchema):
    location = Text(64, min_length=1, load_default=None, metadata={"example": "MAIN/RECEIVING"})
    lines = fields.List(
        fields.Nested(PurchaseOrderReceiptLineSchema),
        required=True,
        validate=validate.Length(min=1, max=500),
    )
    reason = Text(200, load_default="")

    @validates_schema
    def _every_line_has_a_location(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("location") is None and any(
            line.get("location") is None for line in data.get("lines", [])
        ):
            raise ValidationError(
                "Give a location for the receipt, or one on every line.", "location"
            )


class PurchaseOrderReceiptResultSchema(Schema):
    purchase_order = fields.Nested(PurchaseOrderSchema)
    moves = fields.List(fields.Nested(MoveSchema))


# --- workbooks ---------------------------------------------------------------------------


class WorkbookUploadSchema(Schema):
    file = Upload(required=True, metadata={"description": "The edited .xlsx workbook."})


class ReorderImportResultSchema(Schema):
    purchase_orders = fields.List(fields.Nested(PurchaseOrderSchema), attribute="orders")


class CatalogueImportResultSchema(Schema):
    created = fields.Integer()
    updated = fields.Integer()
    unchanged = fields.Integer()


class CountImportResultSchema(Schema):
    reference = fields.String(metadata={"description": "The ledger reference of these counts."})
    counted = fields.Function(lambda result: len(result.moves), metadata={"type": "integer"})
    moves = fields.List(fields.Nested(MoveSchema))


class CountExportQuerySchema(StrictSchema):
    location = Text(64, min_length=1, required=True, metadata={"example": "MAIN/A-01-03"})
    blind = fields.Boolean(
        load_default=False,
        metadata={"description": "Leave out the book quantity (a blind count)."},
    )
