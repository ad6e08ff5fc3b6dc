"""The escalation scan: each level fires at its business-time instant, once, whatever the number of scanners or
retries; its work follows the tickets due, not the open tickets; de-escalation when the clock is met or the
ticket resolved."""

import threading
from datetime import time, timedelta

import pytest
from django.db import close_old_connections, connection
from django.test.utils import CaptureQueriesContext

from communications.models import OutboundEmail, StatusUpdateCadence
from communications.services import status_update_send, status_updates_due
from escalations.choices import ThresholdKind
from escalations.models import Escalation, EscalationSchedule, Notification
from escalations.selectors import escalation_overview
from escalations.services import LevelInput, escalation_check, escalation_scan_due, path_save
from escalations.tasks import escalation_scan_due as escalation_scan_due_task
from sla.models import SlaClock
from sla.services import sla_scan_due
from tests.escalations.conftest import MONDAY_9
from tests.factories import TicketFactory
from tests.sla.conftest import rome
from tickets.choices import TicketEventType, TicketStatus
from tickets.models import TicketEvent
from tickets.services import comment_add, ticket_transition, ticket_update

pytestmark = pytest.mark.usefixtures("group_manager")


def levels_of(ticket) -> list[int]:
    return sorted(e.level_number for e in Escalation.objects.filter(ticket=ticket))


def new_ticket(customer, desk, service, at=MONDAY_9, **kw):
    return TicketFactory(requester=customer, actor=desk, service=service, now=at, **kw)


@pytest.mark.smoke
def test_levels_fire_at_their_business_time_instants_and_only_once(
    hierarchy, desk, customer, service, group_manager, manager, head_of_it
):
    ticket = new_ticket(customer, desk, service)
    schedule = EscalationSchedule.objects.get(ticket=ticket)
    assert schedule.path == hierarchy and schedule.next_check_at == rome(2026, 3, 2, 15)  # 75% of 8h from 09:00
    assert escalation_scan_due(now=rome(2026, 3, 2, 14, 59, 59)) == 0
    assert escalation_scan_due(now=rome(2026, 3, 2, 15)) == 1
    first = Escalation.objects.get(ticket=ticket)
    assert first.level_number == 1 and first.crossed_at == rome(2026, 3, 2, 15) and first.key == "resolution#1.r0"
    # the instant is the SLA's own 75% warning instant
    clock = SlaClock.objects.get(ticket=ticket, metric="resolution")
    assert clock.thresholds["75"].startswith("2026-03-02T14:00:00")
    # the group manager hears of it in the app and by mail (with the team mailbox), once
    assert Notification.objects.get(user=group_manager).title.startswith("Escalated to level 1 (Group manager)")
    mails = OutboundEmail.objects.filter(ticket=ticket, kind=OutboundEmail.Kind.INTERNAL)
    assert sorted(a for m in mails for a in m.to) == ["gina@itsm.example", "infra-team@itsm.example"]
    event = ticket.events.get(event_type=TicketEventType.ESCALATED)
    assert event.data["level"] == 1 and event.data["threshold"] == "75% of Resolution used" and not event.is_public
    # the resolution target (8h) is used up at 17:00, when nobody works: the breach level waits for 08:00
    assert escalation_scan_due(now=rome(2026, 3, 2, 23, 0)) == 0
    assert escalation_scan_due(now=rome(2026, 3, 3, 7, 59)) == 0
    assert escalation_scan_due(now=rome(2026, 3, 3, 8, 0)) == 1
    assert Notification.objects.filter(user=manager).count() == 1  # every Service Manager (the head of IT too)
    assert escalation_scan_due(now=rome(2026, 3, 3, 9, 59)) == 0
    assert escalation_scan_due(now=rome(2026, 3, 3, 10, 0)) == 1  # 2h of business time after the breach
    assert Notification.objects.filter(user=head_of_it, title__contains="level 3 (Head of IT)").count() == 1
    assert escalation_scan_due(now=rome(2026, 3, 4, 10, 0)) == 0  # nothing is sent twice
    assert levels_of(ticket) == [1, 2, 3]
    assert EscalationSchedule.objects.get(ticket=ticket).next_check_at is None
    assert ticket.events.filter(event_type=TicketEventType.ESCALATED).count() == 3


