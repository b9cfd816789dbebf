"""CPU per request in one process: the API's requests against their baselines, no HTTP.

The figures of ``make bench`` come from wrk against gunicorn, which on a shared machine are
dominated by the other work on it. This script measures what the app itself costs: each
request through Flask's test client, ``time.process_time`` (this process's CPU, so other work
on the machine does not count), the kinds interleaved round by round, best round of each.
SQLite runs in this process; on PostgreSQL (on this host) the CPU of the database's server
processes is read from ``/proc/<pid>/schedstat`` and reported beside, and added in the ratios.

``bare-update`` is the order's baseline: the conditional ``UPDATE stock_levels SET reserved =
reserved + 1 WHERE ... AND on_hand - reserved >= 1`` on its own autocommitted DB-API
connection (sqlite3 or psycopg), ``ORDER_LINES`` of them per "request", so its figure per line
compares with ``order20``'s per line.

    .venv/bin/python bench/request_cpu.py                    # SQLite in a temporary folder
    .venv/bin/python bench/request_cpu.py --database-url postgresql://postgres@127.0.0.1:5432/postgres
    .venv/bin/python bench/request_cpu.py --profile reserve  # cProfile of one kind, top 40
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import os
import pstats
import random
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.databases import scratch_database  # noqa: E402
from bench.harness import (  # noqa: E402
    RETURN_ADDRESS,
    SECRET,
    event_body,
    seeding_services,
    signed_headers,
    stock_parts,
    tokens,
)
from bootstrap import schema  # noqa: E402

SKUS = [f"CPU-{n:03d}" for n in range(40)]
ORDER_LINES = 20
RNG = random.Random(22)  # noqa: S311 (which part to reserve, not a secret)


def build_client(database_url: str) -> Any:
    os.environ.update(
        {
            "DATABASE_URL": database_url,
            "SECRET_KEY": "cpu-bench-secret",
            "SPAREFLOW_LOG_LEVEL": "WARNING",
            "SPAREFLOW_SANDBOX_WEBHOOK_SECRET": SECRET,
            "SPAREFLOW_CARRIERS_SANDBOX": "true",
            "SPAREFLOW_RETURNS_ADDRESS": __import__("json").dumps(RETURN_ADDRESS),
            "SPAREFLOW_CARRIER_EVENTS_APPLY": "worker",
        }
    )
    from bench.bench_app import create_app

    return create_app().test_client()


@contextlib.contextmanager
def bare_connection(url: str) -> Iterator[Any]:
    """An autocommitted DB-API connection to the scratch database, as the bare loop uses."""
    if url.startswith("postgresql"):
        import psycopg

        with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as c:
            yield c
        return
    import sqlite3

    connection = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    for pragma in ("foreign_keys=ON", "journal_mode=WAL", "synchronous=NORMAL"):
        connection.execute(f"PRAGMA {pragma}")  # as core.db sets every app connection
    try:
        yield connection
    finally:
        connection.close()


def bare_update(connection: Any, url: str) -> Callable[[int], Any]:
    """``ORDER_LINES`` bare conditional UPDATEs of random levels, one transaction each."""
    statement = (
        "UPDATE stock_levels SET reserved = reserved + 1 WHERE part_id = ? AND "
        "location_id = ? AND on_hand - reserved >= 1"
    )
    if url.startswith("postgresql"):
        statement = statement.replace("?", "%s")
    levels = list(connection.execute("SELECT part_id, location_id FROM stock_levels").fetchall())

    def call(_: int) -> None:
        for _line in range(ORDER_LINES):
            updated = connection.execute(statement, RNG.choice(levels)).rowcount
            assert updated == 1, "the bare loop ran out of stock"

    return call


class ServerCpu:
    """CPU seconds used so far by the PostgreSQL server processes serving one database (on
    this host: ``/proc/<pid>/schedstat``); always 0 for SQLite, which runs in this process."""

    def __init__(self, url: str):
        self.url = url if url.startswith("postgresql") else ""
        self.pids: list[int] = []

    def refresh(self) -> None:
        """Find the database's server processes now (outside any measured span)."""
        if not self.url:
            return
        import psycopg

        with psycopg.connect(self.url.replace("postgresql+psycopg", "postgresql")) as c:
            rows = c.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND backend_type = 'client backend' "
                "AND pid <> pg_backend_pid()"
            ).fetchall()
        self.pids = [pid for (pid,) in rows]

    def seconds(self) -> float:
        total = 0
        for pid in self.pids:
            with contextlib.suppress(OSError):
                total += int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])
        return total / 1e9


