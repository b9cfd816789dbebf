"""A receipt against a purchase order names the line it refuses."""

from __future__ import annotations

import pytest

from core.errors import InvalidInput
from purchasing.commands import ReceiptLine, ReceivePurchaseOrder


def test_a_receipt_line_of_no_units_is_refused_naming_the_line() -> None:
    with pytest.raises(InvalidInput) as refused:
        ReceivePurchaseOrder(
            "PO-2026-00001", (ReceiptLine("FAN-80", 2), ReceiptLine("CAB-1", 0)), "BIN"
        )
    assert (refused.value.field, refused.value.code) == ("lines.1.qty", "invalid_qty")


def test_every_line_needs_a_location_of_its_own_or_the_receipts() -> None:
    lines = (ReceiptLine("FAN-80", 2, "MAIN/A-01-01"), ReceiptLine("CAB-1", 1))
    with pytest.raises(InvalidInput) as refused:
        ReceivePurchaseOrder("PO-2026-00001", lines)
    assert refused.value.field == "lines.1.location"
    assert ReceivePurchaseOrder("PO-2026-00001", lines, location="MAIN/A-01-02").lines == lines
