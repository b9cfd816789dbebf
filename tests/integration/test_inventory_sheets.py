"""The catalogue workbook and cycle-count sheets: round trips, all-or-nothing uploads."""

from __future__ import annotations

import io
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import openpyxl
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.clock import FrozenClock
from core.spreadsheets import SpreadsheetRejected
from inventory.commands import IssueStock
from inventory.count_sheets import CountSheetService
from inventory.models import StockMove
from inventory.services import InventoryService
from purchasing.services import CatalogueSheetService, ReorderService
from purchasing.status import ReorderMethod
from tests.support.purchasing_scenarios import (
    BIN,
    BUYER,
    build_scenario,
    counts,
    edit_workbook,
    row_of,
)

SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@dataclass(frozen=True)
class Sheets:
    catalogue: CatalogueSheetService
    counts: CountSheetService


@pytest.fixture
def sheets(
    inventory: InventoryService, session_factory: sessionmaker[Session], clock: FrozenClock
) -> Sheets:
    build_scenario(inventory)
    return Sheets(
        CatalogueSheetService(session_factory, clock), CountSheetService(session_factory, clock)
    )


def catalogue(sheets: Sheets) -> bytes:
    out = io.BytesIO()
    sheets.catalogue.export_catalogue(out, BUYER)
    return out.getvalue()


def count_sheet(sheets: Sheets, location: str = BIN, blind: bool = False) -> bytes:
    out = io.BytesIO()
    sheets.counts.export_count(out, "ann@test.example", location, blind=blind)
    return out.getvalue()


