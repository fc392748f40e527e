"""Staff hours ([handoff] hours): what is refused, when staff are in, and when they are next.

Moments are written in UTC or with their zone; the hours are read in the shop's time zone.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pytest

from training.hours import HoursError, OpeningHours, check

BERLIN = ZoneInfo("Europe/Berlin")
WEEK = ["mon-fri 09:00-18:00", "sat 10:00-14:00"]


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


# --- refused -------------------------------------------------------------------------------------


@pytest.mark.parametrize("entry, what", [
    ("9-18", 'is not "<days> HH:MM-HH:MM"'),
    ("mon-fri", 'is not "<days> HH:MM-HH:MM"'),
    ("mon-fri 09:00", 'is not "<days> HH:MM-HH:MM"'),
    ("mon-fri 09:00-18:00 sat", 'is not "<days> HH:MM-HH:MM"'),
    ("monday 09:00-18:00", '"monday", not a day'),
    ("mon-fry 09:00-18:00", '"mon-fry", not a day'),
    ("mon- 09:00-18:00", '"mon-", not a day'),
    ("mon,,fri 09:00-18:00", '"", not a day'),
    ("mon 25:00-26:00", "has 25:00, not a time from 00:00 to 24:00"),
    ("mon 09:60-18:00", "has 09:60"),
    ("mon 09:00-24:30", "has 24:30"),
    ("mon 09:00-09:00", "is an empty range of time"),
    ("mon 24:00-02:00", "is an empty range of time"),
])
def test_an_entry_that_is_not_days_and_a_range_of_time_is_refused_saying_what_is_wrong(entry, what):
    assert what in check(entry) and f'"{entry}"' in check(entry)
    with pytest.raises(HoursError, match="^\""):
        OpeningHours.parse(["mon-fri 09:00-18:00", entry], "UTC")


def test_an_unknown_time_zone_is_refused():
    with pytest.raises(ZoneInfoNotFoundError):
        OpeningHours.parse(WEEK, "Mars/Olympus_Mons")


# --- always --------------------------------------------------------------------------------------


def test_no_entries_means_always_staffed():
    hours = OpeningHours.parse([], "Europe/Berlin")
    at = datetime(2026, 1, 4, 3, 0, tzinfo=UTC)  # a Sunday night
    assert hours.always and hours.is_open(at) and hours.next_open(at) == at


# --- within the week -----------------------------------------------------------------------------


@pytest.mark.parametrize("at, open_", [
    (berlin(2026, 1, 5, 8, 59), False),  # Monday, a minute early
    (berlin(2026, 1, 5, 9, 0), True),
    (berlin(2026, 1, 9, 17, 59), True),  # Friday
    (berlin(2026, 1, 9, 18, 0), False),  # the end is not in
    (berlin(2026, 1, 10, 12, 0), True),  # Saturday
    (berlin(2026, 1, 11, 12, 0), False),  # Sunday
])
def test_staff_are_in_from_the_start_up_to_the_end(at, open_):
    assert OpeningHours.parse(WEEK, "Europe/Berlin").is_open(at) is open_


@pytest.mark.parametrize("at, back", [
    (berlin(2026, 1, 5, 7, 0), berlin(2026, 1, 5, 9, 0)),  # Monday morning: later today
    (berlin(2026, 1, 5, 19, 0), berlin(2026, 1, 6, 9, 0)),  # Monday evening: tomorrow
    (berlin(2026, 1, 9, 18, 0), berlin(2026, 1, 10, 10, 0)),  # Friday's end: Saturday
    (berlin(2026, 1, 10, 14, 30), berlin(2026, 1, 12, 9, 0)),  # Saturday afternoon: over Sunday to Monday
])
def test_next_open_is_the_next_start_across_the_week(at, back):
    assert OpeningHours.parse(WEEK, "Europe/Berlin").next_open(at) == back


def test_next_open_is_the_moment_itself_while_staff_are_in_shown_in_the_shops_zone():
    at = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
    back = OpeningHours.parse(WEEK, "Europe/Berlin").next_open(at)
    assert back == at and back.tzinfo is BERLIN and back.hour == 11


def test_a_single_weekly_shift_comes_round_again_a_week_later():
    hours = OpeningHours.parse(["wed 10:00-11:00"], "UTC")
    assert hours.next_open(datetime(2026, 1, 7, 11, 0, tzinfo=UTC)) == datetime(2026, 1, 14, 10, 0, tzinfo=UTC)


def test_lists_ranges_across_the_weekend_and_capitals_are_read():
    hours = OpeningHours.parse(["Fri-Mon 10:00-12:00", "wed,THU 14:00-15:00"], "UTC")
    days = {d for d in range(5, 12) if hours.is_open(datetime(2026, 1, d, 11, 0, tzinfo=UTC))}  # Jan 5 is a Monday
    assert days == {5, 9, 10, 11}
    assert hours.is_open(datetime(2026, 1, 8, 14, 30, tzinfo=UTC)) and not hours.is_open(datetime(2026, 1, 6, 14, 30, tzinfo=UTC))



# --- past midnight -------------------------------------------------------------------------------


def test_a_range_ending_before_it_starts_runs_into_the_next_day():
    hours = OpeningHours.parse(["fri 22:00-02:00"], "UTC")
    assert hours.is_open(datetime(2026, 1, 9, 23, 0, tzinfo=UTC))  # Friday night
    assert hours.is_open(datetime(2026, 1, 10, 1, 59, tzinfo=UTC))  # Saturday, small hours
    assert not hours.is_open(datetime(2026, 1, 10, 2, 0, tzinfo=UTC))
    assert not hours.is_open(datetime(2026, 1, 9, 1, 0, tzinfo=UTC))  # Friday's small hours are Thursday's night
    assert hours.next_open(datetime(2026, 1, 10, 2, 0, tzinfo=UTC)) == datetime(2026, 1, 16, 22, 0, tzinfo=UTC)


def test_sunday_night_runs_into_monday_across_the_weeks_end():
    hours = OpeningHours.parse(["sun 20:00-08:00"], "UTC")
    assert hours.is_open(datetime(2026, 1, 12, 7, 0, tzinfo=UTC))  # Monday morning
    assert not hours.is_open(datetime(2026, 1, 12, 9, 0, tzinfo=UTC))


def test_24_00_ends_at_midnight_and_back_to_back_days_stay_open():
    hours = OpeningHours.parse(["mon 12:00-24:00", "tue 00:00-06:00"], "UTC")
    assert hours.is_open(datetime(2026, 1, 5, 23, 59, tzinfo=UTC))
    assert hours.is_open(datetime(2026, 1, 6, 0, 0, tzinfo=UTC))
    assert not hours.is_open(datetime(2026, 1, 6, 6, 0, tzinfo=UTC))


# --- time zones ----------------------------------------------------------------------------------


def test_hours_are_the_shops_wall_clock_whatever_zone_the_moment_is_in():
    hours = OpeningHours.parse(["mon-fri 09:00-18:00"], "Asia/Tokyo")  # UTC+9, no DST
    assert hours.is_open(datetime(2026, 1, 5, 0, 0, tzinfo=UTC))  # 09:00 Monday in Tokyo
    assert not hours.is_open(datetime(2026, 1, 4, 23, 59, tzinfo=UTC))
    new_york = ZoneInfo("America/New_York")
    assert hours.next_open(datetime(2026, 1, 9, 12, 0, tzinfo=new_york)) == datetime(2026, 1, 12, 9, 0, tzinfo=ZoneInfo("Asia/Tokyo"))


def test_a_shift_starts_at_the_same_wall_clock_time_on_either_side_of_a_dst_change():
    hours = OpeningHours.parse(["mon-fri 09:00-18:00"], "Europe/Berlin")
    # Berlin moves to summer time on Sunday 29 March 2026: Friday's 09:00 is 08:00 UTC, Monday's 07:00 UTC.
    friday_evening = datetime(2026, 3, 27, 18, 0, tzinfo=UTC)
    monday = hours.next_open(friday_evening)
    assert monday == datetime(2026, 3, 30, 7, 0, tzinfo=UTC) and (monday.hour, monday.minute) == (9, 0)
    assert hours.is_open(datetime(2026, 3, 27, 8, 0, tzinfo=UTC)) and hours.is_open(datetime(2026, 3, 30, 7, 0, tzinfo=UTC))
    assert not hours.is_open(datetime(2026, 3, 30, 6, 59, tzinfo=UTC))
    # ...and back on Sunday 25 October 2026: Monday's 09:00 is 08:00 UTC again.
    assert hours.next_open(datetime(2026, 10, 23, 18, 0, tzinfo=UTC)) == datetime(2026, 10, 26, 8, 0, tzinfo=UTC)


def test_the_hour_repeated_when_dst_ends_is_counted_once_not_twice():
    hours = OpeningHours.parse(["sun 00:00-02:30"], "Europe/Berlin")
    # 25 October 2026: 02:00-03:00 summer time (00:00-01:00 UTC), then 02:00-03:00 winter time (01:00-02:00 UTC).
    assert hours.is_open(datetime(2026, 10, 25, 0, 29, tzinfo=UTC))  # 02:29 summer time
    assert not hours.is_open(datetime(2026, 10, 25, 1, 30, tzinfo=UTC))  # 02:30 winter time: after the first 02:30
    in_fold = hours.next_open(datetime(2026, 10, 25, 0, 29, tzinfo=UTC))  # == across zones is False in the fold
    assert in_fold.astimezone(UTC) == datetime(2026, 10, 25, 0, 29, tzinfo=UTC) and in_fold.fold == 0


def test_a_start_in_the_hour_skipped_when_dst_begins_comes_an_hour_later_by_the_clock():
    hours = OpeningHours.parse(["sun 02:30-05:00"], "Europe/Berlin")
    start = hours.next_open(datetime(2026, 3, 29, 0, 0, tzinfo=UTC))  # 01:00 winter time
    assert start == datetime(2026, 3, 29, 1, 30, tzinfo=UTC) and start.hour == 3
    assert not hours.is_open(start - timedelta(minutes=1))
