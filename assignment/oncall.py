"""Who is on call: pure functions over a rotation's definition (no database access).

A rotation hands off at a wall-clock time in its own time zone: a daily rotation at `handoff_time` every
day, a weekly one at `handoff_time` on `handoff_weekday`. Counting periods on local calendar dates (not by
adding 24-hour steps to an instant) keeps the handoff at 09:00 local across DST changes, when a "day" lasts
23 or 25 hours."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAILY = "daily"
WEEKLY = "weekly"


@dataclass(frozen=True)
class Rotation:
    period: str
    time_zone: str
    handoff_time: time
    handoff_weekday: int
    starts_on: date
    member_ids: tuple[int, ...]


@dataclass(frozen=True)
class Override:
    user_id: int
    starts_at: datetime
    ends_at: datetime


def _period_start_date(rotation: Rotation, local: datetime) -> date:
    """The local date on which the period containing `local` began."""
    day = local.date()
    if local.time() < rotation.handoff_time:
        day -= timedelta(days=1)
    if rotation.period == WEEKLY:
        day -= timedelta(days=(day.weekday() - rotation.handoff_weekday) % 7)
    return day


def _first_period_date(rotation: Rotation) -> date:
    day = rotation.starts_on
    if rotation.period == WEEKLY:
        day -= timedelta(days=(day.weekday() - rotation.handoff_weekday) % 7)
    return day


def period_index(rotation: Rotation, at: datetime) -> int | None:
    """0 for the first period, 1 for the next... None before the rotation starts."""
    local = at.astimezone(ZoneInfo(rotation.time_zone))
    start = _period_start_date(rotation, local)
    first = _first_period_date(rotation)
    days = (start - first).days
    if days < 0:
        return None
    return days // 7 if rotation.period == WEEKLY else days


def on_call(rotation: Rotation, at: datetime, overrides: list[Override] = ()) -> int | None:
    """The user id on call at `at`: an override covering the instant wins, else the member whose turn it is."""
    for override in overrides:
        if override.starts_at <= at < override.ends_at:
            return override.user_id
    if not rotation.member_ids:
        return None
    index = period_index(rotation, at)
    if index is None:
        return None
    return rotation.member_ids[index % len(rotation.member_ids)]


def next_handoff(rotation: Rotation, at: datetime) -> datetime:
    """The instant (UTC) of the next handoff after `at`."""
    tz = ZoneInfo(rotation.time_zone)
    local = at.astimezone(tz)
    start = _period_start_date(rotation, local)
    step = 7 if rotation.period == WEEKLY else 1
    candidate = start + timedelta(days=step)
    naive = datetime.combine(candidate, rotation.handoff_time)
    return naive.replace(tzinfo=tz).astimezone(UTC)
