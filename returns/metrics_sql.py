"""The desk metrics computed in PostgreSQL: a year of a big seller without loading its RMAs.

returns/metrics_figures.py states the figures over Python lists of RMAs (and is what SQLite
runs); on PostgreSQL :func:`compute_in_sql` gives the same :class:`Metrics` from two
statements whatever the number of RMAs, so memory stays flat (a few hundred result rows):

1. every group's figures: one materialized ``cases`` CTE (the RMAs the report can touch,
   with ``disputed`` and the first replacement shipped), aggregated three ways (requests by
   ``created_at``, refunds by their release, replacements by their first shipment) with
   ``GROUPING SETS`` over all / priority / channel / reason / week, and once more over the
   distinct parts and suppliers of their lines (arrays, unnested); plus the rolling 28-day
   self-completion;
2. the what-if and the refund-time histogram, over the refunds released in the period.

Percentiles are ``percentile_cont`` (linear between the closest ranks, as
:func:`returns.metrics_maths.percentile`); durations are days as ``float8``. The definitions
are the ones in returns/metrics.py's docstring; the hand-worked tests
(tests/integration/test_metrics.py) run on both backends and so hold both paths to them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from returns.metrics_figures import Figures, Group, Week, WhatIf
from returns.metrics_maths import (
    HISTOGRAM_EDGES,
    Bucket,
    DurationStats,
    Period,
    Rate,
    week_starts,
)
from returns.status import Channel, Priority, Reason

RESPONSE_DAY = "interval '24 hours'"
#: For the report's transaction: a year of refund times sorts in memory.
WORK_MEM = "128MB"


def days(start: str, end: str) -> str:
    """The SQL of ``end - start`` in days, as a float."""
    return f"(EXTRACT(EPOCH FROM ({end}) - ({start}))::float8 / 86400.0)"


def stats(value: str, prefix: str = "s") -> str:
    """Count, mean, median and 90th percentile of ``value`` (NULLs left out)."""
    has = f"FILTER (WHERE {value} IS NOT NULL)"
    return (
        f"count({value}) AS {prefix}_count, avg({value}) AS {prefix}_mean, "
        f"percentile_cont(0.5) WITHIN GROUP (ORDER BY {value}) {has} AS {prefix}_median, "
        f"percentile_cont(0.9) WITHIN GROUP (ORDER BY {value}) {has} AS {prefix}_p90"
    )


def bucket(value: str) -> str:
    """The index of ``value``'s histogram bucket (as returns.metrics_maths.histogram)."""
    edges = ",".join(f"{edge:g}" for edge in HISTOGRAM_EDGES)
    return f"GREATEST(width_bucket({value}, ARRAY[{edges}]::float8[]) - 1, 0)"


def counts(value: str, prefix: str) -> str:
    return ", ".join(
        f"count(*) FILTER (WHERE {value} IS NOT NULL AND {bucket(value)} = {i}) AS {prefix}_{i}"
        for i in range(len(HISTOGRAM_EDGES))
    )


#: What each kind aggregates: (when it counts, the duration, the counts). Scores (1-5) are
#: counted per value and their median and percentile taken from the counts, so the requests
#: need no sort (a hash aggregate); durations take ``percentile_cont``.
SCORES = range(1, 6)
KINDS: dict[str, tuple[str, str | None, list[str]]] = {
    "requests": (
        "created_at",
        None,
        [
            "disputed",
            "frd IS NOT NULL AND (fra IS NOT NULL OR frd <= :now)",
            "frd IS NOT NULL AND fra IS NOT NULL AND fra <= frd",
            f"fra IS NOT NULL OR created_at + {RESPONSE_DAY} <= :now",
            f"fra IS NOT NULL AND fra - created_at <= {RESPONSE_DAY}",
            "frd IS NOT NULL AND (fra > frd OR (fra IS NULL AND frd < :now))",
            "rd IS NOT NULL AND (ra > rd OR (ra IS NULL AND rd < :now))",
            "satisfaction >= 4",
            "confirmed_fixed IS NOT NULL",
            "confirmed_fixed",
            *(f"satisfaction = {score}" for score in SCORES),
        ],
    ),
    "refunds": ("released_at", days("created_at", "released_at"), ["NOT disputed"]),
    "replacements": ("shipped_at", days("created_at", "shipped_at"), []),
}
COUNTS = 15
#: What each kind reads of a case besides its groups (the rows sorted stay narrow).
COLUMNS = {
    "requests": "created_at, frd, fra, rd, ra, satisfaction, confirmed_fixed, disputed",
    "refunds": "created_at, released_at, disputed",
    "replacements": "created_at, shipped_at",
}
SETS = ("priority", "channel", "reason", "week")


