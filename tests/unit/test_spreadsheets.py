"""The one spreadsheet module: safe text out, guarded uploads in. No database."""

from __future__ import annotations

import ast
import io
import re
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.spreadsheets import (
    CellError,
    Column,
    Formula,
    Kind,
    RowBudget,
    SpreadsheetRejected,
    UploadLimits,
    WorkbookWriter,
    check_upload,
    open_upload,
    read_decimal,
    read_table,
    read_whole_number,
    restore_text,
    safe_text,
)

COLUMNS = (
    Column("sku", "SKU", 12),
    Column("name", "Name", 30),
    Column("qty", "Qty", 8, Kind.INTEGER, editable=True, total=True),
)
DANGEROUS = ["=1+1", '=HYPERLINK("http://evil.example","x")', "+1", "-1", "@SUM(A1)", "\tx", "\rx"]


def workbook_bytes(names: list[str], *, rows: int | None = None) -> bytes:
    out = io.BytesIO()
    with WorkbookWriter() as writer:
        table = writer.table("Parts", COLUMNS)
        for i, name in enumerate(names if rows is None else ["n"] * rows):
            table.append({"sku": f"P-{i}", "name": name, "qty": i})
        table.close(label_key="name")
        writer.meta("test", [("format", 1)])
        writer.save(out)
    return out.getvalue()


def problem_of(refusal: pytest.ExceptionInfo[SpreadsheetRejected]) -> dict[str, Any]:
    assert refusal.value.code == "spreadsheet_rejected"
    return refusal.value.details["problems"][0]


def test_openpyxl_parses_xml_through_defusedxml() -> None:
    assert openpyxl.DEFUSEDXML is True


@pytest.mark.parametrize("text", DANGEROUS)
def test_text_that_would_start_a_formula_is_written_as_plain_text(text: str) -> None:
    data = workbook_bytes([text])
    sheet = openpyxl.load_workbook(io.BytesIO(data))["Parts"]
    cell = sheet["B2"]
    assert cell.data_type == "s"
    stored = text.replace("\r", "\n")  # XML parsers read a bare CR as a line feed
    assert cell.value == "'" + stored
    assert restore_text(cell.value) == stored
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml").decode()
    formulas = re.findall(r"<f>(.*?)</f>", xml)
    assert formulas == ["SUBTOTAL(109,C2:C2)"]  # only the totals row we meant to write


@given(st.text(alphabet=st.characters(), max_size=30))
def test_neutralising_text_and_reading_it_back_loses_nothing_but_illegal_characters(
    text: str,
) -> None:
    legal = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]", "", text)
    assert restore_text(safe_text(text)) == legal
    assert not safe_text(text).startswith(("=", "+", "-", "@", "\t", "\r"))


def test_formulas_we_mean_to_write_stay_formulas_and_floats_are_refused() -> None:
    with pytest.raises(TypeError, match="no floats"), WorkbookWriter() as writer:
        table = writer.table("T", (Column("a", "A"), Column("b", "B", kind=Kind.MONEY)))
        table.append({"a": Formula("=1+1"), "b": Decimal("2.50")})
        table.append({"a": "x", "b": 2.5})
    assert all(ws.closed for ws in writer.workbook.worksheets)  # nothing left open


def test_sheet_titles_are_made_legal_and_unique() -> None:
    writer = WorkbookWriter()
    assert writer.unique_title("A/B:C") == "A_B_C"
    assert writer.unique_title("x" * 40) == "x" * 31
    assert writer.unique_title("X" * 40) == "X" * 27 + " (2)"  # titles ignore case


@pytest.mark.parametrize(
    ("wanted", "title"),
    [
        ('=HYPERLINK("http://x","y")', '_HYPERLINK("http___x","y")'),
        ("+1", "_1"),
        ("-ACME", "_ACME"),
        ("@SUM", "_SUM"),
        ("'quoted'", "quoted"),
        ("tab\there\x01\x00", "tab_here"),
        ("\ufffeodd\uffff\ud800", "odd"),
        ("   ", "Sheet"),
        ("history", "history (2)"),  # Excel reserves "History"
        ("SPAREFLOW", "SPAREFLOW (2)"),  # our hidden meta sheet's name, whatever the case
    ],
)
def test_sheet_titles_never_start_like_a_formula_nor_hold_what_excel_refuses(
    wanted: str, title: str
) -> None:
    assert WorkbookWriter().unique_title(wanted) == title


