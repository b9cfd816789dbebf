from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from accounts.models import Role
from inventory.commands import (
    AdjustStock,
    IssueReservedStock,
    IssueStock,
    ReceiveStock,
    ReserveStock,
    TransferStock,
)
from web.api.auth import ALL_ROLES, current_api_user, roles
from web.api.pagination import decode_typed_cursor, page
from web.api.schemas import (
    AdjustmentSchema,
    IssueSchema,
    MoveQuerySchema,
    MoveSchema,
    ReceiptSchema,
    ReservationBatchCreateSchema,
    ReservationBatchSchema,
    ReservationCreateSchema,
    ReservationSchema,
    StockSchema,
    TransferSchema,
    page_of,
)
from web.extensions import services

stock = Blueprint(
    "stock", __name__, url_prefix="/api/v1/stock", description="Stock levels and the stock ledger"
)
reservations = Blueprint(
    "reservations",
    __name__,
    url_prefix="/api/v1/reservations",
    description="Reservations: stock earmarked for a shipment or RMA",
)

MOVERS = (Role.ADMIN, Role.WAREHOUSE)
RESERVERS = (Role.ADMIN, Role.WAREHOUSE, Role.SERVICE_DESK)


def _actor() -> str:
    return current_api_user().email


@stock.post("/receipts")
@roles(*MOVERS)
@stock.arguments(ReceiptSchema)
@stock.response(201, MoveSchema)
def receive(command: ReceiveStock) -> Any:
    """Receive stock into a location (from a supplier, a PO, found stock)."""
    return services().inventory.receive(_actor(), command)


@stock.post("/issues")
@roles(*MOVERS)
@stock.arguments(IssueSchema)
@stock.response(201, MoveSchema)
def issue(command: IssueStock | IssueReservedStock) -> Any:
    """Issue free stock from a location, or the stock a reservation holds."""
    return services().inventory.issue(_actor(), command)


@stock.post("/transfers")
@roles(*MOVERS)
@stock.arguments(TransferSchema)
@stock.response(201, MoveSchema)
def transfer(command: TransferStock) -> Any:
    """Move free stock from one location to another."""
    return services().inventory.transfer(_actor(), command)


@stock.post("/adjustments")
@roles(*MOVERS)
@stock.arguments(AdjustmentSchema)
@stock.response(201, MoveSchema)
def adjust(command: AdjustStock) -> Any:
    """Record a cycle count; the ledger row carries the counted quantity and the difference."""
    return services().inventory.adjust(_actor(), command)


@stock.get("/<sku>")
@roles(*ALL_ROLES)
@stock.response(200, StockSchema)
def stock_of(sku: str) -> Any:
    """Totals and per-location levels of one part."""
    return services().inventory.stock_report(sku)


@stock.get("/<sku>/moves")
@roles(Role.ADMIN, Role.WAREHOUSE, Role.BUYER)
@stock.arguments(MoveQuerySchema, location="query", as_kwargs=True)
@stock.response(200, page_of(MoveSchema, "MovePage"))
def moves_of(sku: str, limit: int, cursor: str | None) -> dict[str, Any]:
    """The part's stock ledger, newest first."""
    rows = services().inventory.list_moves(
        sku, before=decode_typed_cursor(cursor, int), limit=limit + 1
    )
    return page(rows, limit, key=lambda move: move.id)


# The reservation endpoints take a schema instance, not the class: webargs builds a new
# instance from a class on every request, a twentieth of a single reservation's CPU.
@reservations.post("")
@roles(*RESERVERS)
@reservations.arguments(ReservationCreateSchema())
@reservations.response(201, ReservationSchema)
def reserve(command: ReserveStock) -> Any:
    """Reserve stock; without a location, the storage bin with most free stock is used."""
    return services().inventory.reserve(_actor(), command)


@reservations.post("/batch")
@roles(*RESERVERS)
@reservations.arguments(ReservationBatchCreateSchema())
@reservations.response(201, ReservationBatchSchema)
def reserve_order(body: dict[str, Any]) -> Any:
    """Reserve every line of an order at once: all of them, or none (409 names the first line
    that cannot be reserved, and nothing is reserved). Each line follows the single
    reservation's rules; the whole order costs a handful of statements, whatever its size."""
    lines = [(line["sku"], line["qty"], line["location"]) for line in body["lines"]]
    made = services().inventory.reserve_order(
        _actor(), lines, reference=body["reference"], reason=body["reason"]
    )
    return {"reservations": made}


@reservations.delete("/<int:reservation_id>")
@roles(*RESERVERS)
@reservations.response(200, ReservationSchema)
def release(reservation_id: int) -> Any:
    """Release an active reservation; its stock becomes available again."""
    return services().inventory.release(_actor(), reservation_id)
