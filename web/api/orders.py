"""The sales-order feed: create or update an order by its number, read one with what of it
can still come back, and find orders for the desk."""

from __future__ import annotations

from dataclasses import fields as dataclass_fields
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from flask import url_for
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, post_load, validate

from accounts.models import Role
from returns.from_orders import ReturnableOrder
from sales.commands import OrderCustomer, OrderLineInput, UpsertOrder
from sales.orders import MAX_LINES, OrderSearch, OrderView
from web.api.auth import roles
from web.api.fields import Quantity, Text
from web.api.pagination import decode_typed_cursor, page
from web.api.returns_input import PRICE, AddressSchema
from web.api.schemas import PageQuerySchema, page_of
from web.extensions import services

blp = Blueprint(
    "orders",
    __name__,
    url_prefix="/api/v1/orders",
    description="Sales orders: what customers bought, so returns are made from it",
)

#: The desk reads orders; only admins (and the integrations holding an admin's token) feed them.
READ = (Role.ADMIN, Role.SERVICE_DESK)
WRITE = (Role.ADMIN,)

#: Order times outside these are typing mistakes (and years near 1 or 9999 overflow on UTC).
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def _plausible(moment: datetime) -> None:
    if not EARLIEST <= moment < LATEST:
        raise ValidationError("Must be between 2000 and 2100.")


#: A decimal answered as a string ("19.9000"), documented so.
DECIMAL = {"type": "string", "format": "decimal", "example": "19.9000"}
MOMENT = {"validate": _plausible, "metadata": {"example": "2026-11-01T10:00:00+00:00"}}


# --- input -------------------------------------------------------------------------------


class OrderCustomerSchema(Schema):
    name = Text(200, min_length=1, required=True)
    email = fields.Email(required=True, validate=validate.Length(max=254))
    phone = Text(50, load_default=None, allow_none=True)
    address = fields.Nested(
        AddressSchema,
        load_default=None,
        allow_none=True,
        metadata={"description": "The delivery address; a return label collects from here"},
    )

    @post_load
    def _command(self, data: dict[str, Any], **_: Any) -> OrderCustomer:
        return OrderCustomer(**data)


class OrderLineSchema(Schema):
    sku = Text(64, min_length=1, required=True)
    qty = Quantity(required=True)
    unit_price = fields.Decimal(required=True, **PRICE)
    serials = fields.List(
        Text(100, min_length=1),
        load_default=list,
        validate=validate.Length(max=1000),
        metadata={"description": "The serials shipped on this line (at most qty)"},
    )

    @post_load
    def _command(self, data: dict[str, Any], **_: Any) -> OrderLineInput:
        return OrderLineInput(**{**data, "serials": tuple(data["serials"])})


class OrderInSchema(Schema):
    """The whole order each time: an update replaces its fields and lines."""

    number = Text(100, min_length=1, required=True, metadata={"example": "#1001"})
    channel = Text(32, min_length=1, required=True, metadata={"example": "webshop"})
    customer = fields.Nested(OrderCustomerSchema, required=True)
    ordered_at = fields.AwareDateTime(required=True, **MOMENT)
    shipped_at = fields.AwareDateTime(load_default=None, allow_none=True, **MOMENT)
    payment_reference = Text(
        100,
        load_default=None,
        allow_none=True,
        metadata={"description": "The payment a refund goes back to", "example": "pi_3Nq..."},
    )
    currency = Text(
        3,
        required=True,
        validate=validate.Regexp(r"^[A-Za-z]{3}$", error="An ISO 4217 code, e.g. USD."),
        metadata={"example": "USD"},
    )
    lines = fields.List(
        fields.Nested(OrderLineSchema),
        required=True,
        validate=validate.Length(min=1, max=MAX_LINES),
    )

    @post_load
    def _command(self, data: dict[str, Any], **_: Any) -> UpsertOrder:
        # In UTC, as stored: the first answer and a repeat's read the same.
        times = {
            name: data[name].astimezone(UTC) if data[name] else None
            for name in ("ordered_at", "shipped_at")
        }
        return UpsertOrder(**{**data, **times, "lines": tuple(data["lines"])})


class OrdersQuerySchema(PageQuerySchema):
    email = Text(254, load_default=None, metadata={"description": "The customer's, any case"})
    q = Text(
        200,
        load_default=None,
        metadata={"description": "Part of the order number, customer name or e-mail"},
    )


