"""The benchmarks, in one command: every figure a ratio against a baseline measured in the
same run, on the same machine, at the same time.

    .venv/bin/python bench/run.py                      # or: make bench
    .venv/bin/python bench/run.py --seconds 5 --reorder-parts 0     # a quick look

It creates a scratch database (``spareflow_bench_<random>``) on the PostgreSQL server of
``--database-url`` (default: ``$SPAREFLOW_TEST_DATABASE_URL``, else the local server), starts
gunicorn with four workers, a scheduler and one event applier per CPU on loopback, seeds what
it needs, and measures:

1. webhooks: signed sandbox-carrier events through the full path against a bare endpoint on
   the same server that only verifies the signature and answers 200. Webhooks only store
   (``CARRIER_EVENTS_APPLY=worker``); each round sends with the appliers paused (ingestion:
   verify, keep the delivery, store the events, 2xx), then lets them apply everything
   (applying: shipments and RMAs move, refunds are queued). End to end = events over both
   times together. Goal >= 0.5.
2. reservations: reservations per second through ``POST /api/v1/reservations`` against a
   bare conditional ``UPDATE stock_levels ... WHERE on_hand - reserved >= 1`` loop, one
   transaction each, on the same PostgreSQL, with as many clients; and, as the ceiling of any
   HTTP reservation, an endpoint that only reads the JSON body and answers 201. Goal >= 0.3.
3. latency: p50/p99 of the main API calls, 16 concurrent clients in a mixed workload.
4. reorder: bench/reorder_bench.py (suggestions against a plain SQL aggregate, the export
   against bare openpyxl, the nightly recompute with the fill-rate plan against without) on
   the same server, with ``--reorder-parts`` parts.

It prints a table and exits 0, whatever the figures; nonzero only when something crashed.
Loopback only. Between two and five minutes with the defaults.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import psycopg  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench import cpu_use, wrk  # noqa: E402
from bench.apply_curve import curve  # noqa: E402
from bench.databases import scratch_database  # noqa: E402
from bench.harness import (  # noqa: E402
    Stack,
    authorised_returns,
    event_body,
    seeding_services,
    signed_headers,
    spareflow_command,
    stack,
    stock_parts,
    tokens,
)
from bench.load import EventSource, check, closed_loop, expect, percentile  # noqa: E402
from bootstrap import schema  # noqa: E402
from carriers.services import APPLY_BATCH  # noqa: E402

CLIENTS = 8
#: The appliers' rest once they have drained the queue (``--interval``; 1 s by default): the
#: events that arrive meanwhile make the next batch. Shorter, they would apply small batches.
APPLIER_REST = "0.25"
WORKERS = 4
#: One per CPU: they share the stored events (SKIP LOCKED), each in its own process.
#: Two per CPU by default: each spends about half its time waiting for the database.
APPLIERS = 2 * (os.cpu_count() or 2)
LATENCY_CLIENTS = 16
PARTS = 40
#: Enough parcels that a quiet machine's rounds send known parcels' events, not only strays.
RMAS = 10_000
#: Lines per order in the order-reservation benchmark.
ORDER_LINES = 20
BIN = "MAIN/A-01-01"


# --- the measurements --------------------------------------------------------------------


def webhooks(
    base: str,
    parcels: list[str],
    database_url: str,
    appliers: list[subprocess.Popen[bytes]],
    seconds: float,
    rounds: int,
    folder: Path,
) -> dict[str, Any]:
    """Four figures from one run of the full path, each round in three steps:

    1. ingestion: the appliers are paused (SIGSTOP) while wrk sends, so the window
       measures what a carrier sees: verify, keep the raw delivery, store the events, 2xx;
    2. applying: the appliers resume (SIGCONT) and the clock runs until no event waits;
    3. live: wrk sends more events with the appliers running, as on a site, and the clock
       runs from the first request until the last event sent is applied.

    End to end is the events sent over the times together, steps 1 and 2 ("serial"), and
    step 3 alone ("live"): the rate at which this machine takes in events *and* applies them
    (moves shipments and RMAs, queues refunds). Serial adds up each side's own time, so
    neither uses the CPU the other leaves idle; live is what a carrier's burst meets."""
    events = EventSource(parcels)
    bare_bodies = [
        event_body(f"SBXBARE{n:06d}", "in_transit", datetime.now(UTC)) for n in range(64)
    ]
    url = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)

    def pending(connection: psycopg.Connection[Any]) -> int:
        return connection.execute(
            "select count(*) from carrier_events where outcome = 'pending'"
        ).fetchone()[0]

    # Enough distinct events for a round at well above the rates this machine reaches.
    per_round = max(500, int(3000 * seconds))
    # Totals over the rounds, not the best round: the events differ from round to round
    # (pickups first, strays once the parcels are used up), so every round counts.
    sent = bare_sent = 0
    bare_time = ingest_time = apply_time = live_time = 0.0
    live_sent = 0
    cpu: dict[str, list[float]] = {"bare": [], "ingest": [], "live": []}
    # Machine CPU seconds by kind of process, per step, over the rounds: where the cost goes.
    spent: dict[str, Counter[str]] = {
        step: Counter() for step in ("bare", "ingest", "apply", "live")
    }

    @contextlib.contextmanager
    def counted(step: str) -> Iterator[None]:
        before = cpu_use.snapshot()
        try:
            yield
        finally:
            spent[step] += cpu_use.used(before, cpu_use.snapshot())

    def send_events(name: str, paused: bool, step: str) -> wrk.Load:
        """wrk sends fresh events for ``seconds``, with the appliers paused or running."""
        bodies = [events.next() for _ in range(per_round)]
        script = wrk.signed_script(folder, name, "/webhooks/carriers/sandbox", bodies)
        for applier in appliers if paused else ():
            applier.send_signal(signal.SIGSTOP)
        try:
            with counted(step):
                load = wrk.run(base, script, seconds, CLIENTS)
            spent[step]["wrk"] += load.cpu_seconds  # ended before the count: added here
        finally:
            for applier in appliers if paused else ():
                applier.send_signal(signal.SIGCONT)
        wrk.check(load, name)
        if load.requests >= per_round:
            raise RuntimeError("wrk sent every prepared event: prepare more per round")
        # Those not sent go back: the next step starts where this one stopped (wrk may have
        # had a few more in flight; a duplicate is absorbed by the dedupe key).
        events.index -= per_round - load.requests - CLIENTS
        return load

    def drain(connection: psycopg.Connection[Any]) -> float:
        """Seconds until no stored event waits."""
        began = time.perf_counter()
        while pending(connection):
            if any(applier.poll() is not None for applier in appliers):
                raise RuntimeError("an applier stopped; see its log above")
            time.sleep(0.02)
        return time.perf_counter() - began

    with psycopg.connect(url, autocommit=True) as connection:
        for number in range(rounds):  # alternating: a burst elsewhere hits both alike
            script = wrk.signed_script(
                folder, "bare-hook", "/bench/bare-webhook/sandbox", bare_bodies
            )
            with counted("bare"):
                load = wrk.run(base, script, seconds, CLIENTS)
            spent["bare"]["wrk"] += load.cpu_seconds  # ended before the count: added here
            wrk.check(load, "bare webhook")
            bare_sent, bare_time = bare_sent + load.requests, bare_time + load.seconds
            cpu["bare"].append(load.cpu_share)
            # 1. and 2.: ingestion with the appliers paused, then applying alone.
            load = send_events(f"hook-{number}", paused=True, step="ingest")
            sent, ingest_time = sent + load.requests, ingest_time + load.seconds
            cpu["ingest"].append(load.cpu_share)
            with counted("apply"):
                apply_time += drain(connection)
            # 3. live: the same again with the appliers running, as a site runs: the clock
            # stops when the last event sent is applied.
            load = send_events(f"live-{number}", paused=False, step="live")
            live_sent += load.requests
            with counted("live"):
                live_time += load.seconds + drain(connection)
            cpu["live"].append(load.cpu_share)
        outcomes = dict(
            connection.execute("select outcome, count(*) from carrier_events group by outcome")
        )
    return {
        "bare": bare_sent / bare_time,
        "ingest": sent / ingest_time,
        "apply": sent / apply_time,
        "full": sent / (ingest_time + apply_time),
        "live": live_sent / live_time,
        "events": events.index,
        "outcomes": outcomes,
        "cpu": {key: max(values) for key, values in cpu.items()},
        "spent": {
            "bare": _per_event(spent["bare"], bare_sent),
            "ingest": _per_event(spent["ingest"], sent),
            "apply": _per_event(spent["apply"], sent),
            "live": _per_event(spent["live"], live_sent),
        },
    }


