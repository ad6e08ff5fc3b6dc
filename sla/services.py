"""Writes of the SLA domain.

- `sla_on_ticket_event` (a ticket subscriber, tickets/subscribers.py): when an event can move a clock (created,
  status changed, public comment, type/priority/service/organization changed), the ticket's clocks are
  replayed from its event log (sla/replay.py) and stored. It runs inside the ticket's transaction, under the
  ticket's row lock, so clocks and ticket never disagree.
- `sla_scan_due` (beat, every minute): emits the warnings and breaches that are due, each exactly once
  (SlaClockEvent's unique constraint), as SLA_WARNING / SLA_BREACHED ticket events. It reads only clocks whose
  indexed `next_check_at` has passed, so its work is proportional to what is due, not to the open tickets.
- `calendar_save` / `policy_save`: configuration edits, versioned and logged; each schedules a background
  recompute job (`recompute_job_run`) of the open tickets it affects, in batches, with progress.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import Organization, User
from catalog.models import Service
from itsm.lib.config_audit import config_change_log, describe_changes
from itsm.lib.errors import DomainError, PermissionDenied
from sla.calendar import Calendar, CalendarError, WeeklyRange
from sla.choices import BREACH, RecomputeStatus, SlaMetric
from sla.models import BusinessCalendar, BusinessHours, Holiday, SlaClock, SlaClockEvent, SlaPolicy, SlaRecomputeJob
from sla.replay import CLOCK_EVENT_TYPES, POLICY_FIELDS, ClockResult, PolicySet, PolicySpec, ReplayEvent, replay_clocks
from sla.selectors import due_clock_ids, policy_set_load
from tickets.choices import OPEN_STATUSES, PendingReason, Priority, TicketEventType, TicketStatus, TicketType
from tickets.events import event_write
from tickets.models import Ticket, TicketEvent

logger = logging.getLogger(__name__)

CONFIG_PERMISSION = "tickets.manage_configuration"
SLA_EVENT_TYPES = frozenset(
    {TicketEventType.SLA_WARNING, TicketEventType.SLA_BREACHED, TicketEventType.SLA_POLICY_APPLIED}
)
ROW_FIELDS = tuple(f for f in ClockResult.ROW_FIELDS if f != "metric")
# Moving between these statuses changes no clock: nothing pauses, stops or restarts (replay.read_history).
RUNNING_STATUSES = frozenset({TicketStatus.NEW, TicketStatus.ASSIGNED, TicketStatus.IN_PROGRESS})
TARGETS_NOTE = "Targets count from the ticket's creation; the ticket's pauses in its history still apply."


# --- clocks of tickets ---------------------------------------------------------------------------------


def _replay_events(ticket_ids: Sequence[int]) -> dict[int, list[ReplayEvent]]:
    out: dict[int, list[ReplayEvent]] = defaultdict(list)
    rows = (
        TicketEvent.objects.filter(ticket_id__in=ticket_ids, event_type__in=CLOCK_EVENT_TYPES)
        .order_by("ticket_id", "seq")
        .values_list("ticket_id", "event_type", "created_at", "data", "actor_id")
    )
    for ticket_id, event_type, created_at, data, actor_id in rows:
        out[ticket_id].append(ReplayEvent(event_type, created_at, data, actor_id))
    return out


def _emitted(ticket_ids: Sequence[int]) -> dict[int, set[tuple]]:
    out: dict[int, set[tuple]] = defaultdict(set)
    rows = SlaClockEvent.objects.filter(ticket_id__in=ticket_ids).values_list(
        "ticket_id", "metric", "cycle", "threshold", "target"
    )
    for ticket_id, metric, cycle, threshold, target in rows:
        out[ticket_id].add((metric, cycle, threshold, target))
    return out


def next_check_at(result: ClockResult | SlaClock, emitted: set[tuple]) -> datetime | None:
    """The earliest threshold of the clock not emitted yet (for a stopped clock, only its breach)."""
    best = None
    for key, value in (result.thresholds or {}).items():
        if not value:
            continue
        pct = int(key)
        if result.stopped_at is not None and pct != BREACH:
            continue
        if (result.metric, result.cycle, pct, result.target) in emitted:
            continue
        at = datetime.fromisoformat(value)
        if best is None or at < best:
            best = at
    return best


def _policy_ref(policy_id: int | None, name: str) -> dict[str, Any] | None:
    return {"id": policy_id, "name": name} if policy_id is not None or name else None


def _previous_policy(clocks: dict[str, SlaClock]) -> tuple[int | None, str] | None:
    """(id, name) of the policy the stored clocks were computed with (read before they are updated)."""
    clock = next(iter(clocks.values()), None)
    return (clock.policy_id, clock.policy_name) if clock is not None else None


def _policy_event(
    ticket: Ticket, *, old: tuple[int | None, str] | None, policy: PolicySpec | None, now: datetime
) -> None:
    event_write(
        ticket=ticket,
        event_type=TicketEventType.SLA_POLICY_APPLIED,
        actor=None,
        now=now,
        data={
            "from": _policy_ref(*old) if old else None,
            "to": _policy_ref(policy.id, policy.name) if policy else None,
            "targets": {m: int(t.total_seconds()) for m, t in policy.targets.items()} if policy else {},
            "note": TARGETS_NOTE,
        },
    )


def _diff(
    ticket_id: int,
    results: dict[str, ClockResult],
    existing: dict[str, SlaClock],
    emitted: set[tuple],
    now: datetime,
) -> tuple[list[SlaClock], list[SlaClock], list[int]]:
    """(clocks to create, clocks to update, ids to delete)."""
    create, update = [], []
    for metric, result in results.items():
        row = {f: getattr(result, f) for f in ROW_FIELDS}
        check = next_check_at(result, emitted)
        clock = existing.get(metric)
        if clock is None:
            create.append(SlaClock(ticket_id=ticket_id, metric=metric, next_check_at=check, updated_at=now, **row))
            continue
        if clock.next_check_at == check and all(getattr(clock, f) == v for f, v in row.items()):
            continue
        for f, v in row.items():
            setattr(clock, f, v)
        clock.next_check_at, clock.updated_at = check, now
        update.append(clock)
    delete = [c.pk for m, c in existing.items() if m not in results]
    return create, update, delete


UPDATE_FIELDS = [*ROW_FIELDS, "next_check_at", "updated_at"]


def _upsert_clocks(clocks: list[SlaClock]) -> None:
    """Insert or update many clocks in one statement (INSERT ... ON CONFLICT (ticket, metric) DO UPDATE).
    On PostgreSQL the rows go through psycopg2's execute_values (the ORM's per-value preparation costs more
    than the statement itself at recompute-job sizes); elsewhere through bulk_create."""
    if connection.vendor != "postgresql":
        SlaClock.objects.bulk_create(
            clocks, update_conflicts=True, unique_fields=["ticket", "metric"], update_fields=UPDATE_FIELDS
        )
        return
    from psycopg2.extras import Json, execute_values

    fields = [SlaClock._meta.get_field(name) for name in ("ticket", "metric", *UPDATE_FIELDS)]
    columns = [f.column for f in fields]
    json_columns = {f.column for f in fields if f.get_internal_type() == "JSONField"}
    rows = [
        tuple(Json(getattr(c, f.attname)) if f.column in json_columns else getattr(c, f.attname) for f in fields)
        for c in clocks
    ]
    table = SlaClock._meta.db_table
    updates = ", ".join(f'"{col}" = EXCLUDED."{col}"' for col in columns[2:])
    quoted = ", ".join(f'"{col}"' for col in columns)
    sql = f'INSERT INTO "{table}" ({quoted}) VALUES %s ON CONFLICT ("ticket_id", "metric") DO UPDATE SET {updates}'

    with connection.cursor() as cursor:
        execute_values(cursor.cursor, sql, rows, page_size=1000)


def sla_ticket_recompute(
    *,
    ticket: Ticket,
    policy_set: PolicySet | None = None,
    announce: bool = True,
    now: datetime | None = None,
    history: list[ReplayEvent] | None = None,
) -> dict[str, ClockResult]:
    """Replay the ticket's clocks from its events and store them. Call with the ticket's row lock held (every
    ticket service holds it when its subscribers run). `announce` writes an SLA_POLICY_APPLIED event when the
    policy that applies changed. `history`: the ticket was created in the change being settled, so these are
    all its events and it has no clocks yet (nothing to read back)."""
    now = now or timezone.now()
    policy_set = policy_set if policy_set is not None else policy_set_load()
    if history is not None:
        events = [e for e in history if e.event_type in CLOCK_EVENT_TYPES]
        existing: dict[str, SlaClock] = {}
        emitted: set[tuple] = set()
    else:
        events = _replay_events([ticket.pk])[ticket.pk]
        existing = {c.metric: c for c in SlaClock.objects.filter(ticket_id=ticket.pk)}
        emitted = _emitted([ticket.pk])[ticket.pk]
    policy, results = replay_clocks(events, policy_set)
    old = _previous_policy(existing)
    create, update, delete = _diff(ticket.pk, results, existing, emitted, now)
    if create:
        SlaClock.objects.bulk_create(create)
    for clock in update:
        clock.save(update_fields=UPDATE_FIELDS)
    if delete:
        SlaClock.objects.filter(pk__in=delete).delete()
    if announce and (old[0] if old else None) != (policy.id if policy else None) and (old or policy):
        _policy_event(ticket, old=old, policy=policy, now=now)
    return results


def _moves_clocks(event: TicketEvent) -> bool:
    kind = event.event_type
    if kind not in CLOCK_EVENT_TYPES:
        return False  # includes our own SLA_* events: no loop
    data = event.data or {}
    if kind == TicketEventType.UPDATED and not (set(data.get("changes") or {}) & (POLICY_FIELDS | {"requester"})):
        return False
    if kind == TicketEventType.COMMENT_ADDED and not data.get("public"):
        return False
    if kind == TicketEventType.STATUS_CHANGED and {data.get("from"), data.get("to")} <= RUNNING_STATUSES:
        return False  # e.g. New -> Assigned: every clock keeps running exactly as before
    return True


def sla_on_ticket_events(ticket: Ticket, events: list[TicketEvent]) -> None:
    """Settling subscriber (tickets/subscribers.py): keep the ticket's clocks in step with its history, once
    per change whatever the number of events it wrote."""
    relevant = [e for e in events if _moves_clocks(e)]
    if not relevant:
        return
    # A change that created the ticket holds its whole history in memory: nothing to read back.
    new = events[0].event_type == TicketEventType.CREATED and events[0].seq == 1
    history = [ReplayEvent(e.event_type, e.created_at, e.data, e.actor_id) for e in events] if new else None
    try:
        # No savepoint needed: a CalendarError is raised while computing (compiling a calendar, replaying),
        # before anything is written.
        sla_ticket_recompute(
            ticket=ticket,
            announce=not new,
            now=relevant[-1].created_at or timezone.now(),
            history=history,
        )
    except CalendarError:
        # A calendar that no longer compiles (e.g. a holidays-package upgrade dropped its region) must not stop
        # the desk from working tickets: the change is saved, the clocks wait for the calendar to be fixed
        # (saving it recomputes them).
        logger.exception("SLA clocks of ticket %s not recomputed: its calendar is unusable", ticket.pk)


def tickets_recompute_bulk(*, ticket_ids: Sequence[int], policy_set: PolicySet, now: datetime | None = None) -> int:
    """Replay and store the clocks of many tickets at once (the caller holds their row locks): a few queries
    per batch, an upsert of the clocks that changed. Returns how many tickets' clocks changed."""
    now = now or timezone.now()
    events = _replay_events(ticket_ids)
    emitted = _emitted(ticket_ids)
    existing: dict[int, dict[str, SlaClock]] = defaultdict(dict)
    for clock in SlaClock.objects.filter(ticket_id__in=ticket_ids):
        existing[clock.ticket_id][clock.metric] = clock
    upserts: list[SlaClock] = []
    deletes: list[int] = []
    announce: list[tuple[int, tuple[int | None, str] | None, PolicySpec | None]] = []
    changed_ids: list[int] = []
    for ticket_id in ticket_ids:
        policy, results = replay_clocks(events.get(ticket_id, []), policy_set)
        mine = existing.get(ticket_id, {})
        old = _previous_policy(mine)
        create, update, delete = _diff(ticket_id, results, mine, emitted.get(ticket_id, set()), now)
        if create or update or delete:
            changed_ids.append(ticket_id)
        upserts += create + update
        deletes += delete
        if (old[0] if old else None) != (policy.id if policy else None) and (old or policy):
            announce.append((ticket_id, old, policy))
    if upserts:
        _upsert_clocks(upserts)
    if deletes:
        SlaClock.objects.filter(pk__in=deletes).delete()
    if announce:
        tickets = Ticket.objects.in_bulk([t for t, _, _ in announce])
        for ticket_id, old, policy in announce:
            _policy_event(tickets[ticket_id], old=old, policy=policy, now=now)
    if changed_ids:
        from escalations.services import escalation_schedules_refresh

        # the escalation levels of these tickets fall due at other instants now (their clocks moved)
        escalation_schedules_refresh(ticket_ids=changed_ids, now=now)
    return len(changed_ids)


