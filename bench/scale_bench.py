"""A year of a big seller: the metrics, the xlsx report, the desk queue and the RMA search over
a million RMAs on PostgreSQL, each beside its baseline measured in the same run.

    .venv/bin/python bench/scale_bench.py                      # 1,000,000 RMAs, scratch database
    .venv/bin/python bench/scale_bench.py --rmas 2000 --repeat 1 --lookups 5   # the CI smoke

Seeds with ``COPY`` (RMAs, lines, transitions, replacements), then prints:

- ``metrics summary``: ``GET /api/v1/metrics?include=weekly`` for the year (in-process Flask
  client, real token, JSON) over a plain SQL aggregate of the same headline figures (mean,
  median, p90 refund time, self-completion, disputes, response compliance, overall and by
  week: bench/metrics_sql.py's ``BASELINE_SQL``): goal <= 2;
- ``metrics api``: the whole report (``GET /api/v1/metrics``) over a plain SQL aggregate of
  the headline figures by every breakdown the report has (``BREAKDOWNS_SQL``): goal <= 2;
- ``metrics xlsx``: the report computed and written as a workbook, over the same aggregate;
- ``metrics memory``: the Python heap's peak (tracemalloc) for the year and for one month;
- ``desk queue`` / ``rma search``: first page p95 beside a ``SELECT 1`` round trip's p95.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import random
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import insert, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.databases import scratch_database  # noqa: E402
from bench.metrics_sql import BASELINE_SQL, BREAKDOWNS_SQL  # noqa: E402
from bootstrap import schema  # noqa: E402
from core.clock import FrozenClock  # noqa: E402
from core.db import make_engine  # noqa: E402
from inventory.models import Part, Supplier  # noqa: E402
from returns.metrics_maths import Period  # noqa: E402
from returns.metrics_sheets import write_report  # noqa: E402
from returns.metrics_sql import WORK_MEM  # noqa: E402
from returns.queries import RmaFilter  # noqa: E402

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
YEAR = Period(datetime(2025, 12, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))
MONTH = Period(datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC))
PARTS, SUPPLIERS = 500, 40
PRIORITIES = ("urgent", "high", "medium", "medium", "low")
CHANNELS = ("phone", "email", "web", "web", "marketplace", "portal")
REASONS = ("defective", "wrong_item", "missing_item", "damaged_in_transit", "not_as_described")
OPEN_STATES = ("authorised", "awaiting_pickup", "in_transit", "received", "inspected")


def at(rng: random.Random, start: datetime, days: float) -> datetime:
    return start + timedelta(seconds=rng.random() * days * 86400)


def seed(url: str, rmas: int, seed_value: int = 7) -> float:
    """Parts, suppliers, then ``rmas`` RMAs spread over the year, with one line each, the
    transitions the metrics read (received, disputed) and replacements; all by ``COPY``."""
    began = time.perf_counter()
    rng = random.Random(seed_value)
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(
            insert(Supplier.__table__),
            [
                {"id": i, "code": f"SUP{i:02d}", "name": f"Supplier {i}", "created_at": NOW}
                for i in range(1, SUPPLIERS + 1)
            ],
        )
        connection.execute(
            insert(Part.__table__),
            [
                {"id": i, "sku": f"P-{i:05d}", "sku_key": f"P-{i:05d}", "name": f"Part {i}",
                 "supplier_id": i % SUPPLIERS + 1, "created_at": NOW, "updated_at": NOW}
                for i in range(1, PARTS + 1)
            ],
        )  # fmt: skip
    engine.dispose()
    span = (YEAR.end - YEAR.start).days
    with psycopg.connect(_plain(url)) as connection, connection.cursor() as cursor:
        with cursor.copy(
            "COPY rmas (id, number, status, customer_name, customer_email, vip, channel, reason,"
            " description, resolution, priority, currency, refund_status, refund_amount_minor,"
            " created_by, created_at, updated_at, refund_released_at, satisfaction,"
            " confirmed_fixed, first_response_due_at, first_response_at, resolution_due_at,"
            " resolved_at) FROM STDIN"
        ) as rma_copy:
            transitions: list[tuple[Any, ...]] = []
            replacements: list[tuple[Any, ...]] = []
            for i in range(1, rmas + 1):
                created = YEAR.start + timedelta(seconds=span * 86400 * (i - 0.5) / rmas)
                recent = NOW - created < timedelta(days=14)
                disputed = rng.random() < 0.02
                status = rng.choice(OPEN_STATES) if recent else "closed"
                status = "disputed" if disputed and not recent else status
                released = at(rng, created + timedelta(hours=6), 12) if rng.random() < 0.7 else None
                released = released if released is not None and released < NOW else None
                answered = at(rng, created, 1.7) if rng.random() < 0.97 else None
                resolved = at(rng, created + timedelta(days=1), 10) if not recent else None
                rma_copy.write_row((
                    i, f"RMA-{i:07d}", status, f"Customer {rng.randint(1, 10**6)}",
                    f"customer{i}@shop{i % 1000}.example", False, rng.choice(CHANNELS),
                    rng.choice(REASONS), "", "refund", rng.choice(PRIORITIES), "EUR",
                    "released" if released else "pending", 4999, "bench", created, created,
                    released, rng.randint(1, 5) if rng.random() < 0.2 else None,
                    rng.random() < 0.8 if rng.random() < 0.1 else None,
                    created + timedelta(days=1), answered, created + timedelta(days=7), resolved,
                ))  # fmt: skip
                if rng.random() < 0.4:
                    transitions.append((i, "status", "in_transit", "received", "bench", "",
                                        at(rng, created + timedelta(days=2), 6)))  # fmt: skip
                if disputed and not recent:
                    transitions.append((i, "status", "received", "disputed", "bench", "",
                                        at(rng, created + timedelta(days=8), 4)))  # fmt: skip
                if rng.random() < 0.05:
                    shipped = at(rng, created, 3)
                    replacements.append((i, i, "P-00001", 1, "shipped", created, shipped))
        with cursor.copy(
            "COPY rma_lines (id, rma_id, part_id, sku, qty, unit_price, received_qty) FROM STDIN"
        ) as line_copy:
            for i in range(1, rmas + 1):
                part = (i * 7919) % PARTS + 1
                line_copy.write_row((i, i, part, f"P-{part:05d}", 1, "49.99", 0))
        with cursor.copy(
            "COPY rma_transitions (rma_id, kind, from_status, to_status, actor, reason, at)"
            " FROM STDIN"
        ) as transition_copy:
            for row in transitions:
                transition_copy.write_row(row)
        with cursor.copy(
            "COPY replacements (rma_id, line_id, sku, qty, status, queued_at, shipped_at)"
            " FROM STDIN"
        ) as replacement_copy:
            for row in replacements:
                replacement_copy.write_row(row)
        for table in ("suppliers", "parts", "rmas", "rma_lines", "rma_transitions", "replacements"):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT coalesce(max(id), 1) FROM {table}))"
            )
        connection.commit()
        connection.autocommit = True
        cursor.execute("VACUUM ANALYZE")
    return time.perf_counter() - began


def _plain(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def best_pair(
    first: Callable[[], Any], second: Callable[[], Any], repeat: int
) -> tuple[float, float]:
    """The best time of each, run alternately, so a burst of load elsewhere hits both alike."""
    best = [float("inf"), float("inf")]
    for _ in range(repeat):
        for index, action in enumerate((first, second)):
            start = time.perf_counter()
            action()
            best[index] = min(best[index], time.perf_counter() - start)
    return best[0], best[1]


def p95(action: Callable[[], Any], count: int) -> float:
    timings = []
    for _ in range(count):
        start = time.perf_counter()
        action()
        timings.append(time.perf_counter() - start)
    return sorted(timings)[max(0, round(0.95 * len(timings)) - 1)] * 1000


def peak_memory(action: Callable[[], Any]) -> float:
    """The Python heap's peak while ``action`` runs, in MB."""
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


