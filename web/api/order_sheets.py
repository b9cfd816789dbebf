"""The orders workbook over the API: download it (the stored orders, or an empty template) and
upload it filled in. All rows or none; every problem is listed with its sheet, row and column."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from accounts.models import Role
from core.spreadsheets import XLSX_MIME
from web.api.auth import roles
from web.api.purchasing import accepts_upload
from web.api.purchasing_schemas import WorkbookUploadSchema
from web.downloads import xlsx_download
from web.extensions import services

blp = Blueprint(
    "order_sheets",
    __name__,
    url_prefix="/api/v1/order-sheets",
    description="Sales orders as a workbook, for bulk loading",
)

#: Orders are the customers' word on what they bought: the desk reads them, admins load them.
READERS = (Role.ADMIN, Role.SERVICE_DESK)
LOADERS = (Role.ADMIN,)


class OrderSheetQuerySchema(Schema):
    template = fields.Boolean(
        load_default=False, metadata={"description": "An empty workbook to fill in."}
    )


class OrderImportResultSchema(Schema):
    created = fields.Integer()
    updated = fields.Integer()
    unchanged = fields.Integer()


@blp.get("/export.xlsx")
@roles(*READERS)
@blp.arguments(OrderSheetQuerySchema, location="query", as_kwargs=True)
@blp.response(200, content_type=XLSX_MIME)
def export_orders(template: bool) -> Response:
    """The stored orders, one row per order line (``template=true``: no rows)."""
    today = services().clock.now().date().isoformat()
    name = "orders-template.xlsx" if template else f"orders-{today}.xlsx"
    return xlsx_download(
        lambda stream: services().orders.export_workbook(stream, template=template), name
    )


@blp.post("/import")
@accepts_upload
@roles(*LOADERS)
@blp.arguments(WorkbookUploadSchema, location="files")
@blp.response(200, OrderImportResultSchema)
def import_orders(files: dict[str, Any]) -> Any:
    """Create and update orders from an orders workbook: all rows or none."""
    return services().orders.import_workbook(files["file"].read())