# --- the beat scan: warnings and breaches, each exactly once ----------------------------------------------


def _clock_event_data(clock: SlaClock, threshold: int, crossed_at: datetime) -> dict[str, Any]:
    return {
        "clock_id": clock.pk,
        "metric": clock.metric,
        "label": SlaMetric(clock.metric).label,
        "threshold": threshold,
        "cycle": clock.cycle,
        "target_seconds": int(clock.target.total_seconds()),
        "crossed_at": crossed_at,
        "target_at": clock.target_at,
        "policy": _policy_ref(clock.policy_id, clock.policy_name),
    }


def sla_threshold_emit(*, ticket: Ticket, clock: SlaClock, threshold: int, crossed_at: datetime, now: datetime) -> bool:
    """Emit one warning or breach. The SlaClockEvent insert is the gate: if that row exists already (another
    scanner, a retried task), the insert fails, nothing is written and False is returned. Call inside a
    transaction holding the ticket's row lock (the scan takes it), so the ticket event is appended directly."""
    try:
        with transaction.atomic():
            record = SlaClockEvent.objects.create(
                ticket=ticket,
                metric=clock.metric,
                cycle=clock.cycle,
                threshold=threshold,
                target=clock.target,
                crossed_at=crossed_at,
                emitted_at=now,
            )
    except IntegrityError:
        return False
    event = event_write(
        ticket=ticket,
        event_type=TicketEventType.SLA_BREACHED if threshold >= BREACH else TicketEventType.SLA_WARNING,
        actor=None,
        data=_clock_event_data(clock, threshold, crossed_at),
        now=now,
    )
    SlaClockEvent.objects.filter(pk=record.pk).update(event=event)
    return True


