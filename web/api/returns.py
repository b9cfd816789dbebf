"""The returns desk API: RMAs from intake to close, and the replacement pick queue."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema, fields, post_dump

from accounts.models import Role
from carriers.models import label_formats
from carriers.status import TrackingStatus
from returns.commands import (
    ApproveDearerLabel,
    AuthoriseRma,
    BookPickup,
    InspectParcel,
    ReceiveParcel,
    RecordFollowup,
    RetryRefund,
)
from returns.from_orders import ReturnRequest
from returns.queries import RmaFilter
from returns.service_levels import sla_clock
from returns.status import (
    CaseKind,
    Disposition,
    Priority,
    Reason,
    RefundStatus,
    ReplacementStatus,
    Resolution,
    RmaStatus,
)
from web import errors
from web.api.auth import ALL_ROLES, current_api_user, roles
from web.api.fields import Text
from web.api.pagination import decode_typed_cursor, page
from web.api.redaction import redact_rma, redact_summary, sees_personal_data
from web.api.returns_input import (
    ApproveLabelSchema,
    AuthoriseSchema,
    CustomerAddressChangeSchema,
    FollowUpSchema,
    InspectSchema,
    IntakeSchema,
    PickupSchema,
    ReceiveSchema,
    RetryRefundSchema,
)
from web.api.schemas import PageQuerySchema, amount_in_range, page_of
from web.extensions import services

returns_blp = Blueprint(
    "returns", __name__, url_prefix="/api/v1/returns", description="Return authorisations (RMAs)"
)

DESK = (Role.ADMIN, Role.SERVICE_DESK)
WAREHOUSE = (Role.ADMIN, Role.WAREHOUSE)
PRICE = {
    "places": 4,
    "as_string": True,
    "allow_nan": False,
    "validate": amount_in_range,
    "metadata": {"type": "string", "format": "decimal", "example": "29.9900"},
}


# --- input -------------------------------------------------------------------------------


class ReturnsQuerySchema(PageQuerySchema):
    state = fields.Enum(RmaStatus, by_value=True, load_default=None)
    priority = fields.Enum(Priority, by_value=True, load_default=None)
    customer = Text(254, load_default=None)
    overdue = fields.Boolean(load_default=None)


class ReasonSchema(Schema):
    reason = Text(1000, min_length=1, required=True)


class CloseSchema(Schema):
    reason = Text(1000, load_default="")


# --- output ------------------------------------------------------------------------------


class RmaLineOutSchema(Schema):
    sku = fields.String()
    qty = fields.Integer()
    serial = fields.String(allow_none=True)
    unit_price = fields.Decimal(places=4, as_string=True)
    received_qty = fields.Integer()
    condition = fields.String(allow_none=True)
    serial_matches = fields.Boolean(allow_none=True)
    disposition = fields.Enum(Disposition, by_value=True, allow_none=True)


class TimelineSchema(Schema):
    at = fields.AwareDateTime()
    kind = fields.String()
    from_status = fields.Enum(RmaStatus, by_value=True, allow_none=True)
    to_status = fields.Enum(RmaStatus, by_value=True)
    actor = fields.String()
    reason = fields.String()


class OutboundLabelSchema(Schema):
    provider = fields.String(attribute="label_provider")
    id = fields.String(attribute="label_id", metadata={"description": "The provider's id"})
    cost_minor = fields.Integer(
        attribute="label_cost_minor",
        allow_none=True,
        metadata={"description": "What it cost, in minor units of the RMA's currency"},
    )


class ReplacementOutSchema(Schema):
    id = fields.Integer()
    sku = fields.String()
    qty = fields.Integer()
    status = fields.Enum(ReplacementStatus, by_value=True)
    carrier = fields.String(allow_none=True)
    tracking_number = fields.String(allow_none=True)
    queued_at = fields.AwareDateTime()
    shipped_at = fields.AwareDateTime(allow_none=True)
    delivered_at = fields.AwareDateTime(
        allow_none=True, metadata={"description": "When the carrier delivered it"}
    )
    expected_on = fields.Date(
        allow_none=True,
        metadata={
            "description": "Backordered: when stock is expected, from the open purchase order "
            "that covers it (or estimated from the part's lead time); null otherwise"
        },
    )
    expected_estimated = fields.Boolean(
        metadata={"description": "The expected date is an estimate: no open order covers it"}
    )
    label = fields.Function(
        lambda v: OutboundLabelSchema().dump(v) if v.label_bought else None,
        metadata={
            "description": "The outbound label spareflow bought to ship it (null: none)",
            "type": "object",
            "nullable": True,
        },
    )


class PickQueueItemSchema(ReplacementOutSchema):
    rma_number = fields.String()
    label_ordered = fields.Boolean(
        metadata={"description": "Its outbound label is being bought (POST .../label)"}
    )
    location = fields.String(
        attribute="location_code",
        allow_none=True,
        metadata={"description": "Bin holding the reserved stock"},
    )
    label_formats = fields.Function(
        lambda item: label_formats(item.has_pdf, item.has_zpl),
        metadata={"description": "The bought label's formats (GET .../label?format=)"},
    )


class ShipmentEventOutSchema(Schema):
    occurred_at = fields.AwareDateTime()
    status = fields.Enum(TrackingStatus, by_value=True)
    raw_status = fields.String()
    description = fields.String()
    location = fields.String(allow_none=True)


class RmaShipmentSchema(Schema):
    direction = fields.Function(lambda s: s.direction.value)
    carrier = fields.String()
    tracking_number = fields.String()
    status = fields.Enum(TrackingStatus, by_value=True)
    picked_up_at = fields.AwareDateTime(allow_none=True)
    label_formats = fields.List(
        fields.String(),
        metadata={"description": "Its label's formats (GET /api/v1/shipments/{n}/label?format=)"},
    )
    events = fields.List(fields.Nested(ShipmentEventOutSchema))


class RefundOutSchema(Schema):
    status = fields.Enum(RefundStatus, by_value=True, attribute="refund_status")
    amount_minor = fields.Integer(attribute="refund_amount_minor")
    currency = fields.String()
    hold_reason = fields.String(attribute="refund_hold_reason", allow_none=True)
    held_by = fields.String(attribute="refund_held_by", allow_none=True)
    released_by = fields.String(attribute="refund_released_by", allow_none=True)
    reference = fields.String(attribute="refund_reference", allow_none=True)
    released_at = fields.AwareDateTime(attribute="refund_released_at", allow_none=True)
    error = fields.String(attribute="refund_error", allow_none=True)


class SupplierClaimSchema(Schema):
    id = fields.Integer()
    sku = fields.String()
    qty = fields.Integer()
    supplier_id = fields.Integer(allow_none=True)
    fault = fields.String()
    status = fields.String()
    created_at = fields.AwareDateTime()


class RmaSummarySchema(Schema):
    rma_number = fields.String(attribute="number")
    kind = fields.Enum(CaseKind, by_value=True)
    status = fields.Enum(RmaStatus, by_value=True)
    priority = fields.Enum(Priority, by_value=True)
    # null in the buyers' redacted view (web/api/redaction.py)
    customer_name = fields.String(allow_none=True)
    customer_email = fields.String(allow_none=True)
    resolution = fields.Enum(Resolution, by_value=True, allow_none=True)
    reason = fields.Enum(Reason, by_value=True, allow_none=True)
    refund_status = fields.Enum(RefundStatus, by_value=True)
    created_at = fields.AwareDateTime()
    expires_at = fields.AwareDateTime(allow_none=True)

    @post_dump
    def _redact(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        return data if sees_personal_data() else redact_summary(data)


class RmaSchema(Schema):
    """An RMA with its lines, refund, replacements, shipments and timeline.

    Buyers get the redacted view (web/api/redaction.py): no customer name, e-mail, phone,
    address or payment reference, no e-mails, and free text without the customer's details.
    """

    @post_dump(pass_original=True)
    def _redact(self, data: dict[str, Any], view: Any, **_: Any) -> dict[str, Any]:
        return data if sees_personal_data() else redact_rma(data, view)

    rma_number = fields.Function(lambda v: v.number)
    kind = fields.Function(
        lambda v: v.kind.value, metadata={"description": "return, enquiry or complaint"}
    )
    root_cause = fields.Function(
        lambda v: v.root_cause.value if v.root_cause else None,
        metadata={"description": "A complaint's root cause (docs/desk.md), else null"},
    )
    status = fields.Function(lambda v: v.status.value)
    priority = fields.Function(lambda v: v.priority.value)
    customer = fields.Function(
        lambda v: {
            "name": v.customer_name,
            "email": v.customer_email,
            "phone": v.customer_phone,
            "vip": v.vip,
            "language": v.customer_language,
            "address": v.customer_address.as_mapping() if v.customer_address else None,
        }
    )
    order_number = fields.Function(lambda v: v.order_number)
    payment_reference = fields.Function(lambda v: v.payment_reference)
    purchase_date = fields.Function(
        lambda v: v.purchase_date.isoformat() if v.purchase_date else None
    )
    channel = fields.Function(lambda v: v.channel.value)
    reason = fields.Function(lambda v: v.reason.value if v.reason else None)
    description = fields.Function(lambda v: v.description)
    resolution = fields.Function(lambda v: v.resolution.value if v.resolution else None)
    policy_override_reason = fields.Function(lambda v: v.policy_override_reason)
    expires_at = fields.Function(lambda v: v.expires_at.isoformat() if v.expires_at else None)
    needs_recovery = fields.Function(lambda v: v.needs_recovery)
    needs_chase = fields.Function(lambda v: v.needs_chase)
    pickup = fields.Function(
        lambda v: (
            {"starts_at": v.pickup_starts_at.isoformat(), "ends_at": v.pickup_ends_at.isoformat()}
            if v.pickup_starts_at and v.pickup_ends_at
            else None
        ),
        metadata={"description": "The carrier's collection booked for the return label, or null"},
    )
    satisfaction = fields.Function(lambda v: v.satisfaction)
    lines = fields.Function(lambda v: RmaLineOutSchema(many=True).dump(v.lines))
    refund = fields.Function(lambda v: RefundOutSchema().dump(v))
    replacements = fields.Function(lambda v: ReplacementOutSchema(many=True).dump(v.replacements))
    shipments = fields.Function(lambda v: RmaShipmentSchema(many=True).dump(v.shipments))
    timeline = fields.Function(lambda v: TimelineSchema(many=True).dump(v.timeline))
    supplier_claims = fields.Function(lambda v: SupplierClaimSchema(many=True).dump(v.claims))
    service_level = fields.Function(lambda v: _service_level(v))
    emails = fields.Function(lambda v: EmailOutSchema(many=True).dump(v.emails))
    created_at = fields.Function(lambda v: v.created_at.isoformat())


class EmailOutSchema(Schema):
    kind = fields.String()
    to = fields.String(attribute="to_address")
    language = fields.String()
    subject = fields.String(allow_none=True)
    status = fields.String(metadata={"description": "queued, sent, failed or bounced"})
    error = fields.String(allow_none=True)
    message_id = fields.String()
    created_at = fields.AwareDateTime()
    sent_at = fields.AwareDateTime(allow_none=True)


def _iso(moment: Any) -> str | None:
    return moment.isoformat() if moment else None


def _service_level(rma: Any) -> dict[str, Any]:
    clock = sla_clock(services().returns.ctx.levels, rma, services().clock.now())
    return {
        "first_response_due_at": _iso(rma.first_response_due_at),
        "first_response_at": _iso(rma.first_response_at),
        "resolution_due_at": _iso(rma.resolution_due_at),
        "resolved_at": _iso(rma.resolved_at),
        "next_target": clock.target or None,
        "minutes_left": int(clock.left.total_seconds() // 60) if clock.left is not None else None,
        "level": clock.level,
    }


class ReplySchema(Schema):
    message = Text(5000, min_length=1, required=True)


def _actor() -> str:
    return current_api_user().email


def _supervisor() -> bool:
    return current_api_user().role is Role.ADMIN


# --- endpoints ---------------------------------------------------------------------------


@returns_blp.post("")
@roles(*DESK)
@returns_blp.arguments(IntakeSchema)
@returns_blp.response(201, RmaSchema)
def create(request: ReturnRequest) -> Any:
    """Open a return authorisation; answers with its number (RMA-YYYYMMDD-NNNN) and status.

    With the `order_number` of a stored sales order (`POST /api/v1/orders`), the RMA is made
    from the order: lines give only `sku`, `qty` and `serials`; `422 given_by_order` for a
    price, payment reference or purchase date sent anyway, `422 qty_above_returnable`,
    `not_on_order` or `serial_not_on_order` for what the order cannot send back."""
    return services().returns.from_orders.open_request(_actor(), request, supervisor=_supervisor())


@returns_blp.get("")
@roles(*ALL_ROLES)
@returns_blp.arguments(ReturnsQuerySchema, location="query", as_kwargs=True)
@returns_blp.response(200, page_of(RmaSummarySchema, "RmaPage"))
def list_returns(limit: int, cursor: str | None, state: RmaStatus | None, **filters: Any) -> Any:
    """RMAs, newest first; filter by state, priority, customer (name or e-mail) or overdue.

    Buyers get the redacted view and may not search by customer."""
    if filters.get("customer") and not sees_personal_data():
        return errors.error_response(
            403, "forbidden", "Your role sees no customer data, so it cannot search by customer."
        )
    rows = services().rma_queries.matching(
        RmaFilter(status=state, after=decode_typed_cursor(cursor, int), limit=limit + 1, **filters)
    )
    return page(rows, limit, key=lambda rma: rma.id)


@returns_blp.get("/<rma>")
@roles(*ALL_ROLES)
@returns_blp.response(200, RmaSchema)
def get(rma: str) -> Any:
    """One RMA with its lines, refund, replacements, shipments and timeline."""
    return services().rma_queries.get(rma)


@returns_blp.post("/<rma>/authorise")
@roles(*DESK)
@returns_blp.arguments(AuthoriseSchema)
@returns_blp.response(200, RmaSchema)
def authorise(command: AuthoriseRma, rma: str) -> Any:
    """Authorise: replacements are reserved now; a label is bought unless a tracking number is
    given."""
    return services().returns.authorisation.authorise(_actor(), rma, command)


@returns_blp.patch("/<rma>/customer-address")
@roles(*DESK)
@returns_blp.arguments(CustomerAddressChangeSchema)
@returns_blp.response(200, RmaSchema)
def change_customer_address(data: dict[str, Any], rma: str) -> Any:
    """Correct the customer's address (and its phone), by the intake rules; on the timeline and
    audited. `409 rma_ended`, `409 return_label_exists` (the label carries the old address),
    `409 return_label_pending` (a label is being bought)."""
    change = services().returns.customer_addresses.change
    return change(_actor(), rma, data["address"], data["reason"])


@returns_blp.post("/<rma>/reject")
@roles(*DESK)
@returns_blp.arguments(ReasonSchema)
@returns_blp.response(200, RmaSchema)
def reject(data: dict[str, Any], rma: str) -> Any:
    """Reject a requested return, with the reason."""
    return services().returns.authorisation.reject(_actor(), rma, data["reason"])


@returns_blp.post("/<rma>/cancel")
@roles(*DESK)
@returns_blp.arguments(ReasonSchema)
@returns_blp.response(200, RmaSchema)
def cancel(data: dict[str, Any], rma: str) -> Any:
    """Cancel a return before the carrier has it; reserved replacements are released."""
    return services().returns.authorisation.cancel(_actor(), rma, data["reason"])


@returns_blp.post("/<rma>/receive")
@roles(*WAREHOUSE)
@returns_blp.arguments(ReceiveSchema)
@returns_blp.response(200, RmaSchema)
def receive(command: ReceiveParcel, rma: str) -> Any:
    """Book the returned parcel in (into the returns location, through the stock ledger)."""
    return services().returns.warehouse.receive(_actor(), rma, command, supervisor=_supervisor())


@returns_blp.post("/<rma>/inspect")
@roles(*WAREHOUSE)
@returns_blp.arguments(InspectSchema)
@returns_blp.response(200, RmaSchema)
def inspect(command: InspectParcel, rma: str) -> Any:
    """Choose a disposition per line: restock, refurbish, quarantine, scrap or return to vendor."""
    return services().returns.warehouse.inspect(_actor(), rma, command)


@returns_blp.post("/<rma>/close")
@roles(*DESK)
@returns_blp.arguments(CloseSchema)
@returns_blp.response(200, RmaSchema)
def close(data: dict[str, Any], rma: str) -> Any:
    """Close a resolved RMA; a follow-up with the customer is scheduled."""
    return services().returns.closing.close(_actor(), rma, data["reason"])


@returns_blp.post("/<rma>/follow-up")
@roles(*DESK)
@returns_blp.arguments(FollowUpSchema)
@returns_blp.response(200, RmaSchema)
def follow_up(command: RecordFollowup, rma: str) -> Any:
    """Record the customer's confirmation and 1-5 satisfaction score."""
    return services().returns.closing.record_followup(_actor(), rma, command)


