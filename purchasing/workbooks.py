"""The buying workbooks buyers exchange with spareflow, and how each row reads back.

Two layouts, built and read through :mod:`core.spreadsheets` with the shared helpers of
:mod:`inventory.sheets`:

- **reorder**: a summary sheet, then one sheet per supplier with the suggestions; the buyer
  edits *Order qty* (or deletes rows) and uploads it to create draft purchase orders;
- **catalogue**: every part with its buying terms and reorder settings; uploading it creates
  and updates parts.

Nothing here touches the database: writers take plain rows, readers return plain rows and
the problems found in the cells. Checks against the data live in
``purchasing/workbook_imports.py``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import IO, Any

from core.errors import N_
from core.money import COST_PLACES
from core.spreadsheets import (
    META_SHEET,
    CellError,
    Column,
    Formula,
    Kind,
    Problem,
    RowBudget,
    Sheet,
    TableRows,
    UploadedWorkbook,
    UploadLimits,
    WorkbookWriter,
    data_tables,
    read_boolean,
    read_decimal,
    read_meta,
    read_table,
    read_text,
    read_whole_number,
)
from inventory.sheets import (
    MAX_QTY,
    SUMMARY_SHEET,
    TOTAL_LABEL,
    ExportContext,
    export_id_of,
    meta_entries,
    write_header_block,
)
from inventory.status import SheetKind
from purchasing.reorder.suggestions import Suggestion
from purchasing.status import ReorderMethod, Urgency

# --- reorder -----------------------------------------------------------------------------

REORDER_COLUMNS = (
    Column("sku", "SKU", 18),
    Column("name", "Name", 36),
    Column("category", "Category", 16),
    Column("supplier", "Supplier", 12),
    Column("unit", "Unit", 7),
    Column("available", "Available", 10, Kind.INTEGER),
    Column("reserved", "Reserved", 10, Kind.INTEGER),
    Column("on_order", "On order", 10, Kind.INTEGER),
    Column("returns_due", "Returns due", 10, Kind.INTEGER),
    Column("reorder_point", "Reorder point", 10, Kind.INTEGER),
    Column("safety_stock", "Safety stock", 10, Kind.INTEGER),
    Column("suggested_qty", "Suggested qty", 11, Kind.INTEGER, total=True),
    Column("order_qty", "Order qty", 11, Kind.INTEGER, editable=True, total=True),
    Column("pack_size", "Pack size", 9, Kind.INTEGER),
    Column("min_order_qty", "MOQ", 8, Kind.INTEGER),
    Column("unit_cost", "Unit cost", 12, Kind.COST),
    Column(
        "line_value",
        "Line value",
        14,
        Kind.MONEY,
        total=True,
        formula="={order_qty}{row}*{unit_cost}{row}",
    ),
    Column("urgency", "Urgency", 18),
    Column("needed_by", "Needed by", 12, Kind.DATE),
    Column("expected_arrival", "Expected arrival", 12, Kind.DATE),
    # The fill-rate plan of the last recompute (docs/planning.md).
    Column("demand_class", "Demand class", 13),
    Column("forecast", "Forecast / month", 11, Kind.DECIMAL),
    Column("target_fill_rate", "Target fill rate", 10, Kind.PERCENT),
    Column("expected_fill_rate", "Expected fill rate", 10, Kind.PERCENT),
    Column("planned_level", "Planned level", 10, Kind.INTEGER),
    Column("plan_stock_value", "Plan stock value", 13, Kind.MONEY),
    Column("why", "Why", 90),
)
REORDER_REQUIRED = ("sku", "supplier", "order_qty")
URGENCY_LABELS = {
    Urgency.SHORT: "short",
    Urgency.BELOW_SAFETY_STOCK: "below safety stock",
    Urgency.BELOW_POINT: "below reorder point",
}


@dataclass
class SupplierTotals:
    code: str
    name: str
    sheet: str
    lines: int = 0
    value: Decimal = Decimal("0.00")
    earliest_needed: date | None = None


@dataclass
class ReorderExport:
    suppliers: list[SupplierTotals]
    without_supplier: int

    @property
    def lines(self) -> int:
        return sum(s.lines for s in self.suppliers)

    @property
    def value(self) -> Decimal:
        return sum((s.value for s in self.suppliers), Decimal("0.00"))


def reorder_row(s: Suggestion) -> dict[str, Any]:
    stock = s.stock  # read directly: 100,000 rows of attribute look-ups add up
    return {
        "sku": stock.sku,
        "name": stock.name,
        "category": stock.category,
        "supplier": stock.supplier_code,
        "unit": stock.unit,
        "available": stock.pickable_on_hand - stock.reserved,
        "reserved": stock.reserved,
        "on_order": stock.on_order,
        "returns_due": s.expected_returns,
        "reorder_point": stock.reorder_point,
        "safety_stock": stock.safety_stock,
        "suggested_qty": s.qty,
        "order_qty": s.qty,
        "pack_size": stock.pack_size,
        "min_order_qty": stock.min_order_qty,
        "unit_cost": stock.unit_cost,
        "urgency": URGENCY_LABELS[s.urgency],
        "needed_by": s.needed_by,
        "expected_arrival": s.expected_arrival,
        "demand_class": stock.demand_class,
        "forecast": stock.forecast_per_month,
        "target_fill_rate": stock.fill_rate_target,
        "expected_fill_rate": stock.expected_fill_rate,
        "planned_level": stock.planned_level,
        "plan_stock_value": stock.planned_stock_value,
        "why": s.why,
    }


def write_reorder_workbook(
    stream: IO[bytes],
    suggestions: Iterable[Suggestion],
    context: ExportContext,
    *,
    without_supplier: int = 0,
) -> ReorderExport:
    """The reorder workbook. ``suggestions`` must come grouped by supplier, each with one."""
    totals: list[SupplierTotals] = []
    with WorkbookWriter() as writer:
        summary = writer.sheet(SUMMARY_SHEET, [30, 34, 16, 10, 16, 16])
        table = None
        current = SupplierTotals("", "", "")
        for suggestion in suggestions:
            code = suggestion.stock.supplier_code or ""
            if table is None or current.code != code:
                if table is not None:
                    table.close(label_key="name", totals_label=TOTAL_LABEL)
                table = writer.table(code, REORDER_COLUMNS)
                current = SupplierTotals(code, suggestion.stock.supplier_name or "", table.title)
                totals.append(current)
            table.append(reorder_row(suggestion))
            current.lines += 1
            current.value += suggestion.line_value
            needed = suggestion.needed_by
            if needed and (current.earliest_needed is None or needed < current.earliest_needed):
                current.earliest_needed = needed
        if table is not None:
            table.close(label_key="name", totals_label=TOTAL_LABEL)
        _write_reorder_summary(summary, totals, context, without_supplier)
        writer.meta(SheetKind.REORDER.value, meta_entries(context))
        writer.save(stream)
    return ReorderExport(totals, without_supplier)


def _write_reorder_summary(
    sheet: Sheet, totals: list[SupplierTotals], context: ExportContext, without: int
) -> None:
    styles = sheet.styles
    write_header_block(sheet, "Reorder suggestions", context)
    if without:
        sheet.append(
            [
                styles.cell("Without a supplier", "label"),
                f"{without} part(s) need ordering but have no supplier, so they are not "
                "listed: set a supplier on each, then export again.",
            ]
        )
    sheet.append()
    headers = ["Supplier", "Name", "Sheet", "Lines", "Suggested value", "Earliest needed by"]
    sheet.append([styles.cell(h, "header") for h in headers])
    first = sheet.rows + 1
    for t in totals:
        sheet.append(
            [
                t.code,
                t.name,
                t.sheet,
                styles.cell(t.lines, "INTEGER", Kind.INTEGER),
                styles.cell(t.value, "MONEY", Kind.MONEY),
                styles.cell(t.earliest_needed, "DATE", Kind.DATE),
            ]
        )
    last = sheet.rows
    if totals:
        sheet.append(
            [
                styles.cell(TOTAL_LABEL, "total_TEXT"),
                styles.cell(None, "total_TEXT"),
                styles.cell(None, "total_TEXT"),
                styles.cell(Formula(f"=SUM(D{first}:D{last})"), "total_INTEGER"),
                styles.cell(Formula(f"=SUM(E{first}:E{last})"), "total_MONEY"),
                styles.cell(Formula(f"=MIN(F{first}:F{last})"), "total_DATE"),
            ]
        )
    else:
        sheet.append(["Nothing to order with these filters."])
    sheet.append()
    sheet.append(
        [
            "Edit the yellow 'Order qty' column on the supplier sheets (0, or delete the row, "
            "to skip a part), then upload this workbook on the buyer page: one draft purchase "
            "order per supplier is created. Values here are as suggested at export."
        ]
    )


@dataclass(frozen=True)
class ReorderLine:
    """One row of an uploaded reorder sheet."""

    table: TableRows
    row: int
    sku: str
    supplier: str | None
    qty: int

    def problem(self, key: str, code: str, message: str) -> Problem:
        return self.table.problem(self.row, key, code, message)


@dataclass(frozen=True)
class ReorderSheet:
    lines: list[ReorderLine]
    problems: list[Problem]
    export_id: str


def read_reorder_workbook(workbook: UploadedWorkbook, limits: UploadLimits) -> ReorderSheet:
    """The rows of an uploaded reorder workbook, and the problems found in their cells."""
    export_id = export_id_of(read_meta(workbook, SheetKind.REORDER.value, N_("a reorder workbook")))
    budget = RowBudget(limits.max_rows)
    lines: list[ReorderLine] = []
    problems: list[Problem] = []
    for title in workbook.sheetnames:
        if title in (META_SHEET, SUMMARY_SHEET):
            continue
        table = read_table(workbook[title], REORDER_COLUMNS, REORDER_REQUIRED, budget)
        if table is None:
            continue
        for row, values in table.rows:
            sku = read_text(values.get("sku"))
            if sku is None:
                if read_text(values.get("name")) == TOTAL_LABEL:
                    continue  # the totals row
                if values.get("order_qty") not in (None, ""):
                    problems.append(
                        table.problem(row, "sku", "missing_sku", N_("An order qty without a SKU."))
                    )
                continue
            try:
                qty = read_whole_number(values.get("order_qty"), maximum=MAX_QTY)
            except CellError as error:
                problems.append(table.problem(row, "order_qty", error.code, error.message))
                continue
            supplier = read_text(values.get("supplier"))
            lines.append(ReorderLine(table, row, sku, supplier, qty or 0))
    return ReorderSheet(lines, problems, export_id)


# --- catalogue ---------------------------------------------------------------------------

CATALOGUE_COLUMNS = (
    Column("sku", "SKU", 18),
    Column("name", "Name", 36),
    Column("description", "Description", 40),
    Column("unit", "Unit", 7),
    Column("category", "Category", 16),
    Column("barcode", "Barcode", 16),
    Column("supplier", "Supplier", 12),
    Column("unit_cost", "Unit cost", 12, Kind.COST),
    Column("lead_time_days", "Lead time (days)", 10, Kind.INTEGER, minimum=0),
    Column("reorder_point", "Reorder point", 10, Kind.INTEGER, minimum=0),
    Column("reorder_qty", "Reorder qty", 10, Kind.INTEGER, minimum=0),
    Column("safety_stock", "Safety stock", 10, Kind.INTEGER, minimum=0),
    Column("pack_size", "Pack size", 9, Kind.INTEGER, minimum=1),
    Column("min_order_qty", "MOQ", 8, Kind.INTEGER, minimum=0),
    Column("max_level", "Max level", 10, Kind.INTEGER, minimum=0),
    Column("method", "Reorder method", 14, choices=tuple(m.value for m in ReorderMethod)),
    Column("active", "Active", 8, choices=("yes", "no")),
    Column("serialised", "Serialised", 10, choices=("yes", "no")),
)
CATALOGUE_REQUIRED = ("sku", "name")
PARTS_SHEET = "Parts"
SKU_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def write_catalogue_workbook(
    stream: IO[bytes], rows: Iterable[Mapping[str, Any]], context: ExportContext
) -> int:
    """Every part as a row (a blank sheet is the template for new parts). Returns the count."""
    with WorkbookWriter() as writer:
        table = writer.table(PARTS_SHEET, CATALOGUE_COLUMNS)
        for row in rows:
            table.append(row)
        table.close()
        writer.meta(SheetKind.CATALOGUE.value, meta_entries(context))
        writer.save(stream)
    return table.rows_written


def _text(limit: int, *, default: Any = None, upper: bool = False) -> Callable[[Any], Any]:
    def parse(value: Any) -> Any:
        text = read_text(value)
        if text is None:
            return default
        if len(text) > limit:
            raise CellError(
                "too_long",
                N_(
                    "At most %(limit)s characters; this has %(length)s.",
                    limit=limit,
                    length=len(text),
                ),
            )
        if "\x00" in text:
            raise CellError("invalid_text", N_("Must not contain NUL characters."))
        return text.upper() if upper else text

    return parse


def _whole(*, default: Any, minimum: int = 0, maximum: int = MAX_QTY) -> Callable[[Any], Any]:
    def parse(value: Any) -> Any:
        number = read_whole_number(value, maximum=maximum)
        if number is None:
            return default
        if number < minimum:
            raise CellError("too_small", N_("Must be at least %(minimum)s.", minimum=minimum))
        return number

    return parse


def _cost(value: Any) -> Decimal:
    amount = read_decimal(value, places=COST_PLACES, maximum=Decimal(10**9))
    return amount if amount is not None else Decimal("0")


def _method(value: Any) -> ReorderMethod:
    text = read_text(value)
    if text is None:
        return ReorderMethod.MANUAL
    try:
        return ReorderMethod(text.casefold())
    except ValueError:
        raise CellError("invalid_choice", N_("Use manual or computed.")) from None


def _active(value: Any) -> bool:
    flag = read_boolean(value)
    return True if flag is None else flag


def _serialised(value: Any) -> bool:
    return read_boolean(value) is True


#: How each catalogue column reads; a blank cell means the field's default or empty value.
CATALOGUE_PARSERS: dict[str, Callable[[Any], Any]] = {
    "name": _text(200),
    "description": _text(5000, default=""),
    "unit": _text(16, default="pcs"),
    "category": _text(100),
    "barcode": _text(64),
    "supplier": _text(32, upper=True),
    "unit_cost": _cost,
    "lead_time_days": _whole(default=None, maximum=365),
    "reorder_point": _whole(default=0),
    "reorder_qty": _whole(default=0),
    "safety_stock": _whole(default=0),
    "pack_size": _whole(default=1, minimum=1),
    "min_order_qty": _whole(default=0),
    "max_level": _whole(default=None),
    "method": _method,
    "active": _active,
    "serialised": _serialised,
}


@dataclass(frozen=True)
class CatalogueRow:
    table: TableRows
    row: int
    sku: str
    fields: dict[str, Any]  # only the columns the sheet has

    def problem(self, key: str, code: str, message: str) -> Problem:
        return self.table.problem(self.row, key, code, message)


@dataclass(frozen=True)
class CatalogueSheet:
    rows: list[CatalogueRow]
    problems: list[Problem]
    export_id: str


def read_catalogue_workbook(workbook: UploadedWorkbook, limits: UploadLimits) -> CatalogueSheet:
    meta = read_meta(workbook, SheetKind.CATALOGUE.value, N_("a parts catalogue"))
    export_id = export_id_of(meta)
    budget = RowBudget(limits.max_rows)
    rows: list[CatalogueRow] = []
    problems: list[Problem] = []
    for table in data_tables(workbook, CATALOGUE_COLUMNS, CATALOGUE_REQUIRED, budget):
        present = [key for key in CATALOGUE_PARSERS if key in table.letters]
        for row, values in table.rows:
            sku = read_text(values.get("sku"))
            if sku is None:
                problems.append(
                    table.problem(row, "sku", "missing_sku", N_("Every row needs a SKU."))
                )
                continue
            if len(sku) > 64 or not SKU_RE.match(sku):
                problems.append(
                    table.problem(
                        row,
                        "sku",
                        "invalid_sku",
                        N_(
                            "A SKU is up to 64 letters, digits and . _ - (no spaces), "
                            "starting with a letter or digit."
                        ),
                    )
                )
                continue
            fields: dict[str, Any] = {}
            for key in present:
                try:
                    fields[key] = CATALOGUE_PARSERS[key](values.get(key))
                except CellError as error:
                    problems.append(table.problem(row, key, error.code, error.message))
            if "name" in fields and fields["name"] is None:
                problems.append(
                    table.problem(row, "name", "missing_name", N_("A part needs a name."))
                )
            rows.append(CatalogueRow(table, row, sku, fields))
    return CatalogueSheet(rows, problems, export_id)
