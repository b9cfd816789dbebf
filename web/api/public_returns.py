"""The returns portal's public API (no account): look up an order, open a return against it.

The customer proves the order with its number and the e-mail (any case) or postcode on it. A
wrong number and a wrong e-mail or postcode are the same 404 ``order_not_found`` after the
same work (returns/portal.py). Rate-limited per client address and per order number
(``PORTAL_RATE_LIMIT``, ``PORTAL_ORDER_RATE_LIMIT``).
"""

from __future__ import annotations

from typing import Any

from flask import current_app, request, url_for
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, post_load, validates_schema
from marshmallow.validate import Length

from returns.portal import MAX_DESCRIPTION, CustomerProof, PortalLine, PortalReturn
from returns.status import Reason, Resolution
from web.api.fields import Quantity, Text
from web.api.schemas import ErrorSchema
from web.extensions import limiter, services
from web.i18n import current_language
from web.pages.access import public

blp = Blueprint(
    "public_returns",
    __name__,
    url_prefix="/api/v1/public",
    description="The returns portal, for customers and apps: no account, no token",
)

#: Why these need no token.
PORTAL = (
    "the customer proves the order by its number with its e-mail or postcode; one answer for "
    "any mismatch, rate-limited per client address and per order number"
)
MAX_LINES = 50


def client_rate() -> str:
    return str(current_app.config["PORTAL_RATE_LIMIT"])


def order_rate() -> str:
    return str(current_app.config["PORTAL_ORDER_RATE_LIMIT"])


def order_key() -> str:
    """The order number the request names (JSON body or form), for the per-order limit."""
    if request.is_json:
        body = request.get_json(silent=True)
        number = body.get("order_number") if isinstance(body, dict) else None
    else:
        number = request.form.get("order_number")
    return "portal-order:" + (str(number).strip().upper()[:64] if number else "-")


def per_client() -> Any:
    """One budget per client address over every portal request (API and page alike)."""
    return limiter.shared_limit(client_rate, scope="portal-client")


def per_order() -> Any:
    """One budget per order number named, whoever sends it."""
    return limiter.shared_limit(order_rate, scope="portal-order", key_func=order_key)


# --- input -------------------------------------------------------------------------------


class ProofSchema(Schema):
    order_number = Text(64, min_length=1, required=True)
    email = Text(254, load_default=None, metadata={"description": "The e-mail on the order"})
    postcode = Text(
        20, load_default=None, metadata={"description": "The delivery postcode (if no e-mail)"}
    )

    @validates_schema
    def one_proof(self, data: dict[str, Any], **_: Any) -> None:
        if not data.get("email") and not data.get("postcode"):
            raise ValidationError("Give the order's e-mail address or its postcode.", "email")

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> CustomerProof:
        return CustomerProof(data["order_number"], data.get("email"), data.get("postcode"))


class PortalLineSchema(Schema):
    sku = Text(64, min_length=1, required=True)
    qty = Quantity(required=True)
    reason = fields.Enum(Reason, by_value=True, required=True)
    description = Text(MAX_DESCRIPTION, load_default="")

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> PortalLine:
        return PortalLine(**data)


class PortalReturnSchema(ProofSchema):
    lines = fields.List(
        fields.Nested(PortalLineSchema), required=True, validate=Length(min=1, max=MAX_LINES)
    )
    resolution = fields.Enum(
        Resolution,
        by_value=True,
        required=True,
        metadata={"description": "refund, or replacement (an exchange); repair is the desk's"},
    )

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> PortalReturn:  # type: ignore[override]
        return PortalReturn(
            proof=CustomerProof(data["order_number"], data.get("email"), data.get("postcode")),
            lines=tuple(data["lines"]),
            resolution=data["resolution"],
            language=current_language(),
        )


# --- output ------------------------------------------------------------------------------


class PortalLineOutSchema(Schema):
    sku = fields.String()
    name = fields.String()
    ordered_qty = fields.Integer()
    returnable_qty = fields.Integer()
    window_ends = fields.Date(metadata={"description": "Last day a change of mind is accepted"})
    warranty_ends = fields.Date(metadata={"description": "Last day of the part's warranty"})
    in_window = fields.Boolean()
    in_warranty = fields.Boolean()


class PortalOrderSchema(Schema):
    order_number = fields.String(attribute="number")
    purchase_date = fields.Date()
    lines = fields.List(fields.Nested(PortalLineOutSchema))
    resolutions = fields.List(fields.Enum(Resolution, by_value=True))


class PortalOutcomeSchema(Schema):
    rma_number = fields.String()
    status = fields.Function(lambda o: o.status.value)
    status_url = fields.String(metadata={"description": "The customer's status page"})
    authorised = fields.Boolean()
    label_url = fields.Function(
        lambda o: (
            url_for("portal.label", token=o.status_token, _external=True)
            if o.prepaid_label
            else None
        ),
        metadata={
            "type": "string",
            "nullable": True,
            "description": "The prepaid label (PDF) once bought; null: none",
        },
    )
    instructions = fields.Function(
        lambda o: _instructions(o),
        metadata={"type": "string", "nullable": True, "description": "What to do next"},
    )
    return_address = fields.List(fields.String())
    ship_by = fields.Function(
        lambda o: o.ship_by.date().isoformat() if o.ship_by else None,
        metadata={"type": "string", "format": "date", "nullable": True},
    )
    first_response_due_at = fields.Function(
        lambda o: o.first_response_due_at.isoformat() if o.first_response_due_at else None,
        metadata={"type": "string", "format": "date-time", "nullable": True},
    )
    photos = fields.Integer()


def _instructions(outcome: Any) -> str | None:
    if not outcome.authorised:
        return None
    if outcome.prepaid_label:
        return "Print the prepaid label, stick it on the parcel and hand it to the carrier."
    return (
        "Send the parcel with a carrier of your choice to the return address, with the RMA "
        "number on the parcel."
    )


_NOT_FOUND = {"description": "No order with that number and e-mail or postcode (either one)."}


@blp.post("/orders/lookup")
@public(PORTAL)
@per_client()
@per_order()
@blp.doc(security=[], **{"x-public": PORTAL})
@blp.arguments(ProofSchema)
@blp.response(200, PortalOrderSchema)
@blp.alt_response(404, schema=ErrorSchema, **_NOT_FOUND)
@blp.alt_response(429, schema=ErrorSchema, description="Too many tries: wait a minute.")
def lookup(proof: CustomerProof) -> Any:
    """The order's lines that can come back, each with its return window and warranty."""
    return services().portal.lookup(proof)


@blp.post("/returns")
@public(PORTAL)
@per_client()
@per_order()
@blp.doc(security=[], **{"x-public": PORTAL})
@blp.arguments(PortalReturnSchema)
@blp.response(201, PortalOutcomeSchema)
@blp.alt_response(404, schema=ErrorSchema, **_NOT_FOUND)
@blp.alt_response(429, schema=ErrorSchema, description="Too many tries: wait a minute.")
def create(command: PortalReturn) -> Any:
    """Open a return on the order (channel ``portal``); authorised at once within the rules.

    Refusals (422): ``qty_above_returnable``, ``not_on_order``, ``return_window_expired``,
    ``warranty_expired``, ``resolution_not_offered``. The RMA's reason is the first line's;
    each line's description goes into the RMA's description."""
    return services().portal.open(command)