def _per_event(spent: Counter[str], events: int) -> dict[str, float]:
    """Milliseconds of CPU per event, by kind of process."""
    return {group: seconds * 1000 / max(events, 1) for group, seconds in spent.items()}


def reservations(
    base: str, token: str, database_url: str, seconds: float, rounds: int, folder: Path
) -> dict[str, Any]:
    """Single reservations against an authenticated no-op, order reservations (20 lines)
    against the bare conditional UPDATE loop per line; best of ``rounds`` each, all HTTP load
    from wrk."""
    skus = [f"BENCH-{n:03d}" for n in range(PARTS)]
    scripts = {
        "api": wrk.json_script(folder, "reserve", "/api/v1/reservations", token, skus, 0, "B"),
        "noop": wrk.json_script(folder, "noop", "/bench/noop-authenticated", token, skus, 0, "B"),
        "http": wrk.json_script(folder, "bare-json", "/bench/bare-json", token, skus, 0, "B"),
        "order": wrk.json_script(
            folder, "order", "/api/v1/reservations/batch", token, skus, ORDER_LINES, "B"
        ),
    }
    url = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url, autocommit=True) as connection:
        levels = connection.execute(
            "select part_id, location_id from stock_levels l join parts p on p.id = l.part_id "
            "where p.sku like 'BENCH-%'"
        ).fetchall()

    def bare(number: int) -> Callable[[], Any]:
        connection = psycopg.connect(url, autocommit=True)
        rng = random.Random(number)

        def call() -> None:
            part, location = rng.choice(levels)
            updated = connection.execute(
                "update stock_levels set reserved = reserved + 1 where part_id = %s and "
                "location_id = %s and on_hand - reserved >= 1",
                (part, location),
            ).rowcount
            if updated != 1:
                raise RuntimeError("the bare loop ran out of stock")

        return call

    best: dict[str, float] = {"bare": 0.0}
    cpu: dict[str, float] = {}
    for _ in range(rounds):
        count, elapsed, errors = closed_loop(CLIENTS, seconds, bare)
        check(errors, "bare UPDATE")
        best["bare"] = max(best["bare"], count / elapsed)
        for name, script in scripts.items():
            load = wrk.run(base, script, seconds, CLIENTS)
            wrk.check(load, name)
            rate = load.rate * (ORDER_LINES if name == "order" else 1)
            if rate > best.get(name, 0.0):
                best[name], cpu[name] = rate, load.cpu_share
    return {**best, "cpu": cpu}


