"""The orders workbook: many orders at once, one row per order line, all or nothing.

Download it from spareflow (empty as a template, or with the stored orders), fill or edit it
in Excel or LibreOffice, and upload it: rows with the same order number make one order, and
their order columns must agree. Nothing here touches the database; ``Orders.import_workbook``
applies what this reads in one transaction, and only when no row has a problem.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import IO, Any

from core.addresses import ADDRESS_LENGTHS, PostalAddress
from core.errors import N_, InvalidInput
from core.money import COST_PLACES
from core.spreadsheets import (
    CellError,
    Column,
    Kind,
    Problem,
    RowBudget,
    TableRows,
    UploadLimits,
    WorkbookWriter,
    data_tables,
    open_upload,
    read_decimal,
    read_meta,
    read_text,
    read_whole_number,
)
from sales.commands import OrderCustomer, OrderLineInput, UpsertOrder
from sales.models import OrderSource
from sales.orders import OrderView, check_order

KIND = "orders"
SHEET = "Orders"
FORMAT_VERSION = 1
MAX_QTY = 100_000

ORDER_COLUMNS = (
    Column("number", "Order number", 16),
    Column("channel", "Channel", 12),
    Column("customer_name", "Customer", 24),
    Column("customer_email", "E-mail", 28),
    Column("customer_phone", "Phone", 16),
    Column("address_name", "Deliver to", 24),
    Column("address_company", "Company", 18),
    Column("address_street", "Street", 28),
    Column("address_street2", "Street 2", 18),
    Column("address_city", "City", 16),
    Column("address_state", "State / province", 14),
    Column("address_postcode", "Postcode", 10),
    Column("address_country", "Country", 8),
    Column("ordered_at", "Ordered", 17, Kind.DATETIME),
    Column("shipped_at", "Shipped", 17, Kind.DATETIME),
    Column("payment_reference", "Payment reference", 22),
    Column("currency", "Currency", 8),
    Column("sku", "SKU", 16),
    Column("qty", "Qty", 7, Kind.INTEGER, minimum=1),
    Column("unit_price", "Unit price", 11, Kind.COST),
    Column("serials", "Serials", 24),
)
REQUIRED = ("number", "customer_name", "customer_email", "ordered_at", "currency", "sku", "qty")
#: The columns every row of one order must agree on (everything but the line's own).
ORDER_FIELDS = tuple(
    column.key
    for column in ORDER_COLUMNS
    if column.key not in ("sku", "qty", "unit_price", "serials")
)


@dataclass(frozen=True)
class OrderRows:
    """One order as read, with the sheet and first row its problems point at."""

    command: UpsertOrder
    table: TableRows
    row: int


def write_orders_workbook(
    stream: IO[bytes], orders: Iterable[OrderView], generated_at: datetime
) -> int:
    """The orders as rows (none: the template). Returns the number of rows written."""
    with WorkbookWriter() as writer:
        table = writer.table(SHEET, ORDER_COLUMNS)
        for order in orders:
            header = _order_columns(order)
            for line in order.lines:
                table.append(
                    {
                        **header,
                        "sku": line.sku,
                        "qty": line.qty,
                        "unit_price": line.unit_price,
                        "serials": ", ".join(line.serials),
                    }
                )
        table.close()
        writer.meta(KIND, [("format", FORMAT_VERSION), ("generated_at", generated_at.isoformat())])
        writer.save(stream)
    return table.rows_written


def _order_columns(order: OrderView) -> dict[str, Any]:
    address = order.address.as_mapping() if order.address else {}
    return {
        "number": order.number,
        "channel": order.channel,
        "customer_name": order.customer_name,
        "customer_email": order.customer_email,
        "customer_phone": order.customer_phone,
        **{
            f"address_{name}": address.get(name) or None
            for name in ADDRESS_LENGTHS
            if name != "phone"
        },
        "ordered_at": _naive_utc(order.ordered_at),
        "shipped_at": _naive_utc(order.shipped_at) if order.shipped_at else None,
        "payment_reference": order.payment_reference,
        "currency": order.currency,
    }


def _naive_utc(moment: datetime) -> datetime:
    """Spreadsheets have no time zones: the workbook's times are UTC."""
    return moment.astimezone(UTC).replace(tzinfo=None)