def test_a_free_form_sheet_writes_every_plain_value_as_safe_text() -> None:
    out = io.BytesIO()
    with WorkbookWriter() as writer:
        sheet = writer.sheet('=HYPERLINK("x")', [20, 20])
        sheet.append([*DANGEROUS, "ctrl\x01\x1f", 7, Decimal("2.5"), Formula("=SUM(G1:H1)")])
        sheet.append(
            [sheet.styles.cell("=1+1", "label"), sheet.styles.cell(Formula("=1+1"), "text")]
        )
        writer.meta("test", [("=key", "=value")])
        writer.save(out)
    workbook = openpyxl.load_workbook(io.BytesIO(out.getvalue()))
    ws = workbook.worksheets[0]
    assert ws.title == '_HYPERLINK("x")'
    row = [cell for cell in ws[1]]
    assert [c.value for c in row[: len(DANGEROUS)]] == [
        "'" + text.replace("\r", "\n") for text in DANGEROUS
    ]
    assert all(c.data_type == "s" for c in row[: len(DANGEROUS) + 1])
    assert row[len(DANGEROUS)].value == "ctrl"
    assert [c.value for c in row[-3:]] == [7, 2.5, "=SUM(G1:H1)"]
    assert row[-1].data_type == "f"  # a Formula is what spareflow means to write
    assert [(c.value, c.data_type) for c in ws[2][:2]] == [("'=1+1", "s"), ("=1+1", "f")]
    meta = workbook["spareflow"]
    assert [c.value for c in meta[2]] == ["'=key", "'=value"]


PRODUCT_PACKAGES = ("core", "inventory", "carriers", "returns", "web", "migrations")


def test_no_module_outside_core_spreadsheets_uses_openpyxl() -> None:
    """So no export can write a cell around the neutralising path (ARCHITECTURE convention 12)."""
    root = Path(__file__).parents[2]
    users = []
    for package in PRODUCT_PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                names = (
                    [alias.name for alias in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                    if isinstance(node, ast.ImportFrom)
                    else []
                )
                if any(name.split(".")[0] == "openpyxl" for name in names):
                    users.append(str(path.relative_to(root)))
    assert sorted(set(users)) == ["core/spreadsheets/reading.py", "core/spreadsheets/writing.py"]


def zip_of(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return out.getvalue()


def replace_member(data: bytes, name: str, content: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = {info.filename: archive.read(info.filename) for info in archive.infolist()}
    members[name] = content
    return zip_of(members)


MINIMAL = {"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>"}


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "empty_file"),
        (b"SKU,Name\nFAN-80,Fan\n", "not_xlsx"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 500, "not_xlsx"),  # .xls or encrypted
        (b"PK\x03\x04 broken", "not_xlsx"),
        (zip_of({"readme.txt": b"hello"}), "not_xlsx"),
        (zip_of({**MINIMAL, "xl/vbaProject.bin": b"macro"}), "not_xlsx"),
        (zip_of({**MINIMAL, "xl/worksheets/sheet1.xml": b"\0" * (3 * 1024 * 1024)}), "zip_bomb"),
    ],
    ids=["empty", "csv", "xls", "damaged-zip", "zip-not-xlsx", "macros", "zip-bomb-ratio"],
)
def test_uploads_that_are_not_plain_modest_xlsx_are_refused_before_parsing(
    data: bytes, code: str
) -> None:
    with pytest.raises(SpreadsheetRejected) as refused:
        check_upload(data, UploadLimits())
    assert problem_of(refused)["code"] == code


def test_an_upload_that_expands_beyond_the_limit_is_refused_from_the_zip_directory() -> None:
    data = workbook_bytes(["fan"], rows=2000)
    with pytest.raises(SpreadsheetRejected) as refused:
        check_upload(data, UploadLimits(max_uncompressed_bytes=100_000))
    problem = problem_of(refused)
    assert problem["code"] == "zip_bomb" and "expands to" in problem["message"]


def test_an_oversized_file_is_refused() -> None:
    data = workbook_bytes(["fan"])
    with pytest.raises(SpreadsheetRejected) as refused:
        check_upload(data, UploadLimits(max_bytes=len(data) - 1))
    assert problem_of(refused)["code"] == "file_too_large"


def test_an_encrypted_zip_entry_is_refused() -> None:
    data = bytearray(zip_of(MINIMAL, zipfile.ZIP_STORED))
    # Set the "encrypted" flag bit in the central directory entries.
    start = data.find(b"PK\x01\x02")
    while start != -1:
        data[start + 8] |= 0x01
        start = data.find(b"PK\x01\x02", start + 4)
    with pytest.raises(SpreadsheetRejected) as refused:
        check_upload(bytes(data), UploadLimits())
    assert "Encrypted" in problem_of(refused)["message"]


LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
)


def test_an_entity_bomb_in_the_workbook_is_refused_by_defusedxml() -> None:
    data = replace_member(
        workbook_bytes(["fan"]),
        "xl/workbook.xml",
        LAUGHS + b'<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b"<sheets>&lol2;</sheets></workbook>",
    )
    with pytest.raises(SpreadsheetRejected) as refused:
        open_upload(data, UploadLimits())
    assert problem_of(refused)["code"] == "not_xlsx"


def read_parts(data: bytes) -> None:
    workbook = open_upload(data, UploadLimits())
    try:
        read_table(workbook["Parts"], COLUMNS, ["sku"], RowBudget(10_000))
    finally:
        workbook.close()