def _aggregates(kind: str) -> str:
    _, value, conditions = KINDS[kind]
    columns = [f"count(*) FILTER (WHERE {c}) AS a{i}" for i, c in enumerate(conditions)]
    columns += [f"0 AS a{i}" for i in range(len(conditions), COUNTS)]
    no_stats = "0 AS s_count, NULL::float8 AS s_mean, NULL::float8 AS s_median, "
    no_stats += "NULL::float8 AS s_p90"
    return f"count(*) AS n, {stats(value) if value else no_stats}, {', '.join(columns)}"


def _kind_selects(kind: str, window: str = "") -> str:
    moment = KINDS[kind][0]
    where = (
        f"{moment} >= {window or ':start'} AND {moment} < {':rolling_end' if window else ':end'}"
    )
    if window:  # the rolling self-completion: all refunds of the window, no breakdown
        return (
            f"SELECT 'rolling' AS kind, 'all' AS dim, '' AS key, {_aggregates(kind)} "
            f"FROM cases WHERE {where}"
        )
    week = f"to_char(date_trunc('week', {moment} AT TIME ZONE 'UTC'), 'YYYY-MM-DD')"
    dim = "CASE " + " ".join(f"WHEN GROUPING({s}) = 0 THEN '{s}'" for s in SETS) + " ELSE 'all' END"
    key = "COALESCE(" + ", ".join(SETS) + ", '')"
    sets = ", ".join(f"({s})" for s in SETS)
    return f"""
        SELECT '{kind}' AS kind, {dim} AS dim, {key} AS key, {_aggregates(kind)}
        FROM (SELECT {COLUMNS[kind]}, priority, channel, reason, {week} AS week
              FROM cases WHERE {where}) c
        GROUP BY GROUPING SETS ((), {sets})
        UNION ALL
        SELECT '{kind}', g.dim, g.gid::text, {_aggregates(kind)}
        FROM cases CROSS JOIN LATERAL (
            SELECT 'part' AS dim, unnest(cases.parts) AS gid
            UNION ALL SELECT 'supplier', unnest(cases.suppliers)) g
        WHERE {where}
        GROUP BY g.dim, g.gid"""


FIGURES_SQL = f"""
WITH rp AS (
    SELECT rma_id, min(shipped_at) AS shipped_at FROM replacements
    WHERE shipped_at IS NOT NULL GROUP BY rma_id
), lines AS (
    SELECT l.rma_id, array_agg(DISTINCT l.part_id) AS parts,
        array_agg(DISTINCT p.supplier_id) FILTER (WHERE p.supplier_id IS NOT NULL) AS suppliers
    FROM rma_lines l JOIN parts p ON p.id = l.part_id
    GROUP BY l.rma_id
), cases AS MATERIALIZED (
    SELECT r.id, r.created_at, r.priority, r.channel, r.reason,
        CASE WHEN r.refund_status = 'released' THEN r.refund_released_at END AS released_at,
        r.satisfaction, r.confirmed_fixed,
        r.first_response_due_at AS frd, r.first_response_at AS fra,
        r.resolution_due_at AS rd, r.resolved_at AS ra,
        r.id IN (SELECT t.rma_id FROM rma_transitions t
                 WHERE t.to_status = 'disputed' AND t.kind = 'status') AS disputed,
        rp.shipped_at, lines.parts, lines.suppliers
    FROM rmas r LEFT JOIN rp ON rp.rma_id = r.id LEFT JOIN lines ON lines.rma_id = r.id
    -- The report is about returns, not enquiries or complaints (returns/cases.py).
    WHERE r.kind = 'return' AND r.created_at < :end AND (
        r.created_at >= :start
        OR (r.refund_released_at >= :refund_from AND r.refund_released_at < :end)
        OR (rp.shipped_at >= :start AND rp.shipped_at < :end))
)
{_kind_selects("requests")}
UNION ALL {_kind_selects("refunds")}
UNION ALL {_kind_selects("replacements")}
UNION ALL {_kind_selects("refunds", ":rolling_start")}
"""

