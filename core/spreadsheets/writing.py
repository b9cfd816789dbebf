"""Writing xlsx: the one path every cell value and sheet title of every export goes through.

See the package's docstring (core/spreadsheets/__init__.py).
"""

from __future__ import annotations

import enum
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from copy import copy
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import IO, Any

from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.workbook import Workbook
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.datavalidation import DataValidation

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


#: Leading characters that make Excel, LibreOffice or a CSV reader treat text as a formula.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
#: Characters XML 1.0 cannot carry: C0 controls but tab, LF and CR (openpyxl refuses them, a
#: 500 on export), lone surrogates (not encodable as UTF-8) and the non-characters U+FFFE and
#: U+FFFF (written by openpyxl, then refused by Excel as a damaged file).
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
#: What Excel forbids in a sheet title, and C0 controls (CR, LF, tab included).
_SHEET_TITLE_FORBIDDEN = re.compile(r"[\[\]:*?/\\\x00-\x1f]")
#: Titles Excel reserves (case-insensitive) or spareflow uses for itself.
_RESERVED_TITLES = frozenset({"history"})

#: The hidden sheet that marks a workbook as ours and says what it holds.
META_SHEET = "spareflow"
META_MARKER = "spareflow workbook"


# --- text in and out ---------------------------------------------------------------------


def safe_text(value: str) -> str:
    """Text as it may go into a cell: never a formula, never a character XML refuses.

    A leading apostrophe neutralises formula triggers (OWASP's advice for CSV/formula
    injection); text that already starts with an apostrophe gets one too, so
    :func:`restore_text` can undo exactly what was added.
    """
    cleaned = _ILLEGAL_XML.sub("", value)
    if cleaned.startswith((*FORMULA_TRIGGERS, "'")):
        return "'" + cleaned
    return cleaned


def restore_text(value: str) -> str:
    """Undo :func:`safe_text` on text read back from one of our workbooks.

    A leading CR comes back as LF: XML parsers normalise line ends.
    """
    if len(value) > 1 and value[0] == "'" and value[1] in (*FORMULA_TRIGGERS, "'", "\n"):
        return value[1:]
    return value


class Formula(str):
    """A formula spareflow writes on purpose (totals, line values); never user text."""


# --- writing -----------------------------------------------------------------------------


class Kind(enum.Enum):
    """What a column holds, and so its number format."""

    TEXT = "@"
    INTEGER = "#,##0"
    MONEY = "#,##0.00"
    COST = "#,##0.0000"  # unit costs carry four places (a 0.0035 resistor)
    DECIMAL = "0.00"
    PERCENT = "0.0%"  # a share written as a fraction: 0.9 shows as 90.0%
    DATE = "yyyy-mm-dd"
    DATETIME = "yyyy-mm-dd hh:mm"


HEADER_FILL = PatternFill("solid", fgColor="1F4E78")
EDITABLE_HEADER_FILL = PatternFill("solid", fgColor="BF8F00")
EDITABLE_FILL = PatternFill("solid", fgColor="FFF2CC")
TOTAL_FILL = PatternFill("solid", fgColor="DDEBF7")
_THIN = Side(style="thin", color="7F7F7F")


@dataclass(frozen=True)
class Column:
    """One column of a table sheet.

    ``formula`` is a template such as ``"={qty}{row}*{cost}{row}"``: ``{row}`` is the row
    number and ``{<key>}`` the letter of the column with that key.
    """

    key: str
    header: str
    width: float = 12
    kind: Kind = Kind.TEXT
    editable: bool = False
    total: bool = False
    formula: str | None = None
    wrap: bool = False
    #: Whole-number columns that are editable, or have a minimum, get data validation
    #: (whole number >= minimum, 0 by default).
    minimum: int | None = None
    #: A text column limited to these values (a drop-down list in Excel and LibreOffice).
    choices: tuple[str, ...] = ()


_PASS_THROUGH = frozenset({int, Decimal, date, bool, Formula})


