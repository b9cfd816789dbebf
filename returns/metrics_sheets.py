"""The metrics report as a workbook: one sheet per group of figures, numbers as numbers.

Days and scores are decimals (four places), shares are fractions shown as percentages, so
a spreadsheet can chart or sum them. Written through core/spreadsheets/.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import IO, Any

from core.spreadsheets import Column, Kind, WorkbookWriter
from returns.metrics_figures import Figures, Metrics, ReturnRate
from returns.metrics_maths import Bucket, DurationStats, Rate

FOUR_PLACES = Decimal("0.0001")


def number(value: float | None) -> Decimal | None:
    """A float figure as a Decimal of four places (the workbook takes no floats)."""
    return None if value is None else Decimal(repr(value)).quantize(FOUR_PLACES)


def share(rate: Rate) -> Decimal | None:
    return number(rate.value)


SCOPE = [
    Column("dimension", "Breakdown", 12),
    Column("key", "Key", 16),
    Column("label", "Group", 28),
]


def _scopes(metrics: Metrics) -> Iterable[tuple[dict[str, Any], Figures]]:
    yield {"dimension": "all", "key": "", "label": "All RMAs"}, metrics.overall
    for dimension, groups in metrics.breakdowns.items():
        for group in groups:
            yield {"dimension": dimension, "key": group.key, "label": group.label}, group.figures


def _durations(prefix: str, stats: DurationStats) -> dict[str, Any]:
    return {
        f"{prefix}_count": stats.count,
        f"{prefix}_mean": number(stats.mean),
        f"{prefix}_median": number(stats.median),
        f"{prefix}_p90": number(stats.p90),
    }


def _duration_columns(prefix: str, what: str) -> list[Column]:
    return [
        Column(f"{prefix}_count", what, 11, Kind.INTEGER),
        Column(f"{prefix}_mean", "Mean (days)", 11, Kind.DECIMAL),
        Column(f"{prefix}_median", "Median (days)", 11, Kind.DECIMAL),
        Column(f"{prefix}_p90", "90th pct (days)", 11, Kind.DECIMAL),
    ]


def _summary(writer: WorkbookWriter, m: Metrics) -> None:
    table = writer.table(
        "Summary",
        [
            Column("figure", "Figure", 46),
            Column("value", "Value", 14, Kind.DECIMAL),
            Column("unit", "Unit", 40),
        ],
    )
    o, w = m.overall, m.what_if
    rows: list[tuple[str, Any, str]] = [
        ("Period: first day", None, m.period.first_day.isoformat()),
        ("Period: last day", None, m.period.last_day.isoformat()),
        ("Requests (RMAs created)", o.requests, "count"),
        ("Refunds completed", o.refunds_completed, "count"),
        ("Refund completion time, mean", number(o.refund_time.mean), "days"),
        ("Refund completion time, median", number(o.refund_time.median), "days"),
        ("Refund completion time, 90th percentile", number(o.refund_time.p90), "days"),
        ("Request to replacement shipped, mean", number(o.replacement_time.mean), "days"),
        ("Repairs shipped back", m.repair_turnaround.count, "count"),
        ("Repair turnaround, mean", number(m.repair_turnaround.mean), "days"),
        ("Repair turnaround, median", number(m.repair_turnaround.median), "days"),
        ("Repair turnaround, 90th percentile", number(m.repair_turnaround.p90), "days"),
        ("Self-completion rate, period", share(o.self_completion), "share of refunds completed"),
        (
            "Self-completion rate, rolling 28 days",
            share(m.rolling_self_completion),
            f"{m.rolling.start:%Y-%m-%d %H:%M} to {m.rolling.end:%Y-%m-%d %H:%M} UTC",
        ),
        ("Dispute rate", share(o.disputes), "share of requests"),
        ("First response by its deadline", share(o.response_on_target), "share (bar: 0.9)"),
        ("First response within 24 hours", share(o.response_within_24h), "share (bar: 0.9)"),
        ("First response breaches", o.response_breaches, "count"),
        ("Resolution breaches", o.resolution_breaches, "count"),
        ("Satisfaction, mean score", number(o.satisfaction.mean), "1 to 5"),
        ("What-if: refund on receipt, mean", number(w.hypothetical.mean), "days"),
        ("What-if: the same refunds as they were, mean", number(w.actual_arrived.mean), "days"),
    ]
    for figure, value, unit in rows:
        table.append({"figure": figure, "value": value, "unit": unit})
    table.close()


def _per_scope(
    writer: WorkbookWriter,
    title: str,
    columns: list[Column],
    values: Any,
    m: Metrics,
) -> None:
    table = writer.table(title, [*SCOPE, *columns])
    for scope, figures in _scopes(m):
        table.append({**scope, **values(figures)})
    table.close()


def _return_rates(writer: WorkbookWriter, title: str, key: str, rows: list[ReturnRate]) -> None:
    table = writer.table(
        title,
        [
            Column("key", key, 16),
            Column("name", "Name", 30),
            Column("returned", "Returned units", 12, Kind.INTEGER),
            Column("shipped", "Shipped units", 12, Kind.INTEGER),
            Column("rate", "Return rate", 11, Kind.PERCENT),
            Column("reasons", "Top fault reasons (units)", 50, wrap=True),
        ],
    )
    for row in rows:
        table.append(
            {
                "key": row.key,
                "name": row.name,
                "returned": row.returned_units,
                "shipped": row.shipped_units,
                "rate": number(row.rate),
                "reasons": ", ".join(
                    f"{reason.value.replace('_', ' ')} ({units})"
                    for reason, units in row.top_reasons
                ),
            }
        )
    table.close()


def _return_shipping(writer: WorkbookWriter, m: Metrics) -> None:
    """Return shipping cost per RMA (minor units, by currency) and transit time per carrier."""
    costs = writer.table(
        "Return shipping cost",
        [
            Column("currency", "Currency", 10),
            Column("labels", "Labels", 10, Kind.INTEGER),
            Column("mean", "Cost per RMA (minor units)", 16, Kind.DECIMAL),
            Column("total", "Total (minor units)", 14, Kind.INTEGER),
            Column("refunded", "Refunded unused", 12, Kind.INTEGER),
            Column("net", "Net (minor units)", 14, Kind.INTEGER),
        ],
    )
    for cost in m.label_costs:
        costs.append(
            {
                "currency": cost.currency.upper(),
                "labels": cost.labels,
                "mean": number(cost.mean_minor),
                "total": cost.total_minor,
                "refunded": cost.refunded,
                "net": cost.net_minor,
            }
        )
    costs.close()
    transit = writer.table(
        "Transit time by carrier",
        [Column("carrier", "Carrier", 14), *_duration_columns("days", "Parcels")],
    )
    for row in m.transit_times:
        transit.append({"carrier": row.carrier, **_durations("days", row.days)})
    transit.close()


def _repair_turnaround(writer: WorkbookWriter, m: Metrics) -> None:
    """Received to repaired unit shipped back, for the repairs shipped in the period."""
    table = writer.table("Repair turnaround", _duration_columns("days", "Repairs shipped back"))
    table.append(_durations("days", m.repair_turnaround))
    table.close()


def write_report(
    metrics: Metrics,
    stream: IO[bytes],
    more_sheets: Iterable[Callable[[WorkbookWriter], None]] = (),
) -> None:
    """The whole report as an xlsx workbook; ``more_sheets`` write other packages' figures
    (the knowledge base's: knowledge/sheets.py) after the desk's people."""
    m = metrics
    with WorkbookWriter() as writer:
        _summary(writer, m)
        _per_scope(
            writer,
            "Refund time",
            [
                *_duration_columns("refund", "Refunds completed"),
                *_duration_columns("replacement", "Replacements shipped"),
            ],
            lambda f: {
                **_durations("refund", f.refund_time),
                **_durations("replacement", f.replacement_time),
            },
            m,
        )
        _per_scope(
            writer,
            "Self-completion & disputes",
            [
                Column("completed", "Refunds completed", 12, Kind.INTEGER),
                Column("undisputed", "Without dispute", 12, Kind.INTEGER),
                Column("self", "Self-completion", 12, Kind.PERCENT),
                Column("requests", "Requests", 10, Kind.INTEGER),
                Column("disputed", "Disputed", 10, Kind.INTEGER),
                Column("dispute_rate", "Dispute rate", 11, Kind.PERCENT),
            ],
            lambda f: {
                "completed": f.self_completion.whole,
                "undisputed": f.self_completion.part,
                "self": share(f.self_completion),
                "requests": f.requests,
                "disputed": f.disputes.part,
                "dispute_rate": share(f.disputes),
            },
            m,
        )
        _per_scope(
            writer,
            "Response targets",
            [
                Column("due", "Due or answered", 12, Kind.INTEGER),
                Column("on_target", "By the deadline", 12, Kind.INTEGER),
                Column("compliance", "Compliance", 11, Kind.PERCENT),
                Column("day_old", "24 h old or answered", 12, Kind.INTEGER),
                Column("within", "Within 24 h", 11, Kind.INTEGER),
                Column("within_share", "Share within 24 h", 11, Kind.PERCENT),
                Column("response_breaches", "Response breaches", 11, Kind.INTEGER),
                Column("resolution_breaches", "Resolution breaches", 11, Kind.INTEGER),
            ],
            lambda f: {
                "due": f.response_on_target.whole,
                "on_target": f.response_on_target.part,
                "compliance": share(f.response_on_target),
                "day_old": f.response_within_24h.whole,
                "within": f.response_within_24h.part,
                "within_share": share(f.response_within_24h),
                "response_breaches": f.response_breaches,
                "resolution_breaches": f.resolution_breaches,
            },
            m,
        )
        _per_scope(
            writer,
            "Satisfaction",
            [
                Column("scores", "Scores", 10, Kind.INTEGER),
                Column("mean", "Mean score", 10, Kind.DECIMAL),
                Column("satisfied", "Scored 4 or 5", 11, Kind.INTEGER),
                Column("satisfied_share", "Share 4 or 5", 11, Kind.PERCENT),
                Column("fixed", "Confirmed fixed", 11, Kind.INTEGER),
                Column("fixed_of", "Of (answered)", 11, Kind.INTEGER),
            ],
            lambda f: {
                "scores": f.satisfaction.count,
                "mean": number(f.satisfaction.mean),
                "satisfied": f.satisfied.part,
                "satisfied_share": share(f.satisfied),
                "fixed": f.confirmed_fixed.part,
                "fixed_of": f.confirmed_fixed.whole,
            },
            m,
        )
        _return_rates(writer, "Return rate by part", "SKU", m.part_return_rates)
        _return_rates(writer, "Return rate by supplier", "Supplier", m.supplier_return_rates)
        _return_shipping(writer, m)
        _repair_turnaround(writer, m)
        weekly = writer.table(
            "Weekly",
            [
                Column("week", "Week from (Monday)", 14, Kind.DATE),
                Column("requests", "Requests", 10, Kind.INTEGER),
                *_duration_columns("refund", "Refunds completed"),
                Column("self", "Self-completion", 12, Kind.PERCENT),
                Column("disputes", "Dispute rate", 11, Kind.PERCENT),
                Column("compliance", "Response compliance", 12, Kind.PERCENT),
                Column("within", "Within 24 h", 11, Kind.PERCENT),
                Column("breaches", "Response breaches", 11, Kind.INTEGER),
            ],
        )
        for week in m.weekly:
            f = week.figures
            weekly.append(
                {
                    "week": week.start.date(),
                    "requests": f.requests,
                    **_durations("refund", f.refund_time),
                    "self": share(f.self_completion),
                    "disputes": share(f.disputes),
                    "compliance": share(f.response_on_target),
                    "within": share(f.response_within_24h),
                    "breaches": f.response_breaches,
                }
            )
        weekly.close()
        _desk_people(writer, m)
        for sheet in more_sheets:
            sheet(writer)
        _distribution(writer, m.refund_time_histogram, m.what_if.hypothetical_histogram)
        _what_if(writer, m)
        writer.meta(
            "metrics report",
            [("from", m.period.first_day.isoformat()), ("to", m.period.last_day.isoformat())],
        )
        writer.save(stream)


def _desk_people(writer: WorkbookWriter, m: Metrics) -> None:
    """Per person and per team: the cases opened in the period they own (hours)."""

    def hours(prefix: str, what: str) -> list[Column]:
        return [
            Column(f"{prefix}_count", what, 11, Kind.INTEGER),
            Column(f"{prefix}_mean", "Mean (hours)", 11, Kind.DECIMAL),
            Column(f"{prefix}_median", "Median (hours)", 11, Kind.DECIMAL),
            Column(f"{prefix}_p90", "90th pct (hours)", 11, Kind.DECIMAL),
        ]

    table = writer.table(
        "Desk people",
        [
            Column("kind", "Person or team", 12),
            Column("name", "Name", 24),
            Column("handled", "Cases handled", 11, Kind.INTEGER),
            *hours("first", "First responses"),
            *hours("resolution", "Resolved"),
            Column("reopened", "Reopened", 10, Kind.INTEGER),
            Column("reopen_rate", "Reopen rate", 11, Kind.PERCENT),
            Column("scores", "Scores", 9, Kind.INTEGER),
            Column("satisfaction", "Mean score", 10, Kind.DECIMAL),
            Column("breaches", "Service-level breaches", 12, Kind.INTEGER),
        ],
    )
    for row in [*m.desk_people, *m.desk_teams]:
        table.append(
            {
                "kind": row.kind,
                "name": row.name,
                "handled": row.handled,
                **_durations("first", row.first_response_hours),
                **_durations("resolution", row.resolution_hours),
                "reopened": row.reopened.part,
                "reopen_rate": share(row.reopened),
                "scores": row.satisfaction.count,
                "satisfaction": number(row.satisfaction.mean),
                "breaches": row.breaches,
            }
        )
    table.close()


def _distribution(writer: WorkbookWriter, actual: list[Bucket], waited: list[Bucket]) -> None:
    table = writer.table(
        "Refund time distribution",
        [
            Column("bucket", "Days", 12),
            Column("low", "From (days)", 10, Kind.DECIMAL),
            Column("high", "Below (days)", 10, Kind.DECIMAL),
            Column("actual", "Refunds (on pickup)", 14, Kind.INTEGER, total=True),
            Column("waited", "Had they waited for receipt", 16, Kind.INTEGER, total=True),
        ],
    )
    for mine, theirs in zip(actual, waited, strict=True):
        table.append(
            {
                "bucket": mine.label,
                "low": number(mine.low),
                "high": number(mine.high),
                "actual": mine.count,
                "waited": theirs.count,
            }
        )
    table.close(label_key="bucket")


def _what_if(writer: WorkbookWriter, m: Metrics) -> None:
    w = m.what_if
    table = writer.table(
        "What-if",
        [
            Column("figure", "Refunds released in the period", 40),
            Column("actual", "Refund on pickup (actual)", 16, Kind.DECIMAL),
            Column("waited", "Refund on receipt (what-if)", 16, Kind.DECIMAL),
        ],
    )
    rows = [
        ("Refunds whose parcel has arrived", w.arrived, w.arrived),
        ("Mean (days)", number(w.actual_arrived.mean), number(w.hypothetical.mean)),
        ("Median (days)", number(w.actual_arrived.median), number(w.hypothetical.median)),
        ("90th percentile (days)", number(w.actual_arrived.p90), number(w.hypothetical.p90)),
        ("Mean extra days per refund", None, number(w.extra_days.mean)),
        ("All refunds released", w.refunds, None),
        ("Mean of all refunds released (days)", number(w.actual.mean), None),
        ("Parcel not arrived yet", w.not_arrived, None),
        ("Arrival from a delivered carrier event", None, w.from_carrier),
        ("Arrival from our own receipt", None, w.from_receipt),
    ]
    for figure, actual, waited in rows:
        table.append({"figure": figure, "actual": actual, "waited": waited})
    table.close()
