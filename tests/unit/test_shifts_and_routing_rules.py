"""Who is on shift (boundaries, time zones, night shifts, days off), which rule matches a case,
the round-robin's next turn, canned replies filled in, and the week's uncovered hours."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from core.errors import InvalidInput
from returns.owner_models import RoutingRule
from returns.ownership import fill
from returns.routing import CaseFacts, matches, turn_after
from returns.shifts import DaysOff, Hours, coverage, on_shift, uncovered, zone

MONDAY = datetime(2026, 11, 23, tzinfo=UTC)  # a Monday
NINE_TO_FIVE_LONDON = [Hours(d, 9 * 60, 17 * 60, "Europe/London") for d in range(5)]


def at(day_offset: int, hour: int, minute: int = 0) -> datetime:
    return MONDAY + timedelta(days=day_offset, hours=hour, minutes=minute)


def test_a_shift_starts_on_its_first_minute_and_ends_before_its_last() -> None:
    assert not on_shift(NINE_TO_FIVE_LONDON, [], at(0, 8, 59))
    assert on_shift(NINE_TO_FIVE_LONDON, [], at(0, 9, 0))
    assert on_shift(NINE_TO_FIVE_LONDON, [], at(0, 16, 59))
    assert not on_shift(NINE_TO_FIVE_LONDON, [], at(0, 17, 0))
    assert not on_shift(NINE_TO_FIVE_LONDON, [], at(5, 12))  # Saturday


def test_hours_are_read_in_the_persons_time_zone() -> None:
    shanghai = [Hours(0, 9 * 60, 18 * 60, "Asia/Shanghai")]  # UTC+8: Monday 01:00-10:00 UTC
    assert on_shift(shanghai, [], at(0, 1, 0))
    assert not on_shift(shanghai, [], at(0, 0, 59))
    assert not on_shift(shanghai, [], at(0, 10, 0))
    # Summer time: London 09:00 in July is 08:00 UTC.
    july_monday = datetime(2026, 7, 6, 8, 0, tzinfo=UTC)
    assert on_shift(NINE_TO_FIVE_LONDON, [], july_monday)
    assert not on_shift(NINE_TO_FIVE_LONDON, [], july_monday - timedelta(minutes=1))


def test_a_night_shift_runs_into_the_next_day_and_belongs_to_the_day_it_starts() -> None:
    night = [Hours(4, 22 * 60, 6 * 60)]  # Friday 22:00 to Saturday 06:00 UTC
    assert on_shift(night, [], at(4, 23))
    assert on_shift(night, [], at(5, 5, 59))
    assert not on_shift(night, [], at(5, 6))
    assert not on_shift(night, [], at(3, 23))  # Thursday night is not worked
    friday_off = [DaysOff(date(2026, 11, 27), date(2026, 11, 27))]
    assert not on_shift(night, friday_off, at(5, 2))  # the Friday shift is off, after midnight too


def test_days_off_stop_the_shift_on_each_day_they_cover() -> None:
    holiday = [DaysOff(date(2026, 11, 24), date(2026, 11, 25))]  # Tuesday and Wednesday
    assert on_shift(NINE_TO_FIVE_LONDON, holiday, at(0, 10))
    assert not on_shift(NINE_TO_FIVE_LONDON, holiday, at(1, 10))
    assert not on_shift(NINE_TO_FIVE_LONDON, holiday, at(2, 10))
    assert on_shift(NINE_TO_FIVE_LONDON, holiday, at(3, 10))


def test_an_unknown_time_zone_is_refused_by_name() -> None:
    with pytest.raises(InvalidInput) as refused:
        zone("Mars/Olympus")
    assert refused.value.field == "time_zone"


def test_a_rule_matches_on_every_condition_it_sets_and_ignores_the_rest() -> None:
    case = CaseFacts(
        channel="email",
        kind="return",
        language="zh_Hans",
        vip=True,
        part_categories=frozenset({"fans"}),
    )
    assert matches(RoutingRule(team_id=1), case)
    assert matches(RoutingRule(channel="email", vip=True, team_id=1), case)
    assert matches(RoutingRule(language="zh_Hans", part_category="fans", team_id=1), case)
    assert not matches(RoutingRule(channel="phone", team_id=1), case)
    assert not matches(RoutingRule(kind="complaint", team_id=1), case)
    assert not matches(RoutingRule(vip=False, team_id=1), case)
    assert not matches(RoutingRule(part_category="batteries", team_id=1), case)


def test_round_robin_takes_the_next_member_on_shift_and_wraps_round() -> None:
    assert turn_after([3, 5, 9], None) == 3
    assert turn_after([3, 5, 9], 3) == 5
    assert turn_after([3, 5, 9], 9) == 3
    assert turn_after([3, 9], 5) == 9  # 5 went off shift: the next after 5 is 9


def test_a_canned_reply_is_filled_with_the_case_and_keeps_unknown_placeholders() -> None:
    body = "Dear {customer_name}, {number} is {status}. {owner} · {unknown}"
    filled = fill(
        body,
        {"number": "RMA-1", "customer_name": "Mia", "status": "authorised", "owner": "Ana"},
    )
    assert filled == "Dear Mia, RMA-1 is authorised. Ana · {unknown}"


def test_the_week_shows_which_hours_nobody_covers() -> None:
    weekdays_london = {"Ana": NINE_TO_FIVE_LONDON}  # November: London is UTC
    grid = coverage(weekdays_london, at(2, 12))
    assert len(grid) == 168
    assert grid[9] == (0, 9, ["Ana"])
    assert grid[8] == (0, 8, [])
    gaps = uncovered(grid)
    assert gaps[0] == "Mon 00:00-09:00"
    assert gaps[1] == "Mon 17:00-Tue 09:00"
    assert gaps[-1] == "Fri 17:00-Mon 00:00"
    assert len(gaps) == 6
    # A Shanghai colleague covers Monday 01:00-10:00 UTC: the first gap shrinks to one hour.
    both = {**weekdays_london, "Li": [Hours(0, 9 * 60, 18 * 60, "Asia/Shanghai")]}
    assert uncovered(coverage(both, at(2, 12)))[0] == "Mon 00:00-01:00"
