"""``spareflow planning``: the planning engine on a demand file, for planners evaluating
spareflow on their own history (purchasing/planning/, docs/planning.md; no database), and
``planning backtest`` without a file: the nightly plan replayed on the ledger."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from flask.cli import with_appcontext

DEFAULT_FILL_RATE = 0.95


@click.group()
def planning() -> None:
    """Stock levels for a target fill rate on lumpy demand (docs/planning.md)."""


def _fill_rate_option(command: Callable[..., None]) -> Callable[..., None]:
    return click.option(
        "--fill-rate",
        type=click.FloatRange(0.5, 0.999),
        default=None,
        help="Target fill rate: share of units served from stock in the month asked "
        "[default: 0.95 on a file; the buyer's targets on the ledger].",
    )(command)


def _method_option(command: Callable[..., None]) -> Callable[..., None]:
    from purchasing.planning.portfolio import ALL_METHODS, DEFAULT

    return click.option(
        "--method",
        type=click.Choice(ALL_METHODS),
        default=DEFAULT,
        show_default=True,
        help="system: one fill rate over all parts, least stock value; lumpy/reactive: per "
        "part; normal: the textbook baseline (docs/planning.md).",
    )(command)


def _read_history(path: Path) -> list:  # type: ignore[type-arg]
    from purchasing.planning.history import HistoryFileError, read_history

    try:
        items = read_history(path)
    except HistoryFileError as error:
        raise click.ClickException(f"{path}: {error}") from None
    from purchasing.planning.backtest import FIRST_MONTH

    if items and len(items[0].demand) <= FIRST_MONTH:
        raise click.ClickException(
            f"{path}: more than {FIRST_MONTH} months of demand are needed "
            f"(months 0-{FIRST_MONTH - 1} are history only)."
        )
    return items


@planning.command("levels")
@click.option(
    "--history",
    "history",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="Monthly demand: item, lead_time_months, unit_price, months...",
)
@_fill_rate_option
@_method_option
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="CSV written: item,month,level.",
)
def planning_levels(history: Path, fill_rate: float | None, method: str, output: Path) -> None:
    """Order-up-to level of every item for every month from 24 on, each from the months before."""
    fill_rate = DEFAULT_FILL_RATE if fill_rate is None else fill_rate
    from purchasing.planning.history import write_levels
    from purchasing.planning.portfolio import levels_for

    started = time.perf_counter()
    items = _read_history(history)
    table = levels_for(items, method, fill_rate)
    rows = write_levels(output, items, lambda item: table[item.item])
    click.echo(
        f"{rows} level(s) for {len(items)} item(s) written to {output} "
        f"in {time.perf_counter() - started:.1f} s."
    )


@planning.command("backtest")
@click.option(
    "--history",
    "history",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Monthly demand: item, lead_time_months, unit_price, months... "
    "Without it: the ledger's demand, under the nightly plan's rules.",
)
@_fill_rate_option
@_method_option
@click.option(
    "--months",
    type=click.IntRange(25, 600),
    default=None,
    help="Ledger only: replay the last N complete months [default: all].",
)
def planning_backtest(
    history: Path | None, fill_rate: float | None, method: str, months: int | None
) -> None:
    """Replay demand under the levels (shared rules) and print fill rate and stock value."""
    if history is None:
        _ledger_backtest(fill_rate, months)
        return
    from purchasing.planning.backtest import FIRST_MONTH, run_backtest
    from purchasing.planning.classification import classify
    from purchasing.planning.portfolio import levels_for

    target = DEFAULT_FILL_RATE if fill_rate is None else fill_rate
    items = _read_history(history)
    table = levels_for(items, method, target)
    result = run_backtest(
        items,
        lambda item: table[item.item],
        lambda item: classify(item.demand[:FIRST_MONTH]).demand_class.value,
    )
    click.echo(
        f"method {method}, target fill rate {target:.3f}, months {FIRST_MONTH}-"
        f"{len(items[0].demand) - 1 if items else FIRST_MONTH}"
    )
    _print_totals(result)


def _print_totals(result: Any) -> None:
    click.echo(f"{'class':<14}{'items':>7}{'demanded':>11}{'fill rate':>11}{'stock value':>15}")
    rows = [*sorted(result.by_group.items()), ("overall", result.overall)]
    for name, totals in rows:
        click.echo(
            f"{name:<14}{totals.items:>7}{totals.demanded:>11}{totals.fill_rate:>11.3f}"
            f"{totals.stock_value:>15,.0f}"
        )


@with_appcontext
def _ledger_backtest(fill_rate: float | None, months: int | None) -> None:
    from core.errors import InvalidInput
    from purchasing.planning.backtest import FIRST_MONTH
    from web.extensions import services

    reorder = services().buying.reorder
    started = time.perf_counter()
    try:
        found = reorder.ledger_backtest(fill_rate=fill_rate, months=months)
    except InvalidInput as error:
        raise click.ClickException(error.message) from None
    targets = f"target fill rate {fill_rate:.3f}" if fill_rate else "the buyer's targets"
    click.echo(
        f"ledger, {found.months} months from {found.first_month} (0-{FIRST_MONTH - 1} history), "
        f"the nightly plan with {targets}, floor {reorder.settings.planning_floor}; "
        f"{time.perf_counter() - started:.1f} s"
    )
    _print_totals(found.result)
