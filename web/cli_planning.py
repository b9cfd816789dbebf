"""``spareflow planning``: the planning engine on a demand file, for planners evaluating
spareflow on their own history (purchasing/planning/, docs/planning.md). Needs no database."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import click


@click.group()
def planning() -> None:
    """Stock levels for a target fill rate on lumpy demand (docs/planning.md)."""


def _fill_rate_option(command: Callable[..., None]) -> Callable[..., None]:
    return click.option(
        "--fill-rate",
        type=click.FloatRange(0.5, 0.999),
        default=0.95,
        show_default=True,
        help="Target fill rate: share of units served from stock in the month asked.",
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
def planning_levels(history: Path, fill_rate: float, method: str, output: Path) -> None:
    """Order-up-to level of every item for every month from 24 on, each from the months before."""
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
    required=True,
    help="Monthly demand: item, lead_time_months, unit_price, months...",
)
@_fill_rate_option
@_method_option
def planning_backtest(history: Path, fill_rate: float, method: str) -> None:
    """Replay the file under the levels (shared rules) and print fill rate and stock value."""
    from purchasing.planning.backtest import FIRST_MONTH, run_backtest
    from purchasing.planning.classification import classify
    from purchasing.planning.portfolio import levels_for

    items = _read_history(history)
    table = levels_for(items, method, fill_rate)
    result = run_backtest(
        items,
        lambda item: table[item.item],
        lambda item: classify(item.demand[:FIRST_MONTH]).demand_class.value,
    )
    click.echo(
        f"method {method}, target fill rate {fill_rate:.3f}, months {FIRST_MONTH}-"
        f"{len(items[0].demand) - 1 if items else FIRST_MONTH}"
    )
    click.echo(f"{'class':<14}{'items':>7}{'demanded':>11}{'fill rate':>11}{'stock value':>15}")
    rows = [*sorted(result.by_group.items()), ("overall", result.overall)]
    for name, totals in rows:
        click.echo(
            f"{name:<14}{totals.items:>7}{totals.demanded:>11}{totals.fill_rate:>11.3f}"
            f"{totals.stock_value:>15,.0f}"
        )
