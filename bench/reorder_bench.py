"""Reorder benchmark: 100,000 parts with stock and history, measured in one run.

    .venv/bin/python bench/reorder_bench.py                       # SQLite in a temp folder
    .venv/bin/python bench/reorder_bench.py --database-url postgresql://postgres@127.0.0.1/postgres

With a PostgreSQL URL the benchmark creates its own scratch database on that server and
drops it afterwards. It prints:

- suggestions: the full suggestion computation (every part, with quantities, urgency and
  reasons) against a plain SQL aggregate over the same tables, and the ratio (goal <= 2);
- export: the reorder workbook (query, suggestions and openpyxl, to a file) against bare
  openpyxl write-only writing the same cells with the same styles from ready-made values,
  and the ratio (goal <= 1.5);
- peak memory (max RSS) of a fresh process that exports everything, and of one that exports
  a tenth of it: flat means about the same (goal < 300 MB);
- recompute: the nightly recompute as before the fill-rate plan (``planning`` off: the
  daily-demand reorder points and the flags) against the same with the plan (monthly demand
  of 24 months, classes, forecasts, levels per target group, the trade-off), and the ratio
  (goal <= 2, issue 19). ``--recompute-only`` measures only this.

Not a timed unit test: run it by hand on a quiet machine, record the figures in
bench/README.md.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from copy import copy
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from openpyxl.cell import WriteOnlyCell
from openpyxl.workbook import Workbook
from openpyxl.worksheet.datavalidation import DataValidation
from sqlalchemy import Engine, case, func, select, text

from bench.databases import scratch_database
from bootstrap import schema
from core.clock import FrozenClock
from core.db import make_engine, make_session_factory
from core.spreadsheets import Formula, Styles, define_common_styles, safe_text
from inventory.models import (
    Location,
    Part,
    Reservation,
    StockLevel,
    StockMove,
    Supplier,
)
from inventory.status import PICKABLE_KINDS
from purchasing.models import (
    NumberSequence,
    PurchaseOrder,
    PurchaseOrderLine,
    ReorderPolicy,
)
from purchasing.reorder.formulas import ReorderSettings
from purchasing.reorder.queries import iter_suggestions
from purchasing.reorder.suggestions import NoReturnSupply, SuggestionFilters
from purchasing.services import ReorderService
from purchasing.status import ON_ORDER
from purchasing.workbooks import REORDER_COLUMNS, reorder_row

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
CATEGORIES = [f"Category {i:02d}" for i in range(20)]
CHUNK = 10_000


# --- seeding -----------------------------------------------------------------------------


def insert(engine: Engine, table: Any, rows: list[dict[str, Any]]) -> None:
    names = {name for row in rows for name in row}  # one statement: every row, every key
    rows = [row if len(row) == len(names) else dict.fromkeys(names) | row for row in rows]
    with engine.begin() as connection:
        for i in range(0, len(rows), CHUNK):
            connection.execute(table.insert(), rows[i : i + CHUNK])


def seed(engine: Engine, parts: int, seed_value: int = 42) -> dict[str, int]:
    """Suppliers, bins, parts, 90 days of ledger history, levels, reservations, open POs."""
    rng = random.Random(seed_value)  # noqa: S311 (seeding test data)
    suppliers = [
        {"id": i, "code": f"SUP{i:02d}", "name": f"Supplier {i}",
         "default_lead_time_days": rng.randint(3, 30), "created_at": NOW}
        for i in range(1, 41)
    ]  # fmt: skip
    insert(engine, Supplier.__table__, suppliers)
    locations = [
        {"id": i, "code": f"MAIN/A-{i:03d}", "warehouse": "MAIN", "bin": f"A-{i:03d}",
         "kind": "storage", "description": "", "active": True, "created_at": NOW}
        for i in range(1, 201)
    ]  # fmt: skip
    locations.append(
        {"id": 201, "code": "MAIN/QUARANTINE", "warehouse": "MAIN", "bin": "QUARANTINE",
         "kind": "quarantine", "description": "", "active": True, "created_at": NOW}
    )  # fmt: skip
    insert(engine, Location.__table__, locations)

    part_rows, policy_rows, moves, levels, reservations = [], [], [], [], []
    move_id = reservation_id = 0
    for pid in range(1, parts + 1):
        supplier = None if pid % 100 == 0 else (pid % 40) + 1
        name = f"Part {pid} for model {rng.randint(100, 999)}"
        if pid % 97 == 0:
            name = "=" + name  # names that would be formulas
        home = rng.randint(1, 200)
        initial = rng.randint(20, 120)
        t0 = NOW - timedelta(days=100)
        move_id += 1
        moves.append(
            {"id": move_id, "part_id": pid, "kind": "receipt", "qty": initial,
             "from_location_id": None, "to_location_id": home, "reason": "initial stock",
             "reference": "PO-SEED", "actor": "bench", "created_at": t0}
        )  # fmt: skip
        # Older demand, 3 to 24 months back (the fill-rate plan reads 24 months), with a
        # receipt that covers it so the stock on hand comes out as before.
        old = [(rng.randint(1, 5), rng.randint(91, 730)) for _ in range(rng.randint(0, 12))]
        if old:
            move_id += 1
            moves.append(
                {"id": move_id, "part_id": pid, "kind": "receipt",
                 "qty": sum(q for q, _ in old), "from_location_id": None,
                 "to_location_id": home, "reason": "old stock", "reference": "PO-OLD",
                 "actor": "bench", "created_at": NOW - timedelta(days=740)}
            )  # fmt: skip
        for qty, days in old:
            move_id += 1
            moves.append(
                {"id": move_id, "part_id": pid, "kind": "issue", "qty": qty,
                 "from_location_id": home, "to_location_id": None, "reason": "repair",
                 "reference": f"REPAIR-{pid}", "actor": "bench",
                 "created_at": NOW - timedelta(days=days)}
            )  # fmt: skip
        on_hand = initial
        for _ in range(rng.randint(0, 8)):
            qty = rng.randint(1, 5)
            if qty > on_hand:
                break
            on_hand -= qty
            move_id += 1
            moves.append(
                {"id": move_id, "part_id": pid, "kind": "issue", "qty": qty,
                 "from_location_id": home, "to_location_id": None, "reason": "repair",
                 "reference": f"REPAIR-{pid}", "actor": "bench",
                 "created_at": NOW - timedelta(days=rng.randint(1, 90), hours=rng.randint(0, 12))}
            )  # fmt: skip
        reserved = 0
        if pid % 20 == 0 and on_hand > 2:
            reserved = rng.randint(1, 2)
            reservation_id += 1
            reservations.append(
                {"id": reservation_id, "part_id": pid, "location_id": home, "qty": reserved,
                 "reference": f"RMA-{pid}", "status": "active", "created_by": "bench",
                 "created_at": NOW - timedelta(days=1)}
            )  # fmt: skip
            move_id += 1
            moves.append(
                {"id": move_id, "part_id": pid, "kind": "reserve", "qty": reserved,
                 "from_location_id": home, "to_location_id": None, "reason": "reserve",
                 "reference": f"RMA-{pid}", "reservation_id": reservation_id, "actor": "bench",
                 "created_at": NOW - timedelta(days=1)}
            )  # fmt: skip
        levels.append(
            {"part_id": pid, "location_id": home, "on_hand": on_hand, "reserved": reserved}
        )
        if pid % 33 == 0:
            move_id += 1
            moves.append(
                {"id": move_id, "part_id": pid, "kind": "receipt", "qty": 1,
                 "from_location_id": None, "to_location_id": 201, "reason": "suspected fault",
                 "reference": "INSPECT", "actor": "bench", "created_at": NOW - timedelta(days=3)}
            )  # fmt: skip
            levels.append({"part_id": pid, "location_id": 201, "on_hand": 1, "reserved": 0})
        point = on_hand - reserved + rng.randint(0, 30)  # at or below: every part is suggested
        part_rows.append(
            {"id": pid, "sku": f"P{pid:06d}", "sku_key": f"p{pid:06d}", "name": name,
             "description": "", "unit": "pcs", "category": CATEGORIES[pid % 20],
             "barcode": None, "supplier_id": supplier,
             "unit_cost": Decimal(rng.randint(10, 2_000_000)) / 10_000,
             "lead_time_days": None if pid % 5 else rng.randint(2, 40),
             "reorder_point": max(point, 1), "reorder_qty": rng.randint(5, 60),
             "safety_stock": rng.randint(0, 10), "active": True,
             "created_at": NOW, "updated_at": NOW}
        )  # fmt: skip
        if pid % 3 == 0:
            policy_rows.append(
                {"part_id": pid, "method": "manual", "pack_size": rng.choice([1, 5, 10, 25]),
                 "min_order_qty": rng.choice([0, 10, 50]), "max_level": None,
                 "avg_daily_demand": Decimal(rng.randint(0, 300)) / 100, "updated_at": NOW}
            )  # fmt: skip
    insert(engine, Part.__table__, part_rows)
    insert(engine, Reservation.__table__, reservations)
    insert(engine, StockMove.__table__, moves)
    insert(engine, StockLevel.__table__, levels)
    insert(engine, ReorderPolicy.__table__, policy_rows)

    orders, lines = [], []
    line_id = 0
    for oid in range(1, parts // 50 + 1):
        status = rng.choice(["draft", "sent", "sent", "partially_received"])
        orders.append(
            {"id": oid, "number": f"PO-2026-{oid:05d}", "supplier_id": (oid % 40) + 1,
             "status": status, "source": "bench", "notes": "", "created_by": "bench",
             "created_at": NOW, "updated_at": NOW,
             "expected_on": (NOW + timedelta(days=rng.randint(1, 30))).date()}
        )  # fmt: skip
        for line_no, pid in enumerate(rng.sample(range(1, parts + 1), 10), start=1):
            line_id += 1
            ordered = rng.randint(1, 10)
            lines.append(
                {"id": line_id, "purchase_order_id": oid, "line_no": line_no, "part_id": pid,
                 "qty_ordered": ordered,
                 "qty_received": rng.randint(0, ordered - 1) if status == "partially_received"
                 else 0, "unit_cost": Decimal("1.0000")}
            )  # fmt: skip
    insert(engine, PurchaseOrder.__table__, orders)
    insert(engine, PurchaseOrderLine.__table__, lines)
    insert(engine, NumberSequence.__table__, [{"name": "PO-2026", "last_value": len(orders)}])
    # Statistics and visibility up to date, as on a database that has been running a while.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(
            text("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE")
        )
    return {"parts": parts, "moves": len(moves), "purchase_order_lines": len(lines)}


# --- what is measured --------------------------------------------------------------------


def plain_aggregate(engine: Engine, settings: ReorderSettings) -> int:
    """The same tables, joined and aggregated in one SQL statement that returns the same
    figures per part as the suggestions start from (stock, on order, drafts, next arrival,
    policy), rows read through SQLAlchemy Core and consumed. Written here independently."""
    pickable = Location.kind.in_(PICKABLE_KINDS)
    stock = (
        select(
            StockLevel.part_id,
            func.sum(StockLevel.on_hand).label("on_hand"),
            func.sum(case((pickable, StockLevel.on_hand), else_=0)).label("pickable"),
            func.sum(case((pickable, StockLevel.reserved), else_=0)).label("reserved"),
        )
        .join(Location, Location.id == StockLevel.location_id)
        .group_by(StockLevel.part_id)
        .subquery()
    )
    outstanding = PurchaseOrderLine.qty_ordered - PurchaseOrderLine.qty_received
    draft = PurchaseOrder.status == "draft"
    on_order = (
        select(
            PurchaseOrderLine.part_id,
            func.sum(outstanding).label("qty"),
            func.sum(case((draft, outstanding), else_=0)).label("drafts"),
            func.min(case((~draft, PurchaseOrder.expected_on), else_=None)).label("next"),
        )
        .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.purchase_order_id)
        .where(PurchaseOrder.status.in_(ON_ORDER))
        .group_by(PurchaseOrderLine.part_id)
        .subquery()
    )
    available = func.coalesce(stock.c.pickable, 0) - func.coalesce(stock.c.reserved, 0)
    query = (
        select(
            Part.id, Part.sku, Part.sku_key, Part.name, Part.category, Part.unit,
            Part.unit_cost, Supplier.code, Supplier.name,
            func.coalesce(Part.lead_time_days, Supplier.default_lead_time_days,
                          settings.default_lead_time_days),
            Part.reorder_point, Part.reorder_qty, Part.safety_stock,
            func.coalesce(stock.c.on_hand, 0), func.coalesce(stock.c.pickable, 0),
            func.coalesce(stock.c.reserved, 0), func.coalesce(on_order.c.qty, 0),
            func.coalesce(on_order.c.drafts, 0), on_order.c.next,
            func.coalesce(ReorderPolicy.pack_size, 1),
            func.coalesce(ReorderPolicy.min_order_qty, 0), ReorderPolicy.max_level,
            ReorderPolicy.avg_daily_demand, ReorderPolicy.flagged_since,
        )
        .outerjoin(Supplier, Supplier.id == Part.supplier_id)
        .outerjoin(stock, stock.c.part_id == Part.id)
        .outerjoin(on_order, on_order.c.part_id == Part.id)
        .outerjoin(ReorderPolicy, ReorderPolicy.part_id == Part.id)
        .where(Part.active.is_(True), Part.reorder_point > 0, Part.supplier_id.is_not(None),
               available + func.coalesce(on_order.c.qty, 0) <= Part.reorder_point)
        .order_by(Supplier.code.is_(None), Supplier.code, Part.sku_key)
    )  # fmt: skip
    with engine.connect() as connection:
        return sum(1 for _ in connection.execute(query))


def suggestions(
    session_factory: Any, clock: FrozenClock, settings: ReorderSettings, keep: bool = False
) -> Any:
    """Every suggestion, computed in full (quantity, urgency, dates, value) and consumed;
    counted like the aggregate's rows, or kept when the export baseline needs them."""
    with session_factory() as session:
        found = iter_suggestions(
            session, clock, settings, NoReturnSupply(), by_supplier=True, has_supplier=True
        )
        return list(found) if keep else sum(1 for _ in found)


