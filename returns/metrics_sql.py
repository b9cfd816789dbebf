"""The desk metrics computed in PostgreSQL: a year of a big seller without loading its RMAs.

returns/metrics_figures.py states the figures over Python lists of RMAs (and is what SQLite
runs); on PostgreSQL :func:`compute_in_sql` gives the same :class:`Metrics` from one statement
whatever the number of RMAs, so memory stays flat (a few hundred result rows):

- ``cases`` (materialized): one narrow row per RMA the report can touch, every per-RMA fact
  worked out once (the refund and replacement times as floats, the response flags,
  ``disputed``);
- requests, refunds and replacements, each aggregated with hashed ``GROUPING SETS`` over all /
  week (and priority / channel / reason when the breakdowns are asked for);
- the parts and suppliers (the distinct parts and suppliers of each RMA's lines, joined in
  only for the breakdowns), the rolling 28-day self-completion and the what-if.

Percentiles are exact: ``percentile_cont`` (linear between the closest ranks, as
:func:`returns.metrics_maths.percentile`) over each group's values, gathered by ``array_agg``
in a hash aggregate, so every group sorts its own floats once; ``percentile_cont`` directly
under ``GROUPING SETS`` would sort all the rows again for each set. Durations are days as
``float8``. The definitions are the ones in returns/metrics.py's docstring; the hand-worked
tests (tests/integration/test_metrics.py) run on both backends and so hold both paths to them.
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
#: For the report's transaction: the cases and a year of refund times stay in memory.
WORK_MEM = "256MB"


def days(start: str, end: str) -> str:
    """The SQL of ``end - start`` in days, as a float (``date_part`` is a float8 already:
    ``EXTRACT`` goes through ``numeric``, several times slower per row)."""
    return f"(date_part('epoch', ({end}) - ({start})) / 86400.0)"


def bucket(value: str) -> str:
    """The index of ``value``'s histogram bucket (as returns.metrics_maths.histogram)."""
    edges = ",".join(f"{edge:g}" for edge in HISTOGRAM_EDGES)
    return f"GREATEST(width_bucket({value}, ARRAY[{edges}]::float8[]) - 1, 0)"


#: What the requests count, one flag per RMA in ``cases`` (returns/metrics.py's rules).
SCORES = range(1, 6)
REQUEST_FLAGS: dict[str, str] = {
    "due": "frd IS NOT NULL AND (fra IS NOT NULL OR frd <= :now)",
    "on_target": "frd IS NOT NULL AND fra IS NOT NULL AND fra <= frd",
    "day_old": f"fra IS NOT NULL OR r.created_at + {RESPONSE_DAY} <= :now",
    "within_day": f"fra IS NOT NULL AND fra - r.created_at <= {RESPONSE_DAY}",
    "response_breach": "frd IS NOT NULL AND (fra > frd OR (fra IS NULL AND frd < :now))",
    "resolution_breach": "rd IS NOT NULL AND (ra > rd OR (ra IS NULL AND rd < :now))",
}
REQUEST_COUNTS: dict[str, str] = {
    "disputed": "disputed",
    **{flag: flag for flag in REQUEST_FLAGS},
    "satisfied": "satisfaction >= 4",
    "fixed_known": "confirmed_fixed IS NOT NULL",
    "fixed": "confirmed_fixed",
    **{f"score_{score}": f"satisfaction = {score}" for score in SCORES},
}
#: Durations whose count, mean, median and 90th percentile the report gives.
STATS = ("refund", "replacement", "arrived", "hypothetical", "extra")
HISTOGRAM_COUNTS = [f"h_{w}_{i}" for w in ("actual", "hyp") for i in range(len(HISTOGRAM_EDGES))]
WHAT_IF_COUNTS = ("arrived", "from_carrier", "from_receipt", *HISTOGRAM_COUNTS)
#: Every row of the statement has these columns (NULL where its kind has no such figure).
COUNT_COLUMNS = (
    ["requests"]
    + [f"req_{name}" for name in REQUEST_COUNTS]
    + ["refunds", "refunds_kept"]
    + [f"wi_{name}" for name in WHAT_IF_COUNTS]
)


