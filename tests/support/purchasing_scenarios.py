"""Shared set-up for the reorder, purchasing and workbook tests."""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import openpyxl
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from inventory.commands import ReceiveStock, ReserveStock
from inventory.models import Part, SheetImport, StockMove
from inventory.services import InventoryService
from inventory.status import LocationKind
from purchasing.models import (
    PurchaseOrder,
    PurchaseOrderEvent,
    PurchaseOrderLine,
    ReorderPolicy,
)
from purchasing.reorder.suggestions import IncomingReturns

BIN = "MAIN/A-01-01"
QUARANTINE = "MAIN/QUARANTINE"
BUYER = "buyer@test.example"


def build_scenario(inventory: InventoryService) -> None:
    """Two suppliers and five parts, each in a different reorder situation.

    - FAN-80 (ACME): 8 on hand, 5 reserved for a replacement -> 3 free, safety stock 4;
    - PSU-65 (ACME): nothing on hand -> short;
    - CAB-1 (BOLT): 9 free, point 10 -> below its point only;
    - OK-1 (BOLT): plenty -> not suggested;
    - LOOSE-1 (no supplier): nothing on hand -> suggested, but cannot go on an order.
    """
    inventory.create_supplier(code="ACME", name="Acme Parts", default_lead_time_days=9)
    inventory.create_supplier(code="BOLT", name="Bolt & Co", default_lead_time_days=5)
    inventory.create_location(code=BIN)
    inventory.create_location(code=QUARANTINE, kind=LocationKind.QUARANTINE)
    inventory.create_part(
        sku="FAN-80",
        name="Cooling fan 80mm",
        supplier="ACME",
        category="Cooling",
        unit_cost=Decimal("4.25"),
        reorder_point=20,
        reorder_qty=30,
        safety_stock=4,
    )
    inventory.create_part(
        sku="PSU-65",
        name="Power supply 65W",
        supplier="ACME",
        category="Power",
        unit_cost=Decimal("12.50"),
        reorder_point=5,
        reorder_qty=10,
    )
    inventory.create_part(
        sku="CAB-1",
        name="USB-C cable 1m",
        supplier="BOLT",
        category="Cables",
        unit_cost=Decimal("0.3500"),
        reorder_point=10,
        reorder_qty=20,
    )
    inventory.create_part(
        sku="OK-1", name="Plenty", supplier="BOLT", category="Cables", reorder_point=5
    )
    inventory.create_part(sku="LOOSE-1", name="No supplier yet", reorder_point=3, reorder_qty=2)
    inventory.receive("ann", ReceiveStock(sku="FAN-80", location=BIN, qty=8, reference="PO-OLD"))
    inventory.reserve("desk", ReserveStock(sku="FAN-80", qty=5, reference="RMA-1"))
    inventory.receive(
        "ann", ReceiveStock(sku="FAN-80", location=QUARANTINE, qty=2, reference="INSPECT")
    )
    inventory.receive("ann", ReceiveStock(sku="CAB-1", location=BIN, qty=9))
    inventory.receive("ann", ReceiveStock(sku="OK-1", location=BIN, qty=50))


@dataclass
class FixedReturns:
    """A stand-in for the returns package: fixed incoming returns per SKU."""

    by_sku: Mapping[str, IncomingReturns]

    def incoming(self, session: Session, part_ids: Sequence[int]) -> dict[int, IncomingReturns]:
        ids = dict(session.execute(select(Part.sku, Part.id)).all())
        wanted = set(part_ids)
        return {ids[sku]: value for sku, value in self.by_sku.items() if ids.get(sku) in wanted}

    def backorders(self) -> None:
        return None  # nothing owed in these scenarios


def edit_workbook(data: bytes, edit: Callable[[Any], None]) -> bytes:
    """Open an exported workbook in openpyxl, as a buyer's spreadsheet program would, edit it
    and save it again."""
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    edit(workbook)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def row_of(sheet: Any, sku: str) -> int:
    for row in range(2, sheet.max_row + 1):
        if sheet.cell(row=row, column=1).value == sku:
            return row
    raise AssertionError(f"{sku} not on sheet {sheet.title}")


def counts(session_factory: sessionmaker[Session]) -> dict[str, int]:
    """How many rows the tables an import may write hold: to prove nothing was written."""
    with session_factory() as session:
        return {
            model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0
            for model in (
                PurchaseOrder,
                PurchaseOrderLine,
                PurchaseOrderEvent,
                SheetImport,
                StockMove,
                Part,
                ReorderPolicy,
            )
        }
