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
from purchasing.planning.portfolio import levels_for  # noqa: E402

RAF = Path("/work/shared/data/raf_spare_parts_odd.csv")
CANDIDATES = ("system", "lumpy")
TARGETS = (0.60, 0.70, 0.80, 0.85, 0.90, 0.95, 0.98, 0.99)

_items: list = []  # type: ignore[type-arg]


def _load(path: str) -> None:
    global _items
    _items = read_history(path)


def _run(job: tuple[str, float]) -> tuple[str, float, float, float, dict[str, float]]:
    method, target = job
    table = levels_for(_items, method, target)
    result = run_backtest(
        _items,
        lambda item: table[item.item],
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
    for method in ("system", "lumpy"):
        started = time.perf_counter()
        levels = sum(len(row) for row in levels_for(_items, method, 0.95).values())
        print(
            f"{len(_items)} items x {len(_items[0].demand)} months: {levels:,} {method} levels "
            f"at 0.95 in {time.perf_counter() - started:.1f} s (goal < 60 s)"
        )

    jobs = [(method, target) for target in targets for method in ("normal", *CANDIDATES)]
    with ProcessPoolExecutor(args.processes, initializer=_load, initargs=(args.history,)) as pool:
        results = list(pool.map(_run, jobs))
    table = {(method, target): (fill, value, by) for method, target, fill, value, by in results}

    methods = ("normal", *CANDIDATES)
    print("\n| target | " + " | ".join(f"{m}: achieved | {m}: stock value" for m in methods) + " |")
    print("|---:|" + "---:|---:|" * len(methods))
    for target in targets:
        cells = [f"{table[m, target][0]:.3f} | {table[m, target][1]:,.0f}" for m in methods]
        print(f"| {target:.2f} | " + " | ".join(cells) + " |")
    print("\nFill rate per class (classes from months 0-23):")
    for target in targets:
        for method in methods:
            by = table[method, target][2]
            shares = "  ".join(f"{c} {f:.3f}" for c, f in sorted(by.items()))
            print(f"  {target:.2f} {method:<9}{shares}")

    best_normal = max(table["normal", t][0] for t in targets)
    print(f"\nThe normal method's best achieved fill rate over these targets: {best_normal:.3f}.")
    for method in CANDIDATES:
        curve = sorted((table[method, t][0], table[method, t][1]) for t in targets)
        print(
            f"\n{method}: its stock (interpolated along its own curve) at each fill rate the "
            "normal method achieves, over normal's stock there:"
        )
        for target in targets:
            n_fill, n_value, _ = table["normal", target]
            value = interpolate(curve, n_fill)
            shown = "outside its curve"
            if value is not None:
                shown = f"{value:,.0f}, ratio {value / n_value:.2f}"
            print(f"  normal {target:.2f}: achieved {n_fill:.3f} with {n_value:,.0f}; {shown}")
        for target in (0.90, 0.95):
            if (method, target) in table:
                fill = table[method, target][0]
                print(
                    f"  at {target:.2f}: achieved {fill:.3f} ({(fill - target) * 100:+.1f} points)"
                )


if __name__ == "__main__":
    main()
