"""Who is on shift: each person's working hours per weekday in their time zone, less days off.

The rule is plain (``on_shift``) and runs without a database; ``people_on_shift`` reads the
rows for a set of people, and ``coverage`` lays the week out in UTC hours for the shifts page
(which hours nobody covers)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import N_, InvalidInput
from returns.owner_models import Absence, Shift

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class Hours:
    """One weekday's working hours: minutes from midnight in ``time_zone``."""

    weekday: int
    start_minute: int
    end_minute: int
    time_zone: str = "UTC"

    @property
    def overnight(self) -> bool:
        return self.end_minute <= self.start_minute

    def label(self) -> str:
        def hhmm(minute: int) -> str:
            return f"{minute // 60:02d}:{minute % 60:02d}"

        return f"{WEEKDAYS[self.weekday]} {hhmm(self.start_minute)}-{hhmm(self.end_minute)}"


@dataclass(frozen=True)
class DaysOff:
    starts_on: date
    ends_on: date

    def covers(self, day: date) -> bool:
        return self.starts_on <= day <= self.ends_on


def zone(name: str) -> ZoneInfo:
    """The IANA time zone, or a refusal naming the field."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            "time_zone", N_("Unknown time zone %(name)s.", name=repr(name))
        ) from None


def on_shift(hours: Iterable[Hours], days_off: Iterable[DaysOff], now: datetime) -> bool:
    """Whether ``now`` (aware) falls in one of the hours, on a day that is not a day off.

    A shift belongs to the day it starts: a night shift's early hours count on the next
    calendar day, and a day off on the day the shift started stops the whole shift."""
    absences = list(days_off)
    for shift in hours:
        local = now.astimezone(zone(shift.time_zone))
        minute = local.hour * 60 + local.minute
        started: date | None = None
        if local.weekday() == shift.weekday and minute >= shift.start_minute:
            if shift.overnight or minute < shift.end_minute:
                started = local.date()
        elif (
            shift.overnight
            and (local.weekday() - 1) % 7 == shift.weekday
            and minute < shift.end_minute
        ):
            started = local.date() - timedelta(days=1)
        if started is not None and not any(off.covers(started) for off in absences):
            return True
    return False


def people_on_shift(session: Session, user_ids: Sequence[int], now: datetime) -> set[int]:
    """Those of ``user_ids`` on shift at ``now`` (one query for the hours, one for days off)."""
    if not user_ids:
        return set()
    hours: dict[int, list[Hours]] = {}
    for row in session.scalars(select(Shift).where(Shift.user_id.in_(user_ids))):
        hours.setdefault(row.user_id, []).append(
            Hours(row.weekday, row.start_minute, row.end_minute, row.time_zone)
        )
    around = now.date()
    off: dict[int, list[DaysOff]] = {}
    for absence in session.scalars(
        select(Absence).where(
            Absence.user_id.in_(user_ids),
            Absence.starts_on <= around + timedelta(days=1),
            Absence.ends_on >= around - timedelta(days=2),
        )
    ):
        off.setdefault(absence.user_id, []).append(DaysOff(absence.starts_on, absence.ends_on))
    return {uid for uid in user_ids if on_shift(hours.get(uid, ()), off.get(uid, ()), now)}


def week_start(now: datetime) -> datetime:
    """Monday 00:00 UTC of ``now``'s week."""
    day = now.astimezone(UTC).date()
    return datetime.combine(day - timedelta(days=day.weekday()), datetime.min.time(), UTC)


def coverage(
    hours_by_person: dict[str, list[Hours]], now: datetime
) -> list[tuple[int, int, list[str]]]:
    """This week in UTC hours: (weekday, hour, who is on) for each of the 168 hours, read at
    the half hour (days off left aside: they are shown beside each person)."""
    start = week_start(now)
    grid = []
    for offset in range(7 * 24):
        at = start + timedelta(hours=offset, minutes=30)
        people = [name for name, hours in hours_by_person.items() if on_shift(hours, (), at)]
        grid.append((offset // 24, offset % 24, people))
    return grid


def uncovered(grid: list[tuple[int, int, list[str]]]) -> list[str]:
    """The runs of hours nobody covers, as "Mon 18:00-Tue 09:00" (UTC)."""
    runs: list[str] = []
    begin: int | None = None
    for index, (_, _, people) in enumerate([*grid, (7, 0, ["end of the week"])]):
        if not people and begin is None:
            begin = index
        elif people and begin is not None:
            first = f"{WEEKDAYS[begin // 24]} {begin % 24:02d}:00"
            if index // 24 == begin // 24:
                runs.append(f"{first}-{index % 24:02d}:00")
            elif index % 24 == 0 and index // 24 == begin // 24 + 1:
                runs.append(f"{first}-24:00")
            else:
                runs.append(f"{first}-{WEEKDAYS[(index // 24) % 7]} {index % 24:02d}:00")
            begin = None
    return runs
