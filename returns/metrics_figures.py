"""The figures of a set of RMAs over a window, the what-if, and the shape of the whole report.

Plain Python over ``Case`` rows (loaded by returns/metrics_queries.py); every rule is stated in
returns/metrics.py's docstring.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from returns.metrics_maths import Bucket, DurationStats, Period, Rate, days_between, histogram
from returns.metrics_shipping import LabelCost, TransitTime
from returns.status import Channel, Priority, Reason, RmaStatus

if TYPE_CHECKING:
    from returns.metrics_people import DeskFigures

#: The practice's bar: a first response within 24 hours for at least 90 % of requests.
RESPONSE_HOURS = 24
RESPONSE_BAR = 0.9

#: The parts of the report a client may ask for alone (``GET /api/v1/metrics?include=``):
#: the period, the overall figures and the rolling self-completion always come. The weekly
#: trend and the overall figures are what a dashboard polls; the rest costs more.
SECTIONS: tuple[str, ...] = (
    "weekly",  # the weekly trend
    "breakdowns",  # by priority, channel, reason, part, supplier
    "what_if",  # the what-if and the refund-time histogram
    "return_rates",
    "shipping",  # return label costs and transit times
    "repairs",  # repair turnaround
    "desk",  # per person and per team
)
ALL_SECTIONS = frozenset(SECTIONS)


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
    """The figures of ``cases`` over ``window``; returns/metrics.py states each rule."""
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
    #: Return shipping cost per RMA (by currency) and pickup-to-warehouse transit time per
    #: carrier (returns/metrics_shipping.py).
    label_costs: list[LabelCost] = field(default_factory=list)
    transit_times: list[TransitTime] = field(default_factory=list)
    #: Received to repaired unit shipped back, for repairs shipped in the period
    #: (returns/metrics_repairs.py).
    repair_turnaround: DurationStats = field(default_factory=lambda: DurationStats.of([]))
    #: The desk's performance per person and per team (returns/metrics_people.py).
    desk_people: list[DeskFigures] = field(default_factory=list)
    desk_teams: list[DeskFigures] = field(default_factory=list)
    #: What was computed (returns.metrics.SECTIONS); the rest is left empty.
    sections: frozenset[str] = ALL_SECTIONS

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