def _row(kind: str, dim: str, key: str, values: dict[str, str]) -> str:
    """A select list in the statement's one row shape: the counts, then each duration's
    count, mean and values (an array, its percentiles taken at the end)."""
    columns = [f"{kind} AS kind", f"{dim} AS dim", f"{key} AS key"]
    columns += [f"{values.get(c, 'NULL')}::bigint AS {c}" for c in COUNT_COLUMNS]
    for name in STATS:
        value = values.get(name)
        if value is None:
            columns += [f"NULL::bigint AS {name}_n", f"NULL::float8 AS {name}_mean"]
            columns += [f"NULL::float8[] AS {name}_values"]
        else:
            columns += [f"count({value}) AS {name}_n", f"avg({value}) AS {name}_mean"]
            columns += [f"array_agg({value}) FILTER (WHERE {value} IS NOT NULL) AS {name}_values"]
    return ", ".join(columns)


def _requests(where: str = "requested") -> dict[str, str]:
    counts = {f"req_{name}": f"count(*) FILTER (WHERE {where} AND {c})" for name, c in
              REQUEST_COUNTS.items()}  # fmt: skip
    return {"requests": f"count(*) FILTER (WHERE {where})", **counts}


def _refunds(where: str = "refunded") -> dict[str, str]:
    return {
        "refunds": f"count(*) FILTER (WHERE {where})",
        "refunds_kept": f"count(*) FILTER (WHERE {where} AND NOT disputed)",
    }


#: Which RMAs each kind counts, and the moment its week is taken from.
KINDS = {
    "requests": ("requested", "created_at"),
    "refunds": ("refunded", "released_at"),
    "replacements": ("replaced", "shipped_at"),
}
DIMENSIONS = ("priority", "channel", "reason")


def _kind_select(kind: str, weekly: bool, breakdowns: bool) -> str:
    """One kind's figures overall, by week and by priority, channel and reason: hashed
    ``GROUPING SETS`` (array_agg has no order, so no set sorts its rows)."""
    where, moment = KINDS[kind]
    values = {
        "requests": _requests("true"),
        "refunds": {**_refunds("true"), "refund": "refund_days"},
        "replacements": {"replacement": "replacement_days"},
    }[kind]
    sets = ["()"]
    sets += [f"({d})" for d in DIMENSIONS] if breakdowns else []
    sets += ["(week)"] if weekly else []
    names = [*(DIMENSIONS if breakdowns else ()), *(("week",) if weekly else ())]
    dim = "'all'"
    key = "''"
    if names:
        dim = "CASE " + " ".join(f"WHEN GROUPING({n}) = 0 THEN '{n}'" for n in names)
        dim += " ELSE 'all' END"
        week = "to_char(week, 'YYYY-MM-DD')"
        key = "COALESCE(" + ", ".join(week if n == "week" else n for n in names) + ", '')"
    return f"""
        SELECT {_row(f"'{kind}'", dim, key, values)}
        FROM (SELECT *, date_trunc('week', {moment} AT TIME ZONE 'UTC') AS week
              FROM cases WHERE {where}) c
        GROUP BY GROUPING SETS ({", ".join(sets)})"""