def _due_thresholds(clock: SlaClock, emitted: set[tuple], now: datetime) -> list[tuple[int, datetime]]:
    due = []
    for key, value in (clock.thresholds or {}).items():
        if not value:
            continue
        pct, at = int(key), datetime.fromisoformat(value)
        if at > now or (clock.stopped_at is not None and pct != BREACH):
            continue
        if (clock.metric, clock.cycle, pct, clock.target) not in emitted:
            due.append((pct, at))
    return sorted(due)


def _scan_batch(pairs: Sequence[tuple[int, int]], now: datetime, skipped: set[int]) -> int:
    """One transaction for up to SCAN_BATCH due clocks: lock their tickets (skipping any that another
    transaction holds: a writer, or another scanner; they are looked at on the next run), re-read the clocks
    under the locks, emit what is due, move each clock's next check on."""
    with transaction.atomic():
        ticket_ids = sorted({ticket_id for _, ticket_id in pairs})
        tickets = {
            t.pk: t for t in Ticket.objects.select_for_update(skip_locked=True).filter(pk__in=ticket_ids).order_by("pk")
        }
        skipped.update(set(ticket_ids) - set(tickets))
        if not tickets:
            return 0
        clocks = list(
            SlaClock.objects.filter(
                pk__in=[clock_id for clock_id, ticket_id in pairs if ticket_id in tickets], next_check_at__lte=now
            ).order_by("ticket_id", "metric")
        )
        emitted = _emitted(list(tickets))
        count = 0
        for clock in clocks:
            keys = emitted[clock.ticket_id]
            for pct, at in _due_thresholds(clock, keys, now):
                if sla_threshold_emit(
                    ticket=tickets[clock.ticket_id], clock=clock, threshold=pct, crossed_at=at, now=now
                ):
                    count += 1
                keys.add((clock.metric, clock.cycle, pct, clock.target))
            clock.next_check_at = next_check_at(clock, keys)
        SlaClock.objects.bulk_update(clocks, ["next_check_at"])
        return count


