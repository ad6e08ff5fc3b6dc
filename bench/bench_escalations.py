"""Escalation benchmark (PostgreSQL): the beat's escalation scan at 10,000 and at 100,000 open tickets with the
same number of tickets due, next to what a scan that looked at every open ticket would cost.

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/itsm_bench python -m bench.bench_escalations

What is measured
- scan: `escalation_scan_due(now=T)` when exactly DUE tickets have a level due (each fires one level: an
  Escalation row, an ESCALATED event, the group manager's in-app notification and two outbox mails), with 10,000
  and then 100,000 open tickets in the database. The work must follow the tickets due, not the open tickets: the
  ratio time(100k) / time(10k) is reported (it should stay near 1).
- idle scan: the same beat when nothing is due, at 100,000 open tickets (one indexed range query).
- baseline, full evaluation: what a scan without the indexed schedule would have to do every minute: read the
  facts of every open ticket (its SLA clocks, in batches of 1,000) and compute when each level of its path falls
  due (escalations/thresholds.py), firing nothing. Its time at 100,000 tickets next to the indexed scan's.

Data is generated with bulk inserts: tickets with their CREATED event, their SLA resolution clock on an office
calendar (Europe/Rome, Mon-Fri 08:00-18:00, Italian holidays) and their escalation schedule row. A background
ticket's next check is after the measurement window; the due tickets' clocks cross 75% of their target five
minutes before their scan (and breach after the window), so each fires exactly one level.
"""

import os
import random
import tempfile
import time as wall
from datetime import UTC, datetime, time, timedelta

os.environ.setdefault("ITSM_VAR_DIR", tempfile.mkdtemp(prefix="itsm-bench-"))

from bench import harness  # noqa: E402

DUE = 200  # tickets due per scan, the same at both sizes
SCANS = 3  # scans measured per size, each on its own set of due tickets
SMALL, LARGE = 10_000, 100_000
BATCH = 5000
OFFICE = [(d, time(8), time(18)) for d in range(5)]
# The measurement window: scans at T0 + 10, 20, 30 minutes (a Tuesday morning in Rome).
T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