#: Parts and suppliers: each RMA once per part and once per supplier of its lines.
LINES_SELECT = f"""
        SELECT {
    _row(
        "'lines'",
        "g.dim",
        "g.gid::text",
        {
            **_requests(),
            **_refunds(),
            "refund": "CASE WHEN refunded THEN refund_days END",
            "replacement": "CASE WHEN replaced THEN replacement_days END",
        },
    )
}
        FROM cases JOIN (
            SELECT rma_id, 'part' AS dim, part_id AS gid FROM rma_lines GROUP BY rma_id, part_id
            UNION ALL
            SELECT l.rma_id, 'supplier', p.supplier_id FROM rma_lines l
            JOIN parts p ON p.id = l.part_id WHERE p.supplier_id IS NOT NULL
            GROUP BY l.rma_id, p.supplier_id) g ON g.rma_id = cases.id
        WHERE requested OR refunded OR replaced
        GROUP BY g.dim, g.gid"""

ROLLING_SELECT = f"""
        SELECT {_row("'rolling'", "'all'", "''", _refunds("true"))}
        FROM cases WHERE released_at >= :rolling_start AND released_at < :rolling_end"""

#: The what-if: the period's refunds with their parcel's arrival (first delivered carrier
#: event of the inbound shipment referencing the RMA, else our ``received`` transition).
HYPOTHETICAL = days("created_at", "arrived_at")
WHAT_IF_SELECT = f"""
        SELECT {
    _row(
        "'what_if'",
        "'all'",
        "''",
        {
            "wi_arrived": "count(arrived_at)",
            "wi_from_carrier": "count(*) FILTER (WHERE source = 'carrier')",
            "wi_from_receipt": "count(*) FILTER (WHERE source = 'receipt')",
            **{
                f"wi_h_actual_{i}": f"count(*) FILTER (WHERE actual_bucket = {i})"
                for i in range(len(HISTOGRAM_EDGES))
            },
            **{
                f"wi_h_hyp_{i}": f"count(*) FILTER (WHERE hyp_bucket = {i})"
                for i in range(len(HISTOGRAM_EDGES))
            },
            "arrived": "CASE WHEN arrived_at IS NOT NULL THEN refund_days END",
            "hypothetical": "hypothetical",
            "extra": "hypothetical - refund_days",
        },
    )
}
        FROM (SELECT refund_days, arrived_at, source, hypothetical,
                {bucket("refund_days")} AS actual_bucket,
                CASE WHEN hypothetical IS NOT NULL THEN {bucket("hypothetical")} END AS hyp_bucket
              FROM (SELECT c.refund_days, COALESCE(d.at, rc.at) AS arrived_at,
                        CASE WHEN d.at IS NOT NULL THEN 'carrier'
                             WHEN rc.at IS NOT NULL THEN 'receipt' END AS source,
                        {days("c.created_at", "COALESCE(d.at, rc.at)")} AS hypothetical
                    FROM cases c
                    LEFT JOIN delivered d ON d.rma_id = c.id
                    LEFT JOIN received rc ON rc.rma_id = c.id
                    WHERE c.refunded OFFSET 0) a
              OFFSET 0) w"""

