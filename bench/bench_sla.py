"""SLA benchmark (PostgreSQL): the beat's breach scan at 10,000 and at 100,000 open tickets with the same number
of due clocks, and the recompute of 100,000 tickets after a calendar edit next to the pure functions' rates.

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/itsm_bench python -m bench.bench_sla

What is measured
- scan: `sla_scan_due(now=T)` when exactly DUE clocks are due (each has one warning to emit), with 10,000 and
  then 100,000 open tickets in the database. The work must follow the due clocks, not the open tickets: the
  ratio time(100k) / time(10k) is reported (the issue asks for at most 1.5).
- recompute: a calendar edit queues a job over every open ticket whose clocks use the calendar;
  `recompute_job_run` runs it in batches (each batch: row locks, one query for the events, a replay per
  ticket, one upsert). Its rate (tickets/s) is reported next to the rate of the pure replay (sla/replay.py,
  events already in memory) and of the pure calendar functions alone (the add/between calls of a ticket), on
  the same tickets.

Data is generated with bulk inserts: tickets, their hash-chained events (created; an agent's public reply; for
some, a pause awaiting the customer and a resume), and their clocks as the replay computes them. A background
clock's next_check_at is its first threshold after the measurement window (as if the earlier ones had been
emitted), so the due clocks are exactly the planted ones.
"""

import os
import random
import tempfile
import time as wall
from datetime import UTC, datetime, time, timedelta

os.environ.setdefault("ITSM_VAR_DIR", tempfile.mkdtemp(prefix="itsm-bench-"))

from bench import harness  # noqa: E402

DUE = 1000  # due clocks per scan, the same at both sizes
SCANS = 3  # scans measured per size, each on its own set of due clocks
SMALL, LARGE = 10_000, 100_000
BATCH = 5000
OFFICE = [(d, time(8), time(18)) for d in range(5)]
# The measurement window: scans at T0 + 10, 20, 30 minutes (a Tuesday morning in Rome).
T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


