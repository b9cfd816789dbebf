"""The queries behind the desk metrics: the RMAs a report needs, and the return rates.

A handful of queries, however many RMAs the period holds; the definitions are in
returns/metrics.py's docstring.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session

from carriers.models import CarrierEventRecord, Direction, Shipment
from carriers.status import TrackingStatus
from inventory.models import Location, Part, StockMove, Supplier
from inventory.status import PICKABLE_KINDS, MoveKind
from returns.metrics_figures import Case, ReturnRate
from returns.metrics_maths import Period
from returns.rma import Replacement, Rma, RmaLine, RmaTransition
from returns.status import CaseKind, Reason, RefundStatus, RmaStatus

#: Requests that do not count as returns for the return rate.
NOT_RETURNED = (RmaStatus.REJECTED, RmaStatus.CANCELLED)
#: How many fault reasons to list per part or supplier.
TOP_REASONS = 3
#: Moves that ship stock to a customer (with the source a pickable bin).
SHIPPING_MOVES = (MoveKind.ISSUE, MoveKind.RESERVED_ISSUE)


@dataclass
class GroupNames:
    """The SKU and name of each part, the code and name of each supplier, in the cases."""

    parts: dict[int, tuple[str, str]] = field(default_factory=dict)  # id -> (sku, name)
    suppliers: dict[int, tuple[str, str]] = field(default_factory=dict)  # id -> (code, name)


def _relevant(period: Period, rolling: Period) -> Any:
    """The RMAs any figure of the report can touch."""
    shipped_in_period = exists().where(
        Replacement.rma_id == Rma.id,
        Replacement.shipped_at >= period.start,
        Replacement.shipped_at < period.end,
    )
    refund_from = min(period.start, rolling.start)
    return and_(
        Rma.kind == CaseKind.RETURN,  # the report is about returns, not enquiries or complaints
        Rma.created_at < period.end,
        or_(
            Rma.created_at >= period.start,
            and_(Rma.refund_released_at >= refund_from, Rma.refund_released_at < period.end),
            shipped_in_period,
        ),
    )


def load_cases(session: Session, period: Period, rolling: Period) -> tuple[list[Case], GroupNames]:
    """The RMAs the report needs, with their lines, replacements, disputes and arrivals.

    Six queries, whatever the number of RMAs.
    """
    where = _relevant(period, rolling)
    ids = select(Rma.id).where(where)
    numbers = select(Rma.number).where(where)
    disputed = (
        exists()
        .where(
            RmaTransition.rma_id == Rma.id,
            RmaTransition.kind == "status",
            RmaTransition.to_status == RmaStatus.DISPUTED,
        )
        .label("disputed")
    )
    rows = session.execute(
        select(
            Rma.id,
            Rma.number,
            Rma.created_at,
            Rma.status,
            Rma.priority,
            Rma.channel,
            Rma.reason,
            Rma.refund_status,
            Rma.refund_released_at,
            Rma.satisfaction,
            Rma.confirmed_fixed,
            Rma.first_response_due_at,
            Rma.first_response_at,
            Rma.resolution_due_at,
            Rma.resolved_at,
            disputed,
        )
        .where(where)
        .order_by(Rma.id)
    ).all()
    shipped = dict(
        session.execute(
            select(Replacement.rma_id, func.min(Replacement.shipped_at))
            .where(Replacement.rma_id.in_(ids), Replacement.shipped_at.is_not(None))
            .group_by(Replacement.rma_id)
        ).all()
    )
    delivered = dict(
        session.execute(
            select(Shipment.reference, func.min(CarrierEventRecord.occurred_at))
            .join(CarrierEventRecord, CarrierEventRecord.shipment_id == Shipment.id)
            .where(
                Shipment.direction == Direction.INBOUND,
                Shipment.reference.in_(numbers),
                CarrierEventRecord.status == TrackingStatus.DELIVERED,
            )
            .group_by(Shipment.reference)
        ).all()
    )
    received = dict(
        session.execute(
            select(RmaTransition.rma_id, func.min(RmaTransition.at))
            .where(
                RmaTransition.rma_id.in_(ids),
                RmaTransition.kind == "status",
                RmaTransition.to_status == RmaStatus.RECEIVED,
            )
            .group_by(RmaTransition.rma_id)
        ).all()
    )
    names = GroupNames()
    parts_of: dict[int, set[int]] = defaultdict(set)
    suppliers_of: dict[int, set[int]] = defaultdict(set)
    for rma_id, part_id, sku, part_name, supplier_id, code, supplier_name in session.execute(
        select(
            RmaLine.rma_id,
            Part.id,
            Part.sku,
            Part.name,
            Supplier.id,
            Supplier.code,
            Supplier.name,
        )
        .join(Part, Part.id == RmaLine.part_id)
        .outerjoin(Supplier, Supplier.id == Part.supplier_id)
        .where(RmaLine.rma_id.in_(ids))
    ):
        parts_of[rma_id].add(part_id)
        names.parts[part_id] = (sku, part_name)
        if supplier_id is not None:
            suppliers_of[rma_id].add(supplier_id)
            names.suppliers[supplier_id] = (code, supplier_name)
    cases = []
    for row in rows:
        arrived_at, source = delivered.get(row.number), "carrier"
        if arrived_at is None:
            arrived_at, source = received.get(row.id), "receipt"
        cases.append(
            Case(
                id=row.id,
                number=row.number,
                created_at=row.created_at,
                status=row.status,
                priority=row.priority,
                channel=row.channel,
                reason=row.reason,
                refund_released_at=row.refund_released_at
                if row.refund_status is RefundStatus.RELEASED
                else None,
                satisfaction=row.satisfaction,
                confirmed_fixed=row.confirmed_fixed,
                first_response_due_at=row.first_response_due_at,
                first_response_at=row.first_response_at,
                resolution_due_at=row.resolution_due_at,
                resolved_at=row.resolved_at,
                disputed=bool(row.disputed),
                replacement_shipped_at=shipped.get(row.id),
                arrived_at=arrived_at,
                arrival_source=source if arrived_at is not None else None,
                parts=frozenset(parts_of.get(row.id, ())),
                suppliers=frozenset(suppliers_of.get(row.id, ())),
            )
        )
    return cases, names


def _returned_units(session: Session, period: Period) -> list[tuple[int, int | None, Reason, int]]:
    """(part id, supplier id, reason, units) on the lines of the period's returns."""
    return [
        (part_id, supplier_id, reason, int(units))
        for part_id, supplier_id, reason, units in session.execute(
            select(Part.id, Part.supplier_id, Rma.reason, func.sum(RmaLine.qty))
            .join(RmaLine, RmaLine.rma_id == Rma.id)
            .join(Part, Part.id == RmaLine.part_id)
            .where(
                Rma.kind == CaseKind.RETURN,
                Rma.created_at >= period.start,
                Rma.created_at < period.end,
                Rma.status.not_in(NOT_RETURNED),
            )
            .group_by(Part.id, Part.supplier_id, Rma.reason)
        )
        if reason is not None  # every return has a reason
    ]


