"""What the returns API takes in: each schema validates a request's shape at the edge and
loads it as the command its use case takes (returns/commands.py)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from core.addresses import ADDRESS_LENGTHS, MESSAGES, address_problems
from returns.commands import (
    ApproveDearerLabel,
    AuthoriseRma,
    BookPickup,
    Customer,
    CustomerAddress,
    InspectedLine,
    InspectParcel,
    ReceivedLine,
    ReceiveParcel,
    RecordFollowup,
    RetryRefund,
    ShipReplacement,
)
from returns.from_orders import RequestedLine, ReturnRequest
from returns.status import Channel, Disposition, Priority, Reason, Resolution
from web.api.fields import Quantity, Text
from web.api.schemas import amount_in_range

PRICE = {
    "places": 4,
    "as_string": True,
    "allow_nan": False,
    "validate": amount_in_range,
    "metadata": {"type": "string", "format": "decimal", "example": "29.9900"},
}


class AddressSchema(Schema):
    """The customer's address; rules in core/addresses.py (each refusal names its field)."""

    name = Text(ADDRESS_LENGTHS["name"], min_length=1, required=True)
    company = Text(ADDRESS_LENGTHS["company"], load_default="")
    street = Text(
        ADDRESS_LENGTHS["street"],
        min_length=1,
        required=True,
        metadata={"description": "Chinese addresses: the street, building and room"},
    )
    street2 = Text(ADDRESS_LENGTHS["street2"], load_default="")
    city = Text(
        ADDRESS_LENGTHS["city"],
        min_length=1,
        required=True,
        metadata={"description": "Chinese addresses: city and district, e.g. 深圳市 南山区"},
    )
    state = Text(
        ADDRESS_LENGTHS["state"],
        load_default="",
        metadata={"description": "State, or the province of a Chinese address"},
    )
    postcode = Text(
        ADDRESS_LENGTHS["postcode"],
        load_default="",
        metadata={"description": "Required unless the country has no postcodes (e.g. HK)"},
    )
    country = Text(
        ADDRESS_LENGTHS["country"],
        min_length=2,
        required=True,
        metadata={"description": "ISO 3166-1 alpha-2 code", "example": "CN"},
    )
    phone = Text(ADDRESS_LENGTHS["phone"], load_default="")

    @validates_schema
    def _rules(self, data: dict[str, Any], **_: Any) -> None:
        problems = address_problems(data)
        if problems:
            raise ValidationError({name: [MESSAGES[code]] for name, code in problems.items()})

    @post_load
    def _command(self, data: dict[str, Any], **_: Any) -> CustomerAddress:
        country = data["country"].upper()
        return CustomerAddress(**{**data, "country": country})


class CustomerSchema(Schema):
    name = Text(200, min_length=1, required=True)
    email = fields.Email(required=True, validate=validate.Length(max=254))
    phone = Text(50, load_default=None, allow_none=True)
    vip = fields.Boolean(
        load_default=False, metadata={"description": "VIP or key account: priority +1"}
    )
    language = fields.String(
        load_default="en",
        validate=validate.OneOf(["en", "zh", "zh-CN", "zh-Hans", "zh_Hans"]),
        metadata={"description": "The customer's language for e-mails: en or zh-Hans"},
    )
    address = fields.Nested(
        AddressSchema,
        load_default=None,
        allow_none=True,
        metadata={"description": "Where the parcel is collected from: a prepaid label needs it"},
    )

    @post_load
    def _command(self, data: dict[str, Any], **_: Any) -> Customer:
        return Customer(**data)


class CustomerAddressChangeSchema(Schema):
    """The customer's whole address, as at intake (fields not sent become empty)."""

    address = fields.Nested(AddressSchema, required=True)
    reason = Text(
        500,
        load_default="",
        metadata={"description": "Why (on the timeline and in the audit log)", "example": "Moved"},
    )


class IntakeLineSchema(Schema):
    sku = Text(64, min_length=1, required=True)
    qty = Quantity(required=True)
    serial = Text(100, load_default=None, allow_none=True)
    serials = fields.List(
        Text(100, min_length=1),
        load_default=list,
        validate=validate.Length(max=100),
        metadata={"description": "For a stored order: the serials of the units sent back"},
    )
    unit_price = fields.Decimal(
        load_default=None,
        allow_none=True,
        **{
            **PRICE,
            "metadata": {
                **PRICE["metadata"],
                "description": "Required unless order_number names a stored order "
                "(then refused: the price is the order's)",
            },
        },
    )
    ordered_qty = Quantity(
        load_default=None,
        allow_none=True,
        metadata={"description": "Quantity on the order line, when known (not for a stored order)"},
    )

    @post_load
    def _command(self, data: dict[str, Any], **_: Any) -> RequestedLine:
        return RequestedLine(**{**data, "serials": tuple(data["serials"])})