def _cell_value(value: Any, kind: Kind) -> Any:
    kind_of = type(value)
    if value is None or kind_of in _PASS_THROUGH:
        return value
    if kind_of is str:
        return safe_text(value)
    if isinstance(value, Formula):
        return value
    if isinstance(value, str):
        return safe_text(value)
    if isinstance(value, bool):
        return value
    if isinstance(value, datetime):
        # Excel has no time zones: write UTC wall-clock time (headers say "UTC").
        return value.astimezone(UTC).replace(tzinfo=None)
    if isinstance(value, int | Decimal | date):
        return value
    if isinstance(value, float):
        raise TypeError("no floats in spreadsheets: pass int or Decimal")
    return safe_text(str(value))


class WorkbookWriter:
    """A write-only workbook: sheets stream their rows to temporary files until :meth:`save`.

    Use it as a context manager: if building the workbook fails half-way, the sheets'
    temporary files are closed and removed instead of lingering until the process exits.
    """

    def __init__(self) -> None:
        self.workbook = Workbook(write_only=True)
        # Taken from the start, so that no data sheet (a supplier coded SPAREFLOW) collides
        # with the hidden meta sheet written last.
        self._titles: set[str] = {*_RESERVED_TITLES, META_SHEET}
        self._saved = False

    def __enter__(self) -> WorkbookWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if not self._saved:
            self.discard()

    def discard(self) -> None:
        """Close every sheet's stream and delete its temporary file."""
        for ws in self.workbook.worksheets:
            try:
                if not ws.closed:
                    ws.close()
            except Exception:  # noqa: S110 (best effort: the workbook is being thrown away)
                pass
            writer = getattr(ws, "_writer", None)
            if writer is not None and os.path.exists(writer.out):
                writer.cleanup()

    def unique_title(self, wanted: str) -> str:
        """A legal, unused sheet title: at most 31 characters; none of ``[]:*?/\\``, control
        characters or what XML cannot carry; no apostrophe at either end; not starting like
        a formula (the title is also shown as text in cells, e.g. the reorder summary)."""
        base = _SHEET_TITLE_FORBIDDEN.sub("_", _ILLEGAL_XML.sub("", wanted)).strip().strip("'")
        if base.startswith(FORMULA_TRIGGERS):
            base = "_" + base[1:]
        base = base[:31].strip() or "Sheet"
        title, n = base, 1
        while title.casefold() in self._titles:
            n += 1
            suffix = f" ({n})"
            title = base[: 31 - len(suffix)] + suffix
        self._titles.add(title.casefold())
        return title

    def _worksheet(self, title: str, widths: Sequence[float] = ()) -> WriteOnlyWorksheet:
        # A write-only workbook makes write-only sheets (the stubs say Any: either kind).
        ws: WriteOnlyWorksheet = self.workbook.create_sheet(self.unique_title(title))
        for index, width in enumerate(widths, start=1):
            # column_dimensions: set by Worksheet._setup; the stubs leave it out.
            ws.column_dimensions[get_column_letter(index)].width = width  # type: ignore[attr-defined]
        return ws

    def sheet(self, title: str, widths: Sequence[float] = ()) -> Sheet:
        """A free-form sheet. Column widths must be known before the first row."""
        return Sheet(self._worksheet(title, widths))

    def table(self, title: str, columns: Sequence[Column]) -> TableWriter:
        return TableWriter(self._worksheet(title, [c.width for c in columns]), columns)

    def meta(self, kind: str, entries: Iterable[tuple[str, Any]]) -> None:
        """The hidden sheet that tells our importers what this workbook is."""
        ws = self.workbook.create_sheet(META_SHEET)
        ws.sheet_state = "hidden"
        sheet = Sheet(ws)
        sheet.append([META_MARKER, kind])
        for key, value in entries:
            sheet.append([key, value])

    def save(self, stream: IO[bytes]) -> None:
        self.workbook.save(stream)
        self._saved = True


