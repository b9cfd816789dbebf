"""Supplier claims: list per supplier and status, read, and move through their life."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Response
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from accounts.models import Role
from core.spreadsheets import XLSX_MIME
from purchasing.claim_lifecycle import ClaimFilters, ClaimView
from purchasing.claims import ClaimStatus
from returns.metrics_maths import Period
from web.api.auth import current_api_user, roles
from web.api.fields import Text
from web.api.pagination import decode_typed_cursor, page
from web.api.schemas import PageQuerySchema, StrictSchema, amount_in_range, page_of
from web.downloads import xlsx_download
from web.extensions import services

blp = Blueprint(
    "claims",
    __name__,
    url_prefix="/api/v1/claims",
    description="Supplier claims: open, shipped to the vendor, acknowledged, credited, rejected",
)

BUYERS = (Role.ADMIN, Role.BUYER)


def _money(**kwargs: Any) -> fields.Decimal:
    return fields.Decimal(places=4, as_string=True, allow_nan=False, **kwargs)


class ClaimEventSchema(Schema):
    from_status = fields.String(allow_none=True)
    to_status = fields.String()
    actor = fields.String()
    at = fields.AwareDateTime()
    reason = fields.String()


class ClaimSchema(Schema):
    id = fields.Integer()
    number = fields.String(metadata={"example": "CLM-00042"})
    rma_number = fields.String(allow_none=True)
    supplier = fields.String(attribute="supplier_code", allow_none=True)
    supplier_name = fields.String(allow_none=True)
    sku = fields.String()
    qty = fields.Integer()
    fault = fields.String()
    status = fields.Enum(ClaimStatus, by_value=True)
    allowed = fields.List(fields.String(), metadata={"description": "States it can move to."})
    created_by = fields.String()
    created_at = fields.AwareDateTime()
    carrier = fields.String(allow_none=True)
    tracking_number = fields.String(allow_none=True)
    shipment_status = fields.String(allow_none=True, metadata={"description": "From tracking."})
    shipped_at = fields.AwareDateTime(allow_none=True)
    vendor_rma = fields.String(allow_none=True)
    acknowledged_at = fields.AwareDateTime(allow_none=True)
    credit_amount = _money(allow_none=True)
    credit_currency = fields.String(allow_none=True)
    credit_note = fields.String(allow_none=True)
    rejection_reason = fields.String(allow_none=True)
    closed_at = fields.AwareDateTime(allow_none=True)
    events = fields.List(
        fields.Nested(ClaimEventSchema),
        metadata={"description": "Every transition: who, when, from, to, why (on GET one)."},
    )


class ClaimFilterSchema(StrictSchema):
    supplier = Text(32, load_default=None, metadata={"description": "supplier code"})
    status = fields.Enum(ClaimStatus, by_value=True, load_default=None)


class ClaimQuerySchema(PageQuerySchema, ClaimFilterSchema):
    pass


class ClaimShipSchema(StrictSchema):
    carrier = Text(32, min_length=1, required=True, metadata={"example": "sandbox"})
    tracking_number = Text(64, min_length=1, required=True)
    reason = Text(200, load_default="")


class ClaimAcknowledgeSchema(StrictSchema):
    vendor_rma = Text(64, min_length=1, required=True)
    reason = Text(200, load_default="")


class ClaimCreditSchema(StrictSchema):
    amount = fields.Decimal(
        required=True,
        places=4,
        as_string=True,
        allow_nan=False,
        validate=amount_in_range,
        metadata={"type": "string", "format": "decimal", "example": "49.9800"},
    )
    currency = Text(3, min_length=3, required=True, metadata={"example": "EUR"})
    credit_note = Text(64, min_length=1, required=True)
    reason = Text(200, load_default="")


class ClaimReasonSchema(StrictSchema):
    reason = Text(2000, min_length=1, required=True)


class ClaimFiguresQuerySchema(StrictSchema):
    first = fields.Date(data_key="from", load_default=None)
    last = fields.Date(data_key="to", load_default=None)


class SupplierClaimFiguresSchema(Schema):
    supplier = fields.String(attribute="supplier_code")
    supplier_name = fields.String()
    claims = fields.Integer(metadata={"description": "Claims opened in the period"})
    units_claimed = fields.Integer()
    units_received = fields.Integer(
        metadata={"description": "Units received on purchase orders in the period"}
    )
    claim_rate = fields.Float(
        allow_none=True, metadata={"description": "units_claimed / units_received"}
    )
    credited = fields.Integer()
    rejected = fields.Integer()
    open = fields.Integer()
    recovered = fields.Dict(
        keys=fields.String(),
        values=_money(),
        metadata={"description": "Credits of claims credited in the period, per currency"},
    )


class ClaimFiguresSchema(Schema):
    first = fields.Date(data_key="from")
    last = fields.Date(data_key="to")
    suppliers = fields.List(fields.Nested(SupplierClaimFiguresSchema))


def _actor() -> str:
    return current_api_user().email


@blp.get("")
@roles(*BUYERS)
@blp.arguments(ClaimQuerySchema, location="query", as_kwargs=True)
@blp.response(200, page_of(ClaimSchema, "ClaimPage"))
def list_claims(limit: int, cursor: str | None, **filters: Any) -> dict[str, Any]:
    """Claims, newest first, optionally of one supplier or in one state."""
    rows = services().buying.claims.list_claims(
        ClaimFilters(**filters), before=decode_typed_cursor(cursor, int), limit=limit + 1
    )
    return page(rows, limit, key=lambda claim: claim.id)


@blp.get("/export.xlsx")
@roles(*BUYERS)
@blp.arguments(ClaimFilterSchema, location="query", as_kwargs=True)
@blp.response(200, content_type=XLSX_MIME)
def export(**filters: Any) -> Response:
    """The filtered claims as a workbook."""
    actor, chosen = _actor(), ClaimFilters(**filters)
    today = services().clock.now().date().isoformat()
    return xlsx_download(
        lambda stream: services().buying.claims.export(stream, actor, chosen),
        f"supplier-claims-{today}.xlsx",
    )


@blp.get("/figures")
@roles(*BUYERS)
@blp.arguments(ClaimFiguresQuerySchema, location="query", as_kwargs=True)
@blp.response(200, ClaimFiguresSchema)
def figures(first: date | None, last: date | None) -> dict[str, Any]:
    """Per supplier: claims, claim rate (units claimed per unit received) and the amount
    recovered by credits, over a period (default: the last 28 days)."""
    period = Period.asked(first, last, services().clock.now().date())
    rows = services().buying.claims.supplier_figures(period.start, period.end)
    return {"first": period.first_day, "last": period.last_day, "suppliers": rows}


@blp.get("/<int(max=2147483647):claim_id>")
@roles(*BUYERS)
@blp.response(200, ClaimSchema)
def get_claim(claim_id: int) -> ClaimView:
    """One claim with its history."""
    return services().buying.claims.get(claim_id)


@blp.post("/<int(max=2147483647):claim_id>/ship")
@roles(*BUYERS)
@blp.arguments(ClaimShipSchema)
@blp.response(200, ClaimSchema)
def ship(data: dict[str, Any], claim_id: int) -> ClaimView:
    """Shipped to the vendor: registers a tracked outbound parcel (reference: the claim)."""
    return services().buying.claims.ship(
        _actor(), claim_id, data["carrier"], data["tracking_number"], data["reason"]
    )


@blp.post("/<int(max=2147483647):claim_id>/acknowledge")
@roles(*BUYERS)
@blp.arguments(ClaimAcknowledgeSchema)
@blp.response(200, ClaimSchema)
def acknowledge(data: dict[str, Any], claim_id: int) -> ClaimView:
    """The vendor acknowledged the claim under their RMA number."""
    return services().buying.claims.acknowledge(
        _actor(), claim_id, data["vendor_rma"], data["reason"]
    )


@blp.post("/<int(max=2147483647):claim_id>/credit")
@roles(*BUYERS)
@blp.arguments(ClaimCreditSchema)
@blp.response(200, ClaimSchema)
def credit(data: dict[str, Any], claim_id: int) -> ClaimView:
    """The vendor credited the claim: amount, currency and credit note number."""
    return services().buying.claims.credit(
        _actor(), claim_id, data["amount"], data["currency"], data["credit_note"], data["reason"]
    )


@blp.post("/<int(max=2147483647):claim_id>/reject")
@roles(*BUYERS)
@blp.arguments(ClaimReasonSchema)
@blp.response(200, ClaimSchema)
def reject(data: dict[str, Any], claim_id: int) -> ClaimView:
    """The vendor rejected the claim; the reason is kept."""
    return services().buying.claims.reject(_actor(), claim_id, data["reason"])


@blp.post("/<int(max=2147483647):claim_id>/cancel")
@roles(*BUYERS)
@blp.arguments(ClaimReasonSchema)
@blp.response(200, ClaimSchema)
def cancel(data: dict[str, Any], claim_id: int) -> ClaimView:
    """Withdraw an open claim (not yet shipped)."""
    return services().buying.claims.cancel(_actor(), claim_id, data["reason"])