def bare_rows(found: list[Any]) -> list[tuple[str, list[Any]]]:
    """The exported cells as ready-made values (no application logic left to run)."""
    rows = []
    for s in found:
        values = reorder_row(s)
        cells = [
            safe_text(values[c.key]) if isinstance(values.get(c.key), str) else values.get(c.key)
            for c in REORDER_COLUMNS
        ]
        rows.append((s.stock.supplier_code, cells))
    return rows


def bare_openpyxl(rows: list[tuple[str, list[Any]]], path: str) -> None:
    """openpyxl write-only, the same sheets, cells, styles, formulas and validation."""
    workbook = Workbook(write_only=True)
    workbook.create_sheet("Summary").append(["Reorder suggestions"])
    kinds = [c.kind.name for c in REORDER_COLUMNS]
    letters = "ABCDEFGHIJKLMNOPQRSTU"
    ws: Any = None
    row_number = 0
    for supplier, cells in rows:
        if ws is None or ws.title != supplier:
            if ws is not None:
                finish(ws, row_number)
            ws = workbook.create_sheet(supplier)
            for letter, column in zip(letters, REORDER_COLUMNS, strict=True):
                ws.column_dimensions[letter].width = column.width
            ws.freeze_panes = "A2"
            styles = Styles(ws)
            define_common_styles(styles)
            templates = [
                None if kind == "TEXT" else styles.cell(None, kind)._style for kind in kinds
            ]
            templates[12] = styles.cell(None, "editable_INTEGER")._style
            ws.append([styles.cell(c.header, "header") for c in REORDER_COLUMNS])
            row_number = 1
        row_number += 1
        out = []
        for index, value in enumerate(cells):
            if index == 16:
                value = Formula(f"=M{row_number}*P{row_number}")
            template = templates[index]
            if template is None:
                out.append(value)
            else:
                cell = WriteOnlyCell(ws)
                cell._style = copy(template)
                cell.value = value
                out.append(cell)
        ws.append(out)
    if ws is not None:
        finish(ws, row_number)
    workbook.create_sheet("spareflow").append(["spareflow workbook", "reorder"])
    workbook.save(path)