ACTUAL = days("created_at", "released_at")
HYPOTHETICAL = days("created_at", "arrived_at")
WHAT_IF_SQL = f"""
WITH delivered AS (
    SELECT s.reference, min(e.occurred_at) AS at
    FROM shipments s JOIN carrier_events e ON e.shipment_id = s.id
    WHERE s.direction = 'inbound' AND e.status = 'delivered' AND s.reference IS NOT NULL
    GROUP BY s.reference
), received AS (
    SELECT rma_id, min(at) AS at FROM rma_transitions
    WHERE kind = 'status' AND to_status = 'received' GROUP BY rma_id
), refunded AS (
    SELECT r.created_at, r.refund_released_at AS released_at,
        COALESCE(d.at, rc.at) AS arrived_at,
        CASE WHEN d.at IS NOT NULL THEN 'carrier' WHEN rc.at IS NOT NULL THEN 'receipt' END
            AS source
    FROM rmas r
    LEFT JOIN delivered d ON d.reference = r.number
    LEFT JOIN received rc ON rc.rma_id = r.id
    WHERE r.refund_status = 'released' AND r.refund_released_at >= :start
        AND r.refund_released_at < :end AND r.created_at < :end
), timed AS (
    SELECT source, {ACTUAL} AS actual,
        CASE WHEN arrived_at IS NOT NULL THEN {ACTUAL} END AS actual_arrived,
        {HYPOTHETICAL} AS hypothetical
    FROM refunded
)
SELECT count(*) AS refunds, count(source) AS arrived,
    count(*) FILTER (WHERE source = 'carrier') AS from_carrier,
    count(*) FILTER (WHERE source = 'receipt') AS from_receipt,
    {stats("actual", "actual")}, {stats("actual_arrived", "arrived")},
    {stats("hypothetical", "hyp")}, {stats("hypothetical - actual_arrived", "extra")},
    {counts("actual", "h_actual")}, {counts("hypothetical", "h_hyp")}
FROM timed
"""


def _stats(row: Any, prefix: str = "s") -> DurationStats:
    count = int(getattr(row, f"{prefix}_count"))
    if not count:
        return DurationStats(0, None, None, None)
    return DurationStats(
        count,
        *(float(getattr(row, f"{prefix}_{p}")) for p in ("mean", "median", "p90")),
    )


def _figures(rows: dict[str, Any]) -> Figures:
    """One group's :class:`Figures` from its requests, refunds and replacements rows."""
    req, ref, rep = rows.get("requests"), rows.get("refunds"), rows.get("replacements")

    def a(row: Any, i: int) -> int:
        return int(getattr(row, f"a{i}")) if row is not None else 0

    requests = int(req.n) if req is not None else 0
    refunds = int(ref.n) if ref is not None else 0
    no_stats = DurationStats(0, None, None, None)
    return Figures(
        requests=requests,
        refund_time=_stats(ref) if ref is not None else no_stats,
        replacement_time=_stats(rep) if rep is not None else no_stats,
        self_completion=Rate(a(ref, 0), refunds),
        disputes=Rate(a(req, 0), requests),
        response_on_target=Rate(a(req, 2), a(req, 1)),
        response_within_24h=Rate(a(req, 4), a(req, 3)),
        response_breaches=a(req, 5),
        resolution_breaches=a(req, 6),
        satisfaction=_score_stats([a(req, 10 + i) for i in range(len(SCORES))]),
        satisfied=Rate(a(req, 7), sum(a(req, 10 + i) for i in range(len(SCORES)))),
        confirmed_fixed=Rate(a(req, 9), a(req, 8)),
    )


def _score_stats(counts: list[int]) -> DurationStats:
    """Count, mean, median and 90th percentile of scores 1-5 given how many of each, exactly as
    :func:`returns.metrics_maths.percentile` over the scores themselves."""
    total = sum(counts)
    if not total:
        return DurationStats(0, None, None, None)

    def at(index: int) -> float:
        seen = 0
        for score, count in zip(SCORES, counts, strict=True):
            seen += count
            if index < seen:
                return float(score)
        raise IndexError(index)

    def percentile(p: float) -> float:
        rank = (total - 1) * p / 100
        low = math.floor(rank)
        high = min(low + 1, total - 1)
        return at(low) + (at(high) - at(low)) * (rank - low)

    mean = sum(score * count for score, count in zip(SCORES, counts, strict=True)) / total
    return DurationStats(total, mean, percentile(50), percentile(90))


