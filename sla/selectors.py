"""Reads of the SLA domain: the configuration as the pure modules need it (compiled calendars, the policy set),
and the clocks of a ticket as a person sees them now (remaining business time, percent used, breached?)."""

from __future__ import annotations

import threading
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.utils import timezone

from sla.calendar import ALWAYS_OPEN, Calendar, CalendarError, WeeklyRange, to_us
from sla.choices import STATE_COLOUR, ClockState, RecomputeStatus, SlaMetric
from sla.models import BusinessCalendar, SlaClock, SlaPolicy, SlaRecomputeJob
from sla.replay import PolicySet, PolicySpec

_lock = threading.Lock()
_compiled: dict[tuple, Calendar] = {}
_policy_cache: dict[str, tuple[tuple, PolicySet]] = {}


# --- configuration, compiled ---------------------------------------------------------------------------


def calendar_compile(calendar: BusinessCalendar) -> Calendar:
    """The pure Calendar of a calendar row (uses prefetched `hours` and `holidays` when present). Cached per
    row version, so a page listing many clocks compiles each calendar once per process."""
    key = (calendar.pk, calendar.version, calendar.updated_at)
    cached = _compiled.get(key)
    if cached is not None:
        return cached
    if calendar.is_24x7:
        compiled = Calendar(always_open=True, time_zone=calendar.time_zone or "UTC", name=calendar.name)
    else:
        compiled = Calendar(
            name=calendar.name,
            time_zone=calendar.time_zone,
            ranges=[WeeklyRange(h.weekday, h.start, h.end) for h in calendar.hours.all()],
            holidays=[h.date for h in calendar.holidays.all()],
            holiday_country=calendar.holiday_country,
            holiday_subdivision=calendar.holiday_subdivision,
        )
    with _lock:
        if len(_compiled) > 256:
            _compiled.clear()
        _compiled[key] = compiled
    return compiled


