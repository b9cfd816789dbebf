"""Advance replacements over the API: the warehouse's pick queue, shipping a picked
replacement, and its outbound label (bought here, printed as PDF or ZPL)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from accounts.models import Role
from carriers.labels import LabelFormat
from returns.commands import ShipReplacement
from returns.status import ReplacementStatus
from returns.views import PickItem
from web.api.auth import roles
from web.api.fields import Text
from web.api.returns import WAREHOUSE, PickQueueItemSchema, RmaSchema, _actor
from web.api.returns_input import ShipSchema
from web.downloads import label_download
from web.extensions import services

blp = Blueprint(
    "replacements",
    __name__,
    url_prefix="/api/v1/replacements",
    description="Advance replacements: the warehouse pick queue",
)


@blp.get("")
@roles(Role.ADMIN, Role.WAREHOUSE, Role.SERVICE_DESK)
@blp.response(200, PickQueueItemSchema(many=True))
def pick_queue() -> Any:
    """Replacements waiting to ship (queued and backordered), oldest first; and those shipped on
    an outbound label bought here that the carrier has not collected yet (to print and pack)."""
    return services().rma_queries.pick_queue()


@blp.post("/<int(max=2147483647):replacement_id>/ship")
@roles(*WAREHOUSE)
@blp.arguments(ShipSchema)
@blp.response(200, RmaSchema)
def ship(command: ShipReplacement, replacement_id: int) -> Any:
    """Ship a picked replacement: its reserved stock is issued and the tracking number attached."""
    return services().returns.warehouse.ship_replacement(_actor(), replacement_id, command)


class LabelQuerySchema(Schema):
    format = fields.Enum(
        LabelFormat,
        by_value=True,
        load_default=None,
        metadata={
            "description": "pdf (4x6 inch) or zpl (thermal printers); default: the PDF when "
            "there is one, else the ZPL"
        },
    )


class LabelOrderSchema(Schema):
    """The outbound carrier (SPAREFLOW_OUTBOUND_CARRIER) and the rate rules decide the label;
    for a serialised part, name the units packed (else send an empty JSON object)."""

    serials = fields.List(
        Text(100, min_length=1),
        load_default=list,
        validate=validate.Length(max=1000),
        metadata={
            "description": "For a serialised part: the serial of each unit packed (one per "
            "unit, at the reserved bin); issued when the label is bought."
        },
    )


@blp.post("/<int(max=2147483647):replacement_id>/label")
@roles(*WAREHOUSE)
@blp.arguments(LabelOrderSchema)
@blp.response(202, PickQueueItemSchema)
@blp.alt_response(409, description="Not queued and reserved, or no outbound carrier")
@blp.alt_response(422, description="Serials missing or not at the reserved bin (serialised part)")
def order_label(data: dict[str, Any], replacement_id: int) -> Any:
    """Buy the outbound label that ships a picked replacement to its customer, from the carrier
    in SPAREFLOW_OUTBOUND_CARRIER. The purchase is queued: once bought, the replacement ships
    in that parcel and its label can be printed (GET .../label)."""
    view = services().returns.outbound_labels.order(
        _actor(), replacement_id, tuple(data["serials"])
    )
    [replacement] = [r for r in view.replacements if r.id == replacement_id]
    return PickItem(
        **asdict(replacement),
        rma_number=view.number,
        label_ordered=replacement.status is ReplacementStatus.QUEUED,
    )


@blp.get("/<int(max=2147483647):replacement_id>/label")
@roles(*WAREHOUSE)
@blp.arguments(LabelQuerySchema, location="query", as_kwargs=True)
@blp.response(200, content_type="application/pdf")
@blp.alt_response(
    404, description="No label bought yet, or none in that format", content_type="application/json"
)
def outbound_label(replacement_id: int, format: LabelFormat | None) -> Any:
    """The printable outbound label of a replacement: the 4x6 PDF, or its ZPL when the provider
    gave one (not for buyers: it carries the customer's name and address)."""
    document = services().returns.outbound_labels.label(replacement_id, format)
    return label_download(document, f"replacement-{replacement_id}")
