"""Every xlsx export and import goes through here (openpyxl): ``writing`` and ``reading``.

Writing: workbooks are built in openpyxl's write-only mode, so rows stream to disk and memory
stays flat however many there are. Every value of every cell goes through one function,
:func:`_cell_value`, whichever way it is written (:meth:`Sheet.append`,
:meth:`TableWriter.append`, :meth:`Styles.cell`, :meth:`WorkbookWriter.meta`): text that would
start a formula (``= + - @``, tab, CR) is neutralised with a leading apostrophe, so a supplier
called ``=HYPERLINK(...)`` stays text in Excel, LibreOffice and any CSV saved from them, and
characters XML cannot carry are dropped (openpyxl would refuse the whole workbook). Formulas
we mean to write are :class:`Formula`. Sheet titles go through :meth:`WorkbookWriter.unique_title`.
No module outside this package uses openpyxl (tests/unit/test_spreadsheets.py checks the
imports).

Reading: an upload is checked before openpyxl sees it (size, zip signature, the uncompressed
sizes in the zip directory, no macros, no encryption), then read in read-only mode with
defusedxml guarding the XML parser and a cap on rows. Every problem is reported with its
sheet, row and column through :class:`SpreadsheetRejected`.

Domain layouts (which columns, what a row means) live with their domain, e.g.
``inventory/sheets.py``; nothing here knows about parts or orders.
"""

from __future__ import annotations

from core.spreadsheets.reading import (
    MAX_LISTED_PROBLEMS,
    CellError,
    Problem,
    RowBudget,
    SpreadsheetRejected,
    TableRows,
    UploadedWorkbook,
    UploadLimits,
    check_upload,
    data_tables,
    open_upload,
    read_boolean,
    read_decimal,
    read_meta,
    read_table,
    read_text,
    read_whole_number,
    rejected,
    rows_of,
)
from core.spreadsheets.writing import (
    EDITABLE_FILL,
    EDITABLE_HEADER_FILL,
    FORMULA_TRIGGERS,
    HEADER_FILL,
    META_MARKER,
    META_SHEET,
    TOTAL_FILL,
    XLSX_MIME,
    Column,
    Formula,
    Kind,
    Sheet,
    Styles,
    TableWriter,
    WorkbookWriter,
    define_common_styles,
    restore_text,
    safe_text,
)

__all__ = [
    "EDITABLE_FILL",
    "EDITABLE_HEADER_FILL",
    "FORMULA_TRIGGERS",
    "HEADER_FILL",
    "MAX_LISTED_PROBLEMS",
    "META_MARKER",
    "META_SHEET",
    "TOTAL_FILL",
    "XLSX_MIME",
    "CellError",
    "Column",
    "Formula",
    "Kind",
    "Problem",
    "RowBudget",
    "Sheet",
    "SpreadsheetRejected",
    "Styles",
    "TableRows",
    "TableWriter",
    "UploadLimits",
    "UploadedWorkbook",
    "WorkbookWriter",
    "check_upload",
    "data_tables",
    "define_common_styles",
    "open_upload",
    "read_boolean",
    "read_decimal",
    "read_meta",
    "read_table",
    "read_text",
    "read_whole_number",
    "rejected",
    "restore_text",
    "rows_of",
    "safe_text",
]