def finish(ws: Any, last: int) -> None:
    ws.append(["", "Total"] + [None] * 9 + [Formula(f"=SUBTOTAL(109,L2:L{last})")])
    ws.auto_filter.ref = f"A1:U{last}"
    validation = DataValidation(type="whole", operator="greaterThanOrEqual", formula1="0")
    validation.add(f"M2:M{last}")
    ws.data_validations.append(validation)


def timed(action: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = action()
        best = min(best, time.perf_counter() - start)
    return best, result


def timed_pair(
    first: Callable[[], Any], second: Callable[[], Any], repeat: int
) -> tuple[float, Any, float, Any]:
    """Best time of each, run alternately, so a burst of load elsewhere hits both alike."""
    best_first = best_second = float("inf")
    result_first = result_second = None
    for _ in range(repeat):
        t, result_first = timed(first, 1)
        best_first = min(best_first, t)
        t, result_second = timed(second, 1)
        best_second = min(best_second, t)
    return best_first, result_first, best_second, result_second


def export_in_child(url: str, category: str | None) -> dict[str, Any]:
    """Export in a fresh interpreter, so its peak RSS is the export's and nothing else's."""
    args = [sys.executable, __file__, "--child-export", url]
    if category:
        args += ["--category", category]
    done = subprocess.run(args, capture_output=True, text=True, check=True)  # noqa: S603
    return json.loads(done.stdout.strip().splitlines()[-1])


def child_export(url: str, category: str | None) -> None:
    engine = make_engine(url)
    service = ReorderService(make_session_factory(engine), FrozenClock(NOW))
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "reorder.xlsx")
        start = time.perf_counter()
        with open(path, "wb") as stream:
            result = service.export(stream, "bench", SuggestionFilters(category=category))
        seconds = time.perf_counter() - start
        size = os.path.getsize(path)
    print(json.dumps({"rows": result.lines, "seconds": seconds, "peak_mb": peak_rss_mb(),
                      "bytes": size}))  # fmt: skip