def test_paused_time_moves_the_levels_and_a_scan_after_downtime_fires_them_in_order(hierarchy, desk, customer, service):
    ticket = new_ticket(customer, desk, service)
    ticket_transition(
        ticket=ticket,
        actor=desk,
        to_status=TicketStatus.PENDING,
        pending_reason="awaiting_customer",
        now=rome(2026, 3, 2, 10),
    )
    assert EscalationSchedule.objects.get(ticket=ticket).next_check_at is None  # paused short of 75%
    comment_add(ticket=ticket, author=customer, body="here you are", is_public=True, now=rome(2026, 3, 2, 12))
    # 1h used before the pause; 6h are used at 17:00 (Monday) -> Tuesday 08:00, when work resumes
    assert EscalationSchedule.objects.get(ticket=ticket).next_check_at == rome(2026, 3, 3, 8)
    assert escalation_scan_due(now=rome(2026, 3, 3, 7, 59)) == 0
    # the beat was down until Wednesday: the three levels fire in their order, each with its own crossing
    assert escalation_scan_due(now=rome(2026, 3, 4, 9)) == 3
    escs = list(Escalation.objects.filter(ticket=ticket).order_by("level_number"))
    assert [e.crossed_at for e in escs] == [rome(2026, 3, 3, 8), rome(2026, 3, 3, 10), rome(2026, 3, 3, 12)]
    numbers = [e.data["level"] for e in ticket.events.filter(event_type=TicketEventType.ESCALATED).order_by("seq")]
    assert numbers == [1, 2, 3]


def test_the_retried_task_fires_nothing_twice(hierarchy, desk, customer, service):
    new_ticket(customer, desk, service, at=rome(2026, 1, 12, 9))
    assert escalation_scan_due_task.apply().get() == 3
    assert escalation_scan_due_task.apply().get() == 0


def test_de_escalation_on_resolution_is_recorded(hierarchy, desk, customer, service, manager):
    ticket = new_ticket(customer, desk, service)
    escalation_scan_due(now=rome(2026, 3, 3, 8, 30))
    assert levels_of(ticket) == [1, 2]
    overview = escalation_overview(now=rome(2026, 3, 3, 9))
    assert [(r.number, r.level_number, r.at_level_for) for r in overview["rows"]] == [
        (ticket.number, 2, timedelta(minutes=30))
    ]
    ticket_transition(
        ticket=ticket,
        actor=desk,
        to_status=TicketStatus.RESOLVED,
        resolution_code="solved",
        resolution_notes="Replaced the disk.",
        now=rome(2026, 3, 3, 9),
    )
    assert not Escalation.objects.filter(ticket=ticket, closed_at__isnull=True).exists()
    assert set(Escalation.objects.filter(ticket=ticket).values_list("closed_reason", flat=True)) == {"resolved"}
    event = ticket.events.get(event_type=TicketEventType.DEESCALATED)
    assert [e["level"] for e in event.data["escalations"]] == [1, 2] and event.created_at == rome(2026, 3, 3, 9)
    assert escalation_overview(now=rome(2026, 3, 3, 9))["rows"] == []
    assert escalation_scan_due(now=rome(2026, 3, 5, 9)) == 0  # level 3 never fires on a resolved ticket
    # reopened Thursday: the clock runs on from the 9h it had used (past the breach), the levels stand again (a
    # new round); level 3 (10h) comes one business hour later
    ticket_transition(ticket=ticket, actor=desk, to_status=TicketStatus.IN_PROGRESS, now=rome(2026, 3, 5, 9))
    assert escalation_scan_due(now=rome(2026, 3, 5, 9, 1)) == 2
    assert escalation_scan_due(now=rome(2026, 3, 5, 10)) == 1
    assert {e.key for e in Escalation.objects.filter(ticket=ticket, closed_at=None)} == {"resolution#1.r1"}


def test_a_met_clock_de_escalates_what_fired_on_it(standard, desk, customer, service, group_manager):
    path_save(
        actor=None,
        name="First response",
        levels=[
            LevelInput(1, "Late answer", ThresholdKind.AFTER_TARGET, "first_response", duration=timedelta(0),
                       notify_group_manager=True),
        ],
    )  # fmt: skip
    ticket = new_ticket(customer, desk, service)
    assert escalation_scan_due(now=rome(2026, 3, 2, 10, 5)) == 1
    comment_add(ticket=ticket, author=desk, body="On it.", is_public=True, now=rome(2026, 3, 2, 10, 10))
    esc = Escalation.objects.get(ticket=ticket)
    assert esc.closed_at == rome(2026, 3, 2, 10, 10) and esc.closed_reason == "clock_met"


