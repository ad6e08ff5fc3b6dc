"""The calendar arithmetic (sla/calendar.py): properties checked by hypothesis over random calendars (several
ranges a day, shifts crossing midnight, holidays on weekends, package holidays) in zones with daylight saving
time, around the DST changes, plus an independent minute-by-minute oracle that reads the wall clock."""

import os
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sla.calendar import (
    Calendar,
    CalendarError,
    WeeklyRange,
    add_business_time,
    business_seconds_between,
    business_time_between,
    is_business_time,
    next_business_start,
)

pytestmark = pytest.mark.smoke

PROPS = settings(
    max_examples=int(os.environ.get("ITSM_HYPOTHESIS_EXAMPLES", 60)),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
ROME, NEW_YORK = ZoneInfo("Europe/Rome"), ZoneInfo("America/New_York")
# Days (UTC) around which instants are drawn: the 2026 DST changes of each zone, and an ordinary week.
AROUND = {
    "Europe/Rome": [date(2026, 3, 29), date(2026, 10, 25)],
    "America/New_York": [date(2026, 3, 8), date(2026, 11, 1)],
    "Australia/Lord_Howe": [date(2026, 4, 5), date(2026, 10, 4)],  # a 30-minute DST shift
    "Asia/Kolkata": [date(2026, 6, 10)],  # +05:30, no DST
    "UTC": [date(2026, 12, 24)],
}
ZONES = list(AROUND)
MINUTE = timedelta(minutes=1)


def _range(weekday: int, start_q: int, length_q: int) -> WeeklyRange:
    """A range from quarter-hour `start_q` lasting `length_q` quarter-hours (96 = 24 hours)."""
    end_q = (start_q + length_q) % 96
    return WeeklyRange(weekday, time(start_q // 4, start_q % 4 * 15), time(end_q // 4, end_q % 4 * 15))


@st.composite
def calendars(draw, zone=None):
    tz = zone or draw(st.sampled_from(ZONES))
    ranges = draw(
        st.lists(st.builds(_range, st.integers(0, 6), st.integers(0, 95), st.integers(1, 96)), min_size=1, max_size=8)
    )
    base = AROUND[tz][0]
    holidays = draw(st.lists(st.dates(base - timedelta(days=4), base + timedelta(days=12)), max_size=4, unique=True))
    country, subdivision = draw(st.sampled_from([("", ""), ("", ""), ("IT", ""), ("US", "NY")]))
    return Calendar(
        time_zone=tz, ranges=ranges, holidays=holidays, holiday_country=country, holiday_subdivision=subdivision
    )


@st.composite
def calendar_and_instant(draw, minute_aligned=False):
    cal = draw(calendars())
    day = draw(st.sampled_from(AROUND[cal.time_zone]))
    start = datetime.combine(day, time(), tzinfo=UTC) - timedelta(days=2)
    if minute_aligned:
        t = start + timedelta(minutes=draw(st.integers(0, 5 * 24 * 60)))
    else:
        t = start + timedelta(microseconds=draw(st.integers(0, 5 * 86_400 * 1_000_000)))
    return cal, t


durations = st.one_of(
    st.integers(0, 4 * 86_400).map(lambda s: timedelta(seconds=s)),
    st.integers(0, 4 * 86_400 * 1_000_000).map(lambda us: timedelta(microseconds=us)),
)


def _wall_is_business(cal: Calendar, wall: datetime) -> bool:
    """The definition, read off a wall clock: the date is not a holiday and the time of day is in a range of
    that weekday, or in the after-midnight part of a range of the previous weekday."""
    d = wall.date()
    if d in cal.explicit_holidays or (cal.holiday_country and d in cal.holidays_in(d.year)):
        return False
    tod = wall.hour * 60 + wall.minute
    for r in cal.ranges:
        s = r.start.hour * 60 + r.start.minute
        end = s + r.length_us // 60_000_000
        if r.weekday == d.weekday() and s <= tod < min(end, 1440):
            return True
        if (r.weekday + 1) % 7 == d.weekday() and end > 1440 and tod < end - 1440:
            return True
    return False


def _oracle(cal: Calendar, a: datetime, b: datetime) -> timedelta:
    tz = ZoneInfo(cal.time_zone)
    minutes, t = 0, a
    while t < b:
        if _wall_is_business(cal, t.astimezone(tz)):
            minutes += 1
        t += MINUTE
    return timedelta(minutes=minutes)


# Pinned cases, always run before the generated ones: a night shift over Rome's spring-forward night, a
# Sunday range in New York's repeated hour (fall back), a holiday on a Saturday, a week-long add over a DST change.
ROME_NIGHT_DST = (
    Calendar(time_zone="Europe/Rome", ranges=[_range(d, 88, 40) for d in range(7)]),  # 22:00-08:00 every night
    datetime(2026, 3, 28, 21, 30, tzinfo=UTC),
)
NEW_YORK_FALL_BACK = (
    Calendar(time_zone="America/New_York", ranges=[_range(6, 4, 12)]),  # Sundays 01:00-04:00
    datetime(2026, 11, 1, 4, 30, tzinfo=UTC),
)
SATURDAY_HOLIDAY = (
    Calendar(time_zone="Europe/Rome", ranges=[_range(d, 36, 32) for d in range(5)], holidays=[date(2026, 3, 28)]),
    datetime(2026, 3, 27, 15, 0, tzinfo=UTC),
)
PINNED = [
    (ROME_NIGHT_DST, timedelta(hours=6)),
    (NEW_YORK_FALL_BACK, timedelta(hours=2, minutes=30)),
    (SATURDAY_HOLIDAY, timedelta(hours=3)),
    (ROME_NIGHT_DST, timedelta(days=3, microseconds=1)),
]


def pinned(test):
    for case, d in PINNED:
        test = example(case, d)(test)
    return test


def test_the_pinned_cases_cross_what_they_are_meant_to():
    cal, t = NEW_YORK_FALL_BACK  # 00:30 EDT: 2.5 hours of range take 01:00 EDT, 01:00 EST (again), 02:00 ...
    assert add_business_time(cal, t, timedelta(hours=2, minutes=30)) == datetime(2026, 11, 1, 7, 30, tzinfo=UTC)
    cal, t = ROME_NIGHT_DST  # 22:30 CET; the night from Saturday to Sunday is 9 hours long, not 10
    assert business_time_between(cal, t, datetime(2026, 3, 29, 6, 0, tzinfo=UTC)) == timedelta(hours=8, minutes=30)


# --- properties -------------------------------------------------------------------------------------


@PROPS
@given(calendar_and_instant(), durations)
@pinned
def test_add_never_lands_outside_business_time(case, d):
    cal, t = case
    assert is_business_time(cal, add_business_time(cal, t, d))


@PROPS
@given(calendar_and_instant(), durations)
@pinned
def test_elapsed_of_add_equals_the_duration(case, d):
    cal, t = case
    assert business_time_between(cal, t, add_business_time(cal, t, d)) == d


@PROPS
@given(calendar_and_instant(), durations, durations)
@example(ROME_NIGHT_DST, timedelta(hours=3), timedelta(hours=4))
@example(NEW_YORK_FALL_BACK, timedelta(minutes=90), timedelta(minutes=60))
def test_adding_a_then_b_equals_adding_a_plus_b(case, a, b):
    cal, t = case
    assert add_business_time(cal, add_business_time(cal, t, a), b) == add_business_time(cal, t, a + b)


@PROPS
@given(calendar_and_instant(), st.lists(st.integers(0, 3 * 86_400), min_size=3, max_size=3))
def test_elapsed_is_monotonic_additive_and_bounded(case, offsets):
    cal, t1 = case
    t2, t3 = (t1 + timedelta(seconds=s) for s in sorted(offsets)[1:])
    e12, e13, e23 = (business_time_between(cal, x, y) for x, y in ((t1, t2), (t1, t3), (t2, t3)))
    assert timedelta(0) <= e12 <= e13 <= t3 - t1
    assert e13 == e12 + e23
    assert business_time_between(cal, t3, t1) == -e13


@PROPS
@given(calendar_and_instant(minute_aligned=True), st.integers(0, 3 * 24 * 60))
def test_elapsed_equals_the_wall_clock_oracle(case, minutes):
    cal, a = case
    b = a + timedelta(minutes=minutes)
    assert business_time_between(cal, a, b) == _oracle(cal, a, b)


@PROPS
@given(calendar_and_instant(minute_aligned=True))
def test_is_business_time_and_next_start_agree_with_the_oracle(case):
    cal, t = case
    assert is_business_time(cal, t) == _wall_is_business(cal, t.astimezone(ZoneInfo(cal.time_zone)))
    start = next_business_start(cal, t)
    assert start >= t and is_business_time(cal, start)
    assert business_time_between(cal, t, start) == timedelta(0)
    if start > t:
        assert not is_business_time(cal, start - timedelta(microseconds=1))


# --- worked examples --------------------------------------------------------------------------------

OFFICE = [WeeklyRange(d, time(8), time(17)) for d in range(5)]
NIGHTS = [WeeklyRange(d, time(22), time(6)) for d in range(7)]


def test_office_hours_friday_afternoon_rolls_to_monday_morning():
    cal = Calendar(time_zone="Europe/Rome", ranges=OFFICE)
    friday = datetime(2026, 3, 27, 15, 0, tzinfo=ROME)
    assert add_business_time(cal, friday, 3600) == datetime(2026, 3, 27, 16, 0, tzinfo=ROME)
    # the target's last second ends Friday 17:00: it falls due when work resumes, Monday 08:00
    assert add_business_time(cal, friday, 2 * 3600) == datetime(2026, 3, 30, 8, 0, tzinfo=ROME)
    assert add_business_time(cal, friday, 2 * 3600 + 1) == datetime(2026, 3, 30, 8, 0, 1, tzinfo=ROME)
    assert business_seconds_between(cal, friday, datetime(2026, 3, 31, 9, 0, tzinfo=ROME)) == 12 * 3600


def test_night_shift_across_dst_changes_in_rome():
    cal = Calendar(time_zone="Europe/Rome", ranges=NIGHTS)
    spring = business_time_between(cal, datetime(2026, 3, 28, 12, tzinfo=ROME), datetime(2026, 3, 29, 12, tzinfo=ROME))
    autumn = business_time_between(
        cal, datetime(2026, 10, 24, 12, tzinfo=ROME), datetime(2026, 10, 25, 12, tzinfo=ROME)
    )
    assert spring == timedelta(hours=7)  # 02:00-03:00 does not exist that night
    assert autumn == timedelta(hours=9)  # 02:00-03:00 happens twice


def test_office_day_is_nine_hours_in_new_york_on_both_dst_sundays_and_the_monday_after():
    cal = Calendar(time_zone="America/New_York", ranges=[WeeklyRange(d, time(8), time(17)) for d in range(7)])
    for day in (date(2026, 3, 8), date(2026, 3, 9), date(2026, 11, 1), date(2026, 11, 2)):
        start = datetime.combine(day, time(), tzinfo=NEW_YORK)
        assert business_time_between(cal, start, start + timedelta(days=1)) == timedelta(hours=9)
    monday = datetime(2026, 3, 9, 8, 0, tzinfo=NEW_YORK)
    assert add_business_time(cal, monday, 9 * 3600 - 1).astimezone(NEW_YORK).hour == 16


def test_range_inside_the_skipped_hour_is_empty():
    cal = Calendar(time_zone="Europe/Rome", ranges=[WeeklyRange(6, time(2, 0), time(3, 0))])  # Sundays only
    day = datetime(2026, 3, 29, tzinfo=UTC) - timedelta(hours=2)
    assert business_time_between(cal, day, day + timedelta(days=1)) == timedelta(0)
    autumn = datetime(2026, 10, 24, 22, tzinfo=UTC)
    assert business_time_between(cal, autumn, autumn + timedelta(days=1)) == timedelta(hours=2)


def test_holiday_on_a_weekend_changes_nothing_but_an_observed_weekday_does():
    weekdays = [WeeklyRange(d, time(9), time(17)) for d in range(5)]
    plain = Calendar(time_zone="America/New_York", ranges=weekdays)
    saturday_holiday = Calendar(time_zone="America/New_York", ranges=weekdays, holidays=[date(2026, 7, 4)])
    us = Calendar(time_zone="America/New_York", ranges=weekdays, holiday_country="US")
    a, b = datetime(2026, 6, 29, tzinfo=NEW_YORK), datetime(2026, 7, 6, tzinfo=NEW_YORK)
    assert business_time_between(saturday_holiday, a, b) == business_time_between(plain, a, b) == timedelta(hours=40)
    assert us.is_holiday(date(2026, 7, 3))  # Independence Day (observed) on the Friday
    assert business_time_between(us, a, b) == timedelta(hours=32)


def test_holiday_takes_the_after_midnight_part_of_the_eve_night_shift():
    cal = Calendar(time_zone="Europe/Rome", ranges=NIGHTS, holidays=[date(2026, 12, 25)])
    eve = datetime(2026, 12, 24, 12, tzinfo=ROME)
    # Dec 24 22:00-24:00 counts (2h); Dec 25 is a holiday: its 00:00-06:00 and its own 22:00 shift do not;
    # Dec 26 00:00-06:00 (the part of the holiday's shift after midnight) counts again.
    assert business_time_between(cal, eve, datetime(2026, 12, 26, 12, tzinfo=ROME)) == timedelta(hours=8)
    assert add_business_time(cal, eve, 2 * 3600) == datetime(2026, 12, 26, 0, 0, tzinfo=ROME)


def test_italian_public_holidays_come_from_the_holidays_package():
    cal = Calendar(time_zone="Europe/Rome", ranges=OFFICE, holiday_country="IT")
    assert cal.is_holiday(date(2026, 12, 25)) and cal.is_holiday(date(2026, 4, 6))  # Christmas, Easter Monday
    assert next_business_start(cal, datetime(2026, 12, 24, 18, tzinfo=ROME)) == datetime(2026, 12, 28, 8, tzinfo=ROME)


def test_twenty_four_seven_is_plain_time():
    cal = Calendar(always_open=True)
    t = datetime(2026, 3, 29, 0, 30, tzinfo=ROME)
    assert add_business_time(cal, t, 3600) == t + timedelta(hours=1)
    # wall-clock arithmetic on a Rome datetime: "two days later" is 47 real hours across the spring change
    assert business_seconds_between(cal, t, t + timedelta(days=2)) == 47 * 3600
    assert is_business_time(cal, t) and next_business_start(cal, t) == t


def test_bad_calendars_are_refused_with_a_reason():
    with pytest.raises(CalendarError, match="time zone"):
        Calendar(time_zone="Mars/Olympus", ranges=OFFICE)
    with pytest.raises(CalendarError, match="business hours"):
        Calendar(time_zone="UTC", ranges=[])
    with pytest.raises(CalendarError, match="country"):
        Calendar(time_zone="UTC", ranges=OFFICE, holiday_country="XX")
    with pytest.raises(ValueError, match="naive"):
        add_business_time(Calendar(ranges=OFFICE), datetime(2026, 1, 1), 1)
    with pytest.raises(ValueError, match="negative"):
        add_business_time(Calendar(ranges=OFFICE), datetime(2026, 1, 1, tzinfo=UTC), -1)
