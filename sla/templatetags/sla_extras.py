"""Presentation of business time: durations like "3h 20m" and instants in a calendar's own zone."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django import template

register = template.Library()


@register.filter
def business_duration(value: timedelta | None) -> str:
    """1 day 2h 5m / 45m / 0m; negative durations get a minus sign. Days are 24h of business time."""
    if value is None:
        return "—"
    seconds = int(value.total_seconds())
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = []
    if days:
        parts.append(f"{days}d")
    if hours:
        parts.append(f"{hours}h")
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
