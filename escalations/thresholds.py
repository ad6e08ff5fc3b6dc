"""When a level of an escalation path fires: pure arithmetic over the SLA clock rows, in business time
(sla/calendar.py). No query here: escalations/services.py reads the rows and calls these.

Every threshold is measured in business time of the clock's calendar:
- percent of a clock used: the instant the clock has used `percent`% of its target. The share is the same
  integer microsecond share as the SLA warnings (target * percent // 100), so a level at 75% fires exactly
  at the instant of the SLA's 75% warning;
- before the target: the instant `target - duration` of business time has been used;
- after the target: `target + duration` used (0 is the breach itself);
- status update overdue: `duration` of business time after the status update became due (the
  communications cadence sets the flag);
- reopened N times: at the reopen that brings the ticket's reopen count to N (and at each later one).

A share is crossed when the business time used *exceeds* it, at `calendar.add_us(start of the running
stretch, rest of the share)`, the convention of sla/replay.py: the result is always business time, so a share
used up at 17:00 crosses when work resumes, and no level fires at night.

The business time a clock has used comes from its row alone: it runs from `started_at`, minus the pauses the
row lists (awaiting the customer, and the time it was resolved before a reopen), until `stopped_at`. So the
instant of any share, past or future, is exact, even for a share no SLA warning uses.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from escalations.choices import CLOCK_KINDS, ThresholdKind
from sla.calendar import Calendar, duration_us, from_us, to_us
from sla.choices import SlaMetric

US = 1_000_000


# --- the inputs ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClockFacts:
    """What the arithmetic needs of one SLA clock row (sla.models.SlaClock)."""

    metric: str
    cycle: int
    target: timedelta
    started_at: datetime
    pauses: Sequence[Mapping[str, str | None]]
    stopped_at: datetime | None
    calendar: Calendar

    @classmethod
    def of(cls, clock, calendar: Calendar) -> ClockFacts:
        return cls(
            metric=clock.metric,
            cycle=clock.cycle,
            target=clock.target,
            started_at=clock.started_at,
            pauses=tuple(clock.pauses or ()),
            stopped_at=clock.stopped_at,
            calendar=calendar,
        )

    @property
    def running(self) -> bool:
        return self.stopped_at is None and not (self.pauses and self.pauses[-1].get("to") is None)


@dataclass(frozen=True)
class LevelRule:
    """One level of a path, as the arithmetic needs it."""

    id: int
    number: int
    name: str
    kind: str
    metric: str = ""
    percent: int | None = None
    duration: timedelta | None = None
    count: int | None = None

    @property
    def description(self) -> str:
        metric = SlaMetric(self.metric).label if self.metric in SlaMetric.values else self.metric
        d = _words(self.duration)
        if self.kind == ThresholdKind.CLOCK_PERCENT:
            return f"{self.percent}% of {metric} used"
        if self.kind == ThresholdKind.BEFORE_TARGET:
            return f"{d} before the {metric} target"
        if self.kind == ThresholdKind.AFTER_TARGET:
            return f"{d} after the {metric} target" if self.duration else f"{metric} breached"
        if self.kind == ThresholdKind.NO_UPDATE:
            return f"status update overdue for {d}" if self.duration else "status update overdue"
        if self.kind == ThresholdKind.REOPENED:
            return f"reopened {self.count} time{'s' if self.count != 1 else ''}"
        return self.kind


@dataclass(frozen=True)
class TicketFacts:
    """Everything about a ticket that a threshold can depend on, besides its clocks."""

    is_open: bool
    reopen_count: int = 0
    last_reopen_at: datetime | None = None
    update_due_since: datetime | None = None
    update_calendar: Calendar | None = None  # the ticket's SLA calendar (the status cadence is measured on it)
    clocks: Mapping[str, ClockFacts] = field(default_factory=dict)


@dataclass(frozen=True)
class Due:
    """A level's next firing: at `at`, for the clock cycle named by `key`."""

    rule: LevelRule
    key: str
    at: datetime
    metric: str = ""
    cycle: int | None = None


# --- the arithmetic -----------------------------------------------------------------------------------


def _words(d: timedelta | None) -> str:
    if not d:
        return "0m"
    seconds = int(d.total_seconds())
    hours, rest = divmod(seconds, 3600)
    parts = [f"{hours}h"] if hours else []
    if rest // 60 or not parts:
        parts.append(f"{rest // 60}m")
    return " ".join(parts)


def running_stretches(clock: ClockFacts) -> list[tuple[int, int | None]]:
    """The stretches (microseconds) during which the clock ran, in order; the last one has no end while it
    still runs."""
    out: list[tuple[int, int | None]] = []
    cursor = to_us(clock.started_at)
    for pause in clock.pauses:
        start = pause.get("from")
        if start is None:
            continue
        begin = to_us(datetime.fromisoformat(start))
        if begin > cursor:
            out.append((cursor, begin))
        end = pause.get("to")
        if end is None:
            return out  # paused now
        cursor = max(cursor, to_us(datetime.fromisoformat(end)))
    if clock.stopped_at is not None:
        stop = to_us(clock.stopped_at)
        if stop > cursor:
            out.append((cursor, stop))
        return out
    out.append((cursor, None))
    return out