SCAN_BATCH = 100


def sla_scan_due(*, now: datetime | None = None, limit: int = 1000, max_rounds: int = 10) -> int:
    """Emit every warning and breach due by `now`. Safe with two beat processes or a retried task: tickets are
    handled under their row locks and each emission is gated by a unique constraint. Returns how many were
    emitted."""
    now = now or timezone.now()
    emitted = 0
    skipped: set[int] = set()  # tickets found locked: left for the next run, not read again in this one
    for _ in range(max_rounds):
        due = due_clock_ids(now=now, limit=limit, skip_tickets=skipped)
        if not due:
            break
        for i in range(0, len(due), SCAN_BATCH):
            emitted += _scan_batch(due[i : i + SCAN_BATCH], now, skipped)
        if len(due) < limit:
            break
    return emitted


# --- configuration ---------------------------------------------------------------------------------


def _require_manager(actor: User | None) -> None:
    if actor is not None and not actor.has_perm(CONFIG_PERMISSION):
        raise PermissionDenied("Only a Service Manager may change calendars and SLA policies.")


def _invalid(message: str, field: str) -> DomainError:
    return DomainError(message, details={field: [message]})


def parse_hours(text: str) -> list[tuple[time, time]]:
    """ "08:00-12:00, 13:00-17:00" -> [(08:00, 12:00), (13:00, 17:00)]; "22:00-06:00" crosses midnight."""
    out = []
    for part in (text or "").replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            a, b = (x.strip() for x in part.split("-"))
            out.append((time.fromisoformat(a), time.fromisoformat(b)))
        except ValueError as exc:
            raise _invalid(f"{part!r} is not a range like 08:00-17:00.", "hours") from exc
    return out


