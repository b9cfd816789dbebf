"""Reorder suggestions and workbooks, purchase orders, catalogue and cycle-count sheets."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response
from flask_smorest import Blueprint
from werkzeug.datastructures import FileStorage

from accounts.models import Role
from core.spreadsheets import XLSX_MIME
from purchasing.commands import ReceiptLine, ReceivePurchaseOrder
from purchasing.reorder.suggestions import SuggestionFilters
from web.api.auth import current_api_user, roles
from web.api.pagination import decode_typed_cursor, page
from web.api.purchasing_schemas import (
    CatalogueImportResultSchema,
    CountExportQuerySchema,
    CountImportResultSchema,
    PurchaseOrderQuerySchema,
    PurchaseOrderReceiptResultSchema,
    PurchaseOrderReceiptSchema,
    PurchaseOrderSchema,
    PurchaseOrderTransitionSchema,
    ReorderImportResultSchema,
    ReorderPolicySchema,
    ReorderPolicyUpdateSchema,
    ReorderRecomputeResultSchema,
    ReorderRecomputeSchema,
    SuggestionFilterSchema,
    SuggestionQuerySchema,
    SuggestionSchema,
    WorkbookUploadSchema,
)
from web.api.schemas import page_of
from web.downloads import xlsx_download
from web.extensions import services

reorder = Blueprint(
    "reorder",
    __name__,
    url_prefix="/api/v1/reorder",
    description="Reorder suggestions, reorder policies and the reorder workbook",
)
purchase_orders = Blueprint(
    "purchase_orders",
    __name__,
    url_prefix="/api/v1/purchase-orders",
    description="Purchase orders: draft, sent, partially received, received or cancelled",
)
catalogue = Blueprint(
    "catalogue",
    __name__,
    url_prefix="/api/v1/catalogue",
    description="The parts catalogue as a workbook, for bulk edits",
)
cycle_counts = Blueprint(
    "cycle_counts",
    __name__,
    url_prefix="/api/v1/cycle-counts",
    description="Cycle-count sheets per location",
)

BUYERS = (Role.ADMIN, Role.BUYER)
PO_READERS = (Role.ADMIN, Role.WAREHOUSE, Role.BUYER)
RECEIVERS = (Role.ADMIN, Role.WAREHOUSE)
COUNTERS = (Role.ADMIN, Role.WAREHOUSE)


def accepts_upload(view: Callable[..., Any]) -> Callable[..., Any]:
    """Marks a view that takes a multipart file instead of a JSON body (see web/api)."""
    view.accepts_upload = True  # type: ignore[attr-defined]
    return view


def _actor() -> str:
    return current_api_user().email


def _read(upload: FileStorage) -> tuple[bytes, str]:
    return upload.read(), upload.filename or ""


def _today() -> str:
    return services().clock.now().date().isoformat()


# --- reorder -----------------------------------------------------------------------------


@reorder.get("/suggestions")
@roles(*BUYERS)
@reorder.arguments(SuggestionQuerySchema, location="query", as_kwargs=True)
@reorder.response(200, page_of(SuggestionSchema, "SuggestionPage"))
def suggestions(limit: int, cursor: str | None, **filters: Any) -> dict[str, Any]:
    """Parts to reorder now, in SKU order, each with how its quantity was reached."""
    rows = services().buying.reorder.suggestions(
        SuggestionFilters(**filters), after=decode_typed_cursor(cursor, str), limit=limit + 1
    )
    return page(rows, limit, key=lambda s: s.stock.sku_key)


@reorder.get("/export.xlsx")
@roles(*BUYERS)
@reorder.arguments(SuggestionFilterSchema, location="query", as_kwargs=True)
@reorder.response(200, content_type=XLSX_MIME)
def export(**filters: Any) -> Response:
    """The reorder workbook: a summary and one sheet per supplier; edit "Order qty"."""
    actor, chosen = _actor(), SuggestionFilters(**filters)
    return xlsx_download(
        lambda stream: services().buying.reorder.export(stream, actor, chosen),
        f"reorder-{_today()}.xlsx",
    )


@reorder.post("/import")
@accepts_upload
@roles(*BUYERS)
@reorder.arguments(WorkbookUploadSchema, location="files")
@reorder.response(201, ReorderImportResultSchema)
def import_sheet(files: dict[str, Any]) -> Any:
    """Upload an edited reorder workbook (multipart, field ``file``): one draft PO per supplier.

    Every row is checked first; if any is wrong, nothing is created and the 422 lists each
    problem with its sheet, row and column.
    """
    data, filename = _read(files["file"])
    return services().buying.reorder.import_sheet(_actor(), data, filename)


@reorder.post("/recompute")
@roles(*BUYERS)
@reorder.arguments(ReorderRecomputeSchema)
@reorder.response(200, ReorderRecomputeResultSchema)
def recompute(data: dict[str, Any]) -> Any:
    """Recompute suggested reorder points from demand history now (also runs nightly)."""
    return services().buying.reorder.recompute(**data)


@reorder.get("/policies/<sku>")
@roles(*BUYERS)
@reorder.response(200, ReorderPolicySchema)
def get_policy(sku: str) -> Any:
    """A part's reorder method, pack size, minimum order and what the last recompute found."""
    return services().buying.reorder.get_policy(sku)


