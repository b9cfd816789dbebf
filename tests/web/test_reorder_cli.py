"""`spareflow reorder recompute`, as an operator (or cron) runs it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.cli import ScriptInfo

from tests.support.purchasing_scenarios import build_scenario
from web import create_app
from web.cli import main


@pytest.fixture
def run(tmp_path: Path) -> Iterator[Any]:
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "x",
            "LOG_LEVEL": "WARNING",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        }
    )
    runner = app.test_cli_runner()

    def invoke(*args: str) -> Any:
        return runner.invoke(main, list(args), obj=ScriptInfo(create_app=lambda: app))

    invoke("db", "upgrade")
    build_scenario(app.extensions["spareflow"].inventory)
    yield invoke
    app.extensions["spareflow"].engine.dispose()


def test_reorder_recompute_reports_what_it_computed_and_flagged(run: Any) -> None:
    result = run("reorder", "recompute", "--window-days", "30", "--service-level", "0.98")
    assert result.exit_code == 0, result.output
    assert "Recomputed 5 part(s) over 30 days at service level 0.98: 0 with demand" in result.output
    assert "4 part(s) at or below their reorder point (4 new, 0 cleared)." in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--service-level", "1.5"], "A service level is a share from 0.5 to 0.9999"),
        (["--service-level", "high"], "a decimal such as 0.95"),
        (["--window-days", "1"], "1 is not in the range 2<=x<=3650"),
    ],
)
def test_reorder_recompute_refuses_bad_settings(run: Any, args: list[str], message: str) -> None:
    result = run("reorder", "recompute", *args)
    assert result.exit_code != 0
    assert message in result.output