class Sheet:
    """A free-form write-only sheet that knows its row numbers (openpyxl does not expose them).

    Plain values are written through :func:`_cell_value`; styled cells come from
    :attr:`styles` (:meth:`Styles.cell`), which does the same. There is no other way in.
    """

    def __init__(self, ws: WriteOnlyWorksheet):
        self._ws = ws
        self.title = ws.title
        self.rows = 0
        self.styles = Styles(ws)
        define_common_styles(self.styles)

    def append(self, cells: Sequence[Any] = ()) -> int:
        """Append a row; returns its number."""
        self._ws.append(
            [cell if isinstance(cell, Cell) else _cell_value(cell, Kind.TEXT) for cell in cells]
        )
        self.rows += 1
        return self.rows


class Styles:
    """Named cell styles for one sheet, applied by copying a prepared style record.

    Setting font, fill and number format per cell makes openpyxl look each one up in the
    workbook's style tables; copying the finished record is an array copy. Millions of
    cells then cost little more than their values.
    """

    def __init__(self, ws: WriteOnlyWorksheet):
        self.ws = ws
        # WriteOnlyCell is a function that makes a Cell.
        self._templates: dict[str, Cell] = {}

    def define(
        self,
        name: str,
        *,
        number_format: str | None = None,
        font: Font | None = None,
        fill: PatternFill | None = None,
        alignment: Alignment | None = None,
        border: Border | None = None,
    ) -> None:
        cell = WriteOnlyCell(self.ws)
        if number_format:
            cell.number_format = number_format
        if font:
            cell.font = font
        if fill:
            cell.fill = fill
        if alignment:
            cell.alignment = alignment
        if border:
            cell.border = border
        self._templates[name] = cell

    def template(self, name: str) -> Cell:
        return self._templates[name]

    def cell(self, value: Any, name: str, kind: Kind = Kind.TEXT) -> Cell:
        cell = WriteOnlyCell(self.ws)
        # _style: the style record (in __slots__; openpyxl-stubs omit it). See the class docstring.
        cell._style = copy(self._templates[name]._style)  # type: ignore[attr-defined]
        cell.value = _cell_value(value, kind)
        return cell


def define_common_styles(styles: Styles) -> None:
    wrap_top = Alignment(wrap_text=True, vertical="top")
    styles.define(
        "header",
        font=Font(bold=True, color="FFFFFF"),
        fill=HEADER_FILL,
        alignment=Alignment(wrap_text=True, vertical="center"),
        border=Border(bottom=_THIN),
    )
    styles.define(
        "editable_header",
        font=Font(bold=True, color="FFFFFF"),
        fill=EDITABLE_HEADER_FILL,
        alignment=Alignment(wrap_text=True, vertical="center"),
        border=Border(bottom=_THIN),
    )
    styles.define("title", font=Font(bold=True, size=14))
    styles.define("label", font=Font(bold=True))
    styles.define("text")
    styles.define("wrap", alignment=wrap_top)
    for kind in Kind:
        if kind is Kind.TEXT:
            continue
        styles.define(kind.name, number_format=kind.value)
        styles.define(
            f"editable_{kind.name}",
            number_format=kind.value,
            font=Font(bold=True),
            fill=EDITABLE_FILL,
            border=Border(left=_THIN, right=_THIN),
        )
        styles.define(
            f"total_{kind.name}",
            number_format=kind.value,
            font=Font(bold=True),
            fill=TOTAL_FILL,
            border=Border(top=_THIN),
        )
    styles.define("total_TEXT", font=Font(bold=True), fill=TOTAL_FILL, border=Border(top=_THIN))
    styles.define("editable_TEXT", font=Font(bold=True), fill=EDITABLE_FILL)