class Bench:
    def __init__(self) -> None:
        from django.contrib.auth import get_user_model

        from accounts.models import Organization
        from sla.selectors import policy_set_load
        from sla.services import calendar_save, policy_save

        User = get_user_model()
        self.org = Organization.objects.create(name="Bench Org", slug="bench-org")
        self.requester = User.objects.create(username="bench-customer", email="c@bench.example", organization=self.org)
        self.agent = User.objects.create(username="bench-agent", email="a@bench.example")
        self.calendar = calendar_save(
            actor=None, name="Office", time_zone="Europe/Rome", hours=OFFICE, holiday_country="IT"
        )
        policy_save(
            actor=None,
            data={
                "name": "Standard",
                "calendar": self.calendar,
                "first_response_target": timedelta(hours=1),
                "resolution_target": timedelta(hours=8),
                "warning_thresholds": [50],
            },
        )
        self.policy_set = policy_set_load(use_cache=False)
        self.rng = random.Random(4)
        self.serial = 0
        self.scan_sets: list[datetime] = []

    # --- data ------------------------------------------------------------------------------------

    def _ticket_rows(self, created: list[datetime], *, replied: list[bool], paused: list[int]):
        """Bulk-insert tickets and their events; returns the tickets and their events by ticket id."""
        from tickets.choices import Channel, PendingReason, TicketEventType, TicketStatus, TicketType
        from tickets.events import GENESIS_HASH, canonical_content, chain_hash, normalize_data
        from tickets.models import Ticket, TicketAuditHead, TicketEvent

        tickets = []
        for i, at in enumerate(created):
            self.serial += 1
            status = TicketStatus.PENDING if paused[i] == 1 else TicketStatus.IN_PROGRESS
            tickets.append(
                Ticket(
                    number=f"BEN-{self.serial:07d}",
                    ticket_type=TicketType.INCIDENT,
                    channel=Channel.EMAIL,
                    title=f"Bench ticket {self.serial}",
                    requester=self.requester,
                    organization=self.org,
                    impact=4,
                    urgency=3,
                    priority="P4",
                    status=status,
                    pending_reason=PendingReason.AWAITING_CUSTOMER if status == TicketStatus.PENDING else "",
                    created_at=at,
                    updated_at=at,
                )
            )
        Ticket.objects.bulk_create(tickets, batch_size=BATCH)
        events, heads, by_ticket = [], [], {}
        for i, t in enumerate(tickets):
            at = t.created_at
            steps = [
                (
                    TicketEventType.CREATED,
                    None,
                    at,
                    {
                        "number": t.number,
                        "status": TicketStatus.NEW,
                        "ticket_type": t.ticket_type,
                        "priority": t.priority,
                        "requester": {"id": self.requester.pk, "name": "c"},
                        "organization": {"id": self.org.pk, "name": self.org.name},
                        "service": None,
                    },
                ),
                (
                    TicketEventType.STATUS_CHANGED,
                    self.agent,
                    at + timedelta(minutes=2),
                    {"from": TicketStatus.NEW, "to": TicketStatus.IN_PROGRESS},
                ),
            ]
            if replied[i]:
                steps.append(
                    (
                        TicketEventType.COMMENT_ADDED,
                        self.agent,
                        at + timedelta(minutes=5),
                        {"public": True, "by_agent": True, "length": 10},
                    )
                )
            if paused[i]:
                steps.append(
                    (
                        TicketEventType.STATUS_CHANGED,
                        self.agent,
                        at + timedelta(minutes=20),
                        {"from": "in_progress", "to": "pending", "pending_reason": PendingReason.AWAITING_CUSTOMER},
                    )
                )
            if paused[i] == 2:
                steps.append(
                    (
                        TicketEventType.STATUS_CHANGED,
                        self.requester,
                        at + timedelta(hours=3),
                        {"from": "pending", "to": "in_progress", "pending_reason_cleared": "awaiting_customer"},
                    )
                )
            prev = GENESIS_HASH
            mine = []
            for seq, (kind, actor, when, data) in enumerate(steps, start=1):
                data = normalize_data(data)
                name = actor.username if actor else "System"
                content = canonical_content(
                    number=t.number,
                    seq=seq,
                    event_type=kind,
                    actor_id=actor.pk if actor else None,
                    actor_name=name,
                    created_at=when,
                    data=data,
                    is_public=False,
                )
                digest = chain_hash(prev, content)
                events.append(
                    TicketEvent(
                        ticket=t,
                        seq=seq,
                        event_type=kind,
                        actor=actor,
                        actor_name=name,
                        created_at=when,
                        data=data,
                        prev_hash=prev,
                        hash=digest,
                    )
                )
                mine.append((kind, when, data, actor.pk if actor else None))
                prev = digest
            by_ticket[t.pk] = mine
            heads.append(TicketAuditHead(ticket=t, seq=len(steps), hash=prev))
        TicketEvent.objects.bulk_create(events, batch_size=BATCH)
        TicketAuditHead.objects.bulk_create(heads, batch_size=BATCH)
        return tickets, by_ticket

    def _clocks(self, tickets, by_ticket, *, window_end: datetime | None) -> None:
        """Clocks as the replay computes them; `window_end` set: next checks pushed past the window."""
        from sla.models import SlaClock
        from sla.replay import ReplayEvent, replay_clocks
        from sla.services import ROW_FIELDS, next_check_at

        rows = []
        for t in tickets:
            events = [ReplayEvent(k, w, d, a) for k, w, d, a in by_ticket[t.pk]]
            _, results = replay_clocks(events, self.policy_set)
            for metric, r in results.items():
                check = next_check_at(r, set())
                if window_end is not None and check is not None and check <= window_end:
                    later = [i for i in r.threshold_instants().values() if i > window_end]
                    check = min(later) if later and r.stopped_at is None else None
                rows.append(
                    SlaClock(
                        ticket_id=t.pk, metric=metric, next_check_at=check, **{f: getattr(r, f) for f in ROW_FIELDS}
                    )
                )
        SlaClock.objects.bulk_create(rows, batch_size=BATCH)

    def background(self, count: int) -> None:
        """Open tickets created over the 20 business days before T0, none due during the window."""
        window_end = T0 + timedelta(hours=1)
        done = 0
        while done < count:
            n = min(BATCH, count - done)
            created = [T0 - timedelta(minutes=self.rng.randint(60, 20 * 24 * 60)) for _ in range(n)]
            replied = [self.rng.random() < 0.9 for _ in range(n)]
            # 0: never paused, 1: paused awaiting the customer, 2: paused then resumed 3 hours after creation
            paused = [self.rng.choice([0, 0, 0, 1, 2]) for _ in range(n)]
            paused = [
                1 if p == 2 and at + timedelta(hours=3) >= T0 else p for p, at in zip(paused, created, strict=True)
            ]
            tickets, events = self._ticket_rows(created, replied=replied, paused=paused)
            self._clocks(tickets, events, window_end=window_end)
            done += n

    def due_sets(self) -> list[datetime]:
        """SCANS sets of DUE tickets; set i's first-response 50% warning falls due just before scan i."""
        scans = []
        for i in range(1, SCANS + 1):
            scan_at = T0 + timedelta(minutes=10 * i)
            created = [scan_at - timedelta(minutes=31)] * DUE  # 50% of 1h at scan - 1 min; the breach 29 min later
            tickets, events = self._ticket_rows(created, replied=[False] * DUE, paused=[0] * DUE)
            self._clocks(tickets, events, window_end=None)
            scans.append(scan_at)
        return scans

    # --- measurements ----------------------------------------------------------------------------

    def scan(self, label: str, scans: list[datetime]) -> "harness.Measurement":
        from sla.models import SlaClockEvent
        from sla.services import sla_scan_due

        m = harness.Measurement(label, items=DUE)
        for scan_at in scans:
            before = SlaClockEvent.objects.count()
            start = wall.perf_counter()
            emitted = sla_scan_due(now=scan_at)
            m.seconds.append(wall.perf_counter() - start)
            assert emitted == DUE, f"expected {DUE} emissions at {scan_at}, got {emitted}"
            assert SlaClockEvent.objects.count() - before == DUE
        return m


def analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def main() -> None:
    harness.setup()
    from sla.calendar import Calendar, add_business_time, business_seconds_between
    from sla.models import SlaClock, SlaRecomputeJob
    from sla.replay import ReplayEvent, replay_clocks
    from sla.selectors import policy_set_load
    from sla.services import calendar_save, recompute_job_run
    from tickets.choices import OPEN_STATUSES
    from tickets.models import Ticket, TicketEvent

    b = Bench()
    t = wall.perf_counter()
    b.background(SMALL)
    small_scans = b.due_sets()
    analyze()
    print(f"generated {Ticket.objects.count():,} tickets in {wall.perf_counter() - t:.1f}s")
    scan_small = b.scan(f"breach scan, {SMALL:,} open tickets, {DUE:,} due clocks", small_scans)

    t = wall.perf_counter()
    # The large database: the same background up to LARGE, and new due sets later in the same window.
    b.background(LARGE - SMALL)
    SlaClock.objects.filter(next_check_at__lte=T0 + timedelta(hours=1)).update(next_check_at=None)  # used sets
    large_scans = b.due_sets()
    analyze()
    print(f"generated up to {Ticket.objects.count():,} tickets in {wall.perf_counter() - t:.1f}s")
    scan_large = b.scan(f"breach scan, {LARGE:,} open tickets, {DUE:,} due clocks", large_scans)
    due_query = SlaClock.objects.filter(next_check_at__lte=large_scans[0]).order_by("next_check_at")
    plan = " / ".join(line.strip() for line in due_query.values_list("pk", "ticket_id")[:DUE].explain().splitlines())

    # --- recompute after a calendar edit
    edited = OFFICE[:4] + [(4, time(8), time(16))]  # Fridays now end at 16:00
    calendar_save(
        actor=None, calendar=b.calendar, name="Office", time_zone="Europe/Rome", hours=edited, holiday_country="IT"
    )
    job = SlaRecomputeJob.objects.filter(calendar=b.calendar).first()
    start = wall.perf_counter()
    job = recompute_job_run(job_id=job.pk, batch_size=1000)
    recompute = harness.Measurement(f"recompute after a calendar edit ({job.done:,} open tickets)", items=job.done)
    recompute.seconds.append(wall.perf_counter() - start)

    # --- the pure functions on the same tickets (events in memory, the edited calendar)
    ids = list(Ticket.objects.filter(status__in=OPEN_STATUSES).values_list("pk", flat=True))
    events: dict[int, list] = {}
    rows = TicketEvent.objects.filter(ticket_id__in=ids).order_by("ticket_id", "seq")
    for tid, kind, at, data, actor in rows.values_list("ticket_id", "event_type", "created_at", "data", "actor_id"):
        events.setdefault(tid, []).append(ReplayEvent(kind, at, data, actor))
    policy_set = policy_set_load(use_cache=False)
    start = wall.perf_counter()
    for tid in ids:
        replay_clocks(events[tid], policy_set)
    pure_replay = harness.Measurement("pure replay (sla/replay.py), same tickets", items=len(ids))
    pure_replay.seconds.append(wall.perf_counter() - start)

    created = [events[tid][0].created_at for tid in ids]
    fresh = Calendar(time_zone="Europe/Rome", ranges=edited, holiday_country="IT")  # its caches start cold
    start = wall.perf_counter()
    for at in created:
        add_business_time(fresh, at, 3600)
        add_business_time(fresh, at, 8 * 3600)
        business_seconds_between(fresh, at, T0)
    pure_calendar = harness.Measurement(
        "pure calendar functions (2 adds + 1 between per ticket), same tickets", items=len(ids)
    )
    pure_calendar.seconds.append(wall.perf_counter() - start)

    harness.report(
        "bench_sla",
        [scan_small, scan_large, recompute, pure_replay, pure_calendar],
        ratios={
            "scan time 100k / 10k (<= 1.5 required)": scan_large.median / scan_small.median,
            "recompute rate / pure replay rate": recompute.rate / pure_replay.rate,
            "recompute rate / pure calendar rate": recompute.rate / pure_calendar.rate,
        },
        notes={
            "open tickets": f"{SMALL:,} then {LARGE:,} (+{SCANS * DUE:,} due ones per size)",
            "scan query plan (100k)": plan,
            "recompute job": f"{job.done:,} tickets, {job.changed:,} changed, batches of 1000",
        },
    )


if __name__ == "__main__":  # pragma: no cover
    main()