def shipped_units(session: Session, period: Period) -> dict[int, tuple[int | None, int]]:
    """Units shipped to customers per part in the period: part id -> (supplier id, units)."""
    return {
        part_id: (supplier_id, int(units))
        for part_id, supplier_id, units in session.execute(
            select(Part.id, Part.supplier_id, func.sum(StockMove.qty))
            .join(Part, Part.id == StockMove.part_id)
            .join(Location, Location.id == StockMove.from_location_id)
            .where(
                StockMove.kind.in_(SHIPPING_MOVES),
                Location.kind.in_(PICKABLE_KINDS),
                StockMove.created_at >= period.start,
                StockMove.created_at < period.end,
            )
            .group_by(Part.id, Part.supplier_id)
        )
    }


def return_rates(session: Session, period: Period) -> tuple[list[ReturnRate], list[ReturnRate]]:
    """Per part and per supplier: returned against shipped units, highest rate first."""
    returned = _returned_units(session, period)
    shipped = shipped_units(session, period)
    part_units: Counter[int] = Counter()
    part_reasons: dict[int, Counter[Reason]] = defaultdict(Counter)
    supplier_units: Counter[int] = Counter()
    supplier_reasons: dict[int, Counter[Reason]] = defaultdict(Counter)
    for part_id, supplier_id, reason, units in returned:
        part_units[part_id] += units
        part_reasons[part_id][reason] += units
        if supplier_id is not None:
            supplier_units[supplier_id] += units
            supplier_reasons[supplier_id][reason] += units
    supplier_shipped: Counter[int] = Counter()
    for supplier_id, units in shipped.values():
        if supplier_id is not None:
            supplier_shipped[supplier_id] += units
    part_names: dict[int, tuple[str, str]] = dict(
        (row.id, (row.sku, row.name))
        for row in session.execute(
            select(Part.id, Part.sku, Part.name).where(Part.id.in_(list(part_units) or [-1]))
        )
    )
    supplier_names: dict[int, tuple[str, str]] = dict(
        (row.id, (row.code, row.name))
        for row in session.execute(
            select(Supplier.id, Supplier.code, Supplier.name).where(
                Supplier.id.in_(list(supplier_units) or [-1])
            )
        )
    )

    def top(reasons: Counter[Reason]) -> tuple[tuple[Reason, int], ...]:
        # Most units first; ties in the order of the Reason enum, so the list is stable.
        order = list(Reason)
        ranked = sorted(reasons.items(), key=lambda item: (-item[1], order.index(item[0])))
        return tuple(ranked[:TOP_REASONS])

    parts = [
        ReturnRate(
            *part_names[part_id],
            returned_units=units,
            shipped_units=shipped.get(part_id, (None, 0))[1],
            top_reasons=top(part_reasons[part_id]),
        )
        for part_id, units in part_units.items()
    ]
    suppliers = [
        ReturnRate(
            *supplier_names[supplier_id],
            returned_units=units,
            shipped_units=supplier_shipped[supplier_id],
            top_reasons=top(supplier_reasons[supplier_id]),
        )
        for supplier_id, units in supplier_units.items()
    ]
    return _by_rate(parts), _by_rate(suppliers)


def _by_rate(rows: list[ReturnRate]) -> list[ReturnRate]:
    """Highest return rate first; nothing shipped (no rate) after, by units; then by key."""
    return sorted(
        rows,
        key=lambda r: (r.rate is None, -(r.rate or 0), -r.returned_units, r.key),
    )