# --- output ------------------------------------------------------------------------------


class OrderLineOutSchema(Schema):
    position = fields.Integer()
    sku = fields.String()
    qty = fields.Integer()
    unit_price = fields.Decimal(places=4, as_string=True, metadata=DECIMAL)
    serials = fields.List(fields.String())


def _customer(order: OrderView) -> dict[str, Any]:
    return {
        "name": order.customer_name,
        "email": order.customer_email,
        "phone": order.customer_phone,
        "address": order.address.as_mapping() if order.address else None,
    }


class OrderOutSchema(Schema):
    number = fields.String()
    channel = fields.String()
    source = fields.Function(lambda o: o.source.value, metadata={"example": "api"})
    customer = fields.Function(_customer, metadata={"type": "object"})
    ordered_at = fields.AwareDateTime()
    shipped_at = fields.AwareDateTime(allow_none=True)
    payment_reference = fields.String(allow_none=True)
    currency = fields.String()
    lines = fields.List(fields.Nested(OrderLineOutSchema))
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


class ReturnableLineSchema(Schema):
    sku = fields.String()
    ordered_qty = fields.Integer()
    returned_qty = fields.Integer(
        metadata={"description": "On RMAs of this order that are not rejected or cancelled"}
    )
    returnable_qty = fields.Integer()
    unit_price = fields.Decimal(places=4, as_string=True, metadata=DECIMAL)
    serials = fields.List(
        fields.String(), metadata={"description": "Shipped serials not yet on their way back"}
    )
    window_ends = fields.Date(metadata={"description": "Last day for a change of mind"})
    warranty_ends = fields.Date(metadata={"description": "Last day of the part's warranty"})


class OrderDetailSchema(OrderOutSchema):
    """The order, and per SKU what has been returned and what can still be."""

    purchase_date = fields.Date(
        metadata={
            "description": "The day the window and warranty count from (shipped, else ordered)"
        }
    )
    returns = fields.List(fields.Nested(ReturnableLineSchema))


class OrderSummarySchema(Schema):
    number = fields.String()
    channel = fields.String()
    source = fields.Function(lambda o: o.source.value)
    customer_name = fields.String()
    customer_email = fields.String()
    ordered_at = fields.AwareDateTime()
    shipped_at = fields.AwareDateTime(allow_none=True)
    currency = fields.String()


def _detail(returnable: ReturnableOrder) -> SimpleNamespace:
    """The order's fields beside its returns, as OrderDetailSchema reads them."""
    order = returnable.order
    return SimpleNamespace(
        **{field.name: getattr(order, field.name) for field in dataclass_fields(order)},
        purchase_date=returnable.purchase_date,
        returns=returnable.lines,
    )


# --- endpoints ---------------------------------------------------------------------------


@blp.post("")
@roles(*WRITE)
@blp.arguments(OrderInSchema)
@blp.response(201, OrderOutSchema, description="Created")
@blp.alt_response(200, schema=OrderOutSchema, description="Updated, or a repeat: nothing changed")
def upsert(command: UpsertOrder) -> Any:
    """Create the order, or update the stored one with this number (send the whole order).

    Idempotent: sending the same order again answers `200` with the same body and changes
    nothing; the first time answers `201` with a `Location`."""
    saved = services().orders.save(command)
    if not saved.created:
        return saved.order, 200
    location = url_for("orders.get", number=saved.order.number)
    return saved.order, 201, {"Location": location}


@blp.get("")
@roles(*READ)
@blp.arguments(OrdersQuerySchema, location="query", as_kwargs=True)
@blp.response(200, page_of(OrderSummarySchema, "OrderPage"))
def list_orders(limit: int, cursor: str | None, email: str | None, q: str | None) -> Any:
    """Orders, newest first; `email` finds a customer's, `q` part of a number, name or e-mail."""
    rows = services().orders.search(
        OrderSearch(email=email, text=q, after=decode_typed_cursor(cursor, int), limit=limit + 1)
    )
    return page(rows, limit, key=lambda row: row.id)


@blp.get("/<number>")
@roles(*READ)
@blp.response(200, OrderDetailSchema)
def get(number: str) -> Any:
    """One order (`#1001` is `%231001` in the URL), with per SKU the quantity returned (on
    RMAs not rejected or cancelled), what can still be returned, and the return window and
    warranty end dates."""
    return _detail(services().returns.from_orders.returnable(number))
