"""Deadlines in a desk's working hours: nights, weekends, holidays, time zones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from returns.service_levels import DeskHours, ServiceLevels
from returns.status import Channel, Priority

OFFICE = DeskHours.parse(
    {
        "timezone": "UTC",
        "days": "mon-fri",
        "open": "09:00",
        "close": "18:00",
        "holidays": ["2026-12-25"],
    }
)


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def test_a_target_counts_only_working_time() -> None:
    # Monday 2026-11-23 10:00 + 4 h = 14:00 the same day.
    assert OFFICE.add(at(23, 10), timedelta(hours=4)) == at(23, 14)
    # Friday 17:30 + 4 h: 30 min on Friday, 3 h 30 on Monday from 09:00 -> Monday 12:30.
    assert OFFICE.add(at(27, 17, 30), timedelta(hours=4)) == at(30, 12, 30)
    # Saturday: nothing counts until Monday 09:00; 1 h -> 10:00.
    assert OFFICE.add(at(28, 11), timedelta(hours=1)) == at(30, 10)
    # Before opening on a weekday: counting starts at 09:00.
    assert OFFICE.add(at(24, 6), timedelta(minutes=30)) == at(24, 9, 30)


def test_holidays_are_skipped() -> None:
    # Thursday 24 Dec 17:00 + 2 h: 1 h on Thursday, Friday 25th is a holiday -> Monday 28th 10:00.
    assert OFFICE.add(at(24, 17, month=12), timedelta(hours=2)) == at(28, 10, month=12)


def test_a_desk_in_another_time_zone_follows_its_local_hours_and_dst() -> None:
    shanghai = DeskHours.parse({"timezone": "Asia/Shanghai", "days": "mon-fri"})
    # Monday 09:00 in Shanghai is 01:00 UTC; a request at 00:00 UTC waits for it.
    assert shanghai.add(at(23, 0), timedelta(hours=1)) == at(23, 2)
    london = DeskHours.parse({"timezone": "Europe/London", "days": "mon-sun"})
    # 29 Mar 2026 is the switch to BST: opening 09:00 local is 08:00 UTC.
    assert london.add(at(29, 7, month=3), timedelta(hours=1)) == at(29, 9, month=3)
    assert london.add(at(28, 7, month=3), timedelta(hours=1)) == at(28, 10, month=3)


def test_working_time_between_two_moments() -> None:
    assert OFFICE.working_between(at(27, 17), at(30, 10)) == timedelta(hours=2)
    assert OFFICE.working_between(at(30, 10), at(27, 17)) == timedelta(hours=-2)
    assert OFFICE.working_between(at(28, 0), at(29, 23)) == timedelta(0)  # a weekend
    always = DeskHours.parse("24/7")
    assert always.working_between(at(28, 0), at(29, 0)) == timedelta(days=1)
    assert always.add(at(28, 23), timedelta(hours=2)) == at(29, 1)


def test_open_and_closed() -> None:
    assert OFFICE.is_open(at(23, 9)) and OFFICE.is_open(at(23, 17, 59))
    assert not OFFICE.is_open(at(23, 18)) and not OFFICE.is_open(at(28, 12))
    assert not OFFICE.is_open(at(25, 12, month=12))


def test_targets_per_priority_and_desks_per_channel_from_settings() -> None:
    levels = ServiceLevels.from_settings(
        {
            "SLA_FIRST_RESPONSE_HOURS": {"urgent": 2},
            "SLA_DESK_HOURS": {"marketplace": "24/7"},
            "SLA_WARN_AT_PERCENT": 50,
        }
    )
    saturday = at(28, 12)
    # Marketplace works 24/7: urgent due in 2 h (configured), warned after 1 h (50 %).
    urgent = levels.deadlines(Channel.MARKETPLACE, Priority.URGENT, saturday)
    assert urgent.first_response == at(28, 14)
    assert urgent.first_response_warning == at(28, 13)
    # Phone keeps the default office hours: high (4 h default) -> Monday 13:00.
    high = levels.deadlines(Channel.PHONE, Priority.HIGH, saturday)
    assert high.first_response == at(30, 13)
    # Medium resolution: 120 working hours = 13 days of 9 h + 3 h -> from Monday 09:00 ...
    medium = levels.deadlines(Channel.PHONE, Priority.MEDIUM, at(23, 9))
    assert medium.first_response == at(25, 15)  # 24 h = 9 + 9 + 6
    assert levels.time_left(Channel.PHONE, medium.first_response, at(25, 9)) == timedelta(hours=6)


@pytest.mark.parametrize(
    "settings",
    [
        {"SLA_DESK_HOURS": {"fax": "24/7"}},
        {"SLA_DESK_HOURS": {"default": {"timezone": "Mars/Olympus"}}},
        {"SLA_DESK_HOURS": {"default": {"open": "18:00", "close": "09:00"}}},
        {"SLA_WARN_AT_PERCENT": 100},
    ],
)
def test_a_wrong_setting_fails_at_start_up(settings: dict) -> None:
    with pytest.raises(Exception) as error:
        ServiceLevels.from_settings(settings)
    assert isinstance(error.value, (ValueError, KeyError))
