"""What a caller asks the stock ledger to do: one small frozen dataclass per stock operation.

:class:`inventory.services.InventoryService` takes these; the HTTP schemas and the pages build
them from what they loaded. Each command refuses a quantity the ledger's tables would refuse
(a move of no units, a negative count) and names the field, so a CLI command, a script or a
test gets a domain error instead of a database one. SKUs and location codes are checked by
the ledger against the catalogue.

A command's fields are the keyword parameters of its function in :mod:`inventory.ledger`,
which keeps keyword parameters for the other packages that call it inside their own
transactions (purchase order receipts, returns).
"""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import N_, InvalidInput


def _positive(field: str, qty: int) -> None:
    if qty < 1:
        raise InvalidInput(
            field,
            N_("%(field)s must be at least 1, not %(qty)s.", field=field, qty=qty),
            code="invalid_qty",
        )


@dataclass(frozen=True)
class _StockAtLocation:
    sku: str
    location: str
    qty: int
    reference: str | None = None
    reason: str = ""
    #: For a serialised part: one serial per unit moved (inventory/serials.py).
    serials: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _positive("qty", self.qty)


class ReceiveStock(_StockAtLocation):
    """Goods in: ``qty`` units of ``sku`` into ``location``."""


class IssueStock(_StockAtLocation):
    """Take ``qty`` unreserved units of ``sku`` out of ``location``."""


class ScrapStock(_StockAtLocation):
    """Take ``qty`` unreserved units of ``sku`` out of ``location`` for good: an issue whose
    serialised units are recorded as scrapped."""


@dataclass(frozen=True)
class IssueReservedStock:
    """Ship all the stock a reservation holds. ``sku``, ``location`` and ``qty``, when given,
    must match the reservation (a scanner's cross-check); they choose nothing."""

    reservation_id: int
    sku: str | None = None
    location: str | None = None
    qty: int | None = None
    reference: str | None = None
    reason: str = ""
    #: For a serialised part: one serial per unit moved (inventory/serials.py).
    serials: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.qty is not None:
            _positive("qty", self.qty)


@dataclass(frozen=True)
class TransferStock:
    """Move ``qty`` unreserved units of ``sku`` from one location to another."""

    sku: str
    from_location: str
    to_location: str
    qty: int
    reference: str | None = None
    reason: str = ""
    #: For a serialised part: one serial per unit moved (inventory/serials.py).
    serials: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _positive("qty", self.qty)


@dataclass(frozen=True)
class AdjustStock:
    """A cycle count: the books for ``sku`` in ``location`` become ``counted_qty``."""

    sku: str
    location: str
    counted_qty: int
    reference: str | None = None
    reason: str = ""
    #: For a serialised part: one serial per unit moved (inventory/serials.py).
    serials: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.counted_qty < 0:
            raise InvalidInput(
                "counted_qty",
                N_(
                    "counted_qty cannot be negative, not %(counted_qty)s.",
                    counted_qty=self.counted_qty,
                ),
                code="invalid_qty",
            )


@dataclass(frozen=True)
class ReserveStock:
    """Earmark ``qty`` units of ``sku`` in ``location``, or by default in the pickable bin
    with most free stock."""

    sku: str
    qty: int
    location: str | None = None
    reference: str | None = None
    reason: str = ""

    def __post_init__(self) -> None:
        _positive("qty", self.qty)
