from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from accounts.models import Role
from web.api.auth import ALL_ROLES, current_api_user, roles
from web.api.pagination import decode_typed_cursor, page
from web.api.schemas import PartCreateSchema, PartFieldsSchema, PartQuerySchema, PartSchema, page_of
from web.extensions import services

blp = Blueprint("parts", __name__, url_prefix="/api/v1/parts", description="Parts (master data)")

EDITORS = (Role.ADMIN, Role.BUYER)


@blp.get("")
@roles(*ALL_ROLES)
@blp.arguments(PartQuerySchema, location="query", as_kwargs=True)
@blp.response(200, page_of(PartSchema, "PartPage"))
def list_parts(limit: int, cursor: str | None, **filters: Any) -> dict[str, Any]:
    """List parts in SKU order with stock totals; filter by supplier, category, reorder state."""
    search = filters.pop("q")
    rows = services().inventory.list_parts(
        after=decode_typed_cursor(cursor, str), limit=limit + 1, search=search, **filters
    )
    return page(rows, limit, key=lambda row: row.part.sku_key)


@blp.post("")
@roles(*EDITORS)
@blp.arguments(PartCreateSchema)
@blp.response(201, PartSchema)
def create_part(data: dict[str, Any]) -> Any:
    """Create a part. SKUs are unique regardless of case."""
    return services().inventory.create_part(**data)


@blp.get("/<sku>")
@roles(*ALL_ROLES)
@blp.response(200, PartSchema)
def get_part(sku: str) -> Any:
    """One part with its stock totals."""
    return services().inventory.get_part(sku)


@blp.patch("/<sku>")
@roles(*EDITORS)
@blp.arguments(PartFieldsSchema(partial=True))
@blp.response(200, PartSchema)
def update_part(changes: dict[str, Any], sku: str) -> Any:
    """Change some fields of a part; fields not sent stay as they are."""
    return services().inventory.update_part(sku, changes, actor=current_api_user().email)