def latencies(
    base: str, tokens_by_role: dict[str, str], rmas: list[str], parcels: list[str], seconds: float
) -> dict[str, list[float]]:
    """16 clients, each picking its next call at random from the main API calls."""
    skus = [f"BENCH-{n:03d}" for n in range(PARTS)]
    late = datetime.now(UTC)
    spare = iter(range(10**9))
    spare_lock = threading.Lock()
    timings: dict[str, list[float]] = {}
    record = threading.Lock()

    def make(number: int) -> Callable[[], Any]:
        desk = httpx.Client(
            base_url=base,
            timeout=60,
            headers={"Authorization": f"Bearer {tokens_by_role['admin']}"},
        )
        rng = random.Random(1000 + number)

        def webhook() -> httpx.Response:
            with spare_lock:
                n = next(spare)
            body = event_body(rng.choice(parcels), "delivered", late + timedelta(seconds=n))
            return desk.post(
                "/webhooks/carriers/sandbox", content=body, headers=signed_headers(body)
            )

        calls: list[tuple[str, Callable[[], httpx.Response], int]] = [
            ("GET /api/v1/parts?limit=50", lambda: desk.get("/api/v1/parts?limit=50"), 200),
            ("GET /api/v1/stock/{sku}", lambda: desk.get(f"/api/v1/stock/{rng.choice(skus)}"), 200),
            (
                "POST /api/v1/reservations",
                lambda: desk.post("/api/v1/reservations", json={"sku": rng.choice(skus), "qty": 1}),
                201,
            ),
            (
                "GET /api/v1/returns/{rma}",
                lambda: desk.get(f"/api/v1/returns/{rng.choice(rmas)}"),
                200,
            ),
            ("GET /api/v1/returns?limit=50", lambda: desk.get("/api/v1/returns?limit=50"), 200),
            ("POST /webhooks/carriers/sandbox", webhook, 200),
        ]

        def call() -> None:
            name, request, status = rng.choice(calls)
            began = time.perf_counter()
            expect(request(), status)
            took = time.perf_counter() - began
            with record:
                timings.setdefault(name, []).append(took)

        return call

    _, _, errors = closed_loop(LATENCY_CLIENTS, seconds, make)
    check(errors, "latency mix")
    return timings