def parse_holidays(text: str) -> list[tuple[date, str]]:
    """One per line: "2026-12-24 Christmas Eve" (the name is optional)."""
    out = []
    for line in (text or "").splitlines():
        line = line.strip()
        if not line:
            continue
        day, _, name = line.partition(" ")
        try:
            out.append((date.fromisoformat(day), name.strip()))
        except ValueError as exc:
            raise _invalid(f"{day!r} is not a date like 2026-12-24.", "holidays") from exc
    return out


def _calendar_snapshot(cal: BusinessCalendar) -> dict[str, Any]:
    if not cal.pk:
        return {}
    return {
        "name": cal.name,
        "time_zone": cal.time_zone,
        "24x7": cal.is_24x7,
        "holiday_country": cal.holiday_country,
        "holiday_subdivision": cal.holiday_subdivision,
        "hours": [str(h) for h in cal.hours.all()],
        "holidays": [str(h) for h in cal.holidays.all()],
    }


@transaction.atomic
def calendar_save(
    *,
    actor: User | None,
    name: str,
    time_zone: str,
    is_24x7: bool = False,
    hours: Iterable[tuple[int, time, time]] = (),
    holidays: Iterable[tuple[date, str]] = (),
    holiday_country: str = "",
    holiday_subdivision: str = "",
    description: str = "",
    calendar: BusinessCalendar | None = None,
    now: datetime | None = None,
) -> BusinessCalendar:
    """Create or change a calendar. The rules are checked by compiling them (unknown zone, country or region,
    no business hours: refused with the reason). An edit schedules the recompute of the open tickets whose
    clocks use the calendar."""
    _require_manager(actor)
    now = now or timezone.now()
    name = (name or "").strip()
    if not name:
        raise _invalid("A calendar needs a name.", "name")
    hours = [(int(w), s, e) for w, s, e in hours]
    holidays = list(holidays)
    if is_24x7 and (hours or holidays or holiday_country):
        raise _invalid("A 24x7 calendar has no business hours and no holidays: leave them empty.", "is_24x7")
    try:
        Calendar(
            time_zone=time_zone,
            ranges=[WeeklyRange(w, s, e) for w, s, e in hours],
            holidays=[d for d, _ in holidays],
            holiday_country=holiday_country,
            holiday_subdivision=holiday_subdivision,
            always_open=is_24x7,
            name=name,
        )
    except CalendarError as exc:
        raise _invalid(str(exc), "hours") from exc
    if len({d for d, _ in holidays}) != len(holidays):
        raise _invalid("A date is listed twice among the holidays.", "holidays")
    if BusinessCalendar.objects.filter(name__iexact=name).exclude(pk=calendar.pk if calendar else None).exists():
        raise _invalid(f"There is already a calendar named {name}.", "name")
    creating = calendar is None
    if calendar is not None:
        calendar = BusinessCalendar.objects.select_for_update().get(pk=calendar.pk)
    cal = calendar or BusinessCalendar()
    before = _calendar_snapshot(cal)
    cal.name, cal.time_zone, cal.is_24x7 = name, time_zone, is_24x7
    cal.holiday_country, cal.holiday_subdivision = holiday_country.upper(), holiday_subdivision
    cal.description = description
    cal.version = 1 if creating else cal.version + 1
    cal.updated_at = now
    cal.save()
    cal.hours.all().delete()
    cal.holidays.all().delete()
    BusinessHours.objects.bulk_create(BusinessHours(calendar=cal, weekday=w, start=s, end=e) for w, s, e in hours)
    Holiday.objects.bulk_create(Holiday(calendar=cal, date=d, name=n) for d, n in holidays)
    after = _calendar_snapshot(cal)
    config_change_log(
        actor=actor,
        obj=cal,
        action="added" if creating else "changed",
        message=f"Calendar version {cal.version}: " + describe_changes(before, after),
    )
    if not creating:
        recompute_job_create(reason=f"Calendar {cal.name} edited (version {cal.version})", calendar=cal, actor=actor)
    return cal


