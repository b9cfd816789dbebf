"""Planning on the RAF half: the lumpy fill-rate method against the textbook normal baseline,
both measured in the same run, on the same file, by the backtest of shared/data/README.md.

    .venv/bin/python bench/planning_bench.py
    .venv/bin/python bench/planning_bench.py --history FILE.csv --targets 0.9,0.95

For each target fill rate it prints the achieved fill rate and the stock value of both methods;
then the stock ratio at equal achieved fill rate (the lumpy method's stock, interpolated along
its curve, at each fill rate the normal method achieves, over the normal method's stock there)
and the time of a full `planning levels` computation (every item, every month from 24).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from itertools import pairwise
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from purchasing.planning.backtest import FIRST_MONTH, run_backtest  # noqa: E402
from purchasing.planning.classification import classify  # noqa: E402
from purchasing.planning.history import read_history  # noqa: E402
from purchasing.planning.levels import policy  # noqa: E402

RAF = Path("/work/shared/data/raf_spare_parts_odd.csv")
TARGETS = (0.80, 0.85, 0.90, 0.93, 0.95, 0.97, 0.98, 0.99)

_items: list = []  # type: ignore[type-arg]


def _load(path: str) -> None:
    global _items
    _items = read_history(path)


def _run(job: tuple[str, float]) -> tuple[str, float, float, float, dict[str, float]]:
    method, target = job
    result = run_backtest(
        _items,
        policy(method, target),
        lambda item: classify(item.demand[:FIRST_MONTH]).demand_class,
    )
    by_class = {str(name): totals.fill_rate for name, totals in result.by_group.items()}
    return method, target, result.overall.fill_rate, result.overall.stock_value, by_class


def interpolate(points: list[tuple[float, float]], x: float) -> float | None:
    """y at x on the polyline through (x, y) points sorted by x; None outside it."""
    for (x0, y0), (x1, y1) in pairwise(points):
        if x0 <= x <= x1 and x1 > x0:
            return y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--history", default=str(RAF))
    parser.add_argument("--targets", default=",".join(str(t) for t in TARGETS))
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    targets = [float(t) for t in args.targets.split(",")]

    _load(args.history)
    started = time.perf_counter()
    lumpy = policy("lumpy", 0.95)
    levels = sum(len(lumpy(item)) for item in _items)
    levels_seconds = time.perf_counter() - started
    print(
        f"{len(_items)} items x {len(_items[0].demand)} months: {levels:,} lumpy levels at "
        f"0.95 in {levels_seconds:.1f} s (goal < 60 s)"
    )

    jobs = [(method, target) for target in targets for method in ("normal", "lumpy")]
    with ProcessPoolExecutor(args.processes, initializer=_load, initargs=(args.history,)) as pool:
        results = list(pool.map(_run, jobs))
    table = {(method, target): (fill, value, by) for method, target, fill, value, by in results}

    print(
        "\n| target | normal: achieved | normal: stock value | lumpy: achieved | "
        "lumpy: stock value | lumpy intermittent / lumpy class |"
    )
    print("|---:|---:|---:|---:|---:|---:|")
    for target in targets:
        n_fill, n_value, _ = table["normal", target]
        l_fill, l_value, by = table["lumpy", target]
        print(
            f"| {target:.2f} | {n_fill:.3f} | {n_value:,.0f} | {l_fill:.3f} | {l_value:,.0f} | "
            f"{by.get('intermittent', 0):.3f} / {by.get('lumpy', 0):.3f} |"
        )

    lumpy_curve = sorted((table["lumpy", t][0], table["lumpy", t][1]) for t in targets)
    print("\nStock at equal achieved fill rate (lumpy interpolated along its curve):")
    for target in targets:
        n_fill, n_value, _ = table["normal", target]
        l_value = interpolate(lumpy_curve, n_fill)
        if l_value is not None:
            print(
                f"  normal target {target:.2f}: achieved {n_fill:.3f} with {n_value:,.0f}; "
                f"lumpy {l_value:,.0f}, ratio {l_value / n_value:.2f}"
            )
        else:
            print(f"  normal target {target:.2f}: achieved {n_fill:.3f}, outside lumpy's curve")
    best_normal = max(fill for (m, _t), (fill, _v, _b) in table.items() if m == "normal")
    print(f"\nThe normal method's best achieved fill rate over these targets: {best_normal:.3f}.")
    for target in (0.90, 0.95):
        if ("lumpy", target) in table:
            fill = table["lumpy", target][0]
            print(
                f"lumpy at {target:.2f}: achieved {fill:.3f} ({(fill - target) * 100:+.1f} points)"
            )


if __name__ == "__main__":
    main()
