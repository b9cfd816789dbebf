"""Serials in buying: purchase-order receipts name one serial per unit of a serialised part,
and the catalogue workbook carries the Serialised flag under the same stock rule as the API."""

from __future__ import annotations

import io
from typing import Any

import openpyxl
import pytest
from sqlalchemy.orm import Session, sessionmaker

from core.clock import FrozenClock
from core.spreadsheets import SpreadsheetRejected
from inventory.errors import SerialProblem
from inventory.services import InventoryService
from purchasing.commands import ReceiptLine, ReceivePurchaseOrder
from purchasing.services import CatalogueSheetService, PurchasingService
from purchasing.status import PurchaseOrderStatus
from tests.integration.test_purchasing import draft, purchasing  # noqa: F401 (the fixture)
from tests.support.purchasing_scenarios import BIN, BUYER, counts, edit_workbook, row_of

CAM = "CAM-1"
SERIALISED_COLUMN = 18  # R: the last catalogue column


@pytest.fixture
def cameras_on_order(
    purchasing: PurchasingService,  # noqa: F811
    inventory: InventoryService,
) -> str:
    inventory.create_part(sku=CAM, name="Camera", supplier="ACME", serialised=True)
    number = draft(purchasing, "ACME", {CAM: 3, "PSU-65": 4})
    purchasing.send(BUYER, number)
    return number


def test_a_receipt_names_the_serials_and_the_units_are_in_stock_at_the_bin(
    purchasing: PurchasingService,  # noqa: F811
    inventory: InventoryService,
    cameras_on_order: str,
) -> None:
    order, moves = purchasing.receive(
        "ann",
        ReceivePurchaseOrder(
            cameras_on_order,
            (ReceiptLine(CAM, 2, serials=("SN-1", "SN-2")), ReceiptLine("PSU-65", 4)),
            location=BIN,
        ),
    )
    assert order.status is PurchaseOrderStatus.PARTIALLY_RECEIVED
    assert [line.serialised for line in order.lines] == [True, False]
    assert [(m.serial_list, m.reference) for m in moves] == [
        (["SN-1", "SN-2"], cameras_on_order),
        ([], cameras_on_order),
    ]
    for serial in ("SN-1", "SN-2"):
        [unit] = inventory.serial(serial)
        assert (unit.sku, unit.state, unit.location) == (CAM, "in_stock", BIN)
    assert inventory.stock_report(CAM).totals.on_hand == 2


@pytest.mark.parametrize(
    ("lines", "code", "field"),
    [
        ((ReceiptLine("PSU-65", 1), ReceiptLine(CAM, 2)), "serials_required", "lines.1.serials"),
        ((ReceiptLine(CAM, 2, serials=("SN-1",)),), "serials_required", "lines.0.serials"),
        (
            (ReceiptLine(CAM, 1, serials=("SN-1",)), ReceiptLine(CAM, 1, serials=("SN-1",))),
            "serial_in_stock",
            "lines.1.serials",
        ),
        ((ReceiptLine("PSU-65", 1, serials=("X",)),), "part_not_serialised", "lines.0.serials"),
    ],
)
def test_a_receipt_whose_serials_do_not_fit_is_refused_naming_the_line(
    purchasing: PurchasingService,  # noqa: F811
    inventory: InventoryService,
    session_factory: sessionmaker[Session],
    cameras_on_order: str,
    lines: tuple[ReceiptLine, ...],
    code: str,
    field: str,
) -> None:
    before = counts(session_factory)
    with pytest.raises(SerialProblem) as refused:
        purchasing.receive("ann", ReceivePurchaseOrder(cameras_on_order, lines, location=BIN))
    assert (refused.value.code, refused.value.field) == (code, field)
    line_no = 1 if lines[int(field.split(".")[1])].sku == CAM else 2
    assert refused.value.message.startswith(f"Line {line_no} (")
    assert refused.value.details["line_no"] == line_no
    assert counts(session_factory) == before  # nothing received, not even the first line
    assert purchasing.get_order(cameras_on_order).status is PurchaseOrderStatus.SENT
    assert inventory.stock_report(CAM).totals.on_hand == 0


def catalogue(service: CatalogueSheetService) -> bytes:
    out = io.BytesIO()
    service.export_catalogue(out, BUYER)
    return out.getvalue()


@pytest.fixture
def sheet(
    purchasing: PurchasingService,  # noqa: F811 (builds the scenario)
    session_factory: sessionmaker[Session],
    clock: FrozenClock,
) -> CatalogueSheetService:
    return CatalogueSheetService(session_factory, clock)


def test_the_catalogue_round_trip_sets_serialised(
    sheet: CatalogueSheetService, inventory: InventoryService
) -> None:
    inventory.create_part(sku=CAM, name="Camera", serialised=True)

    def edits(book: Any) -> None:
        parts = book["Parts"]
        assert parts.cell(1, SERIALISED_COLUMN).value == "Serialised"
        assert parts.cell(row_of(parts, CAM), SERIALISED_COLUMN).value == "yes"
        assert parts.cell(row_of(parts, "PSU-65"), SERIALISED_COLUMN).value == "no"
        parts.cell(row_of(parts, "PSU-65"), SERIALISED_COLUMN).value = "yes"  # none on hand
        parts.cell(row_of(parts, CAM), SERIALISED_COLUMN).value = "no"
        parts.append(["NEW-1", "Sensor", *[None] * 14, "yes", "yes"])

    result = sheet.import_catalogue(BUYER, edit_workbook(catalogue(sheet), edits), "c.xlsx")
    assert (result.created, result.updated) == (1, 2)
    assert [inventory.get_part(sku).part.serialised for sku in ("PSU-65", CAM, "NEW-1")] == [
        True,
        False,
        True,
    ]
    again = openpyxl.load_workbook(io.BytesIO(catalogue(sheet)))["Parts"]
    assert again.cell(row_of(again, "PSU-65"), SERIALISED_COLUMN).value == "yes"
    assert again.cell(row_of(again, CAM), SERIALISED_COLUMN).value == "no"


def test_switching_serialised_with_stock_on_hand_is_refused_naming_the_row(
    sheet: CatalogueSheetService,
    inventory: InventoryService,
    session_factory: sessionmaker[Session],
) -> None:
    rows: dict[str, int] = {}

    def edits(book: Any) -> None:
        parts = book["Parts"]
        rows["FAN-80"] = row_of(parts, "FAN-80")  # 10 on hand
        parts.cell(rows["FAN-80"], SERIALISED_COLUMN).value = "yes"
        parts.cell(row_of(parts, "PSU-65"), SERIALISED_COLUMN).value = "yes"  # fine alone

    before = counts(session_factory)
    with pytest.raises(SpreadsheetRejected) as refused:
        sheet.import_catalogue(BUYER, edit_workbook(catalogue(sheet), edits), "c.xlsx")
    [problem] = refused.value.problems
    assert (problem.code, problem.row, problem.column, problem.header) == (
        "part_has_stock",
        rows["FAN-80"],
        "R",
        "Serialised",
    )
    assert "FAN-80 has 10 units on hand" in problem.message
    assert counts(session_factory) == before
    assert not inventory.get_part("FAN-80").part.serialised
    assert not inventory.get_part("PSU-65").part.serialised