def test_a_status_update_overdue_escalates_and_the_update_de_escalates(urgent, desk, customer, service, manager):
    StatusUpdateCadence.objects.update_or_create(priority="P1", defaults={"every_minutes": 60, "is_active": True})
    path_save(
        actor=None,
        name="Critical",
        priorities=["P1"],
        levels=[
            LevelInput(1, "Update overdue", ThresholdKind.NO_UPDATE, duration=timedelta(minutes=30),
                       notify_service_managers=True),
        ],
    )  # fmt: skip
    ticket = new_ticket(customer, desk, service, priority="P1", priority_override_reason="production down")
    assert status_updates_due(now=MONDAY_9 + timedelta(minutes=61)) == 1  # communications flags it
    schedule = EscalationSchedule.objects.get(ticket=ticket)
    assert schedule.next_check_at == MONDAY_9 + timedelta(minutes=91)  # 30 minutes (24x7) after the flag
    assert escalation_scan_due(now=MONDAY_9 + timedelta(minutes=90)) == 0
    assert escalation_scan_due(now=MONDAY_9 + timedelta(minutes=91)) == 1
    assert Notification.objects.get(user=manager).title.startswith("Escalated to level 1 (Update overdue)")
    status_update_send(ticket=ticket, actor=desk, message="Still working on it.", now=MONDAY_9 + timedelta(hours=2))
    esc = Escalation.objects.get(ticket=ticket)
    assert esc.closed_reason == "update_sent"
    # the next lapse of the cadence is a new one: it escalates again
    assert status_updates_due(now=MONDAY_9 + timedelta(hours=3, minutes=1)) == 1
    assert escalation_scan_due(now=MONDAY_9 + timedelta(hours=4)) == 1
    assert Escalation.objects.filter(ticket=ticket).count() == 2


def test_reopened_n_times(standard, desk, customer, service, manager):
    path_save(
        actor=None,
        name="Reopens",
        levels=[LevelInput(1, "Reopened twice", ThresholdKind.REOPENED, count=2, notify_service_managers=True)],
    )
    ticket = new_ticket(customer, desk, service)
    at = MONDAY_9
    for _ in range(2):
        at += timedelta(minutes=10)
        ticket_transition(
            ticket=ticket, actor=desk, to_status="resolved", resolution_code="solved", resolution_notes="x", now=at
        )
        at += timedelta(minutes=10)
        ticket_transition(ticket=ticket, actor=desk, to_status="in_progress", now=at)
    assert escalation_scan_due(now=at) == 1
    esc = Escalation.objects.get(ticket=ticket)
    assert esc.crossed_at == at and esc.key == "reopen.r2" and esc.threshold == "reopened 2 times"


def test_an_sla_breach_is_consumed_and_checked_at_once(hierarchy, desk, customer, service,
                                                       django_capture_on_commit_callbacks):  # fmt: skip
    ticket = new_ticket(customer, desk, service)
    # the SLA scan emits its 75% warning; the escalation subscriber consumes it and checks right after commit
    with django_capture_on_commit_callbacks(execute=True):
        sla_scan_due(now=rome(2026, 3, 2, 15, 0, 30))
    assert levels_of(ticket) == [1]
    assert Escalation.objects.get(ticket=ticket).fired_at == rome(2026, 3, 2, 15, 0, 30)
    assert escalation_check(ticket_id=ticket.pk, now=rome(2026, 3, 2, 15, 1)) == 0


def test_a_priority_change_selects_another_path(hierarchy, urgent, desk, customer, service, manager):
    path_save(
        actor=None,
        name="Critical",
        position=10,
        priorities=["P1"],
        levels=[LevelInput(1, "Half the time", ThresholdKind.CLOCK_PERCENT, "resolution", percent=50,
                           notify_service_managers=True)],
    )  # fmt: skip
    ticket = new_ticket(customer, desk, service)
    assert EscalationSchedule.objects.get(ticket=ticket).path.name == "Standard escalation"
    ticket_update(ticket=ticket, actor=desk, data={"priority": "P1", "priority_override_reason": "CEO"}, now=MONDAY_9)
    schedule = EscalationSchedule.objects.get(ticket=ticket)
    # the urgent policy (2h, 24x7) from creation: 50% at 10:00
    assert schedule.path.name == "Critical" and schedule.next_check_at == rome(2026, 3, 2, 10)


