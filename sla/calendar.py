"""Business time, exact to the microsecond: every SLA computation goes through the functions of this module.

    add_business_time(calendar, instant, seconds) -> datetime
    business_seconds_between(calendar, a, b)      -> float (business_time_between gives a timedelta)
    is_business_time(calendar, t)                 -> bool
    next_business_start(calendar, t)              -> datetime

They are pure: a `Calendar` holds only rules (no database), so they can be tested exhaustively.

What counts as business time
- The week is a set of ranges of *wall-clock* time in the calendar's IANA time zone, several per day allowed.
  A range whose end is not after its start crosses midnight: Mon 22:00-06:00 runs into Tuesday morning
  (start == end means 24 hours). An instant is business time when the wall clock, read in the calendar's
  zone at that instant, is inside a range of that date's weekday (or inside the part after midnight of a
  range of the previous weekday) and that date is not a holiday.
- Daylight saving time falls out of that definition: on the spring-forward night the skipped wall hour does
  not exist, so it holds no business time; on the fall-back night the repeated wall hour is counted twice
  (it is two real hours of work).
- A holiday takes its whole local date away (00:00-24:00), including the after-midnight part of a shift that
  started the evening before; the part of a holiday-eve shift that runs past midnight into a working day
  counts. Holidays are explicit dates plus, optionally, those of the `holidays` package for a country and
  region (observed days included, as that package gives them).
- A 24x7 calendar is open at every instant; it has no holidays.

Conventions that make the arithmetic exact
- Intervals are half-open [start, end): 17:00 is not business time in an 08:00-17:00 day.
- `add_business_time(t, d)` returns the first instant, at or after t, at which d of business time has been
  used *and* business time is running. So the result is always business time: a target whose last second
  ends a working day falls due when the next working period starts (a breach is never declared at night,
  when nobody can act on it), and these identities hold exactly:
      is_business_time(add(t, d))
      add(add(t, a), b) == add(t, a + b)
      business_time_between(t, add(t, d)) == d
  `next_business_start(t) == add(t, 0)`.
- `business_time_between(a, b)` is the business time in [a, b); it is antisymmetric (negative when b < a).

How it is computed
The UTC time line is cut into days (UTC). For each day the calendar computes, once, the sorted list of its
business intervals (UTC microseconds): each stretch of constant UTC offset maps linearly to wall time, so the
business wall intervals of the dates it covers are mapped back exactly, whatever DST does. A day's intervals
are cached; adding time walks the cached days.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

US = 1_000_000
DAY_US = 86_400 * US
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_ONE_US = timedelta(microseconds=1)
# A calendar that has no business time in this many consecutive days is treated as broken.
MAX_SCAN_DAYS = 3 * 366
_CACHE_LIMIT = 50_000


class CalendarError(ValueError):
    """The calendar's rules are unusable (unknown zone, no business time at all...)."""


def to_us(instant: datetime) -> int:
    """Microseconds since the Unix epoch of an aware datetime (exact)."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"A naive datetime has no place on the time line: {instant!r}")
    return (instant - EPOCH) // _ONE_US


def from_us(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


def duration_us(value: int | float | timedelta) -> int:
    """A duration in microseconds: `timedelta`s exactly, numbers as seconds (rounded to the microsecond)."""
    if isinstance(value, timedelta):
        return value // _ONE_US
    return round(value * US)


def _weekday(day_index: int) -> int:
    return (day_index + 3) % 7  # 1970-01-01 was a Thursday; Monday is 0


def _tod_us(t: time) -> int:
    return ((t.hour * 60 + t.minute) * 60 + t.second) * US + t.microsecond


@dataclass(frozen=True)
class WeeklyRange:
    """Wall-clock business hours on one weekday (0 Monday ... 6 Sunday). `end <= start` crosses midnight."""

    weekday: int
    start: time
    end: time

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise CalendarError(f"weekday must be 0 (Monday) to 6 (Sunday), not {self.weekday}")

    @property
    def crosses_midnight(self) -> bool:
        return self.end <= self.start

    @property
    def length_us(self) -> int:
        s, e = _tod_us(self.start), _tod_us(self.end)
        return e - s if e > s else e - s + DAY_US


def _merge(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sort and merge overlapping or touching half-open intervals."""
    out: list[tuple[int, int]] = []
    for s, e in sorted(intervals):
        if s >= e:
            continue
        if out and s <= out[-1][1]:
            if e > out[-1][1]:
                out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    return out


