"""The marketplace and service figures of the returns desk, for any period.

Everything here is read-only and plain Python over a SQLAlchemy session: no Flask. The
figures are defined once, in this module, and documented for operators in docs/metrics.md.

A **period** is ``[start, end)`` in UTC. Which RMAs count for which figure:

- *requests*: RMAs created in the period (whatever became of them).
- *refund completion time*: RMAs whose refund was **released** in the period (the refund is
  complete when the provider confirmed it): ``refund_released_at - created_at``, i.e. from
  the customer's request (the RMA is opened at once at intake) to the refund being done.
- *replacement time*: RMAs whose first replacement was **shipped** in the period:
  ``min(replacement.shipped_at) - created_at``.
- *self-completion rate*: of the refunds completed (released) in a window, the share the
  desk completed without a dispute. Marketplaces compute it over the last 28 days; we give
  it for the period and for the 28 days ending at the period's end (or now, if earlier).
- *dispute*: our proxy for "the marketplace stepped in" is an RMA that has **ever been in the
  ``disputed`` state** (it has a status transition to ``disputed``), whatever it is now. The
  *dispute rate* is disputed RMAs among the requests of the period.
- *response-target compliance*: of the requests whose first response is due (deadline
  passed) or done, the share answered by their deadline (``first_response_at <=
  first_response_due_at``). Requests without a deadline are left out.
- *responded within 24 hours*: of the requests that are 24 hours old or answered, the share
  with a first response within 24 wall-clock hours of intake (the practice's >= 90 % bar).
- *breaches*: among the requests, first responses late or still missing past their due time,
  and resolutions late or still missing past theirs.
- *satisfaction*: follow-up scores (1-5) of the period's requests, as scored so far.
- *return rate* by part and by supplier: units on the RMA lines of the period's requests
  (rejected and cancelled requests left out) / units shipped to customers in the period.
  Shipped units are the stock ledger's ``issue`` moves out of storage or receiving bins and
  every ``reserved_issue`` (orders and replacements shipped): the same as "demand" for the
  reorder points. Scrapping or returning a part to its vendor (issued from the returns or
  quarantine location) is not shipping.

Breakdowns apply the same definitions to the RMAs of one priority, channel, reason, part or
supplier; an RMA whose lines hold several parts counts once in each of their groups.

Durations are in days (a float: 36 hours is 1.5). Percentiles interpolate linearly between
the closest ranks (``PERCENTILE.INC`` in Excel, numpy's default): the 90th percentile of n
sorted values is at rank ``0.9 x (n - 1)``, counting from 0.

The what-if: for the refunds released in the period, what the completion time would have
been had the refund waited for the parcel to reach the warehouse: from the request to the
return parcel's first ``delivered`` carrier event (the inbound shipment whose reference is
the RMA number), or, without one, to our own ``received`` transition. Refunds whose parcel has
not arrived yet have no such time and are counted apart.

All of it is a handful of queries, however many RMAs the period holds.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from carriers.models import CarrierEventRecord, Direction, Shipment
from carriers.status import TrackingStatus
from core.clock import Clock
from core.db import UnitOfWork, read_one_snapshot
from core.errors import InvalidInput
from inventory.models import Location, Part, StockMove, Supplier
from inventory.status import PICKABLE_KINDS, MoveKind
from returns.rma import Replacement, Rma, RmaLine, RmaTransition
from returns.status import Channel, Priority, Reason, RefundStatus, RmaStatus

DAY_SECONDS = 86400.0
#: Marketplaces' window for the self-completion rate.
ROLLING_DAYS = 28
#: The longest period one report covers.
MAX_PERIOD_DAYS = 366
#: The practice's bar: a first response within 24 hours for at least 90 % of requests.
RESPONSE_HOURS = 24
RESPONSE_BAR = 0.9
#: Lower edges of the refund-completion-time histogram, in days; the last bucket is open.
HISTOGRAM_EDGES: tuple[float, ...] = (0, 1, 2, 3, 5, 7, 10, 15)
#: Requests that do not count as returns for the return rate.
NOT_RETURNED = (RmaStatus.REJECTED, RmaStatus.CANCELLED)
#: How many fault reasons to list per part or supplier.
TOP_REASONS = 3
#: Moves that ship stock to a customer (with the source a pickable bin).
SHIPPING_MOVES = (MoveKind.ISSUE, MoveKind.RESERVED_ISSUE)


# --- pure helpers ------------------------------------------------------------------------


def percentile(values: Iterable[float], p: float) -> float | None:
    """The ``p``-th percentile (0-100), interpolating linearly between the closest ranks."""
    ordered = sorted(values)
    if not ordered:
        return None
    if not 0 <= p <= 100:
        raise ValueError("p is 0 to 100")
    rank = (len(ordered) - 1) * p / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def days_between(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / DAY_SECONDS


def week_start(moment: datetime) -> datetime:
    """Monday 00:00 UTC of the ISO week ``moment`` falls in."""
    day = moment.astimezone(UTC).date()
    return datetime.combine(day - timedelta(days=day.weekday()), time(0), tzinfo=UTC)


def week_starts(start: datetime, end: datetime) -> list[datetime]:
    """The Mondays of every week that overlaps ``[start, end)``."""
    weeks, monday = [], week_start(start)
    while monday < end:
        weeks.append(monday)
        monday += timedelta(days=7)
    return weeks


@dataclass(frozen=True)
class Period:
    """``[start, end)`` in UTC."""

    start: datetime
    end: datetime

    @classmethod
    def from_dates(cls, first: date, last: date) -> Period:
        """Whole UTC days from ``first`` to ``last``, both included."""
        if last < first:
            raise InvalidInput("to", "The period ends before it starts.")
        days = (last - first).days + 1
        if days > MAX_PERIOD_DAYS:
            raise InvalidInput("to", f"A period is at most {MAX_PERIOD_DAYS} days; this is {days}.")
        start = datetime.combine(first, time(0), tzinfo=UTC)
        return cls(start, start + timedelta(days=days))

    @classmethod
    def asked(cls, first: date | None, last: date | None, today: date) -> Period:
        """The period someone asked for: ``last`` defaults to today, ``first`` to 28 days
        before it (both days included)."""
        last = last or today
        return cls.from_dates(first or last - timedelta(days=ROLLING_DAYS - 1), last)

    @classmethod
    def last_days(cls, now: datetime, days: int = ROLLING_DAYS) -> Period:
        """The last ``days`` whole UTC days, today included."""
        today = now.astimezone(UTC).date()
        return cls.from_dates(today - timedelta(days=days - 1), today)

    @property
    def first_day(self) -> date:
        return self.start.date()

    @property
    def last_day(self) -> date:
        """The last day in the period (``end`` is the midnight after it)."""
        return (self.end - timedelta(microseconds=1)).date()

    @property
    def days(self) -> float:
        return days_between(self.start, self.end)

    def __contains__(self, moment: object) -> bool:
        return isinstance(moment, datetime) and self.start <= moment < self.end


@dataclass(frozen=True)
class Rate:
    """``part`` of ``whole``; ``value`` is None when there is nothing to measure."""

    part: int
    whole: int

    @property
    def value(self) -> float | None:
        return self.part / self.whole if self.whole else None


@dataclass(frozen=True)
class DurationStats:
    """Count, mean, median and 90th percentile of durations in days."""

    count: int
    mean: float | None
    median: float | None
    p90: float | None

    @classmethod
    def of(cls, days: Sequence[float]) -> DurationStats:
        if not days:
            return cls(0, None, None, None)
        return cls(len(days), sum(days) / len(days), percentile(days, 50), percentile(days, 90))


@dataclass(frozen=True)
class Bucket:
    """Durations in ``[low, high)`` days; ``high`` None is open-ended."""

    low: float
    high: float | None
    count: int

    @property
    def label(self) -> str:
        def num(value: float) -> str:
            return f"{value:g}"

        if self.high is None:
            return f"≥{num(self.low)} d"
        return f"{num(self.low)}-{num(self.high)} d"


def histogram(days: Iterable[float], edges: Sequence[float] = HISTOGRAM_EDGES) -> list[Bucket]:
    """How many durations fall in each bucket; a value on an edge goes to the upper bucket."""
    counts = [0] * len(edges)
    for value in days:
        index = 0
        for i, edge in enumerate(edges):
            if value >= edge:
                index = i
        counts[index] += 1
    return [
        Bucket(low, edges[i + 1] if i + 1 < len(edges) else None, counts[i])
        for i, low in enumerate(edges)
    ]


# --- the figures -------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """What the figures need of one RMA (loaded in bulk, never one query per RMA)."""

    id: int
    number: str
    created_at: datetime
    status: RmaStatus
    priority: Priority
    channel: Channel
    reason: Reason
    refund_released_at: datetime | None  # only when the refund was released
    satisfaction: int | None
    confirmed_fixed: bool | None
    first_response_due_at: datetime | None
    first_response_at: datetime | None
    resolution_due_at: datetime | None
    resolved_at: datetime | None
    disputed: bool
    replacement_shipped_at: datetime | None = None
    #: When the return parcel arrived: first delivered carrier event, else our receipt.
    arrived_at: datetime | None = None
    arrival_source: str | None = None  # "carrier" or "receipt"
    parts: frozenset[int] = frozenset()
    suppliers: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Figures:
    """The service figures of one group of RMAs over one window."""

    requests: int
    refund_time: DurationStats
    replacement_time: DurationStats
    self_completion: Rate  # refunds completed without a dispute / all completed
    disputes: Rate  # disputed / requests
    response_on_target: Rate  # answered by the deadline / due or answered
    response_within_24h: Rate  # answered within 24 h / 24 h old or answered
    response_breaches: int
    resolution_breaches: int
    satisfaction: DurationStats  # reused for scores: count, mean, median, p90 of 1-5
    satisfied: Rate  # scores of 4 or 5 / scores
    confirmed_fixed: Rate  # confirmed fixed / follow-ups that said either way

    @property
    def refunds_completed(self) -> int:
        return self.refund_time.count


def figures(cases: Sequence[Case], window: Period, now: datetime) -> Figures:
    """The figures of ``cases`` over ``window`` (see the module docstring for each rule)."""
    requests = [c for c in cases if c.created_at in window]
    refunded = [
        c for c in cases if c.refund_released_at is not None and c.refund_released_at in window
    ]
    replaced = [
        c
        for c in cases
        if c.replacement_shipped_at is not None and c.replacement_shipped_at in window
    ]
    due_or_done = [
        c
        for c in requests
        if c.first_response_due_at is not None
        and (c.first_response_at is not None or c.first_response_due_at <= now)
    ]
    on_target = [
        c
        for c in due_or_done
        if c.first_response_at is not None and c.first_response_at <= c.first_response_due_at  # type: ignore[operator]
    ]
    day = timedelta(hours=RESPONSE_HOURS)
    day_old = [c for c in requests if c.first_response_at is not None or c.created_at + day <= now]
    within_day = [
        c
        for c in day_old
        if c.first_response_at is not None and c.first_response_at - c.created_at <= day
    ]
    scores = [c.satisfaction for c in requests if c.satisfaction is not None]
    fixed_known = [c for c in requests if c.confirmed_fixed is not None]
    return Figures(
        requests=len(requests),
        refund_time=DurationStats.of(
            [days_between(c.created_at, c.refund_released_at) for c in refunded]  # type: ignore[arg-type]
        ),
        replacement_time=DurationStats.of(
            [days_between(c.created_at, c.replacement_shipped_at) for c in replaced]  # type: ignore[arg-type]
        ),
        self_completion=Rate(sum(1 for c in refunded if not c.disputed), len(refunded)),
        disputes=Rate(sum(1 for c in requests if c.disputed), len(requests)),
        response_on_target=Rate(len(on_target), len(due_or_done)),
        response_within_24h=Rate(len(within_day), len(day_old)),
        response_breaches=sum(
            1 for c in requests if _late(c.first_response_due_at, c.first_response_at, now)
        ),
        resolution_breaches=sum(
            1 for c in requests if _late(c.resolution_due_at, c.resolved_at, now)
        ),
        satisfaction=DurationStats.of([float(s) for s in scores]),
        satisfied=Rate(sum(1 for s in scores if s >= 4), len(scores)),
        confirmed_fixed=Rate(sum(1 for c in fixed_known if c.confirmed_fixed), len(fixed_known)),
    )


def _late(due: datetime | None, done: datetime | None, now: datetime) -> bool:
    """Done after its deadline, or not done and the deadline has passed."""
    if due is None:
        return False
    return done > due if done is not None else due < now


@dataclass(frozen=True)
class Group:
    """The figures of one priority, channel, reason, part or supplier."""

    dimension: str  # "priority", "channel", "reason", "part", "supplier"
    key: str  # the enum value, SKU or supplier code
    label: str
    figures: Figures


@dataclass(frozen=True)
class Week:
    start: datetime
    figures: Figures


@dataclass(frozen=True)
class ReturnRate:
    """Returned units against shipped units of one part or supplier, and the top faults."""

    key: str  # SKU or supplier code
    name: str
    returned_units: int
    shipped_units: int
    top_reasons: tuple[tuple[Reason, int], ...]  # (reason, units), most units first

    @property
    def rate(self) -> float | None:
        return self.returned_units / self.shipped_units if self.shipped_units else None


@dataclass(frozen=True)
class WhatIf:
    """Refund on pickup (what happened) beside refund on warehouse receipt (what would have)."""

    refunds: int  # released in the period
    arrived: int  # of which the return parcel has arrived
    not_arrived: int
    from_carrier: int  # arrival from a delivered carrier event
    from_receipt: int  # no delivered event: our received transition
    actual: DurationStats  # every refund released in the period
    actual_arrived: DurationStats  # the same refunds as ``hypothetical``, as they happened
    hypothetical: DurationStats  # request -> parcel at the warehouse
    extra_days: DurationStats  # per refund, hypothetical minus actual
    actual_histogram: list[Bucket]
    hypothetical_histogram: list[Bucket]


def what_if(cases: Sequence[Case], window: Period) -> WhatIf:
    refunded = [
        c for c in cases if c.refund_released_at is not None and c.refund_released_at in window
    ]
    arrived = [c for c in refunded if c.arrived_at is not None]
    actual = [days_between(c.created_at, c.refund_released_at) for c in refunded]  # type: ignore[arg-type]
    actual_arrived = [days_between(c.created_at, c.refund_released_at) for c in arrived]  # type: ignore[arg-type]
    hypothetical = [days_between(c.created_at, c.arrived_at) for c in arrived]  # type: ignore[arg-type]
    return WhatIf(
        refunds=len(refunded),
        arrived=len(arrived),
        not_arrived=len(refunded) - len(arrived),
        from_carrier=sum(1 for c in arrived if c.arrival_source == "carrier"),
        from_receipt=sum(1 for c in arrived if c.arrival_source == "receipt"),
        actual=DurationStats.of(actual),
        actual_arrived=DurationStats.of(actual_arrived),
        hypothetical=DurationStats.of(hypothetical),
        extra_days=DurationStats.of(
            [h - a for h, a in zip(hypothetical, actual_arrived, strict=True)]
        ),
        actual_histogram=histogram(actual),
        hypothetical_histogram=histogram(hypothetical),
    )


@dataclass(frozen=True)
class Metrics:
    """Everything the metrics page, the API and the workbook show for one period."""

    period: Period
    generated_at: datetime
    overall: Figures
    #: Self-completion over the marketplaces' rolling 28 days ending at the period's end
    #: (or now, when that is earlier).
    rolling: Period
    rolling_self_completion: Rate
    by_priority: list[Group]
    by_channel: list[Group]
    by_reason: list[Group]
    by_part: list[Group]
    by_supplier: list[Group]
    weekly: list[Week]
    refund_time_histogram: list[Bucket]
    part_return_rates: list[ReturnRate]
    supplier_return_rates: list[ReturnRate]
    what_if: WhatIf

    @property
    def rolling_summary(self) -> dict[str, Any]:
        return {
            "start": self.rolling.start,
            "end": self.rolling.end,
            "self_completion": self.rolling_self_completion,
        }

    @property
    def return_rates(self) -> dict[str, list[ReturnRate]]:
        return {"parts": self.part_return_rates, "suppliers": self.supplier_return_rates}

    @property
    def breakdowns(self) -> dict[str, list[Group]]:
        return {
            "priority": self.by_priority,
            "channel": self.by_channel,
            "reason": self.by_reason,
            "part": self.by_part,
            "supplier": self.by_supplier,
        }


# --- loading -----------------------------------------------------------------------------


@dataclass
class _Names:
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
        Rma.created_at < period.end,
        or_(
            Rma.created_at >= period.start,
            and_(Rma.refund_released_at >= refund_from, Rma.refund_released_at < period.end),
            shipped_in_period,
        ),
    )


def load_cases(session: Session, period: Period, rolling: Period) -> tuple[list[Case], _Names]:
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
    names = _Names()
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
                Rma.created_at >= period.start,
                Rma.created_at < period.end,
                Rma.status.not_in(NOT_RETURNED),
            )
            .group_by(Part.id, Part.supplier_id, Rma.reason)
        )
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


def _return_rates(session: Session, period: Period) -> tuple[list[ReturnRate], list[ReturnRate]]:
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
    part_names = dict(
        (row.id, (row.sku, row.name))
        for row in session.execute(
            select(Part.id, Part.sku, Part.name).where(Part.id.in_(list(part_units) or [-1]))
        )
    )
    supplier_names = dict(
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


# --- the report --------------------------------------------------------------------------


def rolling_window(period: Period, now: datetime) -> Period:
    end = min(period.end, now)
    return Period(end - timedelta(days=ROLLING_DAYS), end)


def _groups(
    dimension: str,
    cases: Sequence[Case],
    keys: Iterable[Any],
    member: Callable[[Case, Any], bool],
    label: Callable[[Any], tuple[str, str]],
    period: Period,
    now: datetime,
) -> list[Group]:
    groups = []
    for key in keys:
        chosen = [c for c in cases if member(c, key)]
        result = figures(chosen, period, now)
        if result.requests or result.refunds_completed or result.replacement_time.count:
            code, text = label(key)
            groups.append(Group(dimension, code, text, result))
    return groups


def compute(session: Session, period: Period, now: datetime) -> Metrics:
    """Every figure for ``period``, as seen at ``now``."""
    rolling = rolling_window(period, now)
    cases, names = load_cases(session, period, rolling)
    in_period = figures(cases, period, now)
    rolling_refunds = figures(cases, rolling, now).self_completion
    enum_label: Callable[[Any], tuple[str, str]] = lambda member: (  # noqa: E731
        member.value,
        member.value.replace("_", " "),
    )
    by_part = _groups(
        "part",
        cases,
        sorted(names.parts, key=lambda pid: names.parts[pid][0]),
        lambda c, pid: pid in c.parts,
        lambda pid: names.parts[pid],
        period,
        now,
    )
    by_supplier = _groups(
        "supplier",
        cases,
        sorted(names.suppliers, key=lambda sid: names.suppliers[sid][0]),
        lambda c, sid: sid in c.suppliers,
        lambda sid: names.suppliers[sid],
        period,
        now,
    )
    weekly = []
    for monday in week_starts(period.start, period.end):
        window = Period(max(monday, period.start), min(monday + timedelta(days=7), period.end))
        weekly.append(Week(monday, figures(cases, window, now)))
    refunded = [
        days_between(c.created_at, c.refund_released_at)  # type: ignore[arg-type]
        for c in cases
        if c.refund_released_at is not None and c.refund_released_at in period
    ]
    part_rates, supplier_rates = _return_rates(session, period)
    return Metrics(
        period=period,
        generated_at=now,
        overall=in_period,
        rolling=rolling,
        rolling_self_completion=rolling_refunds,
        by_priority=_groups(
            "priority", cases, Priority, lambda c, k: c.priority is k, enum_label, period, now
        ),
        by_channel=_groups(
            "channel", cases, Channel, lambda c, k: c.channel is k, enum_label, period, now
        ),
        by_reason=_groups(
            "reason", cases, Reason, lambda c, k: c.reason is k, enum_label, period, now
        ),
        by_part=by_part,
        by_supplier=by_supplier,
        weekly=weekly,
        refund_time_histogram=histogram(refunded),
        part_return_rates=part_rates,
        supplier_return_rates=supplier_rates,
        what_if=what_if(cases, period),
    )


class MetricsService:
    """The use case the web layer calls: one read-only transaction per report."""

    def __init__(self, session_factory: sessionmaker[Session], clock: Clock):
        self.session_factory = session_factory
        self.clock = clock

    def report(self, period: Period | None = None) -> Metrics:
        now = self.clock.now()
        period = period or Period.last_days(now)
        with UnitOfWork(self.session_factory) as uow:
            read_one_snapshot(uow.session)
            return compute(uow.session, period, now)

    def default_period(self) -> Period:
        return Period.last_days(self.clock.now())

    def asked(self, first: date | None, last: date | None) -> Period:
        return Period.asked(first, last, self.clock.now().date())

    def weeks(self, count: int = 8) -> Metrics:
        """The last ``count`` whole weeks and this one so far (the dashboard's charts)."""
        now = self.clock.now()
        start = week_start(now) - timedelta(days=7 * count)
        return self.report(Period(start, Period.last_days(now, 1).end))