@returns_blp.post("/<rma>/refund/release")
@roles(Role.ADMIN)
@returns_blp.arguments(ReasonSchema)
@returns_blp.response(200, RmaSchema)
def release_refund(data: dict[str, Any], rma: str) -> Any:
    """Supervisor: release a held refund, or one whose pickup scan never came, with a reason."""
    return services().returns.refunds.release_by_supervisor(
        _actor(), rma, data["reason"], supervisor=_supervisor()
    )


@returns_blp.post("/<rma>/refund/retry")
@roles(Role.ADMIN)
@returns_blp.arguments(RetryRefundSchema)
@returns_blp.response(200, RmaSchema)
def retry_refund(command: RetryRefund, rma: str) -> Any:
    """Supervisor: send a failed refund again, unchanged (same key) or to a corrected payment."""
    return services().returns.refunds.retry(_actor(), rma, command, supervisor=_supervisor())


class RetryLabelSchema(Schema):
    note = Text(
        500,
        load_default="",
        metadata={"description": "What was fixed (on the timeline)", "example": "Address fixed"},
    )


@returns_blp.post("/<rma>/label/retry")
@roles(*DESK)
@returns_blp.arguments(RetryLabelSchema)
@returns_blp.response(200, RmaSchema)
def retry_label(data: dict[str, Any], rma: str) -> Any:
    """Try a failed prepaid return label again (after fixing the address, topping up the
    provider's funds, or once the provider answers again); `409 label_not_failed` if none
    failed."""
    return services().returns.label_desk.retry_label(_actor(), rma, data["note"])