class _Zone:
    """UTC offsets of an IANA zone as stretches of constant offset (transitions found once per year)."""

    def __init__(self, name: str) -> None:
        try:
            self.tz = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise CalendarError(f"Unknown time zone {name!r}; use an IANA name such as Europe/Rome.") from exc
        self.name = name
        self._years: dict[int, list[tuple[int, int]]] = {}

    def offset_us(self, u: int) -> int:
        return from_us(u).astimezone(self.tz).utcoffset() // _ONE_US

    def _transitions(self, year: int) -> list[tuple[int, int]]:
        """(instant, new offset) for each change of offset during a UTC year, found by sampling every 6 hours
        and bisecting to the second (zones change offset on whole seconds, never twice within 6 hours)."""
        cached = self._years.get(year)
        if cached is not None:
            return cached
        step = 6 * 3600
        start = int((datetime(year, 1, 1, tzinfo=UTC) - EPOCH).total_seconds())
        end = int((datetime(year + 1, 1, 1, tzinfo=UTC) - EPOCH).total_seconds())
        found: list[tuple[int, int]] = []
        prev_s, prev_off = start, self.offset_us(start * US)
        s = start
        while s < end:
            s = min(s + step, end)
            off = self.offset_us(s * US)
            if off != prev_off:
                lo, hi = prev_s, s  # offset(lo) == prev_off, offset(hi) == off
                while hi - lo > 1:
                    mid = (lo + hi) // 2
                    if self.offset_us(mid * US) == prev_off:
                        lo = mid
                    else:
                        hi = mid
                found.append((hi * US, self.offset_us(hi * US)))
            prev_s, prev_off = s, off
        self._years[year] = found
        return found

    def segments(self, a: int, b: int) -> list[tuple[int, int, int]]:
        """[(start, end, offset)] covering [a, b) with a constant UTC offset on each piece."""
        first = from_us(a).year
        last = from_us(b - 1).year
        cuts = [t for y in range(first, last + 1) for t in self._transitions(y) if a < t[0] < b]
        out = []
        cur, off = a, self.offset_us(a)
        for t, new_off in cuts:
            out.append((cur, t, off))
            cur, off = t, new_off
        out.append((cur, b, off))
        return out


