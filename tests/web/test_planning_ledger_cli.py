"""`spareflow planning backtest` without a file: the ledger's monthly demand replayed under
the nightly plan, with the figures worked out by hand."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from flask.cli import ScriptInfo

from core.clock import FrozenClock
from tests.support.planning_ledger import NOW, seed_plan_ledger
from web import create_app
from web.cli import main


@pytest.fixture
def run(tmp_path: Path) -> Iterator[Any]:
    clock = FrozenClock(NOW)
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "x",
            "LOG_LEVEL": "WARNING",
            "CLOCK": clock,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        }
    )
    runner = app.test_cli_runner()

    def invoke(*args: str) -> Any:
        return runner.invoke(main, list(args), obj=ScriptInfo(create_app=lambda: app))

    invoke("db", "upgrade")
    invoke.services = app.extensions["spareflow"]  # type: ignore[attr-defined]
    invoke.clock = clock  # type: ignore[attr-defined]
    yield invoke
    app.extensions["spareflow"].engine.dispose()


def test_the_ledger_backtest_replays_the_plan_month_by_month(run: Any) -> None:
    seed_plan_ledger(run.services.inventory, run.clock)
    # The buyer's targets: smooth parts 0.9 (BUSY-1 in a group of its own), the rest 0.8.
    run.services.buying.reorder.set_target("buyer", "class", "smooth", Decimal("0.9"))
    run.services.buying.reorder.set_target("buyer", "default", "", Decimal("0.8"))
    result = run("planning", "backtest")
    assert result.exit_code == 0, result.output
    assert "ledger, 30 months from 2024-05 (0-23 history)" in result.output
    assert "the buyer's targets" in result.output
    lines = {line.split()[0]: line.split()[1:] for line in result.output.splitlines()[2:]}
    # Months 24-29 (2026-05 .. 2026-10) are replayed; classes from months 0-23.
    # BUSY-1, 2 a month, lead time 0: Poisson(2) over a month; S = 4 is the least level
    # with E[(D - 4)^+] = 0.075 <= 0.1 x 2 (S = 3 leaves 0.218). Every month it starts at 4
    # (ordered up, arriving at once), serves 2 and ends at 2: fill rate 1, stock 2 x 1.50.
    assert lines["smooth"] == ["1", "12", "1.000", "3"]
    # LUMPY-1 (1 in month 6, 9 in month 18): lumpy on months 0-23, nothing asked after:
    # nothing demanded (fill rate 1 by definition), but stock held for it.
    lumpy = lines["lumpy"]
    assert lumpy[:3] == ["1", "0", "1.000"] and int(lumpy[3].replace(",", "")) > 0
    # SLOW-1 (1 unit in month 28) and LATE-1 (4 in month 29) had no demand in months 0-23
    # (class none) and none in the 24 months before theirs: level 0, nothing served.
    assert lines["none"][:3] == ["2", "5", "0.000"]
    assert lines["none"][3] == "0"
    overall = lines["overall"]
    assert overall[:3] == ["4", "17", "0.706"]  # 12 of 17 units served
    # Stock value: 3 + LUMPY-1's (each printed rounded to a whole unit of money).
    assert abs(int(overall[3].replace(",", "")) - 3 - int(lumpy[3].replace(",", ""))) <= 1


def test_the_ledger_backtest_needs_more_than_24_months(run: Any) -> None:
    result = run("planning", "backtest")
    assert result.exit_code != 0
    assert "The ledger has 0 complete month(s) of demand" in result.output