def requests(client: Any, token: str) -> dict[str, Callable[[int], Any]]:
    auth = {"Authorization": f"Bearer {token}"}
    stamp = datetime.now(UTC)

    def post(path: str, body: Any, status: int) -> Callable[[int], Any]:
        def call(_: int) -> None:
            response = client.post(path, json=body() if callable(body) else body, headers=auth)
            assert response.status_code == status, (path, response.status_code, response.data)

        return call

    def webhook(path: str) -> Callable[[int], Any]:
        def call(n: int) -> None:
            body = event_body(f"CPUSTRAY{n:08d}{RNG.randrange(10**9)}", "in_transit", stamp)
            response = client.post(path, data=body, headers=signed_headers(body))
            assert response.status_code == 200, (path, response.status_code, response.data)

        return call

    def one() -> dict[str, Any]:
        return {"sku": RNG.choice(SKUS), "qty": 1, "reference": "CPU"}

    def order() -> dict[str, Any]:
        lines = [{"sku": RNG.choice(SKUS), "qty": 1} for _ in range(ORDER_LINES)]
        return {"reference": "CPU", "lines": lines}

    return {
        "bare-json": post("/bench/bare-json", {"sku": SKUS[0], "qty": 1}, 201),
        "noop-auth": post("/bench/noop-authenticated", {"sku": SKUS[0], "qty": 1}, 201),
        "reserve": post("/api/v1/reservations", one, 201),
        "order20": post("/api/v1/reservations/batch", order, 201),
        "bare-webhook": webhook("/bench/bare-webhook/sandbox"),
        "webhook": webhook("/webhooks/carriers/sandbox"),
    }


def measure(
    calls: dict[str, Callable[[int], Any]], count: int, rounds: int, server: ServerCpu
) -> dict[str, tuple[float, float]]:
    """{kind: best round's (CPU seconds per request here, of the database server)}, the best
    round by their sum."""
    best = dict.fromkeys(calls, (float("inf"), 0.0))
    for call in calls.values():  # warm-up: every path imported, every cache filled
        for n in range(5):
            call(n)
    for round_number in range(rounds):
        server.refresh()
        for kind, call in calls.items():
            began, served = time.process_time(), server.seconds()
            for n in range(count):
                call(round_number * count + n)
            here = (time.process_time() - began) / count
            there = (server.seconds() - served) / count
            if here + there < sum(best[kind]):
                best[kind] = (here, there)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="")
    parser.add_argument("--count", type=int, default=100, help="requests per kind per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", default="", help="profile this kind instead")
    parser.add_argument("--profile-file", default="", help="also write the profile here")
    options = parser.parse_args()
    with scratch_database(options.database_url, "spareflow_cpu") as url:
        schema.upgrade(url)
        seeding = seeding_services(url)
        try:
            stock_parts(seeding, dict.fromkeys(SKUS, 1_000_000))
            token = tokens(seeding)["warehouse"]
        finally:
            seeding.close()
        client = build_client(url)
        with bare_connection(url) as connection:
            calls = {**requests(client, token), "bare-update": bare_update(connection, url)}
            if options.profile:
                return profile(calls[options.profile], options.count, options.profile_file)
            best = measure(calls, options.count, options.rounds, ServerCpu(url))
    report(best, "PostgreSQL" if url.startswith("postgresql") else "SQLite", options)
    return 0


def profile(call: Callable[[int], Any], count: int, into: str) -> int:
    for n in range(5):
        call(n)
    profiler = cProfile.Profile(time.process_time)  # CPU, not waits
    profiler.enable()
    for n in range(count):
        call(100 + n)
    profiler.disable()
    if into:
        profiler.dump_stats(into)
    stats = pstats.Stats(profiler).sort_stats("cumulative")
    stats.print_stats(45)
    stats.sort_stats("tottime").print_stats(25)
    return 0


def report(best: dict[str, tuple[float, float]], database: str, options: Any) -> None:
    total = {kind: here + there for kind, (here, there) in best.items()}
    print(f"CPU per request, {database}, best of {options.rounds} rounds of {options.count}:")
    print(f"  {'':<13} {'here':>8} {'server':>8} {'total':>8}")
    for kind, (here, there) in best.items():
        figures = " ".join(f"{seconds * 1000:5.2f} ms" for seconds in (here, there, total[kind]))
        print(f"  {kind:<13} {figures}")
    ratios = (
        ("reserve / noop-auth rate (goal >= 0.5)", total["noop-auth"] / total["reserve"]),
        (
            "order20 / bare-update rate per line (goal >= 0.3)",
            total["bare-update"] / total["order20"],
        ),
        ("noop-auth / bare-json rate", total["bare-json"] / total["noop-auth"]),
        ("webhook ingest / bare webhook rate", total["bare-webhook"] / total["webhook"]),
        ("order20 per line (ms)", total["order20"] * 1000 / ORDER_LINES),
        ("bare-update per line (ms)", total["bare-update"] * 1000 / ORDER_LINES),
    )
    for name, value in ratios:
        print(f"  {name:<50} {value:.2f}")


if __name__ == "__main__":
    raise SystemExit(main())