def peak_rss_mb() -> float:
    """This process's peak resident memory. VmHWM, not ru_maxrss: on Linux a child's
    ru_maxrss starts from its parent's at fork, which would hide what the export used."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # not Linux


# --- the run -----------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="PostgreSQL server URL (default: SQLite)")
    parser.add_argument("--parts", type=int, default=100_000)
    parser.add_argument("--child-export", help=argparse.SUPPRESS)
    parser.add_argument("--category", help=argparse.SUPPRESS)
    parser.add_argument(
        "--recompute-only", action="store_true", help="only the nightly recompute, old vs new"
    )
    options = parser.parse_args()
    if options.child_export:
        child_export(options.child_export, options.category)
        return
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    print(f"python     {sys.version.split()[0]}, {os.cpu_count()} CPUs, {options.parts:,} parts")
    started = time.perf_counter()
    with scratch_database(options.database_url, "spareflow_bench") as url:
        run(url, options.parts, options.recompute_only)
    print(f"total      {time.perf_counter() - started:.0f} s")


def recompute_pair(session_factory: Any, clock: FrozenClock, repeat: int = 3) -> None:
    """The nightly recompute without and with the fill-rate plan, alternating, best of each,
    in wall time and in this process's CPU time (steadier on a shared machine: time spent
    waiting for a CPU is not counted). One unmeasured run of each first writes what a first
    night writes; the measured runs then find the same ledger (as a night without new
    demand): the work is the reading and the computing, the same for both."""
    old = ReorderService(session_factory, clock, ReorderSettings(planning=False))
    new = ReorderService(session_factory, clock, ReorderSettings(planning=True))
    t_first_old, _ = timed(old.recompute, 1)
    t_first_new, _ = timed(new.recompute, 1)
    gc.collect()
    best = {"new": (math.inf, math.inf), "old": (math.inf, math.inf)}
    summary = None
    for _ in range(repeat):
        for side, service in (("new", new), ("old", old)):
            wall, cpu = time.perf_counter(), time.process_time()
            found = service.recompute()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            best[side] = (min(best[side][0], wall), min(best[side][1], cpu))
            summary = found if side == "new" else summary
    assert summary is not None
    with session_factory() as session:
        planned = session.scalar(
            select(func.count())
            .select_from(ReorderPolicy)
            .where(ReorderPolicy.demand_class.is_not(None))
        )
    (w_new, c_new), (w_old, c_old) = best["new"], best["old"]
    print(
        f"recompute  {summary.parts:,} parts ({planned:,} planned): with the plan {w_new:.2f} s "
        f"(CPU {c_new:.2f} s); without {w_old:.2f} s (CPU {c_old:.2f} s); ratio "
        f"{w_new / w_old:.2f}, CPU {c_new / c_old:.2f} (goal <= 2); first runs "
        f"{t_first_old:.2f} s / {t_first_new:.2f} s; load average "
        f"{', '.join(f'{load:.1f}' for load in os.getloadavg())}"
    )


def run(url: str, parts: int, recompute_only: bool = False) -> None:
    schema.upgrade(url)
    engine = make_engine(url)
    t, seeded = timed(lambda: seed(engine, parts), 1)
    print(f"database   {engine.dialect.name}; seeded {seeded} in {t:.1f} s")
    gc.collect()  # the seeding's garbage is not the measured code's
    settings, clock = ReorderSettings(), FrozenClock(NOW)
    session_factory = make_session_factory(engine)
    if recompute_only:
        recompute_pair(session_factory, clock)
        engine.dispose()
        return

    t_sug, count, t_sql, rows = timed_pair(
        lambda: suggestions(session_factory, clock, settings),
        lambda: plain_aggregate(engine, settings),
        5,
    )
    assert count == rows, (count, rows)
    print(
        f"suggestions {count:,} parts: {t_sug:.2f} s; plain SQL aggregate {t_sql:.2f} s; "
        f"ratio {t_sug / t_sql:.2f} (goal <= 2)"
    )
    found = suggestions(session_factory, clock, settings, keep=True)

    service = ReorderService(session_factory, clock, settings)
    ready = bare_rows(found)
    with tempfile.TemporaryDirectory() as folder:
        path, bare_path = os.path.join(folder, "x.xlsx"), os.path.join(folder, "bare.xlsx")

        def export() -> None:
            with open(path, "wb") as stream:
                service.export(stream, "bench", SuggestionFilters())

        t_exp, _, t_bare, _ = timed_pair(export, lambda: bare_openpyxl(ready, bare_path), 2)
        exported = os.path.getsize(path)
    print(
        f"export     {len(found):,} rows, {exported / 1e6:.1f} MB: {t_exp:.2f} s; bare openpyxl "
        f"{t_bare:.2f} s; ratio {t_exp / t_bare:.2f} (goal <= 1.5)"
    )
    engine.dispose()

    recompute_pair(make_session_factory(make_engine(url)), clock)

    full = export_in_child(url, None)
    small = export_in_child(url, CATEGORIES[0])  # one category in twenty
    print(
        f"memory     peak RSS of an export process: {full['peak_mb']:.0f} MB for "
        f"{full['rows']:,} rows; {small['peak_mb']:.0f} MB for {small['rows']:,} rows "
        "(goal < 300 MB, flat)"
    )


if __name__ == "__main__":
    main()