@returns_blp.post("/<rma>/label/approve")
@roles(Role.ADMIN)
@returns_blp.arguments(ApproveLabelSchema)
@returns_blp.response(200, RmaSchema)
def approve_label(command: ApproveDearerLabel, rma: str) -> Any:
    """Supervisor: buy a return label refused for costing more than the ceiling, up to
    `ceiling_minor` (at least the cheapest quote: else `422 below_cheapest`), with a reason;
    audited. `409 label_not_above_ceiling` if the label failed for another reason."""
    return services().returns.label_desk.approve_dearer_label(
        _actor(), rma, command.ceiling_minor, command.reason, supervisor=_supervisor()
    )


@returns_blp.post("/<rma>/pickup")
@roles(*DESK)
@returns_blp.arguments(PickupSchema)
@returns_blp.response(200, RmaSchema)
def book_pickup(command: BookPickup, rma: str) -> Any:
    """Book, or change, the carrier's collection of the return parcel: only for a label bought
    by spareflow from a provider that books pickups, while the RMA waits for its parcel; the
    window starts in the future, at most 14 days ahead, and is 2 to 10 hours long."""
    return services().returns.pickups.book(rma, command, actor=_actor())


@returns_blp.post("/<rma>/reply")
@roles(*DESK)
@returns_blp.arguments(ReplySchema)
@returns_blp.response(200, RmaSchema)
def reply(data: dict[str, Any], rma: str) -> Any:
    """E-mail the customer; the first reply (or any action) is the RMA's first response."""
    return services().returns.closing.reply(_actor(), rma, data["message"])


class StatusLinkInSchema(Schema):
    reason = Text(
        500, load_default="", metadata={"example": "The customer deleted the first e-mail"}
    )


class StatusLinkOutSchema(Schema):
    status_url = fields.String(
        metadata={"description": "The new link; shown only now (only its hash is kept)"}
    )
    emailed = fields.Boolean(metadata={"description": "Whether it was e-mailed to the customer"})


@returns_blp.post("/<rma>/status-link")
@roles(*DESK)
@returns_blp.arguments(StatusLinkInSchema)
@returns_blp.response(201, StatusLinkOutSchema)
def new_status_link(data: dict[str, Any], rma: str) -> Any:
    """Send the customer a new status page link: every earlier link stops working at once."""
    link = services().status_links.rotate(_actor(), rma, data["reason"])
    return {"status_url": link.url, "emailed": link.emailed}
