"""A hand-made ledger for the fill-rate plan's tests: monthly issues over 30 months before
the tests' clock (2026-11-23), so months 2024-05 .. 2026-10 are complete.

- BUSY-1 (ACME, "Power", 1.50, lead time 0 days): 2 units issued every month;
- SLOW-1 (ACME, "Power", 50000.00, the supplier's 9 days): 1 unit in 2026-09;
- LATE-1 (ACME, "Cables", 2.00, 0 days): 4 units in 2026-10;
- LUMPY-1 (ACME, "Misc", 3.00, 0 days): 1 unit in 2024-11 and 9 in 2025-11.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from core.clock import FrozenClock
from inventory.commands import IssueStock, ReceiveStock
from inventory.services import InventoryService

BIN = "MAIN/A-01-01"
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
#: The 30 complete months before NOW, oldest first.
MONTHS = [(2024 + (4 + i) // 12, (4 + i) % 12 + 1) for i in range(30)]


def issues() -> dict[str, dict[tuple[int, int], int]]:
    return {
        "BUSY-1": {month: 2 for month in MONTHS},
        "SLOW-1": {(2026, 9): 1},
        "LATE-1": {(2026, 10): 4},
        "LUMPY-1": {(2024, 11): 1, (2025, 11): 9},
    }


def seed_plan_ledger(inventory: InventoryService, clock: FrozenClock) -> None:
    clock.set(datetime(2024, 4, 2, 8, 0, tzinfo=UTC))
    inventory.create_supplier(code="ACME", name="Acme Parts", default_lead_time_days=9)
    inventory.create_location(code=BIN)
    parts = (
        ("BUSY-1", "Power", "1.50", 0),
        ("SLOW-1", "Power", "50000.00", None),
        ("LATE-1", "Cables", "2.00", 0),
        ("LUMPY-1", "Misc", "3.00", 0),
    )
    for sku, category, cost, lead in parts:
        inventory.create_part(
            sku=sku, name=sku.title(), supplier="ACME", category=category,
            unit_cost=Decimal(cost), lead_time_days=lead, reorder_point=1, reorder_qty=1,
        )  # fmt: skip
        inventory.receive("ann", ReceiveStock(sku=sku, location=BIN, qty=100, reference="OPEN"))
    for sku, months in issues().items():
        for (year, month), qty in sorted(months.items()):
            clock.set(datetime(year, month, 15, 10, 0, tzinfo=UTC))
            inventory.issue("ann", IssueStock(sku=sku, location=BIN, qty=qty, reference="REPAIR"))
    clock.set(NOW)