class IntakeSchema(Schema):
    """An RMA typed in full, or, when ``order_number`` names a stored sales order, one made
    from it: then send only ``sku``, ``qty`` (and ``serials``) per line; customer, prices,
    payment and purchase date come from the order (a ``customer`` given may change only the
    address, VIP flag and language)."""

    customer = fields.Nested(
        CustomerSchema,
        load_default=None,
        allow_none=True,
        metadata={"description": "Required unless order_number names a stored order"},
    )
    order_number = Text(100, load_default=None, allow_none=True)
    payment_reference = Text(
        100,
        load_default=None,
        allow_none=True,
        metadata={"example": "pi_3Nq...", "description": "Not for a stored order"},
    )
    purchase_date = fields.Date(
        load_default=None, allow_none=True, metadata={"description": "Not for a stored order"}
    )
    channel = fields.Enum(Channel, by_value=True, required=True)
    lines = fields.List(
        fields.Nested(IntakeLineSchema), required=True, validate=validate.Length(min=1, max=100)
    )
    reason = fields.Enum(Reason, by_value=True, required=True)
    description = Text(5000, load_default="")
    resolution = fields.Enum(Resolution, by_value=True, required=True)
    priority = fields.Enum(Priority, by_value=True, load_default=Priority.MEDIUM)
    override_reason = Text(
        1000,
        load_default=None,
        allow_none=True,
        metadata={
            "description": "Supervisor (admin) only: accept outside the return window or warranty"
        },
    )

    @post_load
    def _command(self, data: dict[str, Any], **_: Any) -> ReturnRequest:
        return ReturnRequest(**{**data, "lines": tuple(data["lines"])})


class AuthoriseSchema(Schema):
    carrier = Text(
        32,
        load_default=None,
        allow_none=True,
        metadata={"description": "With tracking_number: the customer ships with their own label"},
    )
    tracking_number = Text(64, load_default=None, allow_none=True)
    reason = Text(1000, load_default="")

    @post_load
    def _command(self, data: dict[str, Any], **_: Any) -> AuthoriseRma:
        return AuthoriseRma(**data)


class ReceivedLineSchema(Schema):
    sku = Text(64, min_length=1, required=True)
    qty = Quantity(required=True)
    condition = Text(200, load_default=None, allow_none=True)
    serial = Text(100, load_default=None, allow_none=True)

    @post_load
    def _command(self, data: dict[str, Any], **_: Any) -> ReceivedLine:
        return ReceivedLine(**data)


class ReceiveSchema(Schema):
    lines = fields.List(fields.Nested(ReceivedLineSchema), load_default=list)
    empty = fields.Boolean(load_default=False, metadata={"description": "The parcel arrived empty"})
    note = Text(1000, load_default="")

    @post_load
    def _command(self, data: dict[str, Any], **_: Any) -> ReceiveParcel:
        return ReceiveParcel(**{**data, "lines": tuple(data["lines"])})


class InspectedLineSchema(Schema):
    sku = Text(64, min_length=1, required=True)
    disposition = fields.Enum(Disposition, by_value=True, required=True)
    location = Text(
        64,
        load_default=None,
        allow_none=True,
        metadata={"description": "Bin to restock into (required for restock)"},
    )

    @post_load
    def _command(self, data: dict[str, Any], **_: Any) -> InspectedLine:
        return InspectedLine(**data)


class InspectSchema(Schema):
    lines = fields.List(
        fields.Nested(InspectedLineSchema), required=True, validate=validate.Length(min=1)
    )

    @post_load
    def _command(self, data: dict[str, Any], **_: Any) -> InspectParcel:
        return InspectParcel(tuple(data["lines"]))


class FollowUpSchema(Schema):
    satisfaction = fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=5))
    comment = Text(2000, load_default="")
    confirmed_fixed = fields.Boolean(load_default=None, allow_none=True)

    @post_load
    def _command(self, data: dict[str, Any], **_: Any) -> RecordFollowup:
        return RecordFollowup(**data)


class PickupSchema(Schema):
    """The window the carrier collects in: ISO 8601 times with their UTC offset (the rules,
    future, at most 14 days ahead, 2 to 10 hours long, are returns/pickups.py's)."""

    starts_at = fields.AwareDateTime(
        required=True, metadata={"example": "2026-12-07T09:00:00+00:00"}
    )
    ends_at = fields.AwareDateTime(required=True, metadata={"example": "2026-12-07T13:00:00+00:00"})

    @post_load
    def _command(self, data: dict[str, Any], **_: Any) -> BookPickup:
        return BookPickup(**data)


class ShipSchema(Schema):
    carrier = Text(32, min_length=1, required=True)
    tracking_number = Text(64, min_length=1, required=True)
    serials = fields.List(
        Text(100, min_length=1),
        load_default=list,
        validate=validate.Length(max=1000),
        metadata={"description": "For a serialised part: the serial of each unit shipped."},
    )

    @post_load
    def _command(self, data: dict[str, Any], **_: Any) -> ShipReplacement:
        return ShipReplacement(**{**data, "serials": tuple(data["serials"])})


class RetryRefundSchema(Schema):
    reason = Text(1000, min_length=1, required=True)
    payment_reference = Text(
        100,
        load_default=None,
        allow_none=True,
        metadata={"description": "A corrected payment to refund (after the provider refused)"},
    )

    @post_load
    def _command(self, data: dict[str, Any], **_: Any) -> RetryRefund:
        return RetryRefund(**data)


class ApproveLabelSchema(Schema):
    ceiling_minor = fields.Integer(
        required=True,
        strict=True,
        validate=validate.Range(min=1, max=100_000_000),
        metadata={
            "description": "The most the label may cost, in minor units of the RMA's "
            "currency; at least the provider's cheapest quote",
            "example": 1500,
        },
    )
    reason = Text(1000, min_length=1, required=True)

    @post_load
    def _command(self, data: dict[str, Any], **_: Any) -> ApproveDearerLabel:
        return ApproveDearerLabel(**data)
