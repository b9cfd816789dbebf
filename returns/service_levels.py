"""Service levels: response and resolution targets per priority, in each desk's working hours.

A desk is the team that answers a channel (phone, e-mail, marketplace ...). Each desk works
24/7 or to a weekly timetable in its own time zone, with holidays. A target of "4 hours" is
four *working* hours of that desk: a request at 17:30 on Friday to a desk open 09:00-18:00
on weekdays is due at 12:30 on Monday.

Configuration (``SPAREFLOW_SLA_*``):

- ``SLA_FIRST_RESPONSE_HOURS``: ``{"urgent": 1, "high": 4, "medium": 24, "low": 24}``
- ``SLA_RESOLUTION_HOURS``: ``{"urgent": 24, "high": 72, "medium": 120, "low": 240}``
- ``SLA_DESK_HOURS``: per channel, with ``"default"`` for the rest: ``"24/7"`` or
  ``{"timezone": "Europe/London", "days": "mon-fri", "open": "09:00", "close": "18:00",
  "holidays": ["2026-12-25"]}``
- ``SLA_WARN_AT_PERCENT``: warn the desk when this share of the target has passed (75).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from returns.status import Channel, Priority

DAY_NAMES = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def _parse_days(spec: str | list[str]) -> frozenset[int]:
    """``"mon-fri"``, ``"mon-fri,sun"`` or ``["mon", "tue"]`` as weekday numbers (Monday 0)."""
    parts = spec if isinstance(spec, list) else str(spec).split(",")
    days: set[int] = set()
    for part in (p.strip().lower()[:7] for p in parts):
        first, _, last = part.partition("-")
        start, end = DAY_NAMES.index(first[:3]), DAY_NAMES.index((last or first)[:3])
        days.update(range(start, end + 1) if start <= end else [*range(start, 7), *range(end + 1)])
    return frozenset(days)


@dataclass(frozen=True)
class DeskHours:
    """When a desk works. ``always`` is 24/7; otherwise ``days`` from ``opens`` to ``closes``."""

    always: bool = True
    timezone: str = "UTC"
    days: frozenset[int] = frozenset(range(5))
    opens: time = time(9)
    closes: time = time(18)
    holidays: frozenset[date] = frozenset()

    @classmethod
    def parse(cls, spec: Any) -> DeskHours:
        if spec in (None, "24/7", "always"):
            return cls(always=True)
        if not isinstance(spec, Mapping):
            raise ValueError(f'desk hours must be "24/7" or a timetable, not {spec!r}')
        hours = cls(
            always=False,
            timezone=str(spec.get("timezone", "UTC")),
            days=_parse_days(spec.get("days", "mon-fri")),
            opens=time.fromisoformat(str(spec.get("open", "09:00"))),
            closes=time.fromisoformat(str(spec.get("close", "18:00"))),
            holidays=frozenset(date.fromisoformat(str(d)) for d in spec.get("holidays", [])),
        )
        ZoneInfo(hours.timezone)  # an unknown zone fails at start-up, not at the first RMA
        if hours.closes <= hours.opens or not hours.days:
            raise ValueError(f"desk hours need open < close and at least one day: {spec!r}")
        return hours

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def _working_day(self, day: date) -> bool:
        return day.weekday() in self.days and day not in self.holidays

    def _shift(self, day: date) -> tuple[datetime, datetime]:
        """That day's working period in UTC (correct across daylight-saving changes)."""
        start = datetime.combine(day, self.opens, self.zone).astimezone(UTC)
        end = datetime.combine(day, self.closes, self.zone).astimezone(UTC)
        return start, end

    def is_open(self, at: datetime) -> bool:
        if self.always:
            return True
        local = at.astimezone(self.zone)
        if not self._working_day(local.date()):
            return False
        start, end = self._shift(local.date())
        return start <= at < end

    def add(self, start: datetime, working: timedelta) -> datetime:
        """The moment ``working`` time of this desk has passed after ``start``."""
        if self.always:
            return start + working
        left = working
        day = start.astimezone(self.zone).date()
        for _ in range(3700):  # ten years of calendar: a timetable with no days never ends
            if self._working_day(day):
                open_at, close_at = self._shift(day)
                begin = max(open_at, start)
                if begin < close_at:
                    if begin + left <= close_at:
                        return begin + left
                    left -= close_at - begin
            day += timedelta(days=1)
        raise ValueError("the desk hours leave no working time")

    def working_between(self, start: datetime, end: datetime) -> timedelta:
        """Working time of this desk from ``start`` to ``end`` (negative if ``end`` is earlier)."""
        if end < start:
            return -self.working_between(end, start)
        if self.always:
            return end - start
        total = timedelta()
        day = start.astimezone(self.zone).date()
        while True:
            open_at, close_at = self._shift(day)
            if open_at >= end:
                return total
            if self._working_day(day):
                begin, finish = max(open_at, start), min(close_at, end)
                if finish > begin:
                    total += finish - begin
            day += timedelta(days=1)


