"""Reorder suggestions: the stock position of one part against its point, what to order and
why. Plain values in and out; the rows come from :mod:`purchasing.reorder.queries`.

A suggestion compares the stock position ``available + on order + expected returns -
backordered replacements`` with the part's reorder point, and orders enough to reach
``reorder point + reorder quantity`` (or the part's max level), respecting minimum order
and pack size.

Returns are supplied through :class:`ReturnSupply`: purchasing never imports the returns
package; the returns package implements the protocol and the app wires it in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any, NamedTuple, Protocol

from sqlalchemy.orm import Session

from purchasing.reorder.formulas import CENTS, OrderQuantity, order_figures, quantity_notes
from purchasing.status import (
    Urgency,
)

# --- returns as supply -------------------------------------------------------------------


@dataclass(frozen=True)
class IncomingReturns:
    """Returned units on their way back, as the returns package sees them for one part."""

    #: Units on RMAs whose return parcel the carrier has picked up and that have not arrived.
    picked_up: int
    #: Share of this part's returned units historically dispositioned back to stock (0 to 1).
    restock_rate: Decimal

    @property
    def expected(self) -> int:
        """Units expected back on the shelf: rounded down, so supply is never overstated."""
        rate = min(max(self.restock_rate, Decimal(0)), Decimal(1))
        return int((Decimal(self.picked_up) * rate).to_integral_value(rounding=ROUND_FLOOR))


class ReturnSupply(Protocol):
    """Implemented by the returns package; inventory only calls it."""

    def incoming(self, session: Session, part_ids: Sequence[int]) -> Mapping[int, IncomingReturns]:
        """Incoming returns for these parts (parts with none may be left out)."""
        ...

    def backorders(self) -> Any | None:
        """A selectable of ``(part_id, qty)``: replacements owed with no stock reserved."""
        ...


class NoReturnSupply:
    """Until returns exist: nothing is on its way back, nothing is owed."""

    def incoming(self, session: Session, part_ids: Sequence[int]) -> Mapping[int, IncomingReturns]:
        return {}

    def backorders(self) -> Any | None:
        return None


# --- suggestions -------------------------------------------------------------------------


@dataclass(frozen=True)
class SuggestionFilters:
    supplier: str | None = None
    category: str | None = None
    #: The least urgency to include: ``below_safety_stock`` also includes ``short``.
    urgency: Urgency | None = None


class StockPosition(NamedTuple):
    """What the database says about one part, before any arithmetic.

    A named tuple: built straight from a result row of :func:`positions_query`, whose
    columns come in this order, 100,000 of them cost next to nothing.
    """

    part_id: int
    sku: str
    sku_key: str
    name: str
    category: str | None
    unit: str
    unit_cost: Decimal
    supplier_code: str | None
    supplier_name: str | None
    lead_time_days: int
    reorder_point: int
    reorder_qty: int
    safety_stock: int
    on_hand: int  # everywhere, quarantine and returns included
    pickable_on_hand: int  # in storage and receiving bins
    reserved: int
    on_order: int  # outstanding on draft, sent and partially received orders
    on_order_in_drafts: int
    next_arrival: date | None  # earliest expected date of a sent order
    pack_size: int = 1
    min_order_qty: int = 0
    max_level: int | None = None
    #: From the last recompute; as stored (a Decimal, or its text on SQLite).
    avg_daily_demand: Decimal | str | None = None
    flagged_since: datetime | None = None
    #: Advance replacements promised but not reserved (no stock when they were authorised).
    backordered: int = 0
    #: The fill-rate plan of the last recompute (docs/planning.md); None before one.
    demand_class: str | None = None
    forecast_per_month: Decimal | None = None
    fill_rate_target: Decimal | None = None
    expected_fill_rate: Decimal | None = None
    planned_level: int | None = None
    planned_stock_value: Decimal | None = None

    @property
    def available(self) -> int:
        return self.pickable_on_hand - self.reserved


@dataclass(slots=True, eq=False)
class Suggestion:
    """One part to order: the figures, and the reasons on demand. Treat it as read-only.

    The part's own figures (SKU, name, available, ...) are in :attr:`stock`; nothing is
    forwarded, so a misspelt name raises ``AttributeError`` instead of reading ``None``.
    """

    stock: StockPosition
    incoming_returns: IncomingReturns | None
    position: int
    urgency: Urgency
    target: int
    need: int
    qty: int
    line_value: Decimal
    expected_arrival: date
    needed_by: date | None
    _reasons: tuple[str, ...] | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        return f"<Suggestion {self.stock.sku} {self.qty} ({self.urgency.value})>"

    @property
    def quantity(self) -> OrderQuantity:
        return OrderQuantity(self.target, self.need, self.qty)

    @property
    def expected_returns(self) -> int:
        return self.incoming_returns.expected if self.incoming_returns else 0

    @property
    def reasons(self) -> tuple[str, ...]:
        """Why each figure is what it is, step by step (written when first asked for)."""
        if self._reasons is None:
            self._reasons = explain(self)
        return self._reasons

    @property
    def why(self) -> str:
        return "; ".join(self.reasons)


def suggest(
    stock: StockPosition, incoming: IncomingReturns | None, today: date
) -> Suggestion | None:
    """The suggestion for one part, or None when its stock position is above its point."""
    point = stock.reorder_point
    if point <= 0:
        return None
    available = stock.pickable_on_hand - stock.reserved
    position = available + stock.on_order - stock.backordered
    if incoming is not None:
        position += incoming.expected
    if position > point:
        return None
    target, need, qty = order_figures(
        position, point, stock.reorder_qty, stock.max_level, stock.pack_size, stock.min_order_qty
    )
    headroom = available - stock.safety_stock
    needed_by: date | None
    if available <= 0:
        urgency, needed_by = Urgency.SHORT, today
    elif headroom < 0:
        urgency, needed_by = Urgency.BELOW_SAFETY_STOCK, today
    else:
        urgency = Urgency.BELOW_POINT
        demand = stock.avg_daily_demand
        needed_by = _run_out_date(headroom, demand, today) if demand else None
    return Suggestion(
        stock,
        incoming,
        position,
        urgency,
        target,
        need,
        qty,
        (stock.unit_cost * qty).quantize(CENTS, rounding=ROUND_HALF_UP),
        _days_after(today, stock.lead_time_days),
        needed_by,
    )


@lru_cache(maxsize=4096)
def _days_after(day: date, days: int) -> date:
    return day + timedelta(days=days)  # cached: a few lead times serve 100,000 parts


def explain(suggestion: Suggestion) -> tuple[str, ...]:
    stock, incoming = suggestion.stock, suggestion.incoming_returns
    reasons = [
        f"available {stock.available} = {stock.pickable_on_hand} on hand in storage/receiving"
        f" - {stock.reserved} reserved (replacements, orders)"
    ]
    elsewhere = stock.on_hand - stock.pickable_on_hand
    if elsewhere:
        reasons.append(f"{elsewhere} in quarantine/returns not counted")
    if stock.on_order:
        drafts = stock.on_order_in_drafts
        in_drafts = f", {drafts} of them on drafts" if drafts else ""
        arrival = f", next due {stock.next_arrival.isoformat()}" if stock.next_arrival else ""
        reasons.append(f"+ {stock.on_order} on order{in_drafts}{arrival}")
    if incoming and incoming.picked_up:
        reasons.append(
            f"+ {incoming.expected} expected from returns = {incoming.picked_up} picked up x "
            f"{incoming.restock_rate:.0%} historic restock rate, rounded down"
        )
    if stock.backordered:
        reasons.append(f"- {stock.backordered} owed to customers as backordered replacements")
    reasons.append(f"= position {suggestion.position} <= reorder point {stock.reorder_point}")
    reasons.extend(
        quantity_notes(
            suggestion.position,
            stock.reorder_point,
            stock.reorder_qty,
            stock.max_level,
            stock.pack_size,
            stock.min_order_qty,
            suggestion.quantity,
        )
    )
    if suggestion.urgency is Urgency.SHORT:
        reasons.append(
            f"short: no free stock ({stock.reserved} of {stock.pickable_on_hand} on hand reserved)"
        )
    elif suggestion.urgency is Urgency.BELOW_SAFETY_STOCK:
        reasons.append(
            f"below safety stock: {stock.available} free < safety stock {stock.safety_stock}"
        )
    reasons.append(
        f"arrives {suggestion.expected_arrival.isoformat()} ({stock.lead_time_days} days lead time)"
    )
    return tuple(reasons)


def _run_out_date(headroom: int, demand: Decimal | str | None, today: date) -> date | None:
    """When free stock is expected to fall to the safety stock (``headroom`` units above it)
    at the average daily demand; today when it already has."""
    if headroom <= 0:
        return today
    daily = Decimal(demand) if demand else Decimal(0)
    if daily <= 0:
        return None  # no demand recorded: no date to run out by
    days = int((Decimal(headroom) / daily).to_integral_value(rounding=ROUND_FLOOR))
    return today + timedelta(days=min(days, 3650))
