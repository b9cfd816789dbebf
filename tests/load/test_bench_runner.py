"""The benchmark runner runs (briefly): CI keeps it working; its figures are not judged here.

Its HTTP load comes from wrk (Debian's; `make bench` installs it, as must CI). The reorder
and scale benchmarks are left out (``--reorder-parts 0 --scale-rmas 0``): each makes and drops
a database of its own, which costs a PostgreSQL checkpoint; run them with ``make bench``
(tests/load/test_scale_bench.py runs the scale one, small)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

from bench.harness import ROOT

# CI installs wrk (.ci/run) and must run this; a machine without it skips, saying how to get it.
pytestmark = pytest.mark.skipif(
    shutil.which("wrk") is None and not os.environ.get("CI"),
    reason="wrk is not installed (apt-get install wrk, or `make bench`)",
)


def test_the_benchmark_runner_measures_each_rate_against_its_baseline_and_prints_a_table(
    scratch_url: str,
) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--in-database", scratch_url,
         "--seconds", "1", "--rounds", "1", "--rmas", "20", "--reorder-parts", "0",
         "--scale-rmas", "0", "--curve-parcels", "5"],
        capture_output=True, text=True, timeout=300, check=False, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    table = {
        line.split("|")[1].strip(): [cell.strip() for cell in line.split("|")[2:-1]]
        for line in done.stdout.splitlines()
        if line.startswith("| ") and not line.startswith("| benchmark")
    }
    goals = {
        "webhooks end to end: verify, store, apply (events/s)": r">= 0\.5 (met|MISSED)",
        "webhooks end to end, appliers running while events arrive (events/s)": (
            r">= 0\.5 (met|MISSED)"
        ),
        "webhook ingestion: verify, store, 2xx (events/s)": r"\(the request path alone\)",
        "single reservation over HTTP (per s)": r">= 0\.5 (met|MISSED)",
        "order reservation, 20 lines a request (lines/s)": r">= 0\.3 (met|MISSED)",
        "unauthenticated JSON no-op (per s)": r"\(what token authentication costs\)",
    }
    for name, expected_goal in goals.items():
        measured, baseline, ratio, goal, load_cpu = table[name]
        # The load tool's own CPU share is reported beside each rate (wrk's rusage).
        assert re.fullmatch(r"\d+%( / (\d+%|-))?", load_cpu), load_cpu
        rate, base = float(measured), float(baseline.split()[0])
        assert rate > 0 and base > 0
        # Both rates are printed rounded to whole numbers (each off by up to 0.5), the ratio to
        # two decimals (off by up to 0.005): the errors add up.
        shown = rate / base
        assert abs(float(ratio) - shown) <= 0.005 + shown * (0.5 / rate + 0.5 / base) + 1e-9
        assert re.fullmatch(expected_goal, goal)
    # Ingestion alone is never slower than ingestion and applying together.
    end_to_end = float(table["webhooks end to end: verify, store, apply (events/s)"][0])
    assert float(table["webhook ingestion: verify, store, 2xx (events/s)"][0]) >= end_to_end
    (applied,) = [
        cells for name, cells in table.items() if name.startswith("webhook events applied")
    ]
    assert float(applied[0]) > 0
    latency = {name: cells for name, cells in table.items() if name.startswith("latency ")}
    assert latency  # a one-second run may miss one kind of call, never all of them
    # The per-event cost of applying stored events, for each batch size.
    for size in (1, 10, 50, 200):
        assert float(table[f"applying stored events, batch of {size} (ms per event)"][0]) > 0
    for p50, p99, *_ in latency.values():
        assert re.fullmatch(r"p50 \d+ ms", p50) and re.fullmatch(r"p99 \d+ ms", p99)
    # Where the machine's CPU went in each webhook step, by kind of process: the web server
    # and the database did work in every step that sent requests, and the total adds up.
    lines = done.stdout.splitlines()
    header = next(n for n, line in enumerate(lines) if "CPU per event, ms" in line)
    assert lines[header + 1].split() == ["bare", "ingest", "apply", "live"]
    spent = {}
    for line in lines[header + 2 :]:
        cells = line.split()
        if len(cells) < 5 or not re.fullmatch(r"[\d.]+", cells[-1]):
            break
        spent[" ".join(cells[:-4])] = [float(cell) for cell in cells[-4:]]
    for step in (0, 1, 3):  # bare, ingest, live
        assert spent["web server"][step] > 0 and spent["wrk"][step] > 0
    assert spent["PostgreSQL"][1] > 0  # ingestion stores every event
    groups = [cells for name, cells in spent.items() if name != "total"]
    for step in range(4):
        assert abs(sum(cells[step] for cells in groups) - spent["total"][step]) < 0.01
