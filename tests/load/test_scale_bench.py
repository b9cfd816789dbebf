"""The scale benchmark (bench/scale_bench.py) runs, small: CI keeps it working; its figures are
not judged here (a million RMAs is ``make bench``). The runner's table rows are parsed from
its output as ``make bench`` does, each with its goal, met or missed."""

from __future__ import annotations

import re
import subprocess
import sys

from bench.harness import ROOT
from bench.run import scale_rows


def test_the_scale_benchmark_prints_each_figure_beside_its_baseline_and_goal(
    scratch_url: str,
) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "scale_bench.py"), "--in-database", scratch_url,
         "--rmas", "1500", "--repeat", "1", "--lookups", "3"],
        capture_output=True, text=True, timeout=300, check=False, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "seeded     1,500 RMAs by COPY" in done.stdout
    rows = {name: cells for name, *cells in scale_rows(done.stdout)}
    for name in ("metrics summary for a year", "metrics api for a year", "metrics xlsx for a year"):
        measured, baseline, ratio, goal = rows[name]
        assert re.fullmatch(r"[\d.]+ s", measured) and float(measured.split()[0]) > 0
        assert re.fullmatch(r"[\d.]+ s plain SQL", baseline) and float(ratio) > 0
        assert re.fullmatch(r"<= 2 (met|MISSED)", goal)
    for name in ("desk queue", "rma list, newest", "rma search, one customer"):
        measured, baseline, _, goal = rows[f"{name}, first page p95"]
        assert re.fullmatch(r"[\d.]+ ms", measured) and baseline.startswith("SELECT 1 ")
        assert re.fullmatch(r"< 100 ms (met|MISSED)", goal)
    year, month, _, _ = rows["metrics report peak Python heap"]
    assert year.endswith("MB (year)") and month.endswith("MB (month)")