def reorder(database_url: str, parts: int) -> dict[str, str]:
    """bench/reorder_bench.py in its own process on the same server; its ratio lines."""
    done = subprocess.run(  # noqa: S603
        [sys.executable, str(ROOT / "bench" / "reorder_bench.py"), "--database-url",
         database_url, "--parts", str(parts)],
        capture_output=True, text=True, timeout=900, check=True,
    )  # fmt: skip
    found = {}
    for line in done.stdout.splitlines():
        for key in ("suggestions", "export", "memory", "recompute"):
            if line.startswith(key):
                found[key] = line
    return found


def scale(database_url: str, rmas: int) -> list[tuple[str, str, str, str, str]]:
    """bench/scale_bench.py (a year of a big seller) in its own process and database; its
    figures as table rows, each with its goal, met or missed."""
    done = subprocess.run(  # noqa: S603
        [sys.executable, str(ROOT / "bench" / "scale_bench.py"), "--database-url",
         database_url, "--rmas", str(rmas)],
        capture_output=True, text=True, timeout=3600, check=True,
    )  # fmt: skip
    return scale_rows(done.stdout)


def scale_rows(output: str) -> list[tuple[str, str, str, str, str]]:
    rows = []
    for line in output.splitlines():
        print(f"           {line}")
        ratio = re.search(r"^(metrics \w+) +([\d.]+ s).*aggregate ([\d.]+ s); ratio ([\d.]+) "
                          r"\(goal <= ([\d.]+)\)", line)  # fmt: skip
        if ratio:
            met = "met" if float(ratio[4]) <= float(ratio[5]) else "MISSED"
            rows.append((f"{ratio[1]} for a year",
                         ratio[2], f"{ratio[3]} plain SQL", ratio[4],
                         f"<= {ratio[5]} {met}"))  # fmt: skip
        page = re.search(r"^(.+?) +first page p95 ([\d.]+) ms \(goal < (\d+)\); "
                         r"SELECT 1 p95 ([\d.]+) ms", line)  # fmt: skip
        if page:
            met = "met" if float(page[2]) < float(page[3]) else "MISSED"
            rows.append((f"{page[1]}, first page p95", f"{page[2]} ms",
                         f"SELECT 1 {page[4]} ms", "", f"< {page[3]} ms {met}"))  # fmt: skip
        memory = re.search(r"^metrics memory +peak ([\d.]+) MB for the year; ([\d.]+) MB", line)
        if memory:
            rows.append(("metrics report peak Python heap", f"{memory[1]} MB (year)",
                         f"{memory[2]} MB (month)", "", "flat in the RMAs"))  # fmt: skip
    return rows


# --- the run -----------------------------------------------------------------------------


def print_cpu_per_event(spent: dict[str, dict[str, float]]) -> None:
    """The machine's CPU per event in each step, by kind of process (ms)."""
    groups = [group for group, _ in sorted(spent["live"].items(), key=lambda item: -item[1])]
    groups += sorted({g for step in spent.values() for g in step} - set(groups))
    print("           CPU per event, ms (the whole machine, by process):")
    print("           " + f"{'':<30}" + "".join(f"{step:>8}" for step in spent))
    for group in [*groups, "total"]:
        figures = [
            sum(step.values()) if group == "total" else step.get(group, 0.0)
            for step in spent.values()
        ]
        print("           " + f"{group:<30}" + "".join(f"{value:8.3f}" for value in figures))


def goal(ratio: float, at_least: float) -> str:
    return f">= {at_least:g} {'met' if ratio >= at_least else 'MISSED'}"


def machine() -> str:
    cpu, memory = platform.processor() or "unknown CPU", 0
    with contextlib.suppress(OSError):
        info = Path("/proc/cpuinfo").read_text()
        cpu = next(
            (ln.split(":", 1)[1].strip() for ln in info.splitlines() if "model name" in ln), cpu
        )
        meminfo = Path("/proc/meminfo").read_text().split()
        memory = round(int(meminfo[meminfo.index("MemTotal:") + 1]) / 1024 / 1024)
    return f"{os.cpu_count()} CPUs ({cpu}), {memory} GB RAM, Python {platform.python_version()}"


