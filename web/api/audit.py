"""The audit log, read-only, for admins: the same filters as the page (Admin > Audit log)."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema, fields

from accounts.models import Role
from core.audit_log import AuditFilter, AuditLog
from web.api.auth import roles
from web.api.fields import Text
from web.api.pagination import decode_typed_cursor, page
from web.api.schemas import PageQuerySchema, page_of
from web.extensions import services

blp = Blueprint(
    "audit",
    __name__,
    url_prefix="/api/v1/audit",
    description="The audit log (append-only): who did what to accounts, secrets, prices, money.",
)


class AuditQuerySchema(PageQuerySchema):
    actor = Text(254, load_default=None, metadata={"example": "admin@demo.spareflow"})
    action = Text(
        64,
        load_default=None,
        metadata={"description": "An action (user.role_changed), or an area ending in '.'"},
    )
    target = Text(254, load_default=None, metadata={"description": "A prefix of the target"})
    date_from = fields.Date(load_default=None, metadata={"description": "UTC, inclusive"})
    date_to = fields.Date(load_default=None, metadata={"description": "UTC, inclusive"})


class AuditEntrySchema(Schema):
    id = fields.Integer(required=True)
    at = fields.AwareDateTime(required=True)
    actor = fields.String(required=True)
    action = fields.String(required=True, metadata={"example": "user.role_changed"})
    target_type = fields.String(required=True)
    target = fields.String(required=True)
    reason = fields.String(required=True)
    details = fields.Dict(required=True)


@blp.get("")
@roles(Role.ADMIN)
@blp.arguments(AuditQuerySchema, location="query", as_kwargs=True)
@blp.response(200, page_of(AuditEntrySchema, "AuditPage"))
def list_entries(limit: int, cursor: str | None, **filters: Any) -> dict[str, Any]:
    """Entries newest first, filtered by actor, action, target and dates (UTC)."""
    rows = AuditLog(services().session_factory).search(
        AuditFilter(**filters), before_id=decode_typed_cursor(cursor, int), limit=limit
    )
    return page(rows, limit, key=lambda row: row.id)