CASES_CTE = f"""
WITH rp AS (
    SELECT rma_id, min(shipped_at) AS shipped_at FROM replacements
    WHERE shipped_at IS NOT NULL GROUP BY rma_id
), cases AS MATERIALIZED (
    -- One narrow row per RMA the report can touch, every per-RMA fact worked out once.
    SELECT id, priority, channel, reason, created_at, released_at, shipped_at, disputed,
        satisfaction, confirmed_fixed, {", ".join(REQUEST_FLAGS)},
        created_at >= :start AS requested,
        released_at >= :start AND released_at < :end AS refunded,
        shipped_at >= :start AND shipped_at < :end AS replaced,
        {days("created_at", "released_at")} AS refund_days,
        {days("created_at", "shipped_at")} AS replacement_days
    FROM (
        SELECT r.id, r.priority, r.channel, r.reason, r.created_at, r.satisfaction,
            r.confirmed_fixed, rp.shipped_at,
            CASE WHEN r.refund_status = 'released' THEN r.refund_released_at END AS released_at,
            r.id IN (SELECT t.rma_id FROM rma_transitions t
                     WHERE t.to_status = 'disputed' AND t.kind = 'status') AS disputed,
            {", ".join(f"{c} AS {flag}" for flag, c in REQUEST_FLAGS.items())}
        FROM (SELECT *, first_response_due_at AS frd, first_response_at AS fra,
                  resolution_due_at AS rd, resolved_at AS ra FROM rmas) r
        LEFT JOIN rp ON rp.rma_id = r.id
        -- The report is about returns, not enquiries or complaints (returns/cases.py).
        WHERE r.kind = 'return' AND r.created_at < :end AND (
            r.created_at >= :start
            OR (r.refund_released_at >= :refund_from AND r.refund_released_at < :end)
            OR (rp.shipped_at >= :start AND rp.shipped_at < :end))
        OFFSET 0) f
), delivered AS (
    SELECT r.id AS rma_id, min(e.occurred_at) AS at
    FROM shipments s JOIN carrier_events e ON e.shipment_id = s.id
    JOIN rmas r ON r.number = s.reference
    WHERE s.direction = 'inbound' AND e.status = 'delivered'
    GROUP BY r.id
), received AS (
    SELECT rma_id, min(at) AS at FROM rma_transitions
    WHERE kind = 'status' AND to_status = 'received' GROUP BY rma_id
)"""


def percentiles(name: str) -> str:
    return (
        f"(SELECT percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY v) "
        f"FROM unnest(g.{name}_values) v) AS {name}_percentiles"
    )


def figures_sql(weekly: bool = True, breakdowns: bool = True, what_if: bool = True) -> str:
    """The statement: one row per group and kind, in one shape (see :func:`_row`).

    Percentiles are ``percentile_cont`` over each group's values, gathered by a hashed
    ``array_agg``: every group sorts only its own floats, where ``percentile_cont`` under
    ``GROUPING SETS`` re-sorts all the (wide) rows once per set."""
    parts = [_kind_select(kind, weekly, breakdowns) for kind in KINDS]
    parts.append(ROLLING_SELECT)
    if breakdowns:
        parts.append(LINES_SELECT)
    if what_if:
        parts.append(WHAT_IF_SELECT)
    counts = ", ".join(f"g.{c}" for c in COUNT_COLUMNS)
    stats = ", ".join(f"g.{n}_n, g.{n}_mean, {percentiles(n)}" for n in STATS)
    return f"""{CASES_CTE}
SELECT g.kind, g.dim, g.key, {counts}, {stats}
FROM ({" UNION ALL ".join(parts)}) g"""


def _stats(row: Any, name: str) -> DurationStats:
    count = int(getattr(row, f"{name}_n") or 0)
    if not count:
        return DurationStats(0, None, None, None)
    median, p90 = getattr(row, f"{name}_percentiles")
    return DurationStats(count, float(getattr(row, f"{name}_mean")), median, p90)


def _count(row: Any, column: str) -> int:
    return int(getattr(row, column) or 0) if row is not None else 0


