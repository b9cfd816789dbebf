"""E-mails spareflow sent: recording a bounce that came back later."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema, fields

from accounts.models import Role
from web.api.auth import roles
from web.api.fields import Text
from web.api.returns import EmailOutSchema
from web.extensions import services

blp = Blueprint(
    "emails",
    __name__,
    url_prefix="/api/v1/emails",
    description="E-mails to customers and staff: bounces reported by the mail system.",
)


class BounceSchema(Schema):
    message_id = Text(250, min_length=3, required=True, metadata={"example": "<1@spareflow>"})
    reason = Text(1000, min_length=1, required=True, metadata={"example": "550 mailbox unknown"})


class BouncedEmailSchema(EmailOutSchema):
    rma_id = fields.Integer(allow_none=True)
    bounced_at = fields.AwareDateTime(allow_none=True)


@blp.post("/bounces")
@roles(Role.ADMIN)
@blp.arguments(BounceSchema)
@blp.response(200, BouncedEmailSchema)
def record_bounce(data: dict[str, Any]) -> Any:
    """Mark an e-mail bounced by its Message-ID; the RMA's timeline and the desk are told."""
    return services().returns.closing.record_bounce(data["message_id"], data["reason"])