def _durations(data: dict[str, Any]) -> dict[str, timedelta | None]:
    out = {}
    for name in ("first_response_target", "resolution_target", "next_update_target"):
        value = data.get(name)
        if value in (None, ""):
            out[name] = None
            continue
        if not isinstance(value, timedelta):
            value = timedelta(seconds=float(value))
        out[name] = value
    return out


@transaction.atomic
def policy_save(
    *,
    actor: User | None,
    data: dict[str, Any],
    services: Iterable[Service] | None = None,
    organizations: Iterable[Organization] | None = None,
    policy: SlaPolicy | None = None,
) -> SlaPolicy:
    """Create or change a policy. `data` holds name, position, is_active, description, ticket_types,
    priorities, calendar, the three targets (timedelta or seconds; next update optional), pause_on
    ({metric: [pending reasons]}) and warning_thresholds (percentages). Schedules the recompute of the open
    tickets on this policy or matching it."""
    _require_manager(actor)
    creating = policy is None
    if policy is not None:
        policy = SlaPolicy.objects.select_for_update().get(pk=policy.pk)
    p = policy or SlaPolicy()
    before = {} if creating else _policy_snapshot(p)
    errors: dict[str, list[str]] = {}
    for name in ("name", "description"):
        if name in data:
            setattr(p, name, (data[name] or "").strip())
    if not p.name:
        errors["name"] = ["A policy needs a name."]
    if "position" in data:
        p.position = int(data["position"])
    if "is_active" in data:
        p.is_active = bool(data["is_active"])
    if "calendar" in data:
        p.calendar = data["calendar"]
    if not p.calendar_id:
        errors["calendar"] = ["A policy needs a business calendar."]
    if "ticket_types" in data:
        p.ticket_types = list(dict.fromkeys(data["ticket_types"] or []))
        bad = [t for t in p.ticket_types if t not in TicketType.values]
        if bad:
            errors["ticket_types"] = [f"Unknown type(s): {', '.join(bad)}."]
    if "priorities" in data:
        p.priorities = list(dict.fromkeys(data["priorities"] or []))
        bad = [x for x in p.priorities if x not in Priority.values]
        if bad:
            errors["priorities"] = [f"Unknown priority(ies): {', '.join(bad)}."]
    targets = _durations({k: data[k] for k in data if k.endswith("_target")})
    for name, value in targets.items():
        if name not in data:
            continue
        if value is None and name != "next_update_target":
            errors[name] = ["Required."]
        elif value is not None and value <= timedelta(0):
            errors[name] = ["Must be more than zero."]
        else:
            setattr(p, name, value)
    if "pause_on" in data:
        pause_on = {m: list(dict.fromkeys(v or [])) for m, v in (data["pause_on"] or {}).items()}
        bad_metric = [m for m in pause_on if m not in SlaMetric.values]
        bad_reason = sorted({r for v in pause_on.values() for r in v if r not in PendingReason.values})
        if bad_metric or bad_reason:
            errors["pause_on"] = [f"Unknown metric(s) or pending reason(s): {', '.join(bad_metric + bad_reason)}."]
        p.pause_on = {m: pause_on.get(m, []) for m in SlaMetric.values}
    if "warning_thresholds" in data:
        try:
            values = sorted({int(x) for x in data["warning_thresholds"] or []})
        except (TypeError, ValueError):
            values = [-1]
        if any(not 0 < v < 100 for v in values):
            errors["warning_thresholds"] = ["Warnings are percentages between 1 and 99."]
        p.warning_thresholds = values
    if p.name and SlaPolicy.objects.filter(name__iexact=p.name).exclude(pk=p.pk).exists():
        errors["name"] = [f"There is already a policy named {p.name}."]
    if not p.first_response_target or not p.resolution_target:
        errors.setdefault("resolution_target", ["First response and resolution targets are required."])
    if errors:
        raise DomainError(
            "The policy cannot be saved: " + " ".join(m for msgs in errors.values() for m in msgs), details=errors
        )
    p.version = 1 if creating else p.version + 1
    p.save()
    if services is not None:
        p.services.set(list(services))
    if organizations is not None:
        p.organizations.set(list(organizations))
    config_change_log(
        actor=actor,
        obj=p,
        action="added" if creating else "changed",
        message=f"Policy version {p.version}: " + describe_changes(before, _policy_snapshot(p)),
    )
    recompute_job_create(
        reason=f"Policy {p.name} {'created' if creating else 'edited'} (version {p.version})", policy=p, actor=actor
    )
    return p