class TableWriter:
    """A sheet with a styled, frozen header row, typed columns, an autofilter, a totals row
    with formulas, and whole-number validation on editable columns."""

    def __init__(self, ws: WriteOnlyWorksheet, columns: Sequence[Column]):
        self._ws = ws
        self.columns = list(columns)
        self.title = ws.title
        self.letters = {c.key: get_column_letter(i) for i, c in enumerate(self.columns, start=1)}
        self.styles = Styles(ws)
        define_common_styles(self.styles)
        self._style_names = [self._style_for(c) for c in self.columns]
        # Per column: what to read, how, and the finished style record to copy (or None).
        self._plan = [
            (
                c.key,
                c.kind,
                c.formula,
                None if name is None else self.styles.template(name)._style,  # type: ignore[attr-defined]
            )
            for c, name in zip(self.columns, self._style_names, strict=True)
        ]
        self.rows_written = 0
        ws.freeze_panes = "A2"
        ws.append(
            [
                self.styles.cell(c.header, "editable_header" if c.editable else "header")
                for c in self.columns
            ]
        )

    @staticmethod
    def _style_for(column: Column) -> str | None:
        if column.editable:
            return f"editable_{column.kind.name}"
        if column.kind is Kind.TEXT:
            return "wrap" if column.wrap else None
        return column.kind.name

    @property
    def next_row(self) -> int:
        return self.rows_written + 2

    def append(self, values: Mapping[str, Any]) -> None:
        row_number = self.next_row
        ws, cells = self._ws, []
        for key, kind, formula, template in self._plan:
            if formula is not None:
                value: Any = Formula(formula.format(row=row_number, **self.letters))
            else:
                value = _cell_value(values.get(key), kind)
            if template is None:
                cells.append(value)
            else:
                cell = WriteOnlyCell(ws)
                cell._style = copy(template)  # type: ignore[attr-defined]  # see Styles
                cell.value = value
                cells.append(cell)
        ws.append(cells)
        self.rows_written += 1

    @property
    def last_data_row(self) -> int:
        return self.rows_written + 1

    def close(self, *, totals_label: str = "Total", label_key: str | None = None) -> int | None:
        """Write the totals row (if any column totals), the autofilter and the validations.

        Returns the totals row's number. The autofilter stops above the totals row, so
        sorting and filtering never move it; SUBTOTAL(109, ...) sums only visible rows.
        """
        first, last = 2, max(self.last_data_row, 2)
        totals_row = None
        if any(c.total for c in self.columns):
            totals_row = self.last_data_row + 1
            cells: list[Any] = []
            for column in self.columns:
                letter = self.letters[column.key]
                if column.total:
                    formula = Formula(f"=SUBTOTAL(109,{letter}{first}:{letter}{last})")
                    cells.append(self.styles.cell(formula, f"total_{column.kind.name}"))
                elif column.key == label_key:
                    cells.append(self.styles.cell(totals_label, "total_TEXT"))
                else:
                    cells.append(self.styles.cell(None, "total_TEXT"))
            self._ws.append(cells)
        end = get_column_letter(len(self.columns))
        # auto_filter, data_validations: set by Worksheet._setup; the stubs leave them out.
        self._ws.auto_filter.ref = f"A1:{end}{self.last_data_row}"  # type: ignore[attr-defined]
        for column in self.columns:
            validated = column.editable or column.minimum is not None
            if validated and column.kind is Kind.INTEGER:
                minimum = column.minimum if column.minimum is not None else 0
                validation = DataValidation(
                    type="whole",
                    operator="greaterThanOrEqual",
                    formula1=str(minimum),
                    allow_blank=True,
                    showErrorMessage=True,
                    errorTitle=f"{column.header}: whole number",
                    error=f"Enter a whole number of at least {minimum}.",
                    showInputMessage=True,
                    promptTitle=column.header,
                    prompt=f"A whole number, {minimum} or more.",
                )
                letter = self.letters[column.key]
                validation.add(f"{letter}{first}:{letter}{last}")
                self._ws.data_validations.append(validation)  # type: ignore[attr-defined]
            if column.choices:
                validation = DataValidation(
                    type="list",
                    formula1='"' + ",".join(column.choices) + '"',
                    allow_blank=True,
                    showErrorMessage=True,
                    errorTitle=column.header,
                    error=f"Choose one of: {', '.join(column.choices)}.",
                )
                letter = self.letters[column.key]
                validation.add(f"{letter}{first}:{letter}{last}")
                self._ws.data_validations.append(validation)  # type: ignore[attr-defined]
        return totals_row
