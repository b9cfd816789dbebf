"""The pure helpers behind the metrics: percentiles, weeks, histogram buckets, periods."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from core.errors import InvalidInput
from returns.metrics_maths import (
    DurationStats,
    Period,
    Rate,
    histogram,
    percentile,
    week_start,
    week_starts,
)


def at(day: int, hour: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=UTC)


def test_percentiles_interpolate_between_the_closest_ranks() -> None:
    values = [4.0, 1.0, 3.0, 2.0]  # sorted 1 2 3 4
    assert percentile(values, 50) == pytest.approx(2.5)  # rank 1.5
    assert percentile(values, 90) == pytest.approx(3.7)  # rank 2.7 = 3 + 0.7 x 1
    assert percentile(values, 0) == 1.0
    assert percentile(values, 100) == 4.0
    assert percentile([7.0], 90) == 7.0
    assert percentile([], 50) is None
    with pytest.raises(ValueError):
        percentile(values, 101)


def test_duration_stats_of_nothing_are_empty() -> None:
    assert DurationStats.of([]) == DurationStats(0, None, None, None)
    assert DurationStats.of([1.0, 2.0, 6.0]) == DurationStats(3, 3.0, 2.0, pytest.approx(5.2))


def test_weeks_start_on_monday_at_midnight_utc() -> None:
    assert week_start(at(23, 9)) == at(23)  # a Monday
    assert week_start(at(22, 23)) == at(16)  # a Sunday belongs to the week before
    assert week_start(datetime(2026, 11, 23, 1, tzinfo=UTC).astimezone()) == at(23)


def test_week_starts_cover_every_week_that_overlaps_the_period() -> None:
    assert week_starts(at(4), at(11)) == [at(2), at(9)]
    assert week_starts(at(2), at(23)) == [at(2), at(9), at(16)]
    assert week_starts(at(2), at(2)) == []


def test_histogram_puts_a_value_on_an_edge_in_the_upper_bucket() -> None:
    buckets = histogram([0.0, 0.99, 1.0, 2.5, 16.0], edges=(0, 1, 2, 15))
    assert [(b.low, b.high, b.count) for b in buckets] == [
        (0, 1, 2),
        (1, 2, 1),
        (2, 15, 1),
        (15, None, 1),
    ]
    assert [b.label for b in buckets] == ["0-1 d", "1-2 d", "2-15 d", "≥15 d"]


def test_a_rate_of_nothing_has_no_value() -> None:
    assert Rate(0, 0).value is None
    assert Rate(9, 10).value == pytest.approx(0.9)


def test_periods_are_whole_days_with_both_ends_included() -> None:
    period = Period.from_dates(date(2026, 11, 1), date(2026, 11, 1))
    assert (period.start, period.end, period.days) == (at(1), at(2), 1)
    assert period.last_day == date(2026, 11, 1)
    assert at(1) in period and at(2) not in period
    last = Period.last_days(at(23, 9))
    assert (last.first_day, last.last_day) == (date(2026, 10, 27), date(2026, 11, 23))


def test_a_period_must_not_end_before_it_starts_nor_be_longer_than_366_days() -> None:
    with pytest.raises(InvalidInput, match="ends before"):
        Period.from_dates(date(2026, 11, 2), date(2026, 11, 1))
    Period.from_dates(date(2025, 1, 1), date(2026, 1, 1))  # 366 days
    with pytest.raises(InvalidInput, match="at most 366"):
        Period.from_dates(date(2025, 1, 1), date(2026, 1, 2))