def test_the_catalogue_lists_every_part_with_its_reorder_settings(
    sheets: Sheets,
) -> None:
    sheet = openpyxl.load_workbook(io.BytesIO(catalogue(sheets)))["Parts"]
    assert [c.value for c in sheet[1]][:8] == [
        "SKU", "Name", "Description", "Unit", "Category", "Barcode", "Supplier", "Unit cost",
    ]  # fmt: skip
    rows = {r[0]: r for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert set(rows) == {"CAB-1", "FAN-80", "LOOSE-1", "OK-1", "PSU-65"}
    assert rows["FAN-80"][6:] == (
        "ACME", 4.25, None, 20, 30, 4, 1, 0, None, "manual", "yes", "no"
    )  # fmt: skip
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == "A1:R6"
    kinds = {str(v.sqref): (v.type, v.formula1) for v in sheet.data_validations.dataValidation}
    assert kinds["M2:M6"] == ("whole", "1")  # pack size at least 1
    assert kinds["P2:P6"] == ("list", '"manual,computed,planned"')


def test_the_catalogue_round_trip_creates_and_updates_parts_and_their_policies(
    sheets: Sheets, inventory: InventoryService, session_factory: Any, clock: Any
) -> None:
    def edits(book: Any) -> None:
        parts = book["Parts"]
        fan = row_of(parts, "FAN-80")
        parts.cell(fan, 8).value = 4.4  # unit cost
        parts.cell(fan, 13).value = 12  # pack size
        parts.cell(fan, 16).value = "computed"
        parts.append(
            ["NEW-1", "-40C sensor", None, None, "Sensors", "4006381333931", "BOLT", 1.25,
             7, 4, 10, 1, 5, 10, None, "manual", "yes"]
        )  # fmt: skip

    result = sheets.catalogue.import_catalogue(
        BUYER, edit_workbook(catalogue(sheets), edits), "c.xlsx"
    )
    assert (result.created, result.updated, result.unchanged) == (1, 1, 4)
    fan = inventory.get_part("FAN-80").part
    assert fan.unit_cost == Decimal("4.4000")
    new = inventory.get_part("new-1").part
    assert (new.name, new.supplier.code, new.barcode, new.lead_time_days) == (
        "-40C sensor",
        "BOLT",
        "4006381333931",
        7,
    )
    reorder = ReorderService(session_factory, clock)
    assert (reorder.get_policy("FAN-80").pack_size, reorder.get_policy("FAN-80").method) == (
        12,
        ReorderMethod.COMPUTED,
    )
    assert (reorder.get_policy("NEW-1").pack_size, reorder.get_policy("NEW-1").min_order_qty) == (
        5,
        10,
    )
    # A name that starts like a formula went out neutralised and came back as it was.
    again = openpyxl.load_workbook(io.BytesIO(catalogue(sheets)))["Parts"]
    assert again.cell(row_of(again, "NEW-1"), 2).value == "'-40C sensor"


def test_an_unchanged_catalogue_changes_nothing(sheets: Sheets) -> None:
    result = sheets.catalogue.import_catalogue(BUYER, catalogue(sheets))
    assert (result.created, result.updated, result.unchanged) == (0, 0, 5)


@SQLITE_ONLY
@pytest.mark.parametrize(
    ("column", "value", "code"),
    [
        (7, "NOBODY", "unknown_supplier"),
        (8, -1, "negative_amount"),
        (10, 2.5, "not_whole_number"),
        (13, 0, "too_small"),
        (16, "sometimes", "invalid_choice"),
        (2, None, "missing_name"),
        (1, "BAD SKU", "invalid_sku"),
    ],
)
def test_a_bad_catalogue_cell_rejects_the_whole_upload(
    sheets: Sheets,
    session_factory: sessionmaker[Session],
    column: int,
    value: Any,
    code: str,
) -> None:
    def edit(book: Any) -> None:
        parts = book["Parts"]
        parts.cell(row_of(parts, "OK-1"), 3).value = "a change that must not be saved"
        parts.cell(row_of(parts, "PSU-65"), column).value = value

    before = counts(session_factory)
    with pytest.raises(SpreadsheetRejected) as refused:
        sheets.catalogue.import_catalogue(BUYER, edit_workbook(catalogue(sheets), edit))
    problem = refused.value.details["problems"][0]
    assert (problem["code"], problem["sheet"], problem["row"]) == (code, "Parts", 6)
    assert counts(session_factory) == before


def test_a_barcode_used_by_another_part_rejects_the_upload(
    sheets: Sheets, inventory: InventoryService
) -> None:
    inventory.update_part("OK-1", {"barcode": "123"})

    def edit(book: Any) -> None:
        book["Parts"].cell(row_of(book["Parts"], "CAB-1"), 6).value = "123"

    with pytest.raises(SpreadsheetRejected) as refused:
        sheets.catalogue.import_catalogue(BUYER, edit_workbook(catalogue(sheets), edit))
    assert refused.value.details["problems"][0]["code"] == "duplicate_barcode"
    assert inventory.get_part("CAB-1").part.barcode is None


def test_a_count_sheet_lists_the_parts_in_a_location(sheets: Sheets) -> None:
    book = openpyxl.load_workbook(io.BytesIO(count_sheet(sheets)))
    sheet = book["Count"]
    assert [c.value for c in sheet[1]] == [
        "Location", "SKU", "Name", "Unit", "Book qty", "Counted qty",
    ]  # fmt: skip
    assert list(sheet.iter_rows(min_row=2, values_only=True)) == [
        (BIN, "CAB-1", "USB-C cable 1m", "pcs", 9, None),
        (BIN, "FAN-80", "Cooling fan 80mm", "pcs", 8, None),
        (BIN, "OK-1", "Plenty", "pcs", 50, None),
    ]
    assert sheet["F1"].fill.fgColor.rgb == "00BF8F00"
    blind = openpyxl.load_workbook(io.BytesIO(count_sheet(sheets, blind=True)))["Count"]
    assert "Book qty" not in [c.value for c in blind[1]]


def test_counted_quantities_come_back_as_cycle_counts(
    sheets: Sheets, inventory: InventoryService
) -> None:
    def counted(book: Any) -> None:
        sheet = book["Count"]
        sheet.cell(row_of_count(sheet, "CAB-1"), 6).value = 7  # two missing
        sheet.cell(row_of_count(sheet, "OK-1"), 6).value = 50  # as booked
        sheet.append([None, "PSU-65", None, None, None, 3])  # found in the bin

    result = sheets.counts.import_count(
        "ann@test.example", edit_workbook(count_sheet(sheets), counted)
    )
    moves = {m.part.sku: m for m in result.moves}
    assert set(moves) == {"CAB-1", "OK-1", "PSU-65"}  # FAN-80 was not counted: left alone
    assert (moves["CAB-1"].counted_qty, moves["CAB-1"].signed_difference) == (7, -2)
    assert (moves["OK-1"].qty, moves["PSU-65"].signed_difference) == (0, 3)
    assert {m.reference for m in result.moves} == {result.reference}
    assert inventory.get_part("CAB-1").on_hand == 7
    assert inventory.verify_levels() == []


def row_of_count(sheet: Any, sku: str) -> int:
    for row in range(2, sheet.max_row + 1):
        if sheet.cell(row, 2).value == sku:
            return row
    raise AssertionError(sku)


def test_a_count_of_stock_that_moved_after_the_export_is_refused(
    sheets: Sheets, inventory: InventoryService, session_factory: Any
) -> None:
    data = count_sheet(sheets)
    inventory.issue("ann", IssueStock(sku="CAB-1", location=BIN, qty=1))  # while the counter walks

    def counted(book: Any) -> None:
        book["Count"].cell(row_of_count(book["Count"], "CAB-1"), 6).value = 9
        book["Count"].cell(row_of_count(book["Count"], "OK-1"), 6).value = 49

    before = counts(session_factory)
    with pytest.raises(SpreadsheetRejected) as refused:
        sheets.counts.import_count("ann", edit_workbook(data, counted))
    problems = refused.value.details["problems"]
    assert [(p["code"], p["row"], p["column"]) for p in problems] == [
        ("moved_since_export", 2, "F")
    ]
    assert counts(session_factory) == before


@SQLITE_ONLY
@pytest.mark.parametrize(
    ("sku", "value", "code"),
    [
        ("CAB-1", -1, "negative_quantity"),
        ("CAB-1", "7 boxes", "not_whole_number"),
        ("NOPE-9", 1, "unknown_sku"),
        ("FAN-80", 4, "count_below_reserved"),  # 5 are reserved there
    ],
)
def test_a_bad_count_rejects_the_whole_sheet(
    sheets: Sheets,
    session_factory: sessionmaker[Session],
    sku: str,
    value: Any,
    code: str,
) -> None:
    def counted(book: Any) -> None:
        sheet = book["Count"]
        sheet.cell(row_of_count(sheet, "OK-1"), 6).value = 48  # fine on its own
        sheet.append([BIN, sku, None, None, None, value])

    before = counts(session_factory)
    with pytest.raises(SpreadsheetRejected) as refused:
        sheets.counts.import_count("ann", edit_workbook(count_sheet(sheets), counted))
    assert refused.value.details["problems"][0]["code"] == code
    assert counts(session_factory) == before
    with session_factory() as session:
        assert session.scalars(select(StockMove).where(StockMove.kind == "adjustment")).all() == []


def test_a_count_sheet_for_an_unknown_location_is_refused(sheets: Sheets) -> None:
    from inventory.errors import UnknownLocation

    with pytest.raises(UnknownLocation):
        count_sheet(sheets, "MAIN/NOPE")
