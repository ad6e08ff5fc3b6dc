"""Clock state as a pure function of a ticket's event log (and of the SLA configuration).

    policy, clocks = replay_clocks(events, policy_set)

`events` are the ticket's TicketEvents in order (only their type, time, actor and data are read);
`policy_set` is the configuration (sla.selectors.policy_set_load builds it from the database). No query, no
clock: replaying the same events with the same configuration gives the same clocks, and the stored SlaClock
rows are exactly this output (the tests replay generated histories and compare).

The rules
- The policy is the first of the policy set that matches the ticket's *current* type, priority, service and
  organization. Its targets count from the ticket's creation: when a change of priority, type or service
  selects another policy, the whole history is replayed with the new targets, calendar and pause rules. Pauses
  are never lost, because they are read from the history, not from a previous clock.
- First response: runs from creation; met by the first public reply of an agent, or by the resolution if that
  comes first; paused while pending for a reason the policy lists for it (none by default).
- Resolution: runs from creation; paused while pending for a reason the policy lists (awaiting customer by
  default; awaiting a vendor does not pause it); stops when the ticket is resolved or closed; a reopen resumes
  it (the time spent resolved is shown as a pause "resolved" and not counted).
- Next update (when the policy has that target): the time allowed between public agent updates. Each public
  agent reply starts a new cycle from zero; a reopen starts a new cycle; it stops when the ticket is resolved.
- Cancelling the ticket stops every clock; a clock that had not breached is then "cancelled", not "met".
- A clock is breached when business time used exceeds the target; a threshold (50, 75, 90 percent...) is
  crossed when the time used exceeds that share of the target. Crossing instants are exact (sla/calendar.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sla.calendar import Calendar, from_us, to_us
from sla.choices import BREACH, ClockState, SlaMetric
from tickets.choices import OPEN_STATUSES, TicketEventType, TicketStatus

# The event kinds that can change a clock; the others are skipped by the replay (and by the subscriber).
CLOCK_EVENT_TYPES: frozenset[str] = frozenset(
    {
        TicketEventType.CREATED,
        TicketEventType.UPDATED,
        TicketEventType.STATUS_CHANGED,
        TicketEventType.COMMENT_ADDED,
    }
)
# Fields whose change re-selects the policy.
POLICY_FIELDS: frozenset[str] = frozenset({"ticket_type", "priority", "service", "organization"})

RUN, PAUSE, STOP = "run", "pause", "stop"


@dataclass(frozen=True)
class ReplayEvent:
    event_type: str
    created_at: datetime
    data: Mapping[str, Any]
    actor_id: int | None = None


@dataclass(frozen=True)
class TicketAttrs:
    ticket_type: str = ""
    priority: str = ""
    service_id: int | None = None
    organization_id: int | None = None


@dataclass(frozen=True)
class PolicySpec:
    """One SLA policy, as the replay needs it (built from the database by sla.selectors)."""

    id: int | None
    name: str
    calendar: Calendar
    targets: Mapping[str, timedelta]  # only the metrics this policy measures
    pause_on: Mapping[str, frozenset[str]] = field(default_factory=dict)
    thresholds: tuple[int, ...] = (50, 75, 90)
    version: int = 1
    calendar_id: int | None = None
    calendar_version: int = 1
    ticket_types: frozenset[str] = frozenset()
    priorities: frozenset[str] = frozenset()
    service_ids: frozenset[int] = frozenset()
    organization_ids: frozenset[int] = frozenset()

    def matches(self, attrs: TicketAttrs) -> bool:
        return (
            (not self.ticket_types or attrs.ticket_type in self.ticket_types)
            and (not self.priorities or attrs.priority in self.priorities)
            and (not self.service_ids or attrs.service_id in self.service_ids)
            and (not self.organization_ids or attrs.organization_id in self.organization_ids)
        )


@dataclass(frozen=True)
class PolicySet:
    """The active policies in the order they are tried."""

    policies: tuple[PolicySpec, ...] = ()

    def select(self, attrs: TicketAttrs) -> PolicySpec | None:
        for policy in self.policies:
            if policy.matches(attrs):
                return policy
        return None


@dataclass(frozen=True)
class ClockResult:
    """A clock as the replay computes it: the columns of an SlaClock row (except next_check_at)."""

    metric: str
    policy_id: int | None
    policy_name: str
    policy_version: int
    calendar_id: int | None
    calendar_version: int
    target: timedelta
    cycle: int
    started_at: datetime
    state: str
    is_paused: bool
    pauses: list[dict[str, str | None]]
    elapsed: timedelta
    as_of: datetime
    target_at: datetime | None
    breached_at: datetime | None
    stopped_at: datetime | None
    thresholds: dict[str, str | None]

    ROW_FIELDS = (
        "metric",
        "policy_id",
        "policy_name",
        "policy_version",
        "calendar_id",
        "calendar_version",
        "target",
        "cycle",
        "started_at",
        "state",
        "is_paused",
        "pauses",
        "elapsed",
        "as_of",
        "target_at",
        "breached_at",
        "stopped_at",
        "thresholds",
    )

    def as_row(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.ROW_FIELDS}

    def threshold_instants(self) -> dict[int, datetime]:
        return {int(k): datetime.fromisoformat(v) for k, v in self.thresholds.items() if v}


def iso(t: datetime | None) -> str | None:
    return t.astimezone(UTC).isoformat(timespec="microseconds") if t is not None else None


# --- the ticket's history, read from its events --------------------------------------------------------


def _id(value: Any) -> int | None:
    if isinstance(value, Mapping):
        return value.get("id")
    return value if isinstance(value, int) else None


@dataclass
class _Step:
    """One point of the history that can move a clock."""

    at: datetime
    status: str
    pending_reason: str
    agent_reply: bool = False
    reopen: bool = False


@dataclass
class History:
    created_at: datetime | None = None
    attrs: TicketAttrs = field(default_factory=TicketAttrs)
    steps: list[_Step] = field(default_factory=list)


def read_history(events: Iterable[ReplayEvent]) -> History:
    history = History()
    status, reason, requester_id = TicketStatus.NEW.value, "", None
    attrs: dict[str, Any] = {}
    for ev in events:
        t, d = ev.event_type, ev.data or {}
        if t == TicketEventType.CREATED:
            history.created_at = ev.created_at
            status = d.get("status") or TicketStatus.NEW.value
            requester_id = _id(d.get("requester"))
            attrs = {
                "ticket_type": d.get("ticket_type") or "",
                "priority": d.get("priority") or "",
                "service_id": _id(d.get("service")),
                "organization_id": _id(d.get("organization")),
            }
            history.steps.append(_Step(ev.created_at, status, reason))
        elif history.created_at is None:
            continue  # nothing counts before the ticket exists
        elif t == TicketEventType.UPDATED:
            changes = d.get("changes") or {}
            for name in ("ticket_type", "priority"):
                if name in changes and "to" in changes[name]:
                    attrs[name] = changes[name]["to"] or ""
            for name in ("service", "organization"):
                if name in changes and "to" in changes[name]:
                    attrs[f"{name}_id"] = _id(changes[name]["to"])
            if "requester" in changes and "to" in changes["requester"]:
                requester_id = _id(changes["requester"]["to"])
        elif t == TicketEventType.STATUS_CHANGED:
            previous = status
            status = d.get("to") or status
            reason = d.get("pending_reason", "") if status == TicketStatus.PENDING else ""
            reopen = previous == TicketStatus.RESOLVED and status in OPEN_STATUSES
            history.steps.append(_Step(ev.created_at, status, reason, reopen=reopen))
        elif t == TicketEventType.COMMENT_ADDED:
            if not d.get("public"):
                continue
            by_agent = d.get("by_agent")
            if by_agent is None:  # events written before the flag existed: anyone but the requester
                by_agent = ev.actor_id is not None and ev.actor_id != requester_id
            if by_agent:
                history.steps.append(_Step(ev.created_at, status, reason, agent_reply=True))
    history.attrs = TicketAttrs(**attrs) if attrs else TicketAttrs()
    return history


# --- one clock ----------------------------------------------------------------------------------------


class _Clock:
    """Walks the history of one metric, accumulating business time exactly."""

    def __init__(self, calendar: Calendar, target: timedelta, thresholds: Sequence[int], start: datetime) -> None:
        self.cal = calendar
        self.target_us = target // timedelta(microseconds=1)
        self.pcts = sorted({*(int(p) for p in thresholds if 0 < int(p) < BREACH), BREACH})
        self.cycle = 0
        self._begin(start, RUN, "")

    def _begin(self, at: datetime, mode: str, reason: str) -> None:
        self.cycle += 1
        self.started_at = at
        self.elapsed_us = 0
        self.crossed: dict[int, int] = {}
        self.pauses: list[dict[str, str | None]] = []
        self.mode, self.reason, self.since = RUN, "", at
        self.stopped_at: datetime | None = None
        self.stop_kind = ""
        self.final = False
        if mode != RUN:
            self.set(at, mode, reason)

    def _advance(self, until: datetime) -> None:
        if self.mode != RUN or until <= self.since:
            return
        a, b = to_us(self.since), to_us(until)
        used = self.cal.between_us(a, b)
        for p in self.pcts:
            if p in self.crossed:
                continue
            share = self.target_us * p // 100
            if self.elapsed_us + used > share:
                self.crossed[p] = self.cal.add_us(a, share - self.elapsed_us)
        self.elapsed_us += used

    def set(self, at: datetime, mode: str, reason: str = "") -> None:
        """Move to `mode` at `at` (a stop's `reason` is its kind: met or cancelled)."""
        if self.final or (mode == self.mode and reason == self.reason):
            return
        self._advance(at)
        if self.mode == PAUSE and self.pauses:
            self.pauses[-1]["to"] = iso(at)
        if self.mode == STOP and mode != STOP and self.stopped_at is not None:
            self.pauses.append({"from": iso(self.stopped_at), "to": iso(at), "reason": "resolved"})
        if mode == PAUSE:
            self.pauses.append({"from": iso(at), "to": None, "reason": reason})
        if mode == STOP:
            self.stopped_at, self.stop_kind = at, reason
        else:
            self.stopped_at, self.stop_kind = None, ""
        self.mode, self.reason, self.since = mode, reason, at

    def restart(self, at: datetime, mode: str, reason: str) -> None:
        """A new cycle (next update): from zero, at `at`."""
        if self.final:
            return
        self._begin(at, mode, reason)

    def result(self, metric: str, policy: PolicySpec, target: timedelta) -> ClockResult:
        since_us = to_us(self.since)
        instants: dict[int, int | None] = {}
        for p in self.pcts:
            if p in self.crossed:
                instants[p] = self.crossed[p]
            elif self.mode == RUN:
                instants[p] = self.cal.add_us(since_us, self.target_us * p // 100 - self.elapsed_us)
            else:
                instants[p] = None
        breached = BREACH in self.crossed
        if self.mode == STOP:
            if breached:
                state = ClockState.BREACHED
            else:
                state = ClockState.CANCELLED if self.stop_kind == "cancelled" else ClockState.MET
        elif breached:
            state = ClockState.BREACHED
        else:
            state = ClockState.PAUSED if self.mode == PAUSE else ClockState.RUNNING
        target_at = instants[BREACH] if self.mode == RUN else None
        return ClockResult(
            metric=metric,
            policy_id=policy.id,
            policy_name=policy.name,
            policy_version=policy.version,
            calendar_id=policy.calendar_id,
            calendar_version=policy.calendar_version,
            target=target,
            cycle=self.cycle,
            started_at=self.started_at,
            state=str(state),
            is_paused=self.mode == PAUSE,
            pauses=[dict(p) for p in self.pauses],
            elapsed=timedelta(microseconds=self.elapsed_us),
            as_of=self.since,
            target_at=from_us(target_at) if target_at is not None else None,
            breached_at=from_us(self.crossed[BREACH]) if breached else None,
            stopped_at=self.stopped_at,
            thresholds={str(p): (iso(from_us(u)) if u is not None else None) for p, u in instants.items()},
        )


def _status_mode(status: str, pending_reason: str, pauses: frozenset[str]) -> tuple[str, str]:
    if status == TicketStatus.CANCELLED:
        return STOP, "cancelled"
    if status in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
        return STOP, "met"
    if status == TicketStatus.PENDING and pending_reason in pauses:
        return PAUSE, pending_reason
    return RUN, ""


def replay_clocks(
    events: Iterable[ReplayEvent], policy_set: PolicySet
) -> tuple[PolicySpec | None, dict[str, ClockResult]]:
    """The policy that applies and the state of each of its clocks, from the ticket's events."""
    history = read_history(events)
    if history.created_at is None:
        return None, {}
    policy = policy_set.select(history.attrs)
    if policy is None:
        return None, {}
    out: dict[str, ClockResult] = {}
    for metric, target in policy.targets.items():
        if target is None or target <= timedelta(0):
            continue
        pauses = frozenset(policy.pause_on.get(metric, ()))
        clock = _Clock(policy.calendar, target, policy.thresholds, history.created_at)
        for step in history.steps:
            mode, reason = _status_mode(step.status, step.pending_reason, pauses)
            if metric == SlaMetric.FIRST_RESPONSE:
                if step.agent_reply:
                    clock.set(step.at, STOP, "met")
                else:
                    clock.set(step.at, mode, reason)
                if clock.mode == STOP:
                    clock.final = True  # answered, resolved or cancelled: a reopen does not restart it
            elif metric == SlaMetric.RESOLUTION:
                clock.set(step.at, mode, reason)
                if step.status in (TicketStatus.CLOSED, TicketStatus.CANCELLED):
                    clock.final = True
            elif metric == SlaMetric.NEXT_UPDATE:
                if step.reopen or (step.agent_reply and clock.mode != STOP):
                    clock.restart(step.at, mode, reason)
                else:
                    clock.set(step.at, mode, reason)
                if step.status in (TicketStatus.CLOSED, TicketStatus.CANCELLED):
                    clock.final = True
        out[metric] = clock.result(metric, policy, target)
    return policy, out
