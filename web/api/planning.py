"""The fill-rate plan: the buyer's targets per demand class and part category, and the
catalogue's trade-off (docs/planning.md). Per-part targets are on the reorder policy
(``PATCH /api/v1/reorder/policies/<sku>`` with ``fill_rate_target``)."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from accounts.models import Role
from purchasing.reorder.targets import CLASSES, MAX_FILL_RATE, MIN_FILL_RATE, SCOPES
from web.api.auth import current_api_user, roles
from web.api.purchasing_schemas import _decimal, fill_rate_in_range
from web.api.schemas import StrictSchema
from web.extensions import services

blp = Blueprint(
    "planning",
    __name__,
    url_prefix="/api/v1/planning",
    description="Fill-rate targets per demand class and category, and the catalogue's trade-off",
)
BUYERS = (Role.ADMIN, Role.BUYER)


class TargetSchema(Schema):
    scope = fields.String(metadata={"enum": list(SCOPES)})
    key = fields.String(metadata={"description": "The demand class or category; empty: default."})
    fill_rate = _decimal(4)
    updated_by = fields.String()


class TargetUpdateSchema(StrictSchema):
    scope = fields.String(required=True, validate=validate.OneOf(SCOPES))
    key = fields.String(
        load_default="",
        validate=validate.Length(max=100),
        metadata={"description": f"default: empty; class: one of {', '.join(CLASSES)}; "
                  "category: the part category."},
    )  # fmt: skip
    fill_rate = _decimal(
        4,
        required=True,
        allow_none=True,
        validate=fill_rate_in_range,
        metadata={"description": f"{MIN_FILL_RATE} to {MAX_FILL_RATE}; null removes it."},
    )

    @validates_schema
    def _key_fits_scope(self, data: dict[str, Any], **_: Any) -> None:
        scope, key = data.get("scope"), (data.get("key") or "").strip()
        if scope == "default" and key:
            raise ValidationError("The default target has no key.", "key")
        if scope == "class" and key not in CLASSES:
            raise ValidationError(f"One of {', '.join(CLASSES)}.", "key")
        if scope == "category" and not key:
            raise ValidationError("Name the category.", "key")


class TargetListSchema(Schema):
    targets = fields.List(fields.Nested(TargetSchema))
    setting_default = _decimal(
        4, metadata={"description": "The PLANNING_DEFAULT_FILL_RATE setting, used without one."}
    )


class TradeoffPointSchema(Schema):
    target = _decimal(4)
    expected_fill_rate = _decimal(4)
    stock_value = _decimal(2)
    parts = fields.Integer()
    computed_at = fields.AwareDateTime()


class TradeoffSchema(Schema):
    points = fields.List(fields.Nested(TradeoffPointSchema))


def _targets() -> dict[str, Any]:
    reorder = services().buying.reorder
    return {"targets": reorder.targets(), "setting_default": reorder.settings.planning_target}


@blp.get("/targets")
@roles(*BUYERS)
@blp.response(200, TargetListSchema)
def list_targets() -> Any:
    """The fill-rate targets: the default, per demand class and per part category."""
    return _targets()


@blp.put("/targets")
@roles(*BUYERS)
@blp.arguments(TargetUpdateSchema)
@blp.response(200, TargetListSchema)
def put_target(data: dict[str, Any]) -> Any:
    """Set one target (``fill_rate: null`` removes it); the next recompute plans with it."""
    services().buying.reorder.set_target(
        current_api_user().email, data["scope"], data["key"], data["fill_rate"]
    )
    return _targets()


@blp.get("/tradeoff")
@roles(*BUYERS)
@blp.response(200, TradeoffSchema)
def tradeoff() -> Any:
    """The catalogue's expected fill rate and stock value for targets 0.80 to 0.99."""
    return {"points": services().buying.reorder.tradeoff()}
