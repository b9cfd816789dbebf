"""CPU per request in one process: the API's requests against their baselines, no HTTP.

The figures of ``make bench`` come from wrk against gunicorn, which on a shared machine are
dominated by the other work on it. This script measures what the app itself costs: each
request through Flask's test client, ``time.process_time`` (this process's CPU, so other work
on the machine does not count), the kinds interleaved round by round, best round of each.
The database server's own CPU (PostgreSQL) is not counted; SQLite runs in this process.

    .venv/bin/python bench/request_cpu.py                    # SQLite in a temporary folder
    .venv/bin/python bench/request_cpu.py --database-url postgresql://postgres@127.0.0.1:5432/postgres
    .venv/bin/python bench/request_cpu.py --profile reserve  # cProfile of one kind, top 40
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import random
import sys
import time
from collections.abc import Callable
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


def measure(calls: dict[str, Callable[[int], Any]], count: int, rounds: int) -> dict[str, float]:
    """{kind: best round's CPU seconds per request}."""
    best = dict.fromkeys(calls, float("inf"))
    for call in calls.values():  # warm-up: every path imported, every cache filled
        for n in range(5):
            call(n)
    for round_number in range(rounds):
        for kind, call in calls.items():
            began = time.process_time()
            for n in range(count):
                call(round_number * count + n)
            best[kind] = min(best[kind], (time.process_time() - began) / count)
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
        calls = requests(client, token)
        if options.profile:
            call = calls[options.profile]
            for n in range(5):
                call(n)
            profiler = cProfile.Profile()
            profiler.enable()
            for n in range(options.count):
                call(100 + n)
            profiler.disable()
            if options.profile_file:
                profiler.dump_stats(options.profile_file)
            stats = pstats.Stats(profiler).sort_stats("cumulative")
            stats.print_stats(45)
            stats.sort_stats("tottime").print_stats(25)
            return 0
        best = measure(calls, options.count, options.rounds)
    database = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    print(f"CPU per request, {database}, best of {options.rounds} rounds of {options.count}:")
    for kind, seconds in best.items():
        print(f"  {kind:<13} {seconds * 1000:7.2f} ms")
    ratios = (
        ("reserve / noop-auth rate (goal >= 0.5)", best["noop-auth"] / best["reserve"]),
        ("noop-auth / bare-json rate", best["bare-json"] / best["noop-auth"]),
        ("webhook ingest / bare webhook rate", best["bare-webhook"] / best["webhook"]),
        ("order20 per line (ms)", best["order20"] * 1000 / ORDER_LINES),
    )
    for name, value in ratios:
        print(f"  {name:<40} {value:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