def _policy_snapshot(p: SlaPolicy) -> dict[str, Any]:
    return {
        "name": p.name,
        "position": p.position,
        "active": p.is_active,
        "types": p.ticket_types,
        "priorities": p.priorities,
        "services": sorted(str(s) for s in p.services.all()) if p.pk else [],
        "organizations": sorted(str(o) for o in p.organizations.all()) if p.pk else [],
        "calendar": str(p.calendar) if p.calendar_id else None,
        "first_response": str(p.first_response_target),
        "resolution": str(p.resolution_target),
        "next_update": str(p.next_update_target),
        "pause_on": p.pause_on,
        "warnings": p.warning_thresholds,
    }


# --- recompute jobs --------------------------------------------------------------------------------


def job_ticket_queryset(job: SlaRecomputeJob, *, after: int = 0):
    """The open tickets a job covers with an id above `after`, evaluated batch by batch (a ticket closed
    meanwhile drops out). The clock subqueries walk the (calendar, ticket) / (policy, ticket) indexes."""
    qs = Ticket.objects.filter(status__in=OPEN_STATUSES, pk__gt=after)
    if job.calendar_id:
        on_calendar = SlaClock.objects.filter(calendar_id=job.calendar_id, ticket_id__gt=after).values("ticket_id")
        return qs.filter(pk__in=on_calendar)
    if job.policy_id:
        policy = job.policy
        matching = Q()
        if policy.ticket_types:
            matching &= Q(ticket_type__in=policy.ticket_types)
        if policy.priorities:
            matching &= Q(priority__in=policy.priorities)
        service_ids = list(policy.services.values_list("pk", flat=True))
        if service_ids:
            matching &= Q(service_id__in=service_ids)
        org_ids = list(policy.organizations.values_list("pk", flat=True))
        if org_ids:
            matching &= Q(organization_id__in=org_ids)
        on_policy = SlaClock.objects.filter(policy_id=job.policy_id, ticket_id__gt=after).values("ticket_id")
        return qs.filter(Q(pk__in=on_policy) | (matching if policy.is_active else Q(pk__in=[])))
    return qs


