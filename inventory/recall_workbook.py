"""The recall list as a workbook: who got units of one part with serials in a range."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import IO

from core.spreadsheets import Column, Kind, WorkbookWriter
from inventory.serials import RecallRow

SHEET = "Recall"
KIND = "serial_recall"
RECALL_COLUMNS = (
    Column("sku", "SKU", 16),
    Column("serial", "Serial", 20),
    Column("customer_name", "Customer", 28),
    Column("customer_email", "E-mail", 30),
    Column("order_number", "Order / RMA", 18),
    Column("shipped_at", "Shipped", 17, Kind.DATETIME),
    Column("state", "Now", 14),
)


def write_recall_workbook(
    stream: IO[bytes],
    rows: Iterable[RecallRow],
    *,
    sku: str,
    first: str,
    last: str,
    generated_at: datetime,
) -> int:
    """One row per unit; returns how many were written."""
    with WorkbookWriter() as writer:
        table = writer.table(SHEET, RECALL_COLUMNS)
        for row in rows:
            table.append(
                {
                    "sku": row.sku,
                    "serial": row.serial,
                    "customer_name": row.customer_name,
                    "customer_email": row.customer_email,
                    "order_number": row.order_number,
                    "shipped_at": row.shipped_at,
                    "state": row.state,
                }
            )
        table.close()
        writer.meta(
            KIND,
            [
                ("sku", sku),
                ("from", first),
                ("to", last),
                ("generated_at", generated_at.isoformat()),
            ],
        )
        writer.save(stream)
    return table.rows_written
