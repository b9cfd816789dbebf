"""The orders workbook: a template filled in Excel comes back as orders, all rows or none."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import openpyxl
import pytest

from core.spreadsheets import SpreadsheetRejected
from sales.orders import Orders

HEADERS = [
    "Order number", "Channel", "Customer", "E-mail", "Phone", "Deliver to", "Company", "Street",
    "Street 2", "City", "State / province", "Postcode", "Country", "Ordered", "Shipped",
    "Payment reference", "Currency", "SKU", "Qty", "Unit price", "Serials",
]  # fmt: skip


def row(number: str, sku: str, qty: Any, **changes: Any) -> list[Any]:
    values: dict[str, Any] = dict.fromkeys(HEADERS)
    values.update(
        {
            "Order number": number,
            "Channel": "web",
            "Customer": "Mia Chen",
            "E-mail": "Mia@Example.com",
            "Deliver to": "Mia Chen",
            "Street": "1 High Street",
            "City": "London",
            "Postcode": "SW1A 1AA",
            "Country": "GB",
            "Ordered": datetime(2026, 11, 1, 10, 30),
            "Shipped": "2026-11-03",
            "Payment reference": "pi_" + number,
            "Currency": "USD",
            "SKU": sku,
            "Qty": qty,
            "Unit price": 19.9,
        }
    )
    values.update(changes)
    return [values[header] for header in HEADERS]


def filled(orders: Orders, *rows: list[Any]) -> bytes:
    """The template from spareflow, filled in and saved as a person would in Excel."""
    template = io.BytesIO()
    orders.export_workbook(template, template=True)
    book = openpyxl.load_workbook(io.BytesIO(template.getvalue()))
    sheet = book["Orders"]
    assert [cell.value for cell in sheet[1]] == HEADERS
    for values in rows:
        sheet.append(values)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.fixture
def orders(session_factory: Any, clock: Any) -> Orders:
    return Orders(session_factory, clock)


def test_rows_with_one_number_make_one_order(orders: Orders) -> None:
    data = filled(
        orders,
        row("W-1", "ABC-1", 2, Serials="FAN-A, FAN-B"),
        row("W-1", "PSU-65", 1, **{"Unit price": "45.00"}),
        row("W-2", "ABC-1", 1, Shipped=None),
    )
    summary = orders.import_workbook(data)
    assert (summary.created, summary.updated, summary.unchanged) == (2, 0, 0)
    first = orders.get("W-1")
    assert [(line.sku, line.qty, line.unit_price, line.serials) for line in first.lines] == [
        ("ABC-1", 2, Decimal("19.9"), ("FAN-A", "FAN-B")),
        ("PSU-65", 1, Decimal("45.00"), ()),
    ]
    assert first.customer_email == "mia@example.com"
    assert first.ordered_at == datetime(2026, 11, 1, 10, 30, tzinfo=UTC)
    assert first.shipped_at == datetime(2026, 11, 3, tzinfo=UTC)
    assert first.address is not None and first.address.postcode == "SW1A 1AA"
    assert orders.get("W-2").shipped_at is None
    # The same file again changes nothing; an edited price updates that order only.
    assert orders.import_workbook(data).unchanged == 2
    edited = filled(orders, row("W-1", "ABC-1", 2, **{"Unit price": 18}), row("W-2", "ABC-1", 1))
    again = orders.import_workbook(edited)
    assert (again.created, again.updated) == (0, 2)
    assert orders.get("W-1").lines[0].unit_price == Decimal("18")


def test_one_bad_row_refuses_the_whole_file_and_names_every_problem(orders: Orders) -> None:
    data = filled(
        orders,
        row("W-1", "ABC-1", 2),
        row("W-1", "PSU-65", 1, Currency="EUR"),  # disagrees with the order's first row
        row("W-3", "ABC-1", "two"),  # not a number
        row("W-4", "ABC-1", 1, Country="XX"),  # no such country
        row("W-5", "ABC-1", 1),  # fine, but the file is refused as a whole
    )
    with pytest.raises(SpreadsheetRejected) as refused:
        orders.import_workbook(data)
    found = {(problem.row, problem.code) for problem in refused.value.problems}
    assert (3, "order_fields_differ") in found
    assert 4 in {problem.row for problem in refused.value.problems}
    assert (5, "invalid_address") in found
    assert orders.find("W-5") is None and orders.find("W-1") is None


def test_a_workbook_not_made_by_spareflow_is_refused(orders: Orders) -> None:
    book = openpyxl.Workbook()
    book.active.append(HEADERS)
    book.active.append(row("W-1", "ABC-1", 1))
    out = io.BytesIO()
    book.save(out)
    with pytest.raises(SpreadsheetRejected) as refused:
        orders.import_workbook(out.getvalue())
    assert refused.value.problems[0].code == "not_our_workbook"


def test_the_export_lists_stored_orders_one_row_per_line(orders: Orders) -> None:
    orders.import_workbook(filled(orders, row("W-1", "ABC-1", 2), row("W-1", "PSU-65", 1)))
    out = io.BytesIO()
    assert orders.export_workbook(out) == 2
    sheet = openpyxl.load_workbook(io.BytesIO(out.getvalue()))["Orders"]
    rows = [[cell.value for cell in line] for line in sheet.iter_rows(min_row=2)]
    assert [(r[0], r[17], r[18]) for r in rows] == [("W-1", "ABC-1", 2), ("W-1", "PSU-65", 1)]