class Bench:
    def __init__(self) -> None:
        from django.contrib.auth import get_user_model

        from accounts.models import Organization
        from catalog.models import ResolverGroup
        from escalations.choices import ThresholdKind
        from escalations.services import LevelInput, path_save
        from sla.services import calendar_save, policy_save

        User = get_user_model()
        self.org = Organization.objects.create(name="Bench Org", slug="bench-org")
        self.requester = User.objects.create(username="bench-customer", email="c@bench.example", organization=self.org)
        manager = User.objects.create(username="bench-manager", email="m@bench.example")
        self.group = ResolverGroup.objects.create(
            name="Bench group", slug="bench-group", manager=manager, email="team@bench.example"
        )
        self.calendar = calendar_save(
            actor=None, name="Office", time_zone="Europe/Rome", hours=OFFICE, holiday_country="IT"
        )
        self.policy = policy_save(
            actor=None,
            data={
                "name": "Standard",
                "calendar": self.calendar,
                "first_response_target": timedelta(hours=1),
                "resolution_target": timedelta(hours=8),
            },
        )
        res = "resolution"
        self.path = path_save(
            actor=None,
            name="Standard escalation",
            levels=[
                LevelInput(1, "Group manager", ThresholdKind.CLOCK_PERCENT, res, percent=75, notify_group_manager=True),
                LevelInput(2, "Service Manager", ThresholdKind.AFTER_TARGET, res, duration=timedelta(0),
                           notify_service_managers=True),
            ],
        )  # fmt: skip
        self.rng = random.Random(6)
        self.serial = 0

    # --- data ------------------------------------------------------------------------------------

    def _tickets(self, starts: list[datetime], targets: list[timedelta], next_checks: list[datetime | None]):
        """Bulk-insert open tickets with their CREATED event, resolution clock and escalation schedule."""
        from escalations.models import EscalationSchedule
        from sla.choices import ClockState
        from sla.models import SlaClock
        from tickets.choices import Channel, TicketEventType, TicketStatus, TicketType
        from tickets.events import GENESIS_HASH, canonical_content, chain_hash, normalize_data
        from tickets.models import Ticket, TicketAuditHead, TicketEvent

        tickets = []
        for at in starts:
            self.serial += 1
            tickets.append(
                Ticket(
                    number=f"BEN-{self.serial:07d}",
                    ticket_type=TicketType.INCIDENT,
                    channel=Channel.EMAIL,
                    title=f"Bench ticket {self.serial}",
                    requester=self.requester,
                    organization=self.org,
                    resolver_group=self.group,
                    impact=4,
                    urgency=3,
                    priority="P4",
                    status=TicketStatus.IN_PROGRESS,
                    created_at=at,
                    updated_at=at,
                )
            )
        Ticket.objects.bulk_create(tickets, batch_size=BATCH)
        events, clocks, schedules = [], [], []
        for t, target, check in zip(tickets, targets, next_checks, strict=True):
            data = normalize_data({"number": t.number, "status": "new", "priority": t.priority})
            content = canonical_content(
                number=t.number,
                seq=1,
                event_type=TicketEventType.CREATED,
                actor_id=None,
                actor_name="System",
                created_at=t.created_at,
                data=data,
                is_public=False,
            )
            events.append(
                TicketEvent(
                    ticket=t,
                    seq=1,
                    event_type=TicketEventType.CREATED,
                    actor_name="System",
                    created_at=t.created_at,
                    data=data,
                    prev_hash=GENESIS_HASH,
                    hash=chain_hash(GENESIS_HASH, content),
                )
            )
            clocks.append(
                SlaClock(
                    ticket=t,
                    metric="resolution",
                    policy=self.policy,
                    policy_name=self.policy.name,
                    calendar=self.calendar,
                    target=target,
                    started_at=t.created_at,
                    state=ClockState.RUNNING,
                    elapsed=timedelta(0),
                    as_of=t.created_at,
                    thresholds={},
                )
            )
            schedules.append(EscalationSchedule(ticket=t, path=self.path, next_check_at=check, updated_at=T0))
        TicketEvent.objects.bulk_create(events, batch_size=BATCH)
        TicketAuditHead.objects.bulk_create(
            [TicketAuditHead(ticket_id=e.ticket_id, seq=1, hash=e.hash) for e in events], batch_size=BATCH
        )
        SlaClock.objects.bulk_create(clocks, batch_size=BATCH)
        EscalationSchedule.objects.bulk_create(schedules, batch_size=BATCH)

    def background(self, count: int) -> None:
        """Open tickets created over the 20 days before T0, none due during the window (their next check is
        later: each has used less than 75% of a long target)."""
        done = 0
        while done < count:
            n = min(BATCH, count - done)
            starts = [T0 - timedelta(minutes=self.rng.randint(60, 20 * 24 * 60)) for _ in range(n)]
            targets = [timedelta(hours=self.rng.choice([400, 800, 1600])) for _ in range(n)]
            checks = [T0 + timedelta(days=self.rng.randint(2, 60)) for _ in range(n)]
            self._tickets(starts, targets, checks)
            done += n

    def due_sets(self) -> list[datetime]:
        """SCANS sets of DUE tickets: set i's clocks (2h targets) cross 75% five minutes before scan i (after scan
        i - 1) and breach 25 minutes after it (after the last scan of the window for its level 2)."""
        scans = []
        for i in range(1, SCANS + 1):
            scan_at = T0 + timedelta(minutes=10 * i)
            started = scan_at - timedelta(minutes=95)  # Tuesday, inside office hours: 90 minutes = 75% of 2h
            self._tickets([started] * DUE, [timedelta(hours=2)] * DUE, [scan_at - timedelta(minutes=5)] * DUE)
            scans.append(scan_at)
        return scans

    # --- measurements ----------------------------------------------------------------------------

    def scan(self, label: str, scans: list[datetime]) -> "harness.Measurement":
        from escalations.models import Escalation
        from escalations.services import escalation_scan_due

        m = harness.Measurement(label, items=DUE)
        for scan_at in scans:
            before = Escalation.objects.count()
            start = wall.perf_counter()
            fired = escalation_scan_due(now=scan_at)
            m.seconds.append(wall.perf_counter() - start)
            assert fired == DUE, f"expected {DUE} levels fired at {scan_at}, got {fired}"
            assert Escalation.objects.count() - before == DUE
        return m


def analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def full_evaluation(label: str) -> "harness.Measurement":
    """The baseline: every open ticket's facts read and its levels computed (what a scan without the schedule
    would do each minute), firing nothing."""
    from escalations.selectors import path_set_load, ticket_states
    from escalations.thresholds import levels_due, path_select
    from tickets.choices import OPEN_STATUSES
    from tickets.models import Ticket

    paths = path_set_load(use_cache=False)
    ids = list(Ticket.objects.filter(status__in=OPEN_STATUSES).order_by("pk").values_list("pk", flat=True))
    m = harness.Measurement(label, items=len(ids))
    start = wall.perf_counter()
    due = 0
    for i in range(0, len(ids), 1000):
        tickets = list(Ticket.objects.filter(pk__in=ids[i : i + 1000]))
        for state in ticket_states(tickets).values():
            path = path_select(paths, policy_id=state.policy_id, group_id=state.group_id, priority=state.priority)
            due += sum(1 for d in levels_due(path.levels, state.facts) if d.at <= T0) if path else 0
    m.seconds.append(wall.perf_counter() - start)
    return m


def main() -> None:
    harness.setup()
    from escalations.models import EscalationSchedule
    from escalations.services import escalation_scan_due
    from tickets.models import Ticket

    b = Bench()
    t = wall.perf_counter()
    b.background(SMALL)
    small_scans = b.due_sets()
    analyze()
    print(f"generated {Ticket.objects.count():,} tickets in {wall.perf_counter() - t:.1f}s")
    scan_small = b.scan(f"escalation scan, {SMALL:,} open tickets, {DUE:,} due", small_scans)

    t = wall.perf_counter()
    b.background(LARGE - SMALL)
    EscalationSchedule.objects.filter(next_check_at__lte=T0 + timedelta(hours=1)).update(next_check_at=None)
    large_scans = b.due_sets()
    analyze()
    print(f"generated up to {Ticket.objects.count():,} tickets in {wall.perf_counter() - t:.1f}s")
    scan_large = b.scan(f"escalation scan, {LARGE:,} open tickets, {DUE:,} due", large_scans)
    due_query = EscalationSchedule.objects.filter(next_check_at__lte=large_scans[0]).order_by("next_check_at")
    plan = " / ".join(line.strip() for line in due_query.values_list("ticket_id")[:1000].explain().splitlines())

    idle = harness.measure(
        f"escalation scan, {LARGE:,} open tickets, nothing due",
        lambda: escalation_scan_due(now=T0 + timedelta(minutes=45)),
        repeat=5,
    )
    full = full_evaluation(f"baseline: evaluate every open ticket's levels ({LARGE:,}), no firing")
    per_due = scan_large.median / DUE

    harness.report(
        "bench_escalations",
        [scan_small, scan_large, idle, full],
        ratios={
            "scan time 100k / 10k (same due tickets; ~1 expected)": scan_large.median / scan_small.median,
            "full evaluation of 100k / indexed scan of 100k": full.median / scan_large.median,
            "full evaluation of 100k / idle indexed scan of 100k": full.median / idle.median,
        },
        notes={
            "open tickets": f"{SMALL:,} then {LARGE:,} (+{SCANS * DUE:,} due ones per size)",
            "each due ticket": "fires 1 level: Escalation row, ESCALATED event, 1 notification, 2 outbox mails",
            "indexed scan per due ticket (100k)": f"{per_due * 1000:.1f} ms",
            "due query plan (100k)": plan,
        },
    )


if __name__ == "__main__":  # pragma: no cover
    main()