def read_orders_workbook(
    data: bytes, limits: UploadLimits
) -> tuple[list[OrderRows], list[Problem]]:
    """Every order in the upload and every problem found (sheet, row, column)."""
    workbook = open_upload(data, limits)
    read_meta(workbook, KIND, N_("an orders workbook"))
    budget = RowBudget(limits.max_rows)
    problems: list[Problem] = []
    grouped: dict[str, list[tuple[TableRows, int, dict[str, Any]]]] = {}
    for table in data_tables(workbook, ORDER_COLUMNS, REQUIRED, budget):
        for row, values in table.rows:
            parsed = _parse_row(table, row, values, problems)
            if parsed is not None:
                grouped.setdefault(parsed["number"], []).append((table, row, parsed))
    orders = [_order(rows, problems) for rows in grouped.values()]
    return [order for order in orders if order is not None], problems


def _parse_row(
    table: TableRows, row: int, values: dict[str, Any], problems: list[Problem]
) -> dict[str, Any] | None:
    parsed: dict[str, Any] = {}
    found = len(problems)
    for column in ORDER_COLUMNS:
        try:
            parsed[column.key] = _read(column.key, values.get(column.key))
        except CellError as error:
            problems.append(table.problem(row, column.key, error.code, error.message))
    for key in REQUIRED:
        if parsed.get(key) is None and not any(p.row == row for p in problems[found:]):
            problems.append(table.problem(row, key, "required", N_("This column needs a value.")))
    return parsed if len(problems) == found else None


def _read(key: str, value: Any) -> Any:
    if key == "qty":
        return read_whole_number(value, maximum=MAX_QTY)
    if key == "unit_price":
        amount = read_decimal(value, places=COST_PLACES, maximum=Decimal(10**9))
        return amount if amount is not None else Decimal(0)
    if key in ("ordered_at", "shipped_at"):
        return _read_moment(value)
    text = read_text(value)
    if key == "serials":
        return tuple(s for s in (text or "").replace(",", " ").split() if s)
    if text is not None and len(text) > 254:
        raise CellError("too_long", N_("At most 254 characters."))
    return text


def _read_moment(value: Any) -> datetime | None:
    """A date or a date and time (UTC), as a cell or as ISO 8601 text."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise CellError(
                "invalid_date", N_("Write a date as 2026-11-30 (or with a time).")
            ) from None
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(), tzinfo=UTC)
    raise CellError("invalid_date", N_("Write a date as 2026-11-30 (or with a time)."))


def _order(
    rows: list[tuple[TableRows, int, dict[str, Any]]], problems: list[Problem]
) -> OrderRows | None:
    table, first_row, first = rows[0]
    for other_table, row, values in rows[1:]:
        for key in ORDER_FIELDS:
            if values[key] != first[key]:
                problems.append(
                    other_table.problem(
                        row, key, "order_fields_differ",
                        N_(
                            "Order %(number)s says %(value)s on row %(row)s; every row of one "
                            "order must agree.",
                            number=first["number"],
                            value=repr(first[key]),
                            row=first_row,
                        ),
                    )
                )  # fmt: skip
                return None
    # One phone column: the customer's, which is also the delivery address's.
    address_values = {
        name: first.get(f"address_{name}") or "" for name in ADDRESS_LENGTHS if name != "phone"
    }
    command = UpsertOrder(
        number=first["number"],
        channel=first["channel"] or "import",
        customer=OrderCustomer(
            name=first["customer_name"],
            email=first["customer_email"],
            phone=first["customer_phone"],
            address=(
                PostalAddress(**address_values, phone=first["customer_phone"] or "")
                if any(address_values.values())
                else None
            ),
        ),
        ordered_at=first["ordered_at"],
        shipped_at=first["shipped_at"],
        payment_reference=first["payment_reference"],
        currency=first["currency"],
        lines=tuple(
            OrderLineInput(
                sku=values["sku"],
                qty=values["qty"],
                unit_price=values["unit_price"],
                serials=values["serials"],
            )
            for _, _, values in rows
        ),
        source=OrderSource.IMPORT,
    )
    try:
        check_order(command)
    except InvalidInput as error:
        problems.append(table.problem(first_row, _column_of(error.field), error.code, error.text))
        return None
    return OrderRows(command, table, first_row)


def _column_of(field: str) -> str:
    """The workbook column for a rule's field ("customer.address.postcode" -> address_postcode)."""
    parts = field.split(".")
    if parts[0] == "lines" and len(parts) == 3:
        return parts[2]
    if parts[:2] == ["customer", "address"] and len(parts) == 3:
        return f"address_{parts[2]}"
    if parts[0] == "customer" and len(parts) == 2:
        return f"customer_{parts[1]}"
    return parts[0]
