"""`spareflow planning levels` and `planning backtest` on a small demand file."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from click.testing import CliRunner

from purchasing.planning.backtest import run_backtest
from purchasing.planning.history import read_history
from purchasing.planning.portfolio import levels_for
from web.cli import main

MONTHS = 30


@pytest.fixture
def history(tmp_path: Path) -> Path:
    path = tmp_path / "history.csv"
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["item", "lead_time_months", "unit_price",
                         *(f"M{m:02d}" for m in range(MONTHS))])  # fmt: skip
        writer.writerow(["11", 3, 2.5, *([0, 0, 4, 0, 1, 0] * 5)])
        writer.writerow(["12", 0, 10, *([1, 2, 1, 3, 2, 2] * 5)])
        writer.writerow(["13", 8, 0.5, *([0] * 26 + [20] + [0] * 3)])
    return path


def test_levels_writes_a_level_per_item_and_month_from_24(history: Path, tmp_path: Path) -> None:
    output = tmp_path / "levels.csv"
    result = CliRunner().invoke(
        main, ["planning", "levels", "--history", str(history), "--fill-rate", "0.9",
               "--output", str(output)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "18 level(s) for 3 item(s)" in result.output
    with open(output, newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["item", "month", "level"]
    assert [(r[0], r[1]) for r in rows[1:7]] == [("11", str(m)) for m in range(24, 30)]
    items = read_history(history)
    table = levels_for(items, "system", 0.9)
    expected = [str(level) for item in items for level in table[item.item]]
    assert [r[2] for r in rows[1:]] == expected
    assert rows[-6:][0][2] == "0"  # item 13: no demand in months 0-23, so no stock at 24


def test_backtest_prints_fill_rate_and_stock_value_overall_and_per_class(history: Path) -> None:
    result = CliRunner().invoke(
        main, ["planning", "backtest", "--history", str(history), "--fill-rate", "0.95",
               "--method", "normal"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    items = read_history(history)
    table = levels_for(items, "normal", 0.95)
    overall = run_backtest(items, lambda item: table[item.item]).overall
    last = result.output.strip().splitlines()[-1].split()
    assert last[0] == "overall"
    assert last[3] == f"{overall.fill_rate:.3f}"
    assert last[4] == f"{overall.stock_value:,.0f}"
    classes = {line.split()[0] for line in result.output.splitlines()[2:-1]}
    assert classes == {"intermittent", "smooth", "none"}


def test_a_file_without_the_expected_columns_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("sku,qty\nA,1\n")
    result = CliRunner().invoke(main, ["planning", "backtest", "--history", str(bad)])
    assert result.exit_code == 1
    assert "item, lead_time_months, unit_price" in result.output