def _figures(rows: dict[str, Any]) -> Figures:
    """One group's :class:`Figures` from its rows (requests, refunds, replacements, or one
    ``lines`` row holding all three)."""
    lines = rows.get("lines")
    req = rows.get("requests", lines)
    ref = rows.get("refunds", lines)
    rep = rows.get("replacements", lines)

    def a(name: str) -> int:
        return _count(req, f"req_{name}")

    requests = _count(req, "requests")
    refunds = _count(ref, "refunds")
    no_stats = DurationStats(0, None, None, None)
    scores = [a(f"score_{score}") for score in SCORES]
    return Figures(
        requests=requests,
        refund_time=_stats(ref, "refund") if ref is not None else no_stats,
        replacement_time=_stats(rep, "replacement") if rep is not None else no_stats,
        self_completion=Rate(_count(ref, "refunds_kept"), refunds),
        disputes=Rate(a("disputed"), requests),
        response_on_target=Rate(a("on_target"), a("due")),
        response_within_24h=Rate(a("within_day"), a("day_old")),
        response_breaches=a("response_breach"),
        resolution_breaches=a("resolution_breach"),
        satisfaction=_score_stats(scores),
        satisfied=Rate(a("satisfied"), sum(scores)),
        confirmed_fixed=Rate(a("fixed"), a("fixed_known")),
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


#: What a report can leave out (``GET /api/v1/metrics?include=``): the overall figures and
#: the rolling self-completion are always there.
SQL_SECTIONS = frozenset({"weekly", "breakdowns", "what_if"})


def compute_in_sql(
    session: Session,
    period: Period,
    rolling: Period,
    now: datetime,
    sections: frozenset[str] = SQL_SECTIONS,
) -> dict[str, Any]:
    """The figures part of :class:`Metrics` (the keyword arguments ``compute`` passes on);
    the breakdowns, weeks and what-if only when ``sections`` asks for them."""
    params = {
        "start": period.start,
        "end": period.end,
        "now": now,
        "refund_from": min(period.start, rolling.start),
        "rolling_start": rolling.start,
        "rolling_end": rolling.end,
    }
    # The cases and the refund times stay in memory rather than on disk (this transaction).
    session.execute(text(f"SET LOCAL work_mem = '{WORK_MEM}'"))
    # Compiling this statement's many expressions costs seconds, more than they run.
    session.execute(text("SET LOCAL jit = off"))
    statement = figures_sql(
        weekly="weekly" in sections,
        breakdowns="breakdowns" in sections,
        what_if="what_if" in sections,
    )
    grouped: dict[tuple[str, str], dict[str, Any]] = {}
    singles: dict[str, Any] = {}
    for row in session.execute(text(statement), params):
        if row.kind in ("rolling", "what_if"):
            singles[row.kind] = row
        else:
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
    overall = figures_of("all", "")
    what_if = _what_if(singles.get("what_if"), overall.refund_time)
    return {
        "overall": overall,
        "rolling_self_completion": _figures({"refunds": singles.get("rolling")}).self_completion,
        "by_priority": enum_groups("priority", Priority),
        "by_channel": enum_groups("channel", Channel),
        "by_reason": enum_groups("reason", Reason),
        "by_part": groups("part", sorted(parts, key=lambda k: parts[k][0]), parts),
        "by_supplier": groups(
            "supplier", sorted(suppliers, key=lambda k: suppliers[k][0]), suppliers
        ),
        "weekly": weekly if "weekly" in sections else [],
        "refund_time_histogram": what_if.actual_histogram,
        "what_if": what_if,
    }


def _histogram(row: Any, prefix: str) -> list[Bucket]:
    edges = HISTOGRAM_EDGES
    return [
        Bucket(low, edges[i + 1] if i + 1 < len(edges) else None, _count(row, f"{prefix}_{i}"))
        for i, low in enumerate(edges)
    ]


def _what_if(row: Any, actual: DurationStats) -> WhatIf:
    """The what-if from its row (none when the report leaves it out: all zero); ``actual``
    is every refund of the period, the overall refund time."""
    refunds = actual.count if row is not None else 0
    arrived = _count(row, "wi_arrived")
    no_stats = DurationStats(0, None, None, None)
    return WhatIf(
        refunds=refunds,
        arrived=arrived,
        not_arrived=refunds - arrived,
        from_carrier=_count(row, "wi_from_carrier"),
        from_receipt=_count(row, "wi_from_receipt"),
        actual=actual if row is not None else no_stats,
        actual_arrived=_stats(row, "arrived") if row is not None else no_stats,
        hypothetical=_stats(row, "hypothetical") if row is not None else no_stats,
        extra_days=_stats(row, "extra") if row is not None else no_stats,
        actual_histogram=_histogram(row, "wi_h_actual"),
        hypothetical_histogram=_histogram(row, "wi_h_hyp"),
    )
