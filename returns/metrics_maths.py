"""The maths behind the desk metrics: periods, weeks, percentiles, rates and histogram buckets.

Pure Python, no database; the definitions they serve are in returns/metrics.py.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from core.errors import N_, InvalidInput

DAY_SECONDS = 86400.0
#: Marketplaces' window for the self-completion rate.
ROLLING_DAYS = 28
#: The longest period one report covers.
MAX_PERIOD_DAYS = 366
#: Lower edges of the refund-completion-time histogram, in days; the last bucket is open.
HISTOGRAM_EDGES: tuple[float, ...] = (0, 1, 2, 3, 5, 7, 10, 15)


def percentile(values: Iterable[float], p: float) -> float | None:
    """The ``p``-th percentile (0-100), interpolating linearly between the closest ranks."""
    ordered = sorted(values)
    if not ordered:
        return None
    if not 0 <= p <= 100:
        raise ValueError("p is 0 to 100")
    rank = (len(ordered) - 1) * p / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def days_between(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / DAY_SECONDS


def week_start(moment: datetime) -> datetime:
    """Monday 00:00 UTC of the ISO week ``moment`` falls in."""
    day = moment.astimezone(UTC).date()
    return datetime.combine(day - timedelta(days=day.weekday()), time(0), tzinfo=UTC)


def week_starts(start: datetime, end: datetime) -> list[datetime]:
    """The Mondays of every week that overlaps ``[start, end)``."""
    weeks, monday = [], week_start(start)
    while monday < end:
        weeks.append(monday)
        monday += timedelta(days=7)
    return weeks


@dataclass(frozen=True)
class Period:
    """``[start, end)`` in UTC."""

    start: datetime
    end: datetime

    @classmethod
    def from_dates(cls, first: date, last: date) -> Period:
        """Whole UTC days from ``first`` to ``last``, both included."""
        if last < first:
            raise InvalidInput("to", N_("The period ends before it starts."))
        days = (last - first).days + 1
        if days > MAX_PERIOD_DAYS:
            raise InvalidInput(
                "to",
                N_(
                    "A period is at most %(MAX_PERIOD_DAYS)s days; this is %(days)s.",
                    MAX_PERIOD_DAYS=MAX_PERIOD_DAYS,
                    days=days,
                ),
            )
        start = datetime.combine(first, time(0), tzinfo=UTC)
        return cls(start, start + timedelta(days=days))

    @classmethod
    def asked(cls, first: date | None, last: date | None, today: date) -> Period:
        """The period someone asked for: ``last`` defaults to today, ``first`` to 28 days
        before it (both days included)."""
        last = last or today
        return cls.from_dates(first or last - timedelta(days=ROLLING_DAYS - 1), last)

    @classmethod
    def last_days(cls, now: datetime, days: int = ROLLING_DAYS) -> Period:
        """The last ``days`` whole UTC days, today included."""
        today = now.astimezone(UTC).date()
        return cls.from_dates(today - timedelta(days=days - 1), today)

    @property
    def first_day(self) -> date:
        return self.start.date()

    @property
    def last_day(self) -> date:
        """The last day in the period (``end`` is the midnight after it)."""
        return (self.end - timedelta(microseconds=1)).date()

    @property
    def days(self) -> float:
        return days_between(self.start, self.end)

    def __contains__(self, moment: object) -> bool:
        return isinstance(moment, datetime) and self.start <= moment < self.end


@dataclass(frozen=True)
class Rate:
    """``part`` of ``whole``; ``value`` is None when there is nothing to measure."""

    part: int
    whole: int

    @property
    def value(self) -> float | None:
        return self.part / self.whole if self.whole else None


@dataclass(frozen=True)
class DurationStats:
    """Count, mean, median and 90th percentile of durations in days."""

    count: int
    mean: float | None
    median: float | None
    p90: float | None

    @classmethod
    def of(cls, days: Sequence[float]) -> DurationStats:
        if not days:
            return cls(0, None, None, None)
        return cls(len(days), sum(days) / len(days), percentile(days, 50), percentile(days, 90))


@dataclass(frozen=True)
class Bucket:
    """Durations in ``[low, high)`` days; ``high`` None is open-ended."""

    low: float
    high: float | None
    count: int

    @property
    def label(self) -> str:
        def num(value: float) -> str:
            return f"{value:g}"

        if self.high is None:
            return f"≥{num(self.low)} d"
        return f"{num(self.low)}-{num(self.high)} d"


def histogram(days: Iterable[float], edges: Sequence[float] = HISTOGRAM_EDGES) -> list[Bucket]:
    """How many durations fall in each bucket; a value on an edge goes to the upper bucket."""
    counts = [0] * len(edges)
    for value in days:
        index = 0
        for i, edge in enumerate(edges):
            if value >= edge:
                index = i
        counts[index] += 1
    return [
        Bucket(low, edges[i + 1] if i + 1 < len(edges) else None, counts[i])
        for i, low in enumerate(edges)
    ]