def recompute_job_create(
    *,
    reason: str,
    calendar: BusinessCalendar | None = None,
    policy: SlaPolicy | None = None,
    actor: User | None = None,
    now: datetime | None = None,
) -> SlaRecomputeJob:
    """Queue the recompute of the open tickets a configuration edit affects; it starts after commit."""
    job = SlaRecomputeJob(
        reason=reason[:255],
        calendar=calendar,
        policy=policy,
        requested_by=actor if actor is not None and actor.pk else None,
        created_at=now or timezone.now(),
    )
    job.total = job_ticket_queryset(job).count()
    if job.total == 0:  # nothing open is affected: done at once, no background work
        job.status, job.started_at, job.finished_at = RecomputeStatus.DONE, job.created_at, job.created_at
        job.save()
        return job
    job.save()

    def start() -> None:
        from sla.tasks import sla_recompute_run as sla_recompute_run_task

        try:
            sla_recompute_run_task.delay(job.pk)
        except Exception:  # broker down: the every-minute sweeper resumes queued jobs
            logger.warning("Could not enqueue SLA recompute job %s; the sweeper will run it", job.pk, exc_info=True)

    transaction.on_commit(start)
    return job


def recompute_job_run(
    *, job_id: int, batch_size: int = 500, max_batches: int | None = None, now: datetime | None = None
) -> SlaRecomputeJob | None:
    """Run a job batch by batch, each batch in its own transaction: the batch's tickets are row-locked (never
    the table), replayed and stored, and the job's progress is saved with them. Two workers never run the same
    job at once (the job row is locked with SKIP LOCKED while a batch runs). Returns the job, or None when
    another worker holds it."""
    batches = 0
    job = None
    while max_batches is None or batches < max_batches:
        with transaction.atomic():
            job = (
                SlaRecomputeJob.objects.select_for_update(skip_locked=True)
                .filter(pk=job_id, status__in=[RecomputeStatus.QUEUED, RecomputeStatus.RUNNING])
                .first()
            )
            if job is None:
                return SlaRecomputeJob.objects.filter(pk=job_id).first() if batches else None
            moment = now or timezone.now()
            if job.status == RecomputeStatus.QUEUED:
                job.status, job.started_at = RecomputeStatus.RUNNING, moment
            ids = list(
                job_ticket_queryset(job, after=job.last_ticket_id)
                .order_by("pk")
                .values_list("pk", flat=True)[:batch_size]
            )
            if not ids:
                job.status, job.finished_at, job.total = RecomputeStatus.DONE, moment, job.done
                job.save(update_fields=["status", "started_at", "finished_at", "total"])
                return job
            locked = list(
                Ticket.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk", flat=True)
            )
            try:
                with transaction.atomic():
                    job.changed += tickets_recompute_bulk(ticket_ids=locked, policy_set=policy_set_load(), now=moment)
            except CalendarError as exc:  # shown on the SLA page; saving the calendar again queues a new job
                job.status, job.finished_at, job.error = RecomputeStatus.FAILED, moment, str(exc)
                job.save(update_fields=["status", "started_at", "finished_at", "error"])
                return job
            job.done += len(ids)
            job.last_ticket_id = ids[-1]
            job.total = max(job.total, job.done)
            job.save(update_fields=["status", "started_at", "done", "changed", "last_ticket_id", "total"])
        batches += 1
    return job


def recompute_jobs_resume(*, now: datetime | None = None) -> int:
    """Run the jobs that are queued or were interrupted (sweeper, every minute)."""
    ids = list(
        SlaRecomputeJob.objects.filter(status__in=[RecomputeStatus.QUEUED, RecomputeStatus.RUNNING])
        .order_by("created_at")
        .values_list("pk", flat=True)
    )
    for pk in ids:
        recompute_job_run(job_id=pk, now=now)
    return len(ids)


@transaction.atomic
def recompute_all_open(*, actor: User | None, reason: str = "Recompute requested") -> SlaRecomputeJob:
    _require_manager(actor)
    return recompute_job_create(reason=reason, actor=actor)