@contextlib.contextmanager
def serving(
    database_url: str, folder: Path, rmas: int, apply_mode: str, appliers: int
) -> Iterator[tuple[Stack, dict[str, Any]]]:
    with stack(database_url, folder) as running:
        spareflow = seeding_services(database_url)
        try:
            by_role = tokens(spareflow)
            stock_parts(spareflow, {f"BENCH-{n:03d}": 1_000_000 for n in range(PARTS)}, BIN)
            stock_parts(spareflow, {"BENCH-RMA": 0})
            made = authorised_returns(spareflow, rmas, prefix="SBXBENCH", sku="BENCH-RMA")
        finally:
            spareflow.close()
        # The layout for busy sites by default: webhooks only store, the appliers apply.
        running.env["SPAREFLOW_CARRIER_EVENTS_APPLY"] = apply_mode
        running.start_refunds_sandbox()
        base = running.start_gunicorn(workers=WORKERS, app="bench.bench_app:create_app()")
        # The scheduler carries out the refunds; its own applier job stays out of the way.
        running.start_scheduler("scheduler", {"drain_outbox": 1, "apply_carrier_events": 3600})
        for number in range(appliers):  # dedicated appliers, as a busy site would run
            running.spawn(
                spareflow_command("carriers", "apply-events", "--loop", "--interval", APPLIER_REST),
                f"applier-{number}",
            )
        try:
            # The appliers and the scheduler start up (imports, connections) while the web
            # server is already answering: measuring now would measure them too.
            cpu_use.settle([process.pid for process in running.processes])
            warm_up(base, by_role["admin"])
            yield running, {"tokens": by_role, "rmas": made}
        except BaseException:
            for log in sorted(folder.glob("*.log")):  # what the processes said, for the diagnosis
                lines = log.read_text(errors="replace").splitlines()[-25:]
                print(f"--- {log.name}, last {len(lines)} lines", *lines, sep="\n")
            raise


