"""The marketplace and service figures of the returns desk, for any period.

Everything here is read-only and plain Python over a SQLAlchemy session: no Flask. The
figures are defined once, in this docstring, and documented for operators in docs/metrics.md.
The code comes in four parts: ``returns.metrics_maths`` (periods, weeks, percentiles, rates,
histograms: no database), ``returns.metrics_figures`` (the figures of a set of RMAs, the
what-if, the report's shape), ``returns.metrics_queries`` (the few queries that load them) and
this module (the report for a period, and the service the web layer calls).

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

Return shipping (cost per RMA of the prepaid labels, pickup-to-warehouse transit time per
carrier) is defined in ``returns.metrics_shipping``. *Repair turnaround*: repairs whose
repaired unit shipped back in the period, from the unit's ``received`` transition to
``shipped_at`` (``returns.metrics_repairs``). The desk's performance per person and per
team is defined in ``returns.metrics_people``.

All of it is a handful of queries, however many RMAs the period holds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from core.clock import Clock
from core.db import UnitOfWork, read_one_snapshot
from returns.metrics_figures import (
    ALL_SECTIONS,
    Case,
    Group,
    Metrics,
    Week,
    figures,
    what_if,
)
from returns.metrics_maths import (
    ROLLING_DAYS,
    Period,
    days_between,
    histogram,
    week_start,
    week_starts,
)
from returns.metrics_people import people_and_teams
from returns.metrics_queries import load_cases, return_rates
from returns.metrics_repairs import load_repair_turnaround
from returns.metrics_shipping import load_label_costs, load_transit_times
from returns.metrics_sql import SQL_SECTIONS, compute_in_sql
from returns.status import Channel, Priority, Reason


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


def compute(
    session: Session, period: Period, now: datetime, sections: frozenset[str] = ALL_SECTIONS
) -> Metrics:
    """Every figure for ``period``, as seen at ``now`` (of ``sections``: the others are left
    empty).

    On PostgreSQL the figures are aggregated in SQL (returns/metrics_sql.py: memory flat in
    the number of RMAs); elsewhere the RMAs are loaded and counted in Python."""
    rolling = rolling_window(period, now)
    if session.get_bind().dialect.name == "postgresql":
        return Metrics(
            period=period,
            generated_at=now,
            rolling=rolling,
            sections=sections,
            **compute_in_sql(session, period, rolling, now, sections & SQL_SECTIONS),
            **_aggregated(session, period, now, sections),
        )
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
        days_between(c.created_at, c.refund_released_at)
        for c in cases
        if c.refund_released_at is not None and c.refund_released_at in period
    ]
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
        what_if=what_if(cases, period),
        sections=sections,
        **_aggregated(session, period, now, sections),
    )


def _aggregated(
    session: Session, period: Period, now: datetime, sections: frozenset[str]
) -> dict[str, Any]:
    """The figures already summed by their queries, on either backend (those asked for)."""
    found: dict[str, Any] = {"part_return_rates": [], "supplier_return_rates": []}
    if "return_rates" in sections:
        found["part_return_rates"], found["supplier_return_rates"] = return_rates(session, period)
    if "desk" in sections:
        found["desk_people"], found["desk_teams"] = people_and_teams(session, period, now)
    if "shipping" in sections:
        found["label_costs"] = load_label_costs(session, period)
        found["transit_times"] = load_transit_times(session, period)
    if "repairs" in sections:
        found["repair_turnaround"] = load_repair_turnaround(session, period)
    return found


class MetricsService:
    """The use case the web layer calls: one read-only transaction per report."""

    def __init__(self, session_factory: sessionmaker[Session], clock: Clock):
        self.session_factory = session_factory
        self.clock = clock

    def report(
        self, period: Period | None = None, sections: frozenset[str] = ALL_SECTIONS
    ) -> Metrics:
        now = self.clock.now()
        period = period or Period.last_days(now)
        with UnitOfWork(self.session_factory) as uow:
            read_one_snapshot(uow.session)
            return compute(uow.session, period, now, sections)

    def default_period(self) -> Period:
        return Period.last_days(self.clock.now())

    def asked(self, first: date | None, last: date | None) -> Period:
        return Period.asked(first, last, self.clock.now().date())

    def weeks(self, count: int = 8) -> Metrics:
        """The last ``count`` whole weeks and this one so far (the dashboard's charts)."""
        now = self.clock.now()
        start = week_start(now) - timedelta(days=7 * count)
        return self.report(Period(start, Period.last_days(now, 1).end))
