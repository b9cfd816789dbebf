"""What return shipping costs and how long it takes (part of the metrics report).

- *return shipping cost per RMA*: of the RMAs created in the period whose prepaid return
  label was bought (returns/labels.py records its cost), per currency: how many labels, what
  they cost in all and on average per RMA, how many were refunded unused, and the net cost
  (refunded labels cost nothing; a refund still being checked counts as paid).
- *pickup-to-warehouse transit time per carrier*: of the inbound parcels (return parcels,
  ours or the customer's own) delivered in the period, days from the carrier's first pickup
  scan to delivery at the warehouse, per carrier. Parcels without a pickup scan are left out.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from carriers.models import Direction, Shipment
from returns.metrics_maths import DurationStats, Period, days_between
from returns.rma import Rma


@dataclass(frozen=True)
class LabelCost:
    currency: str
    labels: int
    total_minor: int
    refunded: int
    net_minor: int

    @property
    def mean_minor(self) -> float | None:
        return self.total_minor / self.labels if self.labels else None


@dataclass(frozen=True)
class TransitTime:
    carrier: str
    days: DurationStats


def label_costs(rows: list[tuple[str, int, str | None]]) -> list[LabelCost]:
    """``(currency, cost_minor, refund outcome)`` per RMA, grouped by currency."""
    grouped: dict[str, list[tuple[int, str | None]]] = defaultdict(list)
    for currency, cost, refund in rows:
        grouped[currency.lower()].append((cost, refund))
    return [
        LabelCost(
            currency=currency,
            labels=len(items),
            total_minor=sum(cost for cost, _ in items),
            refunded=sum(1 for _, refund in items if refund == "refunded"),
            net_minor=sum(cost for cost, refund in items if refund != "refunded"),
        )
        for currency, items in sorted(grouped.items())
    ]


def transit_times(rows: list[tuple[str, float]]) -> list[TransitTime]:
    """``(carrier, days)`` per parcel, grouped by carrier."""
    grouped: dict[str, list[float]] = defaultdict(list)
    for carrier, days in rows:
        grouped[carrier].append(days)
    return [TransitTime(c, DurationStats.of(days)) for c, days in sorted(grouped.items())]


def load_label_costs(session: Session, period: Period) -> list[LabelCost]:
    """Summed per currency in SQL (one row per currency, however many RMAs)."""
    currency = func.lower(func.coalesce(Rma.return_label_currency, ""))
    cost = func.coalesce(Rma.return_label_cost_minor, 0)
    refunded = Rma.return_label_refund == "refunded"
    rows = session.execute(
        select(
            currency,
            func.count(),
            func.sum(cost),
            func.sum(case((refunded, 1), else_=0)),
            func.sum(case((refunded, 0), else_=cost)),
        )
        .where(
            Rma.created_at >= period.start,
            Rma.created_at < period.end,
            Rma.return_label_cost_minor.is_not(None),
        )
        .group_by(currency)
        .order_by(currency)
    ).all()
    return [
        LabelCost(c, int(n), int(total), int(back), int(net)) for c, n, total, back, net in rows
    ]


def load_transit_times(session: Session, period: Period) -> list[TransitTime]:
    rows = session.execute(
        select(Shipment.carrier, Shipment.picked_up_at, Shipment.delivered_at)
        .where(
            Shipment.direction == Direction.INBOUND,
            Shipment.picked_up_at.is_not(None),
            Shipment.delivered_at >= period.start,
            Shipment.delivered_at < period.end,
        )
        .order_by(Shipment.id)
    ).all()
    return transit_times(
        [
            (carrier, days_between(picked, delivered))
            for carrier, picked, delivered in rows
            if picked is not None and delivered is not None
        ]
    )