@contextlib.contextmanager
def application(url: str) -> Iterator[tuple[Any, str]]:
    """The web app on ``url`` at the frozen clock, and an admin's API token."""
    from accounts.models import Role
    from web import create_app

    app = create_app(
        {"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "scale-bench",
         "LOG_LEVEL": "WARNING", "CLOCK": FrozenClock(NOW), "RATELIMIT_ENABLED": False}
    )  # fmt: skip
    services = app.extensions["spareflow"]
    email = f"admin-{time.time_ns()}@scale.example"
    services.auth.create_user(email, Role.ADMIN, "a long bench password")
    token = services.auth.create_token(email, "bench")[1]
    try:
        yield app, token
    finally:
        services.close()


def run(url: str, rmas: int, repeat: int, lookups: int, seeded: bool = False) -> list[str]:
    schema.upgrade(url)
    if seeded:
        lines = [f"seeded     {rmas:,} RMAs before (--seeded)"]
    else:
        lines = [f"seeded     {rmas:,} RMAs by COPY in {seed(url, rmas):.1f} s"]
    print(lines[0])

    class Printed(list[str]):
        def append(self, line: str) -> None:  # each figure as soon as it is measured
            print(line)
            super().append(line)

    lines = Printed(lines)
    engine = make_engine(url)
    params = {"start": YEAR.start, "end": YEAR.end, "now": NOW}
    with application(url) as (app, token):
        services = app.extensions["spareflow"]
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}"}
        query = f"/api/v1/metrics?from={YEAR.first_day}&to={YEAR.last_day}"

        def api() -> None:
            response = client.get(query, headers=headers)
            assert response.status_code == 200, response.text

        def plain(sql: str) -> Callable[[], None]:
            def aggregate() -> None:
                with engine.begin() as connection:
                    # As the report runs (returns/metrics_sql.py): no JIT, the sorts in memory.
                    connection.execute(text("SET LOCAL jit = off"))
                    connection.execute(text(f"SET LOCAL work_mem = '{WORK_MEM}'"))
                    connection.execute(text(sql), params).all()

            return aggregate

        def summary() -> None:
            response = client.get(query + "&include=weekly", headers=headers)
            assert response.status_code == 200, response.text

        def workbook(period: Period = YEAR) -> None:
            write_report(services.metrics.report(period), io.BytesIO())

        t_api, t_base = best_pair(summary, plain(BASELINE_SQL), repeat)
        lines.append(f"metrics summary {t_api:.2f} s for a year (include=weekly); plain SQL "
                     f"aggregate {t_base:.2f} s; ratio {t_api / t_base:.2f} "
                     f"(goal <= 2)")  # fmt: skip
        t_api, t_base = best_pair(api, plain(BREAKDOWNS_SQL), repeat)
        lines.append(f"metrics api   {t_api:.2f} s for a year (every section); plain SQL, "
                     f"every breakdown, aggregate {t_base:.2f} s; ratio {t_api / t_base:.2f} "
                     f"(goal <= 2)")  # fmt: skip
        t_xlsx, t_base = best_pair(workbook, plain(BREAKDOWNS_SQL), repeat)
        lines.append(f"metrics xlsx  {t_xlsx:.2f} s for a year; plain SQL, every breakdown, "
                     f"aggregate {t_base:.2f} s; ratio {t_xlsx / t_base:.2f} "
                     f"(goal <= 2)")  # fmt: skip
        year_mb = peak_memory(workbook)
        month_mb = peak_memory(lambda: workbook(MONTH))
        lines.append(f"metrics memory  peak {year_mb:.1f} MB for the year; {month_mb:.1f} MB "
                     f"for a month (flat: the rows stay in PostgreSQL)")  # fmt: skip

        queries = services.rma_queries
        with engine.connect() as connection:
            # The heap's peak is measured above; a connection for the round trip.
            def select_one() -> None:
                connection.execute(text("SELECT 1")).all()

            rtt = p95(select_one, lookups * 4)
        needle = f"customer{rmas // 3}@"
        searches = {
            "desk queue": lambda: queries.desk_queue(),
            "rma list, newest": lambda: queries.matching(RmaFilter()),
            "rma search, one customer": lambda: queries.matching(RmaFilter(customer=needle)),
            "rma search, common": lambda: queries.matching(RmaFilter(customer="shop7")),
        }
        for name, action in searches.items():
            action()  # warm
            took = p95(action, lookups)
            lines.append(f"{name:<26} first page p95 {took:.1f} ms (goal < 100); "
                         f"SELECT 1 p95 {rtt:.2f} ms")  # fmt: skip
    engine.dispose()
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="a PostgreSQL server (a scratch database is made and dropped there)",
    )
    parser.add_argument("--in-database", help="an existing, empty database to use instead")
    parser.add_argument("--rmas", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="alternating timings (best of)")
    parser.add_argument("--lookups", type=int, default=40, help="timed first pages per query")
    parser.add_argument(
        "--seeded", action="store_true", help="the --in-database is seeded already: measure only"
    )
    options = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    database = (
        contextlib.nullcontext(options.in_database)
        if options.in_database
        else scratch_database(options.database_url, "spareflow_scale")
    )
    with database as url:
        run(url, options.rmas, options.repeat, options.lookups, options.seeded)
    return 0


if __name__ == "__main__":
    sys.exit(main())