def _policy_stamp() -> tuple:
    """Changes whenever a policy or a calendar is added, edited or deleted (services bump version and
    updated_at on every edit). One query."""
    from django.db import connection

    p, c = SlaPolicy._meta.db_table, BusinessCalendar._meta.db_table
    sql = (
        f"SELECT (SELECT COUNT(*) FROM {p}), (SELECT SUM(version) FROM {p}), (SELECT MAX(updated_at) FROM {p}), "
        f"(SELECT COUNT(*) FROM {c}), (SELECT SUM(version) FROM {c}), (SELECT MAX(updated_at) FROM {c})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return tuple(cursor.fetchone())


def policy_set_load(*, use_cache: bool = True) -> PolicySet:
    """The active policies, in order, with compiled calendars. One small query when nothing changed since
    the last call in this process; the full load otherwise."""
    stamp = _policy_stamp()
    cached = _policy_cache.get("set")
    if use_cache and cached is not None and cached[0] == stamp:
        return cached[1]
    policies = (
        SlaPolicy.objects.filter(is_active=True)
        .select_related("calendar")
        .prefetch_related("services", "organizations", "calendar__hours", "calendar__holidays")
        .order_by("position", "id")
    )
    specs = tuple(policy_spec(p) for p in policies)
    result = PolicySet(specs)
    with _lock:
        _policy_cache["set"] = (stamp, result)
    return result


def policy_spec(policy: SlaPolicy) -> PolicySpec:
    targets = {
        m: t
        for m, t in (
            (SlaMetric.FIRST_RESPONSE.value, policy.first_response_target),
            (SlaMetric.RESOLUTION.value, policy.resolution_target),
            (SlaMetric.NEXT_UPDATE.value, policy.next_update_target),
        )
        if t
    }
    return PolicySpec(
        id=policy.pk,
        name=policy.name,
        calendar=calendar_compile(policy.calendar),
        targets=targets,
        pause_on={m: frozenset(v) for m, v in (policy.pause_on or {}).items()},
        thresholds=tuple(sorted(int(x) for x in policy.warning_thresholds or [])),
        version=policy.version,
        calendar_id=policy.calendar_id,
        calendar_version=policy.calendar.version,
        ticket_types=frozenset(policy.ticket_types or []),
        priorities=frozenset(policy.priorities or []),
        service_ids=frozenset(s.pk for s in policy.services.all()),
        organization_ids=frozenset(o.pk for o in policy.organizations.all()),
    )


def calendar_list() -> QuerySet[BusinessCalendar]:
    return BusinessCalendar.objects.prefetch_related("hours", "holidays").annotate(
        policy_count=Count("policies", distinct=True)
    )


def policy_list() -> QuerySet[SlaPolicy]:
    return SlaPolicy.objects.select_related("calendar").prefetch_related("services", "organizations")


def recompute_job_list(*, limit: int = 10) -> list[SlaRecomputeJob]:
    return list(SlaRecomputeJob.objects.select_related("calendar", "policy", "requested_by")[:limit])


def recompute_jobs_active() -> bool:
    return SlaRecomputeJob.objects.filter(status__in=[RecomputeStatus.QUEUED, RecomputeStatus.RUNNING]).exists()


# --- clocks as seen now --------------------------------------------------------------------------------


def clock_prefetch() -> Prefetch:
    """Add to a ticket queryset to read every ticket's clocks, and their calendars, in three queries whatever
    the number of tickets."""
    return Prefetch(
        "sla_clocks",
        queryset=SlaClock.objects.select_related("calendar")
        .prefetch_related("calendar__hours", "calendar__holidays")
        .order_by("metric"),
    )


METRIC_ORDER = {SlaMetric.FIRST_RESPONSE: 0, SlaMetric.NEXT_UPDATE: 1, SlaMetric.RESOLUTION: 2}


@dataclass(frozen=True)
class ClockView:
    """A clock at an instant: what the ticket page, the queue and the API show."""

    clock: SlaClock
    metric: str
    label: str
    state: str
    target: timedelta
    target_at: datetime | None
    elapsed: timedelta
    remaining: timedelta
    percent_used: float
    is_paused: bool
    breached: bool
    time_zone: str

    @property
    def remaining_business_seconds(self) -> int:
        return int(self.remaining.total_seconds())

    @property
    def colour(self) -> str:
        return STATE_COLOUR.get(self.state, "grey")

    @property
    def bar_percent(self) -> int:
        return max(0, min(100, round(self.percent_used)))

    @property
    def open_pause(self) -> dict | None:
        if self.is_paused and self.clock.pauses:
            return self.clock.pauses[-1]
        return None


def clock_view(clock: SlaClock, *, now: datetime | None = None, calendar: Calendar | None = None) -> ClockView:
    now = now or timezone.now()
    try:
        cal = calendar or (calendar_compile(clock.calendar) if clock.calendar_id else ALWAYS_OPEN)
    except CalendarError:  # a calendar broken outside the services: show what is stored, never fail the page
        cal = None
    elapsed = clock.elapsed
    running = clock.stopped_at is None and not clock.is_paused
    if running and cal is not None and now > clock.as_of:
        elapsed += timedelta(microseconds=cal.between_us(to_us(clock.as_of), to_us(now)))
    remaining = clock.target - elapsed
    state = clock.state
    breached = state == ClockState.BREACHED or (running and elapsed > clock.target)
    if breached:
        state = ClockState.BREACHED
    target_s = clock.target.total_seconds()
    percent = round(100 * elapsed.total_seconds() / target_s, 1) if target_s else 0.0
    return ClockView(
        clock=clock,
        metric=clock.metric,
        label=SlaMetric(clock.metric).label if clock.metric in SlaMetric.values else clock.metric,
        state=str(state),
        target=clock.target,
        target_at=clock.target_at if running else None,
        elapsed=elapsed,
        remaining=remaining,
        percent_used=percent,
        is_paused=clock.is_paused,
        breached=breached,
        time_zone=cal.time_zone if cal is not None else clock.calendar.time_zone,
    )


def ticket_clock_views(ticket, *, now: datetime | None = None) -> list[ClockView]:
    """The ticket's clocks, now, in the order first response, next update, resolution. Uses the prefetched
    clocks when the ticket was read with clock_prefetch()."""
    now = now or timezone.now()
    clocks = sorted(ticket.sla_clocks.all(), key=lambda c: METRIC_ORDER.get(c.metric, 9))
    return [clock_view(c, now=now) for c in clocks]


def ticket_sla_summary(ticket, *, now: datetime | None = None) -> ClockView | None:
    """The clock to watch in a queue: the running clock that falls due first (breached ones included);
    None when no clock runs (paused, stopped or no policy)."""
    running = [c for c in ticket.sla_clocks.all() if c.stopped_at is None and not c.is_paused and c.target_at]
    if not running:
        return None
    return clock_view(min(running, key=lambda c: c.target_at), now=now)


def annotate_next_breach(qs: QuerySet, *, name: str = "next_breach_at") -> QuerySet:
    """Annotate each ticket with the deadline of its running clock that falls due first (null when none runs),
    for the queue's "time to breach" order. Uses the partial index on running clocks."""
    first = (
        SlaClock.objects.filter(ticket=OuterRef("pk"), stopped_at__isnull=True, is_paused=False)
        .exclude(target_at__isnull=True)
        .order_by("target_at")
        .values("target_at")[:1]
    )
    return qs.annotate(**{name: Subquery(first)})


def clocks_on_calendar(calendar: BusinessCalendar) -> QuerySet[SlaClock]:
    return SlaClock.objects.filter(calendar=calendar)


def due_clock_ids(*, now: datetime, limit: int, skip_tickets: Collection[int] = ()) -> list[tuple[int, int]]:
    """(clock id, ticket id) of the clocks the scan must look at now, earliest first (index range scan), leaving
    out the tickets this scan found locked."""
    due = SlaClock.objects.filter(next_check_at__lte=now)
    if skip_tickets:
        due = due.exclude(ticket_id__in=list(skip_tickets))
    return list(due.order_by("next_check_at").values_list("pk", "ticket_id")[:limit])


def open_clock_filter() -> Q:
    return Q(stopped_at__isnull=True)