def test_an_entity_bomb_in_a_sheet_is_refused() -> None:
    data = replace_member(
        workbook_bytes(["fan"]),
        "xl/worksheets/sheet1.xml",
        LAUGHS + b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&lol2;</t></is></c></row>'
        b"</sheetData></worksheet>",
    )
    with pytest.raises(SpreadsheetRejected) as refused:
        read_parts(data)
    assert problem_of(refused)["code"] == "not_xlsx"


def test_a_sheet_damaged_further_down_is_refused_while_reading_it() -> None:
    original = workbook_bytes([], rows=2000)
    with zipfile.ZipFile(io.BytesIO(original)) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml")
    # As Excel writes it: the dimension first (so opening reads no further), then the rows.
    xml = xml.replace(b"<sheetViews", b'<dimension ref="A1:C2001"/><sheetViews', 1)
    data = replace_member(original, "xl/worksheets/sheet1.xml", xml[: len(xml) - 5000])
    with pytest.raises(SpreadsheetRejected) as refused:
        read_parts(data)
    problem = problem_of(refused)
    assert (problem["code"], problem["sheet"]) == ("not_xlsx", "Parts")


def test_reading_stops_at_the_row_cap() -> None:
    workbook = open_upload(workbook_bytes([], rows=30), UploadLimits())
    try:
        with pytest.raises(SpreadsheetRejected) as refused:
            read_table(workbook["Parts"], COLUMNS, ["sku"], RowBudget(20))
    finally:
        workbook.close()
    problem = problem_of(refused)
    assert (problem["code"], problem["sheet"], problem["row"]) == ("too_many_rows", "Parts", 21)


def test_a_sheet_without_our_header_row_is_not_ours() -> None:
    book = openpyxl.Workbook()
    book.active.append(["Part number", "Description"])
    book.active.append(["FAN-80", "Fan"])
    out = io.BytesIO()
    book.save(out)
    workbook = open_upload(out.getvalue(), UploadLimits())
    try:
        with pytest.raises(SpreadsheetRejected) as refused:
            read_table(workbook.worksheets[0], COLUMNS, ["sku", "qty"], RowBudget(100))
    finally:
        workbook.close()
    problem = problem_of(refused)
    assert problem["code"] == "not_our_sheet" and "missing: SKU, Qty" in problem["message"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, None), ("", None), (0, 0), (12, 12), (12.0, 12), ("12", 12), (" 7 ", 7),
     (Decimal("3"), 3)],
)  # fmt: skip
def test_whole_numbers_are_read_from_what_spreadsheets_store(value: Any, expected: Any) -> None:
    assert read_whole_number(value, maximum=1000) == expected


@pytest.mark.parametrize(
    ("value", "code"),
    [(-1, "negative_quantity"), ("-3", "negative_quantity"), (2.5, "not_whole_number"),
     ("abc", "not_whole_number"), ("1e3", "not_whole_number"), (True, "not_whole_number"),
     (float("nan"), "not_whole_number"), (1001, "too_large")],
)  # fmt: skip
def test_negative_fractional_or_odd_quantities_are_refused(value: Any, code: str) -> None:
    with pytest.raises(CellError) as refused:
        read_whole_number(value, maximum=1000)
    assert refused.value.code == code


def test_amounts_come_back_as_the_decimal_that_was_typed() -> None:
    places, limit = Decimal("0.0001"), Decimal(10**9)
    assert read_decimal(0.1 + 0.2, places=places, maximum=limit) == Decimal("0.3000")
    assert read_decimal(4.25, places=places, maximum=limit) == Decimal("4.2500")
    assert read_decimal("12.5", places=places, maximum=limit) == Decimal("12.5000")
    with pytest.raises(CellError):
        read_decimal(-1, places=places, maximum=limit)


def test_opening_a_workbook_reads_no_rows_so_the_row_limit_applies_from_the_first() -> None:
    # Our own sheets (openpyxl write-only) have no <dimension>: openpyxl's probe for it used
    # to parse every row at opening, before any limit (a million rows: half a minute).
    original = workbook_bytes([], rows=2000)
    with zipfile.ZipFile(io.BytesIO(original)) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml")
    assert b"<dimension" not in xml
    data = replace_member(original, "xl/worksheets/sheet1.xml", xml[: len(xml) - 5000])
    workbook = open_upload(data, UploadLimits())  # opens: the damage is further down
    try:
        with pytest.raises(SpreadsheetRejected) as refused:
            read_table(workbook["Parts"], COLUMNS, ["sku"], RowBudget(10_000))
    finally:
        workbook.close()
    assert problem_of(refused)["code"] == "not_xlsx"


def test_a_declared_dimension_is_still_read_at_opening() -> None:
    original = workbook_bytes([], rows=3)
    with zipfile.ZipFile(io.BytesIO(original)) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml")
    xml = xml.replace(b"<sheetViews", b'<dimension ref="A1:C5"/><sheetViews', 1)
    workbook = open_upload(
        replace_member(original, "xl/worksheets/sheet1.xml", xml), UploadLimits()
    )
    try:
        assert (workbook["Parts"].max_row, workbook["Parts"].max_column) == (5, 3)
    finally:
        workbook.close()