def warm_up(base: str, token: str) -> None:
    """Every worker connects to the database and runs each kind of call once or twice before
    anything is measured (first requests open connections and fill caches)."""
    body = event_body("SBXWARM000001", "in_transit", datetime.now(UTC))

    def make(number: int) -> Callable[[], Any]:
        client = httpx.Client(
            base_url=base, timeout=60, headers={"Authorization": f"Bearer {token}"}
        )
        calls = [
            lambda: client.get("/api/v1/stock/BENCH-000"),
            lambda: client.get("/api/v1/returns?limit=5"),
            lambda: client.post(
                "/bench/bare-webhook/sandbox", content=body, headers=signed_headers(body)
            ),
            lambda: client.post(
                "/webhooks/carriers/sandbox", content=body, headers=signed_headers(body)
            ),
        ]
        turn = iter(range(10**9))

        def call() -> None:
            expect(calls[next(turn) % len(calls)](), 200)

        return call

    _, _, errors = closed_loop(CLIENTS, 2.0, make)
    check(errors, "warm-up")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get("SPAREFLOW_TEST_DATABASE_URL")
        or "postgresql://postgres@127.0.0.1:5432/postgres",
        help="a PostgreSQL server (the benchmark makes and drops its own database there)",
    )
    parser.add_argument("--seconds", type=float, default=10, help="per measurement (default 10)")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds (default 2)")
    parser.add_argument(
        "--reorder-parts", type=int, default=20_000, help="0 skips the reorder benchmark"
    )
    parser.add_argument(
        "--scale-rmas",
        type=int,
        default=1_000_000,
        help="RMAs of the scale benchmark (bench/scale_bench.py); 0 skips it",
    )
    parser.add_argument(
        "--in-database",
        help="run in this existing, empty database instead of a scratch one (nothing is "
        "created or dropped; the smoke test uses it)",
    )
    parser.add_argument(
        "--curve-parcels",
        type=int,
        default=200,
        help="RMAs per batch size for the apply curve (0 skips it)",
    )
    parser.add_argument(
        "--rmas", type=int, default=RMAS, help=f"authorised returns to seed (default {RMAS})"
    )
    parser.add_argument(
        "--appliers",
        type=int,
        default=APPLIERS,
        help=f"dedicated event appliers (default {APPLIERS}, two per CPU)",
    )
    parser.add_argument(
        "--apply",
        choices=["worker", "on_receipt"],
        default="worker",
        help="CARRIER_EVENTS_APPLY of the server (default worker: webhooks only store; "
        "on_receipt: each webhook request applies its events too, nothing is left to drain)",
    )
    options = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    print(f"machine    {machine()}")
    began = time.perf_counter()
    rows: list[tuple[str, str, str, str, str, str]] = []
    if options.curve_parcels:
        print(f"apply      per-event cost by CARRIER_EVENTS_BATCH, {options.curve_parcels} "
              "RMAs (pickup + in transit) per size, in this process")  # fmt: skip
        curve_database = (
            contextlib.nullcontext(options.in_database)
            if options.in_database
            else scratch_database(options.database_url, "spareflow_curve")
        )
        with curve_database as curve_url:
            schema.upgrade(curve_url)
            costs = curve(curve_url, options.curve_parcels)
        for size, seconds in costs.items():
            print(f"           batch {size:>4}: {seconds * 1000:6.2f} ms per event")
            rows.append((f"applying stored events, batch of {size} (ms per event)",
                         f"{seconds * 1000:.2f}", "", "", "", ""))  # fmt: skip
    database = (
        contextlib.nullcontext(options.in_database)
        if options.in_database
        else scratch_database(options.database_url, "spareflow_bench")
    )
    with (
        tempfile.TemporaryDirectory() as folder,
        tempfile.TemporaryDirectory() as scripts,
        database as url,
        serving(url, Path(folder), options.rmas, options.apply, options.appliers) as (
            running,
            seeded,
        ),
    ):
        with psycopg.connect(
            make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        ) as connection:
            version = connection.execute("select version()").fetchone()[0].split(",")[0]
            kind = "given" if options.in_database else "scratch"
            print(f"database   {make_url(url).database} ({kind}) on {version}")
        base = running.web[0]
        work = Path(scripts)
        print(f"server     gunicorn -w {WORKERS} at {base}, a scheduler and "
              f"{options.appliers} event appliers; wrk: 1 thread, {CLIENTS} connections, "
              "pinned to the last CPU; "
              f"{options.seconds:g} s per measurement, "
              f"{options.rounds} alternating rounds")  # fmt: skip
        parcels = [str(tracking) for _, tracking in seeded["rmas"]]

        appliers = running.processes[-options.appliers :]
        hooks = webhooks(base, parcels, url, appliers, options.seconds, options.rounds, work)
        share = hooks["cpu"]
        ratio = hooks["full"] / hooks["bare"]
        ingest = hooks["ingest"] / hooks["bare"]
        rows.append(("webhooks end to end: verify, store, apply (events/s)", f"{hooks['full']:.0f}",
                     f"{hooks['bare']:.0f} bare verify+200", f"{ratio:.2f}", goal(ratio, 0.5),
                     f"{share['ingest']:.0%} / {share['bare']:.0%}"))  # fmt: skip
        if options.apply == "worker":
            live = hooks["live"] / hooks["bare"]
            rows.append(("webhooks end to end, appliers running while events arrive (events/s)",
                         f"{hooks['live']:.0f}", f"{hooks['bare']:.0f} bare verify+200",
                         f"{live:.2f}", goal(live, 0.5),
                         f"{share['live']:.0%} / {share['bare']:.0%}"))  # fmt: skip
            print(f"           live: {hooks['live']:.0f}/s end to end with the appliers running; "
                  f"ratio {live:.2f}")  # fmt: skip
        print(f"webhooks   {hooks['full']:.0f}/s end to end, {hooks['bare']:.0f}/s bare; "
              f"ratio {ratio:.2f} (CARRIER_EVENTS_APPLY={options.apply}, "
              f"CARRIER_EVENTS_BATCH={APPLY_BATCH})")  # fmt: skip
        if options.apply == "worker":  # on receipt, the request applies: nothing to drain
            rows.append(("webhook ingestion: verify, store, 2xx (events/s)",
                         f"{hooks['ingest']:.0f}", f"{hooks['bare']:.0f} bare verify+200",
                         f"{ingest:.2f}", "(the request path alone)",
                         f"{share['ingest']:.0%} / {share['bare']:.0%}"))  # fmt: skip
            rows.append((f"webhook events applied by {options.appliers} appliers (events/s)",
                         f"{hooks['apply']:.0f}", "", "", "", ""))  # fmt: skip
            print(f"           ingestion {hooks['ingest']:.0f}/s (ratio {ingest:.2f}), applied "
                  f"{hooks['apply']:.0f}/s by {options.appliers} appliers")  # fmt: skip
        print_cpu_per_event(hooks["spent"])
        print(f"           {hooks['events']} distinct events prepared; stored by outcome: "
              f"{hooks['outcomes']}")  # fmt: skip

        booked = reservations(
            base, seeded["tokens"]["warehouse"], url, options.seconds, options.rounds, work
        )
        share = booked["cpu"]
        ratio = booked["api"] / booked["noop"]
        rows.append(("single reservation over HTTP (per s)", f"{booked['api']:.0f}",
                     f"{booked['noop']:.0f} authenticated no-op", f"{ratio:.2f}", goal(ratio, 0.5),
                     f"{share['api']:.0%} / {share['noop']:.0%}"))  # fmt: skip
        lines = booked["order"] / booked["bare"]
        rows.append((f"order reservation, {ORDER_LINES} lines a request (lines/s)",
                     f"{booked['order']:.0f}", f"{booked['bare']:.0f} bare UPDATE per line",
                     f"{lines:.2f}", goal(lines, 0.3), f"{share['order']:.0%} / -"))  # fmt: skip
        ceiling = booked["http"] / booked["noop"]
        rows.append(("unauthenticated JSON no-op (per s)", f"{booked['http']:.0f}",
                     f"{booked['noop']:.0f} authenticated no-op", f"{ceiling:.2f}",
                     "(what token authentication costs)", f"{share['http']:.0%}"))  # fmt: skip
        print(f"reserve    {booked['api']:.0f}/s single, {booked['noop']:.0f}/s authenticated "
              f"no-op: ratio {ratio:.2f}; {booked['order']:.0f} lines/s in orders of "
              f"{ORDER_LINES}, {booked['bare']:.0f}/s bare UPDATE: ratio {lines:.2f}")  # fmt: skip

        rmas = [number for number, _ in seeded["rmas"]]
        timings = latencies(base, seeded["tokens"], rmas, parcels, options.seconds)
        total = sum(len(v) for v in timings.values())
        print(f"latency    {LATENCY_CLIENTS} clients, {total} calls in {options.seconds:g} s "
              f"({total / options.seconds:.0f}/s):")  # fmt: skip
        for name, values in sorted(timings.items()):
            p50, p99 = percentile(values, 50) * 1000, percentile(values, 99) * 1000
            print(f"           {name:<34} n={len(values):>5}  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms")
            rows.append((f"latency {name}", f"p50 {p50:.0f} ms", f"p99 {p99:.0f} ms", "", "", ""))
        every = [v for values in timings.values() for v in values]
        if every:
            print(f"           all calls: mean {statistics.mean(every) * 1000:.1f} ms")

    if options.reorder_parts:
        print(
            f"reorder    bench/reorder_bench.py --parts {options.reorder_parts} (its own database)"
        )
        for line in reorder(options.database_url, options.reorder_parts).values():
            print(f"           {line}")
            match = re.search(r"ratio ([\d.]+) \(goal <= ([\d.]+)\)", line)
            if match:
                ratio, most = float(match[1]), float(match[2])
                rows.append((f"reorder {line.split()[0]}", "", "", f"{ratio:.2f}",
                             f"<= {most:g} {'met' if ratio <= most else 'MISSED'}",
                             ""))  # fmt: skip
            memory = re.search(
                r"([\d.]+) MB for ([\d,]+) rows; ([\d.]+) MB for ([\d,]+) rows", line
            )
            if memory:
                small = f"{memory[3]} MB, {memory[4]} rows"
                rows.append(("reorder export peak memory", f"{memory[1]} MB", small, "",
                             "< 300 MB, flat", ""))  # fmt: skip

    if options.scale_rmas:
        print(f"scale      bench/scale_bench.py --rmas {options.scale_rmas} (its own database)")
        rows += scale(options.database_url, options.scale_rmas)

    print()
    print("| benchmark | measured | baseline | ratio | goal | wrk CPU (measured / baseline) |")
    print("|---|---:|---:|---:|---|---:|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print(f"\nwhole run {time.perf_counter() - began:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