DEFAULT_FIRST_RESPONSE_HOURS = {"urgent": 1, "high": 4, "medium": 24, "low": 24}
DEFAULT_RESOLUTION_HOURS = {"urgent": 24, "high": 72, "medium": 120, "low": 240}
DEFAULT_DESK_HOURS = {"timezone": "UTC", "days": "mon-fri", "open": "09:00", "close": "18:00"}


def _hours(raw: Mapping[str, Any], defaults: Mapping[str, float]) -> dict[Priority, timedelta]:
    merged = {**defaults, **{str(k).lower(): v for k, v in dict(raw).items()}}
    return {p: timedelta(hours=float(merged[p.value])) for p in Priority}


@dataclass(frozen=True)
class Deadlines:
    first_response: datetime
    resolution: datetime
    #: When the desk is warned that each is near.
    first_response_warning: datetime
    resolution_warning: datetime

    def warning(self, target: str) -> datetime:
        """When the desk is warned about ``target`` ("first_response" or "resolution")."""
        return (
            self.first_response_warning if target == "first_response" else self.resolution_warning
        )


@dataclass(frozen=True)
class ServiceLevels:
    first_response: Mapping[Priority, timedelta] = field(
        default_factory=lambda: _hours({}, DEFAULT_FIRST_RESPONSE_HOURS)
    )
    resolution: Mapping[Priority, timedelta] = field(
        default_factory=lambda: _hours({}, DEFAULT_RESOLUTION_HOURS)
    )
    desks: Mapping[str, DeskHours] = field(
        default_factory=lambda: {"default": DeskHours.parse(DEFAULT_DESK_HOURS)}
    )
    warn_at_percent: int = 75

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> ServiceLevels:
        desk_specs = dict(settings.get("SLA_DESK_HOURS") or {"default": DEFAULT_DESK_HOURS})
        desk_specs.setdefault("default", DEFAULT_DESK_HOURS)
        unknown = set(desk_specs) - {"default", *(c.value for c in Channel)}
        if unknown:
            raise ValueError(f"SLA_DESK_HOURS names no such channel: {', '.join(sorted(unknown))}")
        warn = int(settings.get("SLA_WARN_AT_PERCENT", 75))
        if not 1 <= warn <= 99:
            raise ValueError("SLA_WARN_AT_PERCENT must be between 1 and 99")
        return cls(
            first_response=_hours(
                settings.get("SLA_FIRST_RESPONSE_HOURS") or {}, DEFAULT_FIRST_RESPONSE_HOURS
            ),
            resolution=_hours(settings.get("SLA_RESOLUTION_HOURS") or {}, DEFAULT_RESOLUTION_HOURS),
            desks={name: DeskHours.parse(spec) for name, spec in desk_specs.items()},
            warn_at_percent=warn,
        )

    def desk(self, channel: Channel) -> DeskHours:
        return self.desks.get(channel.value) or self.desks["default"]

    def deadlines(self, channel: Channel, priority: Priority, opened: datetime) -> Deadlines:
        hours = self.desk(channel)
        response, resolution = self.first_response[priority], self.resolution[priority]
        share = self.warn_at_percent / 100
        return Deadlines(
            first_response=hours.add(opened, response),
            resolution=hours.add(opened, resolution),
            first_response_warning=hours.add(opened, response * share),
            resolution_warning=hours.add(opened, resolution * share),
        )

    def time_left(self, channel: Channel, deadline: datetime, now: datetime) -> timedelta:
        """Working time left until ``deadline`` (negative once it has passed)."""
        return self.desk(channel).working_between(now, deadline)


@dataclass(frozen=True)
class SlaClock:
    """Where an RMA stands against its next target: what is due, when, and how it looks."""

    target: str  # "first_response", "resolution", or "" when both are met
    due: datetime | None
    left: timedelta | None  # desk working time left; negative once breached
    level: str  # "met", "ok", "warning" (most of the time gone) or "breached"

    @property
    def label(self) -> str:
        return self.target.replace("_", " ")


def sla_clock(levels: ServiceLevels, rma: Any, now: datetime) -> SlaClock:
    """The clock the desk sees for ``rma`` (an ``Rma``: channel, priority and the SLA columns)."""
    for target, due, done in (
        ("first_response", rma.first_response_due_at, rma.first_response_at),
        ("resolution", rma.resolution_due_at, rma.resolved_at),
    ):
        if due is None or done is not None:
            continue
        left = levels.time_left(rma.channel, due, now)
        if now >= due:
            return SlaClock(target, due, left, "breached")
        warn_at = levels.deadlines(rma.channel, rma.priority, rma.created_at).warning(target)
        return SlaClock(target, due, left, "warning" if now >= warn_at else "ok")
    return SlaClock("", None, None, "met")


def format_left(left: timedelta | None) -> str:
    """ "2 h 05 min", "15 min", "-1 h 10 min" (overdue) in desk working time."""
    if left is None:
        return ""
    sign = "-" if left < timedelta(0) else ""
    minutes = int(abs(left.total_seconds()) // 60)
    if minutes < 60:
        return f"{sign}{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{sign}{hours} h {minutes:02d} min"
