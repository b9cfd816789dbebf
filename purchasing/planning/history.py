"""Monthly demand files: the columns of the RAF data set (``item``, ``lead_time_months``,
``unit_price``, then one column per month, units demanded)."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from core.errors import N_

FIXED_COLUMNS = ("item", "lead_time_months", "unit_price")


class HistoryFileError(ValueError):
    """The file does not have the expected columns or values (the message says where)."""


@dataclass(frozen=True)
class ItemHistory:
    item: str
    lead_time: int  # months; 0 = an order arrives at once
    unit_price: float
    demand: tuple[int, ...]  # units demanded per month, oldest first


def read_history(path: str | Path) -> list[ItemHistory]:
    with open(path, newline="", encoding="utf-8") as handle:
        return parse_history(csv.reader(handle))


def parse_history(rows: Iterable[Sequence[str]]) -> list[ItemHistory]:
    lines = iter(rows)
    header = next(lines, None)
    if header is None or tuple(h.strip() for h in header[:3]) != FIXED_COLUMNS:
        raise HistoryFileError(
            N_("The first columns must be item, lead_time_months, unit_price, then one per month.")
        )
    months = len(header) - 3
    items: list[ItemHistory] = []
    for number, row in enumerate(lines, start=2):
        if not row:
            continue
        if len(row) != months + 3:
            raise HistoryFileError(
                N_(
                    "Line %(number)s: %(count)s values, expected %(expected)s.",
                    number=number,
                    count=len(row),
                    expected=months + 3,
                )
            )
        try:
            lead_time = int(row[1])
            price = float(row[2])
            demand = tuple(int(value) for value in row[3:])
        except ValueError:
            raise HistoryFileError(
                N_("Line %(number)s: a value is not a number.", number=number)
            ) from None
        if lead_time < 0 or price < 0 or any(units < 0 for units in demand):
            raise HistoryFileError(
                N_("Line %(number)s: negative lead time, price or demand.", number=number)
            )
        items.append(ItemHistory(row[0], lead_time, price, demand))
    return items


def write_levels(
    path: str | Path,
    items: Sequence[ItemHistory],
    levels_of: Callable[[ItemHistory], Sequence[int]],
    first_month: int = 24,
) -> int:
    """Write ``item,month,level`` for every item and month index from ``first_month`` on."""
    rows = 0
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(("item", "month", "level"))
        for item in items:
            for month, level in enumerate(levels_of(item), start=first_month):
                writer.writerow((item.item, month, level))
                rows += 1
    return rows
