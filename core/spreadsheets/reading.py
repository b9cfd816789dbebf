"""Reading xlsx uploads: checked before openpyxl sees them, then read with every cell located.

See the package's docstring (core/spreadsheets/__init__.py).
"""

from __future__ import annotations

import io
import logging
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import openpyxl
from openpyxl.utils import get_column_letter
from openpyxl.workbook import Workbook
from openpyxl.worksheet._read_only import ReadOnlyWorksheet
from openpyxl.worksheet.dimensions import SheetDimension
from openpyxl.xml.constants import SHEET_MAIN_NS
from openpyxl.xml.functions import iterparse  # defusedxml's, when installed

from core.errors import N_, InvalidInput
from core.spreadsheets.writing import META_MARKER, META_SHEET, Column, restore_text

log = logging.getLogger(__name__)

#: An upload opened by :func:`open_upload` (read-only), for the readers' signatures.
UploadedWorkbook = Workbook

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
        raise rejected("empty_file", N_("The file is empty."))
    if len(data) > limits.max_bytes:
        raise rejected(
            "file_too_large",
            N_(
                "The file is %(size)s bytes; the limit is %(limit)s.",
                size=f"{len(data):,}",
                limit=f"{limits.max_bytes:,}",
            ),
        )
    if data.startswith(_OLE_MAGIC):
        raise rejected(
            "not_xlsx",
            N_(
                "This is an old-style .xls or a password-protected workbook: save it as an "
                "unprotected Excel workbook (.xlsx)."
            ),
        )
    if not data.startswith(_ZIP_MAGIC):
        raise rejected("not_xlsx", N_("This is not an .xlsx workbook."))
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError):
        raise rejected("not_xlsx", N_("This is not an .xlsx workbook (a damaged zip).")) from None
    names = {member.filename for member in members}
    if len(members) > limits.max_members:
        raise rejected(
            "not_xlsx",
            N_("The file holds %(num)s parts; too many for a sheet.", num=f"{len(members):,}"),
        )
    if not {"[Content_Types].xml", "xl/workbook.xml"} <= names:
        raise rejected("not_xlsx", N_("This zip file is not an .xlsx workbook."))
    if any(name.lower().endswith("vbaproject.bin") for name in names):
        raise rejected("not_xlsx", N_("Macro-enabled workbooks are refused: save as plain .xlsx."))
    if any(member.flag_bits & 0x1 for member in members):
        raise rejected("not_xlsx", N_("Encrypted workbooks are refused: save without a password."))
    total = 0
    for member in members:
        total += member.file_size
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > 1024 * 1024 and ratio > limits.max_compression_ratio:
            raise rejected(
                "zip_bomb",
                N_(
                    "%(name)s expands %(ratio)s times: refused as a likely zip bomb.",
                    name=member.filename,
                    ratio=f"{ratio:,.0f}",
                ),
            )
    if total > limits.max_uncompressed_bytes:
        raise rejected(
            "zip_bomb",
            N_(
                "The workbook expands to %(size)s bytes; the limit is %(limit)s.",
                size=f"{total:,}",
                limit=f"{limits.max_uncompressed_bytes:,}",
            ),
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
    # The private members of openpyxl's read-only sheet that its own probe uses; the stubs
    # leave them out.
    source = self._get_source()  # type: ignore[attr-defined]
    try:
        for _event, element in iterparse(source, events=("start",)):
            if element.tag == _DIMENSION_TAG:
                ref = element.get("ref")
                if ref:
                    bounds = SheetDimension(ref=ref).boundaries
                    (
                        self._min_column,  # type: ignore[attr-defined]
                        self._min_row,  # type: ignore[attr-defined]
                        self._max_column,  # type: ignore[attr-defined]
                        self._max_row,  # type: ignore[attr-defined]
                    ) = bounds
                return
            if element.tag == _DATA_TAG:
                return
    finally:
        source.close()


ReadOnlyWorksheet._get_size = _declared_size  # type: ignore[attr-defined]


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
        raise rejected("not_xlsx", N_("The workbook could not be read as .xlsx.")) from None


def read_meta(workbook: Workbook, kind: str, description: str) -> dict[str, Any]:
    """The entries of our hidden meta sheet; refuses workbooks not ours, or not ``kind``."""
    not_ours = rejected(
        "not_our_workbook",
        N_(
            "This workbook was not exported by spareflow as %(description)s: download one and "
            "edit that.",
            description=description,
        ),
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
            N_(
                "This is a spareflow %(kind)s workbook, not %(description)s.",
                kind=found,
                description=description,
            ),
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
                    N_("The sheet has more than %(num)s rows.", num=f"{max_rows:,}"),
                    sheet=ws.title,
                    row=number,
                )
            yield number, tuple(values) + (None,) * (max_col - len(values))
    except SpreadsheetRejected:
        raise
    except Exception as error:  # malformed sheet XML, forbidden entities, ...
        log.info("unreadable sheet %r: %r", ws.title, error)
        raise rejected(
            "not_xlsx",
            N_("The sheet could not be read (damaged or not plain .xlsx)."),
            sheet=ws.title,
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
                N_("The workbook has more than %(num)s rows.", num=f"{self.limit:,}"),
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


def data_tables(
    workbook: Any,
    columns: Sequence[Column],
    required: Iterable[str],
    budget: RowBudget,
) -> Iterator[TableRows]:
    """The tables of every sheet but spareflow's meta sheet, empty sheets left out."""
    for title in workbook.sheetnames:
        if title == META_SHEET:
            continue
        table = read_table(workbook[title], columns, required, budget)
        if table is not None:
            yield table


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
            N_(
                "This sheet's first row is not spareflow's header row (missing: %(missing)s). "
                "Keep the header row as exported.",
                missing=", ".join(missing),
            )
            if missing
            else N_(
                "This sheet's first row is not spareflow's header row. Keep the header row as "
                "exported."
            ),
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
        raise CellError(
            "not_whole_number", N_("%(value)s is not a whole number.", value=repr(value))
        )
    if isinstance(value, int):
        number = value
    elif isinstance(value, float | Decimal):
        if value != value or value in (float("inf"), float("-inf")):  # NaN, infinities
            raise CellError(
                "not_whole_number", N_("%(value)s is not a whole number.", value=repr(value))
            )
        if value != int(value):
            raise CellError("not_whole_number", N_("%(value)s is not a whole number.", value=value))
        number = int(value)
    elif isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value.strip()):
        number = int(value.strip())
    else:
        raise CellError(
            "not_whole_number",
            N_("%(value)s is not a whole number.", value=repr(str(value)[:40])),
        )
    if number < 0:
        raise CellError(
            "negative_quantity", N_("%(number)s is negative; use 0 or more.", number=number)
        )
    if number > maximum:
        raise CellError(
            "too_large",
            N_(
                "%(number)s is more than the limit of %(limit)s.",
                number=f"{number:,}",
                limit=f"{maximum:,}",
            ),
        )
    return number


def read_decimal(value: Any, *, places: Decimal, maximum: Decimal) -> Decimal | None:
    """A decimal amount of at least 0 (blank is None), rounded half-up to ``places``.

    Excel keeps numbers as binary floats; the shortest repr of the float is what the user
    typed, so it is converted through that and never used for arithmetic.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise CellError("not_a_number", N_("%(value)s is not an amount.", value=repr(value)))
    try:
        amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value).strip())
    except InvalidOperation:
        raise CellError(
            "not_a_number", N_("%(value)s is not an amount.", value=repr(str(value)[:40]))
        ) from None
    if not amount.is_finite():
        raise CellError("not_a_number", N_("%(value)s is not an amount.", value=repr(value)))
    if amount < 0:
        raise CellError("negative_amount", N_("%(amount)s is negative.", amount=amount))
    if amount >= maximum:
        raise CellError("too_large", N_("%(amount)s is too large.", amount=amount))
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
    raise CellError("not_yes_or_no", N_("%(value)s is not yes or no.", value=repr(str(value)[:40])))