def used_us(clock: ClockFacts, at: datetime) -> int:
    """Business time (microseconds) the clock has used by `at`."""
    limit = to_us(at)
    total = 0
    for a, b in running_stretches(clock):
        if a >= limit:
            break
        end = limit if b is None else min(b, limit)
        if end > a:
            total += clock.calendar.between_us(a, end)
    return total


def crossing_instant(clock: ClockFacts, share: int) -> datetime | None:
    """The instant the clock's business time used exceeds `share` microseconds: in the past when it was
    crossed, in the future when the clock runs and will cross it; None when the clock is paused or stopped
    short of it."""
    acc = 0
    cal = clock.calendar
    for a, b in running_stretches(clock):
        if b is None:
            return from_us(cal.add_us(a, share - acc))
        used = cal.between_us(a, b)
        if acc + used > share:
            return from_us(cal.add_us(a, share - acc))
        acc += used
    return None


def share_us(rule: LevelRule, target: timedelta) -> int:
    """The business time used (microseconds) at which a clock level fires."""
    target_us = duration_us(target)
    if rule.kind == ThresholdKind.CLOCK_PERCENT:
        return target_us * int(rule.percent or 0) // 100
    d = duration_us(rule.duration or timedelta(0))
    if rule.kind == ThresholdKind.BEFORE_TARGET:
        return max(target_us - d, 0)
    if rule.kind == ThresholdKind.AFTER_TARGET:
        return target_us + d
    raise ValueError(f"{rule.kind} is not a clock threshold")


def clock_key(metric: str, cycle: int, reopen_count: int) -> str:
    return f"{metric}#{cycle}.r{reopen_count}"


def update_key(due_since: datetime) -> str:
    return f"update@{due_since.astimezone(UTC).isoformat(timespec='microseconds')}"


def reopen_key(reopen_count: int) -> str:
    return f"reopen.r{reopen_count}"


def level_due(rule: LevelRule, ticket: TicketFacts) -> Due | None:
    """When the level fires next for this ticket (past or future), with the key of the clock cycle; None when
    it cannot fire now (no such clock, a stopped or paused clock short of it, no update due...)."""
    if not ticket.is_open:
        return None
    if rule.kind in CLOCK_KINDS:
        clock = ticket.clocks.get(rule.metric)
        if clock is None or clock.stopped_at is not None:
            return None
        at = crossing_instant(clock, share_us(rule, clock.target))
        if at is None:
            return None
        return Due(rule, clock_key(clock.metric, clock.cycle, ticket.reopen_count), at, clock.metric, clock.cycle)
    if rule.kind == ThresholdKind.NO_UPDATE:
        if ticket.update_due_since is None:
            return None
        cal = ticket.update_calendar
        d = rule.duration or timedelta(0)
        at = (
            ticket.update_due_since + d
            if cal is None
            else from_us(cal.add_us(to_us(ticket.update_due_since), duration_us(d)))
        )
        return Due(rule, update_key(ticket.update_due_since), at)
    if rule.kind == ThresholdKind.REOPENED:
        if ticket.reopen_count < int(rule.count or 1) or ticket.last_reopen_at is None:
            return None
        return Due(rule, reopen_key(ticket.reopen_count), ticket.last_reopen_at)
    return None


def levels_due(rules: Iterable[LevelRule], ticket: TicketFacts) -> list[Due]:
    """Every level's next firing, in the order they fire (then by level number)."""
    found = [d for d in (level_due(r, ticket) for r in rules) if d is not None]
    return sorted(found, key=lambda d: (d.at, d.rule.number))


def why_not_live(*, metric: str, cycle: int | None, key: str, ticket: TicketFacts, ticket_status: str) -> str | None:
    """For an active escalation: the reason it must be de-escalated now (a DEESCALATION_REASONS key), or None
    while it still stands. Resolved, closed or cancelled tickets de-escalate everything; a clock that stopped
    (met) or moved to a new cycle (an update was given) de-escalates what fired on it; a status update sent
    de-escalates the "no update" levels."""
    if not ticket.is_open:
        return ticket_status if ticket_status in ("resolved", "closed", "cancelled") else "resolved"
    if key.startswith("update@"):
        if ticket.update_due_since is None or update_key(ticket.update_due_since) != key:
            return "update_sent"
        return None
    if metric:
        clock = ticket.clocks.get(metric)
        if clock is None:
            return "clock_gone"
        if clock.stopped_at is not None:
            return "clock_met"
        if cycle is not None and clock.cycle != cycle:
            return "new_cycle"
    return None


# --- which path -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PathSpec:
    """A path as the selection needs it: its conditions and its levels."""

    id: int
    name: str
    policy_ids: frozenset[int] = frozenset()
    group_ids: frozenset[int] = frozenset()
    priorities: frozenset[str] = frozenset()
    levels: tuple[LevelRule, ...] = ()

    def matches(self, *, policy_id: int | None, group_id: int | None, priority: str) -> bool:
        return (
            (not self.policy_ids or policy_id in self.policy_ids)
            and (not self.group_ids or group_id in self.group_ids)
            and (not self.priorities or priority in self.priorities)
        )


def path_select(
    paths: Sequence[PathSpec], *, policy_id: int | None, group_id: int | None, priority: str
) -> PathSpec | None:
    """The first path (in position order) whose conditions all hold."""
    for path in paths:
        if path.matches(policy_id=policy_id, group_id=group_id, priority=priority):
            return path
    return None
