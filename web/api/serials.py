"""Serialised units: where one is and who has it, and the recall list of a serial range."""

from __future__ import annotations

import re
from typing import Any

from flask import Response
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from accounts.models import Role
from core.spreadsheets import XLSX_MIME
from web.api.auth import roles
from web.api.fields import Text
from web.downloads import xlsx_download
from web.extensions import services

blp = Blueprint(
    "serials",
    __name__,
    url_prefix="/api/v1/serials",
    description="Serialised units: where each is, who has it, recall lists",
)

#: Staff who move units or talk to their customers (the answers name customers).
LOOKERS = (Role.ADMIN, Role.WAREHOUSE, Role.SERVICE_DESK)
#: A recall list is a list of customers' contacts.
RECALLERS = (Role.ADMIN, Role.SERVICE_DESK)


def recall_filename(sku: str, first: str, last: str) -> str:
    """A download name from what was typed: letters, digits, dot, dash and underscore only (a
    header cannot carry a newline, and a filename no path)."""
    name = "-".join(re.sub(r"[^A-Za-z0-9._]+", "_", part)[:40] for part in (sku, first, last))
    return f"recall-{name}.xlsx"


class SerialQuerySchema(Schema):
    sku = Text(64, load_default=None, metadata={"description": "Only this part's unit."})


class RecallQuerySchema(Schema):
    sku = Text(64, min_length=1, required=True)
    first = Text(100, min_length=1, required=True, data_key="from")
    last = Text(100, min_length=1, required=True, data_key="to")


class SerialMoveSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    from_location = fields.String(allow_none=True)
    to_location = fields.String(allow_none=True)
    reason = fields.String()
    reference = fields.String(allow_none=True)
    actor = fields.String()
    created_at = fields.AwareDateTime()


class SerialUnitSchema(Schema):
    sku = fields.String()
    part_name = fields.String()
    serial = fields.String()
    state = fields.String(metadata={"description": "in_stock, with_customer, scrapped or issued"})
    location = fields.String(allow_none=True)
    customer_name = fields.String(allow_none=True)
    customer_email = fields.String(allow_none=True)
    order_number = fields.String(allow_none=True)
    shipped_at = fields.AwareDateTime(allow_none=True)
    history = fields.List(fields.Nested(SerialMoveSchema))


class SerialLookupSchema(Schema):
    serial = fields.String()
    units = fields.List(fields.Nested(SerialUnitSchema))


@blp.get("/recall.xlsx")
@roles(*RECALLERS)
@blp.arguments(RecallQuerySchema, location="query", as_kwargs=True)
@blp.response(200, content_type=XLSX_MIME)
def recall(sku: str, first: str, last: str) -> Response:
    """Customers who got units of ``sku`` with serials from ``from`` to ``to``, in natural
    order (digits compare as numbers: SN99 < SN100)."""
    return xlsx_download(
        lambda stream: services().inventory.export_recall(stream, sku, first, last),
        recall_filename(sku, first, last),
    )


@blp.get("/<serial>")
@roles(*LOOKERS)
@blp.arguments(SerialQuerySchema, location="query", as_kwargs=True)
@blp.response(200, SerialLookupSchema)
def look_up(serial: str, sku: str | None) -> Any:
    """Where the unit with this serial is, who has it, and its moves on the ledger."""
    return {"serial": serial, "units": services().inventory.serial(serial, sku)}
