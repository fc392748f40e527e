"""When staff answer: `[handoff] hours` ("mon-fri 09:00-18:00", "sat 10:00-14:00") in the shop's time zone.

The bot tells a customer handed over outside these hours when staff are back, and counts the wait
for a reply from when they are. No entries means always staffed. A range whose end is before its
start runs past midnight ("fri 22:00-02:00" is Friday night into Saturday); "24:00" ends at midnight.
Times are wall-clock times in the zone, so a shift starts at 09:00 on either side of a DST change.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY = 24 * 60
_ENTRY = re.compile(r"\s*(?P<days>\S+)\s+(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})\s*")


class HoursError(ValueError):
    """An entry that is not "<days> HH:MM-HH:MM"; the message says what is wrong with it."""


@dataclass(frozen=True)
class Shift:
    weekday: int  # 0 = Monday
    start: int  # minutes after the day's midnight
    end: int  # after start; beyond DAY when the shift runs into the next day


@dataclass(frozen=True)
class OpeningHours:
    shifts: tuple[Shift, ...]
    zone: ZoneInfo

    @classmethod
    def parse(cls, specs: Sequence[str], timezone: str) -> OpeningHours:
        """HoursError for an entry that is not "<days> HH:MM-HH:MM" (the config checks each at load)."""
        return cls(tuple(shift for spec in specs for shift in _parse(spec)), ZoneInfo(timezone))

    @property
    def always(self) -> bool:
        """No hours configured: staff are taken to be always in."""
        return not self.shifts

    def is_open(self, at: datetime) -> bool:
        """Whether staff are in at `at` (an aware datetime, any zone)."""
        return self.always or self._in_shift(at)

    def next_open(self, at: datetime) -> datetime:
        """`at` itself (in the shop's zone) when staff are in, else the next start of a shift.

        Compare it with `<`, or in UTC: Python's `==` across zones is False for a time in the hour
        repeated when DST ends.
        """
        local = at.astimezone(self.zone)
        if self.is_open(at):
            return local
        instant, midnight = at.astimezone(UTC), _midnight(local)
        for days_ahead in range(8):  # up to the same weekday next week, when its shift today is over
            day = _day(midnight, days_ahead)
            if starts := [start for s in self._on(day) if (start := _at(day, s.start)) > instant]:
                return min(starts).astimezone(self.zone)
        raise AssertionError("a week with a shift always has a next start")

    def _in_shift(self, at: datetime) -> bool:
        instant, midnight = at.astimezone(UTC), _midnight(at.astimezone(self.zone))
        days = (_day(midnight, -1), midnight)  # yesterday's shift may run past midnight into today
        return any(_at(day, s.start) <= instant < _at(day, s.end) for day in days for s in self._on(day))

    def _on(self, day: datetime) -> list[Shift]:
        return [s for s in self.shifts if s.weekday == day.weekday()]


def _midnight(local: datetime) -> datetime:
    return local.replace(hour=0, minute=0, second=0, microsecond=0, fold=0)


def _day(midnight: datetime, days: int) -> datetime:
    """The local midnight `days` away (wall-clock: a DST day is 23 or 25 hours long)."""
    return (midnight.replace(tzinfo=None) + timedelta(days=days)).replace(tzinfo=midnight.tzinfo)


def _at(day: datetime, minutes: int) -> datetime:
    """The instant (in UTC) when the wall clock shows `minutes` after the local midnight `day`.

    Compared in UTC: aware datetimes sharing a tzinfo compare by wall clock alone (the hour repeated
    when DST ends would be one hour, not two), and across zones one in that hour equals nothing. A start in the hour skipped when DST
    begins comes an hour later by the clock.
    """
    wall = (day.replace(tzinfo=None) + timedelta(minutes=minutes)).replace(tzinfo=day.tzinfo)
    return wall.astimezone(UTC)


def check(entry: str) -> str | None:
    """The config rule for one entry: what is wrong with it, or None."""
    try:
        _parse(entry)
    except HoursError as exc:
        return str(exc)
    return None


def _parse(spec: str) -> list[Shift]:
    """One entry's shifts."""
    match = _ENTRY.fullmatch(spec.lower())
    if match is None:
        raise HoursError(f'"{spec}" is not "<days> HH:MM-HH:MM"')
    start, end = _minutes(match["start"], spec), _minutes(match["end"], spec)
    if start == DAY or start == end:
        raise HoursError(f'"{spec}" is an empty range of time')
    days = _days(match["days"], spec)
    return [Shift(day, start, end if end > start else end + DAY) for day in days]


def _minutes(clock: str, spec: str) -> int:
    hours, minutes = map(int, clock.split(":"))
    if hours > 24 or minutes > 59 or hours == 24 and minutes:
        raise HoursError(f'"{spec}" has {clock}, not a time from 00:00 to 24:00')
    return hours * 60 + minutes


def _days(written: str, spec: str) -> list[int]:
    """"mon-fri", "sat,sun", "fri-mon" (across the week's end), or one day."""
    days: list[int] = []
    for part in written.split(","):
        first, dash, last = part.partition("-")
        if first not in DAYS or dash and last not in DAYS:
            raise HoursError(f'"{spec}" has "{part}", not a day ({"/".join(DAYS)}), a range (mon-fri) or a list (sat,sun)')
        a, b = DAYS.index(first), DAYS.index(last or first)
        days += [d % 7 for d in range(a, b + 1 if b >= a else b + 8)]
    return days
