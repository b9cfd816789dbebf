"""Every xlsx export and import goes through here (openpyxl).

Writing: workbooks are built in openpyxl's write-only mode, so rows stream to disk and memory
stays flat however many there are. Every value of every cell goes through one function,
:func:`_cell_value`, whichever way it is written (:meth:`Sheet.append`,
:meth:`TableWriter.append`, :meth:`Styles.cell`, :meth:`WorkbookWriter.meta`): text that would
start a formula (``= + - @``, tab, CR) is neutralised with a leading apostrophe, so a supplier
called ``=HYPERLINK(...)`` stays text in Excel, LibreOffice and any CSV saved from them, and
characters XML cannot carry are dropped (openpyxl would refuse the whole workbook). Formulas
we mean to write are :class:`Formula`. Sheet titles go through :meth:`WorkbookWriter.unique_title`.
No other module writes with openpyxl (tests/unit/test_spreadsheets.py checks the imports).

Reading: an upload is checked before openpyxl sees it (size, zip signature, the uncompressed
sizes in the zip directory, no macros, no encryption), then read in read-only mode with
defusedxml guarding the XML parser and a cap on rows. Every problem is reported with its
sheet, row and column through :class:`SpreadsheetRejected`.

Domain layouts (which columns, what a row means) live with their domain, e.g.
``inventory/sheets.py``; nothing here knows about parts or orders.
"""

from __future__ import annotations

import enum
import io
import logging
import os
import re
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from copy import copy
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import IO, Any

import openpyxl
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.workbook import Workbook
from openpyxl.worksheet._read_only import ReadOnlyWorksheet
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.dimensions import SheetDimension
from openpyxl.xml.constants import SHEET_MAIN_NS
from openpyxl.xml.functions import iterparse  # defusedxml's, when installed

from core.errors import InvalidInput

log = logging.getLogger(__name__)

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

#: An upload opened by :func:`open_upload` (read-only), for the readers' signatures.
UploadedWorkbook = Workbook

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
        ws = self.workbook.create_sheet(self.unique_title(title))
        for index, width in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(index)].width = width
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
        self._templates: dict[str, WriteOnlyCell] = {}

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

    def template(self, name: str) -> WriteOnlyCell:
        return self._templates[name]

    def cell(self, value: Any, name: str, kind: Kind = Kind.TEXT) -> WriteOnlyCell:
        cell = WriteOnlyCell(self.ws)
        cell._style = copy(self._templates[name]._style)  # see the class docstring
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
                None if name is None else self.styles.template(name)._style,
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
                cell._style = copy(template)  # see Styles
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
        self._ws.auto_filter.ref = f"A1:{end}{self.last_data_row}"
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
                self._ws.data_validations.append(validation)
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
                self._ws.data_validations.append(validation)
        return totals_row


# --- reading: problems -------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One reason an upload was refused, located as precisely as possible."""

    code: str
    message: str
    sheet: str | None = None
    row: int | None = None
    column: str | None = None  # the column letter, e.g. "N"
    header: str | None = None  # the column's header, e.g. "Order qty"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def where(self) -> str:
        parts = []
        if self.sheet:
            parts.append(f"sheet {self.sheet!r}")
        if self.row:
            parts.append(f"row {self.row}")
        if self.column:
            parts.append(f"column {self.column}" + (f" ({self.header})" if self.header else ""))
        return ", ".join(parts)


#: At most this many problems are listed; the count says how many there were.
MAX_LISTED_PROBLEMS = 200


class SpreadsheetRejected(InvalidInput):
    """The upload was refused as a whole: nothing was saved. ``details.problems`` lists why."""

    code = "spreadsheet_rejected"

    def __init__(self, problems: Sequence[Problem]):
        problems = list(problems)
        self.problems = problems
        first = problems[0]
        where = first.where()
        located = f"{first.message} ({where})" if where else first.message
        summary = (
            located if len(problems) == 1 else f"{len(problems)} problems; the first: {located}"
        )
        super().__init__(
            "file",
            f"The spreadsheet was not imported, nothing was saved. {summary}",
            problems=[p.as_dict() for p in problems[:MAX_LISTED_PROBLEMS]],
            problem_count=len(problems),
        )