def _names(
    session: Session, table: str, key: str, ids: Iterable[str]
) -> dict[str, tuple[str, str]]:
    wanted = [int(i) for i in ids]
    if not wanted:
        return {}
    rows = session.execute(
        text(f"SELECT id, {key}, name FROM {table} WHERE id = ANY(:ids)"), {"ids": wanted}
    )
    return {str(row[0]): (row[1], row[2]) for row in rows}


def compute_in_sql(
    session: Session, period: Period, rolling: Period, now: datetime
) -> dict[str, Any]:
    """The figures part of :class:`Metrics` (the keyword arguments ``compute`` passes on)."""
    params = {
        "start": period.start,
        "end": period.end,
        "now": now,
        "refund_from": min(period.start, rolling.start),
        "rolling_start": rolling.start,
        "rolling_end": rolling.end,
    }
    # The refund times are sorted in memory rather than on disk (this transaction only).
    session.execute(text(f"SET LOCAL work_mem = '{WORK_MEM}'"))
    grouped: dict[tuple[str, str], dict[str, Any]] = {}
    rolling_row = None
    for row in session.execute(text(FIGURES_SQL), params):
        if row.kind == "rolling":
            rolling_row = row
            continue
        grouped.setdefault((row.dim, row.key), {})[row.kind] = row

    def figures_of(dim: str, key: str) -> Figures:
        return _figures(grouped.get((dim, key), {}))

    def groups(dim: str, keys: Iterable[str], labels: dict[str, tuple[str, str]]) -> list[Group]:
        found = []
        for key in keys:
            if (dim, key) in grouped:
                code, label = labels[key]
                found.append(Group(dim, code, label, figures_of(dim, key)))
        return found

    def enum_groups(dim: str, members: Iterable[Any]) -> list[Group]:
        labels = {m.value: (m.value, m.value.replace("_", " ")) for m in members}
        return groups(dim, labels, labels)

    keys_of = {dim: [k for d, k in grouped if d == dim] for dim in ("part", "supplier")}
    parts = _names(session, "parts", "sku", keys_of["part"])
    suppliers = _names(session, "suppliers", "code", keys_of["supplier"])
    weekly = [
        Week(monday, figures_of("week", monday.date().isoformat()))
        for monday in week_starts(period.start, period.end)
    ]
    rolling_refunds = _figures({"refunds": rolling_row} if rolling_row is not None else {})
    what_if = _what_if(session, params)
    return {
        "overall": figures_of("all", ""),
        "rolling_self_completion": rolling_refunds.self_completion,
        "by_priority": enum_groups("priority", Priority),
        "by_channel": enum_groups("channel", Channel),
        "by_reason": enum_groups("reason", Reason),
        "by_part": groups("part", sorted(parts, key=lambda k: parts[k][0]), parts),
        "by_supplier": groups(
            "supplier", sorted(suppliers, key=lambda k: suppliers[k][0]), suppliers
        ),
        "weekly": weekly,
        "refund_time_histogram": what_if.actual_histogram,
        "what_if": what_if,
    }


def _histogram(row: Any, prefix: str) -> list[Bucket]:
    edges = HISTOGRAM_EDGES
    return [
        Bucket(
            low, edges[i + 1] if i + 1 < len(edges) else None, int(getattr(row, f"{prefix}_{i}"))
        )
        for i, low in enumerate(edges)
    ]


def _what_if(session: Session, params: dict[str, Any]) -> WhatIf:
    row = session.execute(text(WHAT_IF_SQL), params).one()
    return WhatIf(
        refunds=int(row.refunds),
        arrived=int(row.arrived),
        not_arrived=int(row.refunds) - int(row.arrived),
        from_carrier=int(row.from_carrier),
        from_receipt=int(row.from_receipt),
        actual=_stats(row, "actual"),
        actual_arrived=_stats(row, "arrived"),
        hypothetical=_stats(row, "hyp"),
        extra_days=_stats(row, "extra"),
        actual_histogram=_histogram(row, "h_actual"),
        hypothetical_histogram=_histogram(row, "h_hyp"),
    )