@reorder.patch("/policies/<sku>")
@roles(*BUYERS)
@reorder.arguments(ReorderPolicyUpdateSchema(partial=True))
@reorder.response(200, ReorderPolicySchema)
def update_policy(changes: dict[str, Any], sku: str) -> Any:
    """Change a part's reorder policy; ``method: computed`` lets each recompute set its points."""
    return services().buying.reorder.update_policy(sku, changes)


# --- purchase orders ---------------------------------------------------------------------


@purchase_orders.get("")
@roles(*PO_READERS)
@purchase_orders.arguments(PurchaseOrderQuerySchema, location="query", as_kwargs=True)
@purchase_orders.response(200, page_of(PurchaseOrderSchema, "PurchaseOrderPage"))
def list_orders(limit: int, cursor: str | None, **filters: Any) -> dict[str, Any]:
    """Purchase orders, newest first; filter by supplier and status."""
    rows = services().buying.purchasing.list_orders(
        before=decode_typed_cursor(cursor, int), limit=limit + 1, **filters
    )
    return page(rows, limit, key=lambda order: order.id)


@purchase_orders.get("/<number>")
@roles(*PO_READERS)
@purchase_orders.response(200, PurchaseOrderSchema)
def get_order(number: str) -> Any:
    """One purchase order with its lines and its recorded transitions."""
    return services().buying.purchasing.get_order(number)


@purchase_orders.post("/<number>/send")
@roles(*BUYERS)
@purchase_orders.arguments(PurchaseOrderTransitionSchema)
@purchase_orders.response(200, PurchaseOrderSchema)
def send(data: dict[str, Any], number: str) -> Any:
    """Mark a draft as sent to the supplier; it is then expected after its lead time."""
    return services().buying.purchasing.send(_actor(), number, data["reason"])


@purchase_orders.post("/<number>/cancel")
@roles(*BUYERS)
@purchase_orders.arguments(PurchaseOrderTransitionSchema)
@purchase_orders.response(200, PurchaseOrderSchema)
def cancel(data: dict[str, Any], number: str) -> Any:
    """Cancel an order that is not closed; what was received stays received."""
    return services().buying.purchasing.cancel(_actor(), number, data["reason"])


@purchase_orders.post("/<number>/receive")
@roles(*RECEIVERS)
@purchase_orders.arguments(PurchaseOrderReceiptSchema)
@purchase_orders.response(201, PurchaseOrderReceiptResultSchema)
def receive(data: dict[str, Any], number: str) -> Any:
    """Book goods in against the order's lines: stock receipts referencing the order number."""
    command = ReceivePurchaseOrder(
        number,
        lines=tuple(
            ReceiptLine(**{**line, "serials": tuple(line["serials"])}) for line in data["lines"]
        ),
        location=data["location"],
        reason=data["reason"],
    )
    order, moves = services().buying.purchasing.receive(_actor(), command)
    return {"purchase_order": order, "moves": moves}


# --- catalogue and cycle counts ----------------------------------------------------------


@catalogue.get("/export.xlsx")
@roles(*BUYERS)
@catalogue.response(200, content_type=XLSX_MIME)
def export_catalogue() -> Response:
    """Every part with its reorder settings; edit and upload it back to change many at once."""
    actor = _actor()
    return xlsx_download(
        lambda stream: services().buying.catalogue.export_catalogue(stream, actor),
        f"catalogue-{_today()}.xlsx",
    )


@catalogue.post("/import")
@accepts_upload
@roles(*BUYERS)
@catalogue.arguments(WorkbookUploadSchema, location="files")
@catalogue.response(200, CatalogueImportResultSchema)
def import_catalogue(files: dict[str, Any]) -> Any:
    """Create and update parts from a catalogue workbook: all rows or none."""
    data, filename = _read(files["file"])
    return services().buying.catalogue.import_catalogue(_actor(), data, filename)


@cycle_counts.get("/export.xlsx")
@roles(*COUNTERS)
@cycle_counts.arguments(CountExportQuerySchema, location="query", as_kwargs=True)
@cycle_counts.response(200, content_type=XLSX_MIME)
def export_count(location: str, blind: bool) -> Response:
    """The count sheet of one location: every part with stock there."""
    actor = _actor()
    code = location.strip().upper()
    return xlsx_download(
        lambda stream: services().buying.counts.export_count(stream, actor, code, blind=blind),
        f"count-{code.replace('/', '-')}-{_today()}.xlsx",
    )


@cycle_counts.post("/import")
@accepts_upload
@roles(*COUNTERS)
@cycle_counts.arguments(WorkbookUploadSchema, location="files")
@cycle_counts.response(201, CountImportResultSchema)
def import_count(files: dict[str, Any]) -> Any:
    """Record the counted quantities of a count sheet as cycle counts: all rows or none."""
    data, filename = _read(files["file"])
    return services().buying.counts.import_count(_actor(), data, filename)


BLUEPRINTS = (reorder, purchase_orders, catalogue, cycle_counts)