def rejected(code: str, message: str, **where: Any) -> SpreadsheetRejected:
    return SpreadsheetRejected([Problem(code, message, **where)])


class CellError(ValueError):
    """A cell's value is unusable; the caller adds where it is."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


# --- reading: the file -------------------------------------------------------------------


@dataclass(frozen=True)
class UploadLimits:
    max_bytes: int = 16 * 1024 * 1024
    #: Sum of the uncompressed sizes the zip directory declares (a 100,000-row sheet is ~80 MB).
    max_uncompressed_bytes: int = 256 * 1024 * 1024
    #: Real sheets compress 5-30 times; a zip bomb 1,000 times.
    max_compression_ratio: int = 150
    max_members: int = 1000
    #: Rows read per workbook (all sheets together), header rows included.
    max_rows: int = 100_000


_DIMENSION_TAG = f"{{{SHEET_MAIN_NS}}}dimension"
_DATA_TAG = f"{{{SHEET_MAIN_NS}}}sheetData"
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls, or an encrypted .xlsx


def check_upload(data: bytes, limits: UploadLimits) -> None:
    """Refuse anything but a plain, modest xlsx before any XML is parsed."""
    if not data:
        raise rejected("empty_file", "The file is empty.")
    if len(data) > limits.max_bytes:
        raise rejected(
            "file_too_large",
            f"The file is {len(data):,} bytes; the limit is {limits.max_bytes:,}.",
        )
    if data.startswith(_OLE_MAGIC):
        raise rejected(
            "not_xlsx",
            "This is an old-style .xls or a password-protected workbook: save it as an "
            "unprotected Excel workbook (.xlsx).",
        )
    if not data.startswith(_ZIP_MAGIC):
        raise rejected("not_xlsx", "This is not an .xlsx workbook.")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError):
        raise rejected("not_xlsx", "This is not an .xlsx workbook (a damaged zip).") from None
    names = {member.filename for member in members}
    if len(members) > limits.max_members:
        raise rejected("not_xlsx", f"The file holds {len(members):,} parts; too many for a sheet.")
    if not {"[Content_Types].xml", "xl/workbook.xml"} <= names:
        raise rejected("not_xlsx", "This zip file is not an .xlsx workbook.")
    if any(name.lower().endswith("vbaproject.bin") for name in names):
        raise rejected("not_xlsx", "Macro-enabled workbooks are refused: save as plain .xlsx.")
    if any(member.flag_bits & 0x1 for member in members):
        raise rejected("not_xlsx", "Encrypted workbooks are refused: save without a password.")
    total = 0
    for member in members:
        total += member.file_size
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > 1024 * 1024 and ratio > limits.max_compression_ratio:
            raise rejected(
                "zip_bomb",
                f"{member.filename} expands {ratio:,.0f} times: refused as a likely zip bomb.",
            )
    if total > limits.max_uncompressed_bytes:
        raise rejected(
            "zip_bomb",
            f"The workbook expands to {total:,} bytes; the limit is "
            f"{limits.max_uncompressed_bytes:,}.",
        )


def _declared_size(self: ReadOnlyWorksheet) -> None:
    """openpyxl's probe for a read-only sheet's ``<dimension>``, stopping where it must.

    openpyxl's own probe listens for *end* events, so on a sheet without ``<dimension>``
    (openpyxl's write-only sheets, many generators) it only stops at the end of
    ``<sheetData>``: opening a workbook parsed every row of every sheet, before any row
    limit could apply (a 1,000,000-row sheet: half a minute and 100 MB). This one stops at
    the *start* of ``<sheetData>``. Readers here never trust the dimension anyway
    (:func:`rows_of` resets it).
    """
    source = self._get_source()
    try:
        for _event, element in iterparse(source, events=("start",)):
            if element.tag == _DIMENSION_TAG:
                ref = element.get("ref")
                if ref:
                    bounds = SheetDimension(ref=ref).boundaries
                    self._min_column, self._min_row, self._max_column, self._max_row = bounds
                return
            if element.tag == _DATA_TAG:
                return
    finally:
        source.close()


ReadOnlyWorksheet._get_size = _declared_size  # type: ignore[method-assign]


def open_upload(data: bytes, limits: UploadLimits) -> Workbook:
    """Check ``data`` (:func:`check_upload`) and open it read-only, with defusedxml active."""
    if not openpyxl.DEFUSEDXML:
        # Fail closed: without defusedxml, openpyxl parses entities (billion laughs, XXE).
        raise RuntimeError("openpyxl is not using defusedxml; refusing to read uploads")
    check_upload(data, limits)
    try:
        return openpyxl.load_workbook(
            io.BytesIO(data), read_only=True, data_only=True, keep_links=False
        )
    except Exception as error:  # untrusted input: any parser failure means "not readable"
        log.info("unreadable upload: %r", error)
        raise rejected("not_xlsx", "The workbook could not be read as .xlsx.") from None


def read_meta(workbook: Workbook, kind: str, description: str) -> dict[str, Any]:
    """The entries of our hidden meta sheet; refuses workbooks not ours, or not ``kind``."""
    not_ours = rejected(
        "not_our_workbook",
        f"This workbook was not exported by spareflow as {description}: download one and "
        "edit that.",
    )
    if META_SHEET not in workbook.sheetnames:
        raise not_ours
    rows = list(rows_of(workbook[META_SHEET], max_col=2, max_rows=200))
    if not rows or rows[0][1][0] != META_MARKER:
        raise not_ours
    found = rows[0][1][1]
    if found != kind:
        raise rejected(
            "wrong_workbook",
            f"This is a spareflow {found} workbook, not {description}.",
        )
    entries: dict[str, Any] = {}
    for _, (key, value) in rows[1:]:
        if isinstance(key, str):
            entries[key] = restore_text(value) if isinstance(value, str) else value
    return entries


def rows_of(
    ws: Any, *, max_col: int, max_rows: int, min_row: int = 1
) -> Iterator[tuple[int, tuple[Any, ...]]]:
    """(row number, values) of a read-only sheet, never trusting its declared dimensions."""
    ws.reset_dimensions()
    try:
        for number, values in enumerate(
            ws.iter_rows(min_row=min_row, max_col=max_col, values_only=True), start=min_row
        ):
            if number > max_rows:
                raise rejected(
                    "too_many_rows",
                    f"The sheet has more than {max_rows:,} rows.",
                    sheet=ws.title,
                    row=number,
                )
            yield number, tuple(values) + (None,) * (max_col - len(values))
    except SpreadsheetRejected:
        raise
    except Exception as error:  # malformed sheet XML, forbidden entities, ...
        log.info("unreadable sheet %r: %r", ws.title, error)
        raise rejected(
            "not_xlsx", "The sheet could not be read (damaged or not plain .xlsx).", sheet=ws.title
        ) from None


@dataclass
class RowBudget:
    """Counts rows across all sheets of one upload against :attr:`UploadLimits.max_rows`."""

    limit: int
    used: int = 0

    def take(self, sheet: str, row: int) -> None:
        self.used += 1
        if self.used > self.limit:
            raise rejected(
                "too_many_rows",
                f"The workbook has more than {self.limit:,} rows.",
                sheet=sheet,
                row=row,
            )


@dataclass
class TableRows:
    """The data rows of one table sheet, keyed by our column keys."""

    sheet: str
    letters: dict[str, str]
    headers: dict[str, str]
    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)

    def problem(self, row: int, key: str, code: str, message: str) -> Problem:
        return Problem(
            code,
            message,
            sheet=self.sheet,
            row=row,
            column=self.letters.get(key),
            header=self.headers.get(key),
        )


def _header_key(value: Any) -> str:
    return " ".join(str(value).split()).casefold() if value is not None else ""


def read_table(
    ws: Any,
    columns: Sequence[Column],
    required: Iterable[str],
    budget: RowBudget,
) -> TableRows | None:
    """Rows of a sheet whose header row names our columns (in any order).

    Returns None for an empty sheet. A header row without the ``required`` columns means
    the sheet is not one of ours.
    """
    by_header = {_header_key(c.header): c for c in columns}
    width = max(len(columns) + 10, 30)
    rows = rows_of(ws, max_col=width, max_rows=budget.limit + 1)
    header_row = None
    for number, values in rows:
        budget.take(ws.title, number)
        if any(v not in (None, "") for v in values):
            header_row = (number, values)
            break
    if header_row is None:
        return None
    number, values = header_row
    positions: dict[str, int] = {}
    for index, value in enumerate(values):
        column = by_header.get(_header_key(value))
        if column is not None and column.key not in positions:
            positions[column.key] = index
    missing = [c.header for c in columns if c.key in set(required) and c.key not in positions]
    if number != 1 or missing:
        raise rejected(
            "not_our_sheet",
            "This sheet's first row is not spareflow's header row"
            + (f" (missing: {', '.join(missing)})" if missing else "")
            + ". Keep the header row as exported.",
            sheet=ws.title,
            row=number,
        )
    table = TableRows(
        sheet=ws.title,
        letters={key: get_column_letter(i + 1) for key, i in positions.items()},
        headers={c.key: c.header for c in columns},
    )
    for number, values in rows:
        budget.take(ws.title, number)
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
            continue
        table.rows.append((number, {key: values[i] for key, i in positions.items()}))
    return table


# --- reading: values ---------------------------------------------------------------------


def read_text(value: Any) -> str | None:
    """A text cell: trimmed, blank as None, numbers typed into text columns accepted."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = restore_text(str(value)).strip()
    return text or None


def read_whole_number(value: Any, *, maximum: int) -> int | None:
    """A whole number of at least 0 (blank is None); raises :class:`CellError` otherwise."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    number: int
    if isinstance(value, bool):
        raise CellError("not_whole_number", f"{value!r} is not a whole number.")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float | Decimal):
        if value != value or value in (float("inf"), float("-inf")):  # NaN, infinities
            raise CellError("not_whole_number", f"{value!r} is not a whole number.")
        if value != int(value):
            raise CellError("not_whole_number", f"{value} is not a whole number.")
        number = int(value)
    elif isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value.strip()):
        number = int(value.strip())
    else:
        raise CellError("not_whole_number", f"{str(value)[:40]!r} is not a whole number.")
    if number < 0:
        raise CellError("negative_quantity", f"{number} is negative; use 0 or more.")
    if number > maximum:
        raise CellError("too_large", f"{number:,} is more than the limit of {maximum:,}.")
    return number


def read_decimal(value: Any, *, places: Decimal, maximum: Decimal) -> Decimal | None:
    """A decimal amount of at least 0 (blank is None), rounded half-up to ``places``.

    Excel keeps numbers as binary floats; the shortest repr of the float is what the user
    typed, so it is converted through that and never used for arithmetic.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise CellError("not_a_number", f"{value!r} is not an amount.")
    try:
        amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value).strip())
    except InvalidOperation:
        raise CellError("not_a_number", f"{str(value)[:40]!r} is not an amount.") from None
    if not amount.is_finite():
        raise CellError("not_a_number", f"{value!r} is not an amount.")
    if amount < 0:
        raise CellError("negative_amount", f"{amount} is negative.")
    if amount >= maximum:
        raise CellError("too_large", f"{amount} is too large.")
    return amount.quantize(places, rounding=ROUND_HALF_UP)


def read_boolean(value: Any) -> bool | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    text = str(value).strip().casefold()
    if text in {"yes", "y", "true", "1", "x"}:
        return True
    if text in {"no", "n", "false", "0"}:
        return False
    raise CellError("not_yes_or_no", f"{str(value)[:40]!r} is not yes or no.")