def test_a_scan_reads_only_the_due_tickets(hierarchy, desk, customer, service, monkeypatch):
    monkeypatch.setattr("mail.loops.OWN_CACHE_SECONDS", 3600.0)  # a cache expiring mid-test would add a query
    for _ in range(3):
        new_ticket(customer, desk, service)
    with CaptureQueriesContext(connection) as few:
        escalation_scan_due(now=rome(2026, 3, 2, 10))  # nothing due
    for _ in range(12):
        new_ticket(customer, desk, service)
    with CaptureQueriesContext(connection) as many:
        escalation_scan_due(now=rome(2026, 3, 2, 10))
    assert len(few) == len(many) == 2  # one indexed range query for tickets, one for vendor cases
    early = [new_ticket(customer, desk, service, at=rome(2026, 2, 27, 9)) for _ in range(6)]  # a Friday
    counts = []
    for n in (1, 2, 3):
        with CaptureQueriesContext(connection) as ctx:
            assert escalation_scan_due(now=rome(2026, 2, 27, 15, 30), limit=n, max_rounds=1) == n
        counts.append(len(ctx))
    # each further due ticket adds the same work (its level's notifications and events)
    assert counts[2] - counts[1] == counts[1] - counts[0] > 0
    assert [levels_of(t) for t in early] == [[1]] * 6


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_scanners_fire_each_level_exactly_once(hierarchy, desk, customer, service, manager):
    tickets = [new_ticket(customer, desk, service) for _ in range(12)]
    now = rome(2026, 3, 3, 10, 30)  # levels 1, 2 and 3 of every ticket are due
    expected = 3 * len(tickets)
    barrier = threading.Barrier(2)
    counts, errors = [], []

    def scanner():
        try:
            barrier.wait(timeout=30)
            counts.append(escalation_scan_due(now=now, limit=5))  # small pages: the two meet on the same tickets
        except Exception as exc:  # asserted below
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=scanner) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    counts.append(escalation_scan_due(now=now))  # what a scanner skipped (a ticket the other held) comes now
    assert sum(counts) == expected
    assert Escalation.objects.count() == expected
    keys = [(e.ticket_id, e.data["level"]) for e in TicketEvent.objects.filter(event_type=TicketEventType.ESCALATED)]
    assert len(keys) == len(set(keys)) == expected
    # each person was told once per level: the group manager (1), the two Service Managers (2), the head of IT (3)
    assert Notification.objects.count() == 12 * (1 + 2 + 1)
    internal = OutboundEmail.objects.filter(kind=OutboundEmail.Kind.INTERNAL)
    assert internal.count() == 12 * (2 + 2 + 1)  # level 1 also mails the team mailbox
    assert escalation_scan_due(now=now) == 0


def test_a_calendar_edit_moves_the_next_check(hierarchy, office, desk, customer, service):
    from sla.models import SlaRecomputeJob
    from sla.services import calendar_save, recompute_job_run

    ticket = new_ticket(customer, desk, service)
    assert EscalationSchedule.objects.get(ticket=ticket).next_check_at == rome(2026, 3, 2, 15)
    # Mondays now end at 12:00: 3h used on Monday, 75% (6h) is used Tuesday at 11:00
    hours = [(0, time(8), time(12))] + [(d, time(8), time(17)) for d in range(1, 5)]
    calendar_save(
        actor=None, calendar=office, name="Office", time_zone="Europe/Rome", hours=hours, holiday_country="IT"
    )
    recompute_job_run(job_id=SlaRecomputeJob.objects.get(calendar=office).pk)  # in the background normally
    assert EscalationSchedule.objects.get(ticket=ticket).next_check_at == rome(2026, 3, 3, 11)
    assert escalation_scan_due(now=rome(2026, 3, 2, 15)) == 0
    assert escalation_scan_due(now=rome(2026, 3, 3, 11)) == 1


def test_a_new_path_applies_to_the_open_tickets(standard, desk, customer, service, head_of_it, manager,
                                                django_capture_on_commit_callbacks):  # fmt: skip
    from tests.escalations.conftest import hierarchy_levels

    ticket = new_ticket(customer, desk, service)
    assert not EscalationSchedule.objects.filter(ticket=ticket, path__isnull=False).exists()
    with django_capture_on_commit_callbacks(execute=True):  # the rebuild task runs after the path's commit
        path_save(actor=None, name="Standard escalation", levels=hierarchy_levels(head_of_it))
    assert EscalationSchedule.objects.get(ticket=ticket).next_check_at == rome(2026, 3, 2, 15)


def test_a_ticket_that_fails_does_not_stop_the_others(hierarchy, desk, customer, service, monkeypatch, caplog):
    import escalations.services as services

    good = [new_ticket(customer, desk, service) for _ in range(2)]
    bad = new_ticket(customer, desk, service)
    fire = services._fire

    def broken(ticket, *args, **kwargs):
        if ticket.pk == bad.pk:
            raise RuntimeError("bad data")
        return fire(ticket, *args, **kwargs)

    monkeypatch.setattr(services, "_fire", broken)
    now = rome(2026, 3, 2, 15, 30)
    assert escalation_scan_due(now=now) == 2
    assert [levels_of(t) for t in good] == [[1], [1]] and levels_of(bad) == []
    assert EscalationSchedule.objects.get(ticket=bad).next_check_at == now + timedelta(minutes=10)
    assert f"ticket {bad.pk} failed" in caplog.text
    monkeypatch.setattr(services, "_fire", fire)  # fixed: it fires at the next look
    assert escalation_scan_due(now=now + timedelta(minutes=10)) == 1
