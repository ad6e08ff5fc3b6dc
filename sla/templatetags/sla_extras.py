"""Presentation of business time: durations like "3h 20m" and instants in a calendar's own zone."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django import template

register = template.Library()


@register.filter
def business_duration(value: timedelta | None) -> str:
    """26h 5m / 45m / 0m, negative with a minus sign. Hours, never days: a "day" of business time would
    read as a working day."""
    if value is None:
        return "—"
    seconds = int(value.total_seconds())
    sign = "-" if seconds < 0 else ""
    hours, rest = divmod(abs(seconds), 3600)
    minutes = rest // 60
    parts = [f"{hours}h"] if hours else []
    if minutes or not parts:
        parts.append(f"{minutes}m")
    return sign + " ".join(parts)


@register.filter
def in_zone(value: datetime | None, zone: str) -> str:
    """ "2026-03-02 10:00 Europe/Rome" - the instant on the calendar's wall clock."""
    if value is None:
        return "—"
    try:
        local = value.astimezone(ZoneInfo(zone or "UTC"))
    except (KeyError, ValueError):
        local = value
    return f"{local:%Y-%m-%d %H:%M} {zone or 'UTC'}"


@register.filter
def signed(value: int) -> str:
    return f"{int(value):+d}"


@register.filter
def iso_instant(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@register.filter
def words(value: str) -> str:
    """awaiting_customer -> awaiting customer"""
    return (value or "").replace("_", " ")


_DAY = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


@register.filter
def hours_summary(calendar) -> list[str]:
    """ "Mon-Fri 08:30-13:00, 14:00-18:00", "Sat 09:00-13:00": weekdays with the same ranges grouped."""
    by_day: dict[int, list[str]] = {}
    for h in calendar.hours.all():
        by_day.setdefault(h.weekday, []).append(f"{h.start:%H:%M}-{h.end:%H:%M}")
    lines, days = [], sorted(by_day)
    i = 0
    while i < len(days):
        j = i
        while j + 1 < len(days) and days[j + 1] == days[j] + 1 and by_day[days[j + 1]] == by_day[days[i]]:
            j += 1
        label = _DAY[days[i]] if i == j else f"{_DAY[days[i]]}-{_DAY[days[j]]}"
        lines.append(f"{label} {', '.join(by_day[days[i]])}")
        i = j + 1
    return lines
