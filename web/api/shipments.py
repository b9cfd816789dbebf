from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema, fields

from accounts.models import Role
from carriers.labels import LabelFormat
from carriers.models import Direction
from carriers.status import TrackingStatus
from web.api.auth import ALL_ROLES, current_api_user, roles
from web.api.fields import Text
from web.downloads import label_download
from web.extensions import services

blp = Blueprint(
    "shipments",
    __name__,
    url_prefix="/api/v1/shipments",
    description="Shipments and their carrier tracking timelines",
)

HANDLERS = (Role.ADMIN, Role.WAREHOUSE, Role.SERVICE_DESK)


class TimelineEventSchema(Schema):
    occurred_at = fields.AwareDateTime()
    status = fields.Enum(TrackingStatus, by_value=True)
    raw_status = fields.String()
    description = fields.String()
    location = fields.String(allow_none=True)
    source = fields.Function(lambda e: e.source.value)
    outcome = fields.Function(
        lambda e: e.outcome.value,
        metadata={
            "description": "applied: moved the shipment forward; recorded: on the timeline only"
        },
    )
    recorded_by = fields.String(allow_none=True)
    received_at = fields.AwareDateTime()


class ShipmentSchema(Schema):
    tracking_number = fields.String()
    carrier = fields.String()
    tracked_via = fields.String(allow_none=True)
    direction = fields.Enum(Direction, by_value=True)
    status = fields.Enum(TrackingStatus, by_value=True)
    reference = fields.String(allow_none=True)
    picked_up_at = fields.AwareDateTime(allow_none=True)
    delivered_at = fields.AwareDateTime(allow_none=True)
    last_exception = fields.String(allow_none=True)
    has_label = fields.Function(lambda s: s.label_media_type is not None)
    label_formats = fields.List(
        fields.String(),
        metadata={"description": "The label's formats (pdf, zpl), the default first"},
    )
    created_at = fields.AwareDateTime()
    events = fields.List(fields.Nested(TimelineEventSchema))


class ShipmentCreateSchema(Schema):
    direction = fields.Enum(Direction, by_value=True, required=True)
    carrier = Text(32, min_length=1, required=True, metadata={"example": "sfexpress"})
    tracking_number = Text(64, min_length=1, required=True)
    reference = Text(100, load_default=None, metadata={"example": "RMA-20261123-0042"})
    tracked_via = Text(
        32,
        min_length=1,
        load_default=None,
        metadata={
            "description": "The aggregator adapter whose events this parcel takes (aftership "
            "for a UPS parcel followed through AfterShip); then carrier is the parcel's own."
        },
    )
    reason = Text(
        500,
        load_default="",
        metadata={"description": "Required from an admin registering a second return parcel"},
    )


class ManualEventSchema(Schema):
    status = fields.Enum(TrackingStatus, by_value=True, required=True)
    occurred_at = fields.AwareDateTime(load_default=None, default_timezone=None)
    reason = Text(
        500, min_length=1, required=True, metadata={"example": "Carrier confirmed pickup by phone"}
    )


@blp.post("")
@roles(*HANDLERS)
@blp.arguments(ShipmentCreateSchema)
@blp.response(201, ShipmentSchema)
def register(data: dict[str, Any]) -> Any:
    """Register a shipment by its tracking number (e.g. the customer's own label).

    A second inbound parcel for an authorised RMA is an admin's act, with a reason
    (409 ``second_return_parcel`` for anyone else).
    """
    user = current_api_user()
    return services().carriers.register_shipment(
        actor=user.email, supervisor=user.role is Role.ADMIN, **data
    )


@blp.get("/<tracking_number>")
@roles(*ALL_ROLES)
@blp.response(200, ShipmentSchema)
def get(tracking_number: str) -> Any:
    """A shipment with its timeline of carrier events, oldest first."""
    return services().carriers.get_shipment(tracking_number)


@blp.post("/<tracking_number>/events")
@roles(*HANDLERS)
@blp.arguments(ManualEventSchema)
@blp.response(201, ShipmentSchema)
def record_event(data: dict[str, Any], tracking_number: str) -> Any:
    """Record a carrier event by hand (with a reason), e.g. a pickup confirmed by phone.

    A pickup entered by anyone but an admin holds the RMA's refund for a supervisor.
    """
    user = current_api_user()
    return services().carriers.record_event(
        user.email, tracking_number=tracking_number, supervisor=user.role is Role.ADMIN, **data
    )


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


@blp.get("/<tracking_number>/label")
@roles(*HANDLERS)  # not buyers: a label prints the customer's name and address
@blp.arguments(LabelQuerySchema, location="query", as_kwargs=True)
@blp.response(200, content_type="application/pdf")
@blp.alt_response(
    404,
    description="No label (``no_label``), or none in that format (``no_label_format``)",
    content_type="application/json",
)
def label(tracking_number: str, format: LabelFormat | None) -> Any:
    """The printable label of a shipment spareflow created a label for: the 4x6 PDF, or
    ``?format=zpl`` for a thermal printer (``application/zpl``), with a filename (not for
    buyers: it carries the customer's name and address)."""
    document = services().carriers.get_label(tracking_number, format)
    return label_download(document, f"label-{tracking_number}")
