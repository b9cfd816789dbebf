"""The plain SQL the metrics are measured against (bench/scale_bench.py): what one would write
by hand for the same figures, one statement each, with ``percentile_cont`` as it comes.

- ``BASELINE_SQL`` (issue 22's baseline): the headline figures (mean, median and 90th
  percentile refund time, self-completion, disputes, response compliance) for the year,
  overall and by week; against ``GET /api/v1/metrics?include=weekly``, which answers the
  same figures (and a few more of the requests, the replacements and the rolling 28 days).
- ``BREAKDOWNS_SQL``: the same headline figures overall, by week and by every breakdown of the
  report (priority, channel, reason, part, supplier; an RMA once per distinct part and
  supplier of its lines); against the whole report (the API without ``include`` and the
  xlsx), which computes besides the replacement times, satisfaction, the what-if and
  histogram, the return rates, label costs, transit times, repairs and the desk figures.
"""

from __future__ import annotations

#: The RMAs the headline figures read: requested in the year or refunded in it (the baseline
#: reads no breakdown's columns: its statement is the one issue 22 measured against).
_CASES = """
    SELECT {columns}created_at, first_response_due_at AS frd, first_response_at AS fra,
        CASE WHEN refund_status = 'released' THEN refund_released_at END AS released_at,
        id IN (SELECT rma_id FROM rma_transitions
               WHERE to_status = 'disputed' AND kind = 'status') AS disputed
    FROM rmas
    WHERE created_at < :end AND (created_at >= :start
        OR (refund_released_at >= :start AND refund_released_at < :end))"""

_REQUESTS = """count(*) AS n, count(*) FILTER (WHERE disputed) AS disputed,
    count(*) FILTER (WHERE frd IS NOT NULL AND (fra IS NOT NULL OR frd <= :now)) AS due,
    count(*) FILTER (WHERE fra <= frd) AS on_target,
    NULL::float8 AS mean, NULL::float8 AS median, NULL::float8 AS p90"""
_REFUNDS = """count(*), count(*) FILTER (WHERE NOT disputed), 0, 0,
    avg(d), percentile_cont(0.5) WITHIN GROUP (ORDER BY d),
    percentile_cont(0.9) WITHIN GROUP (ORDER BY d)"""
_REQUESTED = """SELECT *, date_trunc('week', created_at AT TIME ZONE 'UTC') AS week FROM c
      WHERE created_at >= :start"""
_REFUNDED = """SELECT *, EXTRACT(EPOCH FROM released_at - created_at)::float8 / 86400 AS d,
          date_trunc('week', released_at AT TIME ZONE 'UTC') AS week
      FROM c WHERE released_at >= :start AND released_at < :end"""

BASELINE_SQL = f"""
WITH c AS ({_CASES.format(columns="")}
)
SELECT 'requests' AS kind, week,
    {_REQUESTS}
FROM ({_REQUESTED}) q
GROUP BY GROUPING SETS ((), (week))
UNION ALL
SELECT 'refunds', week,
    {_REFUNDS}
FROM ({_REFUNDED}) r
GROUP BY GROUPING SETS ((), (week))
"""

_SETS = "GROUPING SETS ((), (week), (priority), (channel), (reason))"
_LINE_GROUPS = {
    "part": "SELECT DISTINCT rma_id, part_id AS gid FROM rma_lines",
    "supplier": """SELECT DISTINCT l.rma_id, p.supplier_id AS gid FROM rma_lines l
        JOIN parts p ON p.id = l.part_id WHERE p.supplier_id IS NOT NULL""",
}
BREAKDOWNS_SQL = f"""
WITH c AS ({_CASES.format(columns="id, priority, channel, reason, ")}
)
SELECT 'requests' AS kind, week, priority, channel, reason, NULL AS dim, NULL::bigint AS gid,
    {_REQUESTS}
FROM ({_REQUESTED}) q
GROUP BY {_SETS}
UNION ALL
SELECT 'refunds', week, priority, channel, reason, NULL, NULL,
    {_REFUNDS}
FROM ({_REFUNDED}) r
GROUP BY {_SETS}""" + "".join(
    f"""
UNION ALL
SELECT 'requests', NULL, NULL, NULL, NULL, '{dim}', g.gid,
    {_REQUESTS}
FROM ({_REQUESTED}) q JOIN ({groups}) g ON g.rma_id = q.id
GROUP BY g.gid
UNION ALL
SELECT 'refunds', NULL, NULL, NULL, NULL, '{dim}', g.gid,
    {_REFUNDS}
FROM ({_REFUNDED}) r JOIN ({groups}) g ON g.rma_id = r.id
GROUP BY g.gid"""
    for dim, groups in _LINE_GROUPS.items()
)