class Calendar:
    """The rules of a business calendar, compiled for fast, exact arithmetic. Immutable after construction
    (its caches only remember results). Build one with `Calendar(time_zone=..., ranges=[...], ...)`;
    the database model turns into one through sla.selectors.calendar_compiled."""

    def __init__(
        self,
        *,
        time_zone: str = "UTC",
        ranges: Iterable[WeeklyRange | tuple[int, time, time]] = (),
        holidays: Iterable[date] = (),
        holiday_country: str = "",
        holiday_subdivision: str = "",
        always_open: bool = False,
        name: str = "",
    ) -> None:
        self.name = name
        self.always_open = bool(always_open)
        self.zone = _Zone(time_zone or "UTC")
        self.time_zone = self.zone.name
        self.ranges = tuple(r if isinstance(r, WeeklyRange) else WeeklyRange(*r) for r in ranges)
        self.explicit_holidays = frozenset(holidays)
        self.holiday_country = (holiday_country or "").upper()
        self.holiday_subdivision = holiday_subdivision or ""
        if not self.always_open and not self.ranges:
            raise CalendarError("A calendar needs business hours (or must be 24x7).")
        parts: list[list[tuple[int, int]]] = [[] for _ in range(7)]
        for r in self.ranges:
            s = _tod_us(r.start)
            e = s + r.length_us
            parts[r.weekday].append((s, min(e, DAY_US)))
            if e > DAY_US:
                parts[(r.weekday + 1) % 7].append((0, e - DAY_US))
        self._parts = tuple(tuple(_merge(p)) for p in parts)
        if not self.always_open and not any(self._parts):
            raise CalendarError("A calendar needs business hours (or must be 24x7).")
        self._holiday_years: dict[int, frozenset[int]] = {}
        self._days: dict[int, tuple[tuple[int, ...], tuple[int, ...], int]] = {}
        if self.holiday_country:
            self._package_holidays(2000)  # validates the country and region now, not at the first use

    def __repr__(self) -> str:
        kind = "24x7" if self.always_open else f"{len(self.ranges)} ranges"
        return f"<Calendar {self.name or '?'} {self.time_zone} {kind}>"

    # --- holidays -------------------------------------------------------------------------------

    def _package_holidays(self, year: int) -> dict[date, str]:
        import holidays as holidays_package

        try:
            return dict(
                holidays_package.country_holidays(
                    self.holiday_country, subdiv=self.holiday_subdivision or None, years=year
                )
            )
        except NotImplementedError as exc:
            raise CalendarError(
                f"The holidays package knows no country {self.holiday_country!r} "
                f"(region {self.holiday_subdivision or '-'}): {exc}"
            ) from exc

    def holidays_in(self, year: int) -> dict[date, str]:
        """Every holiday of a (local) year, by date, with its name."""
        out = self._package_holidays(year) if self.holiday_country else {}
        for d in self.explicit_holidays:
            if d.year == year:
                out.setdefault(d, "Holiday")
        return dict(sorted(out.items()))

    def _is_holiday(self, day_index: int) -> bool:
        if self.always_open:
            return False
        d = date.fromordinal(_EPOCH_ORDINAL + day_index)
        days = self._holiday_years.get(d.year)
        if days is None:
            dates = set(self.explicit_holidays)
            if self.holiday_country:
                dates |= set(self._package_holidays(d.year))
            days = frozenset(x.toordinal() - _EPOCH_ORDINAL for x in dates if x.year == d.year)
            self._holiday_years[d.year] = days
        return day_index in days

    def is_holiday(self, d: date) -> bool:
        return self._is_holiday(d.toordinal() - _EPOCH_ORDINAL)

    # --- the business intervals of one UTC day ---------------------------------------------------

    def _day(self, k: int) -> tuple[tuple[int, ...], tuple[int, ...], int]:
        """Starts, ends and total length of the business intervals in UTC day k (microseconds)."""
        cached = self._days.get(k)
        if cached is not None:
            return cached
        a, b = k * DAY_US, (k + 1) * DAY_US
        found: list[tuple[int, int]] = []
        for sa, sb, off in self.zone.segments(a, b):
            wa, wb = sa + off, sb + off  # the same stretch, on the wall clock
            for d in range(wa // DAY_US, (wb - 1) // DAY_US + 1):
                if self._is_holiday(d):
                    continue
                base = d * DAY_US
                for ps, pe in self._parts[_weekday(d)]:
                    s, e = max(base + ps, wa), min(base + pe, wb)
                    if s < e:
                        found.append((s - off, e - off))
        merged = _merge(found)
        result = (tuple(s for s, _ in merged), tuple(e for _, e in merged), sum(e - s for s, e in merged))
        if len(self._days) > _CACHE_LIMIT:
            self._days.clear()
        self._days[k] = result
        return result

    def intervals(self, a: datetime, b: datetime) -> list[tuple[datetime, datetime]]:
        """The business intervals overlapping [a, b), clipped to it (for display and for tests)."""
        ua, ub = to_us(a), to_us(b)
        if self.always_open:
            return [(a, b)] if ua < ub else []
        out: list[tuple[int, int]] = []
        for k in range(ua // DAY_US, (ub - 1) // DAY_US + 1):
            starts, ends, _ = self._day(k)
            for s, e in zip(starts, ends, strict=True):
                s, e = max(s, ua), min(e, ub)
                if s < e:
                    out.append((s, e))
        return [(from_us(s), from_us(e)) for s, e in _merge(out)]

    # --- arithmetic on microseconds --------------------------------------------------------------

    def add_us(self, u: int, d: int) -> int:
        if d < 0:
            raise ValueError("Business time can only be added forward (a negative duration was given).")
        if self.always_open:
            return u + d
        k = u // DAY_US
        empty_days = 0
        while True:
            starts, ends, total = self._day(k)
            if ends and ends[-1] > u:
                empty_days = 0
                if starts[0] >= u and d > total:
                    d -= total  # the whole day is used up
                else:
                    for j in range(bisect.bisect_right(ends, u), len(starts)):
                        s = starts[j] if starts[j] > u else u
                        avail = ends[j] - s
                        if d < avail or d == 0:
                            return s + d
                        d -= avail
                        u = ends[j]
            else:
                empty_days += 1
                if empty_days > MAX_SCAN_DAYS:
                    raise CalendarError(f"Calendar {self.name or ''} has no business time for {MAX_SCAN_DAYS} days.")
            k += 1

    def between_us(self, a: int, b: int) -> int:
        if b < a:
            return -self.between_us(b, a)
        if self.always_open or a == b:
            return b - a
        total = 0
        first, last = a // DAY_US, (b - 1) // DAY_US
        for k in range(first, last + 1):
            starts, ends, day_total = self._day(k)
            if first < k < last:
                total += day_total
                continue
            for s, e in zip(starts, ends, strict=True):
                s, e = max(s, a), min(e, b)
                if s < e:
                    total += e - s
        return total

    def is_business_us(self, u: int) -> bool:
        if self.always_open:
            return True
        starts, ends, _ = self._day(u // DAY_US)
        i = bisect.bisect_right(starts, u) - 1
        return i >= 0 and u < ends[i]


# --- the public functions ---------------------------------------------------------------------------


def add_business_time(calendar: Calendar, instant: datetime, seconds: int | float | timedelta) -> datetime:
    """The instant at which `seconds` of business time, counted from `instant`, have been used (see the
    module's docstring for the exact convention: the result is always business time)."""
    return from_us(calendar.add_us(to_us(instant), duration_us(seconds)))


def business_time_between(calendar: Calendar, a: datetime, b: datetime) -> timedelta:
    """Business time in [a, b), exact; negative when b is before a."""
    return timedelta(microseconds=calendar.between_us(to_us(a), to_us(b)))


def business_seconds_between(calendar: Calendar, a: datetime, b: datetime) -> float:
    """Business seconds in [a, b) (microsecond precision); negative when b is before a."""
    return calendar.between_us(to_us(a), to_us(b)) / US


def is_business_time(calendar: Calendar, t: datetime) -> bool:
    return calendar.is_business_us(to_us(t))


def next_business_start(calendar: Calendar, t: datetime) -> datetime:
    """`t` itself when it is business time, else the start of the next business period."""
    return from_us(calendar.add_us(to_us(t), 0))


ALWAYS_OPEN = Calendar(always_open=True, name="24x7")
