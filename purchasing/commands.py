"""What a caller asks of purchase orders, as small frozen dataclasses.

Sending and cancelling take a number and a reason and need none; a receipt names its lines.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import N_, InvalidInput


@dataclass(frozen=True)
class ReceiptLine:
    """``qty`` units of ``sku`` arrived; they go to ``location``, else the receipt's.

    A serialised part names one serial per unit (``serials``), as a stock receipt does.
    """

    sku: str
    qty: int
    location: str | None = None
    serials: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReceivePurchaseOrder:
    """Goods in against order ``number``: one line per SKU and bin (a SKU may come twice)."""

    number: str
    lines: tuple[ReceiptLine, ...]
    location: str | None = None
    reason: str = ""

    def __post_init__(self) -> None:
        for index, line in enumerate(self.lines):
            if line.qty < 1:
                raise InvalidInput(
                    f"lines.{index}.qty",
                    N_(
                        "lines.%(index)s.qty must be at least 1, not %(qty)s.",
                        index=index,
                        qty=line.qty,
                    ),
                    code="invalid_qty",
                )
            if line.location is None and self.location is None:
                raise InvalidInput(
                    f"lines.{index}.location",
                    N_("Give a location for the receipt, or one on every line."),
                )
