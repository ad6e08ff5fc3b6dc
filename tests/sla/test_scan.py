"""The beat scan: each warning and each breach is emitted once, at the right time, even with two scanners at
once or a retried task (a unique constraint decides, not timing); its work follows the due clocks only."""

import threading
from datetime import timedelta

import pytest
from django.db import close_old_connections, connection, transaction
from django.test.utils import CaptureQueriesContext

from sla.choices import SlaMetric
from sla.models import SlaClock, SlaClockEvent
from sla.services import sla_scan_due, sla_threshold_emit
from sla.tasks import sla_scan_due as sla_scan_due_task
from tests.factories import TicketFactory
from tests.sla.conftest import rome
from tickets.choices import TicketEventType, TicketStatus
from tickets.models import Ticket, TicketEvent
from tickets.services import ticket_transition

FR, RES, NU = SlaMetric.FIRST_RESPONSE, SlaMetric.RESOLUTION, SlaMetric.NEXT_UPDATE
MONDAY_9 = rome(2026, 3, 2, 9, 0)
SLA_EVENTS = [TicketEventType.SLA_WARNING, TicketEventType.SLA_BREACHED]


def emitted(ticket) -> list[tuple[str, int]]:
    return sorted((e.data["metric"], e.data["threshold"]) for e in ticket.events.filter(event_type__in=SLA_EVENTS))


@pytest.mark.smoke
def test_scan_emits_each_threshold_when_it_is_crossed_and_only_once(standard, desk, customer):
    ticket = TicketFactory(requester=customer, actor=desk, now=MONDAY_9)
    assert sla_scan_due(now=rome(2026, 3, 2, 9, 29)) == 0
    assert sla_scan_due(now=rome(2026, 3, 2, 9, 30)) == 1
    assert emitted(ticket) == [(FR, 50)]
    # 10:00: the first response's 75% (9:45), 90% (9:54) and breach (10:00); next update's 50% is at 11:00
    assert sla_scan_due(now=rome(2026, 3, 2, 10, 0)) == 3
    assert emitted(ticket) == [(FR, 50), (FR, 75), (FR, 90), (FR, 100)]
    assert sla_scan_due(now=rome(2026, 3, 2, 10, 0)) == 0  # a second run, or a retried task, emits nothing
    assert SlaClock.objects.get(ticket=ticket, metric=FR).next_check_at is None  # nothing left to emit
    breach = ticket.events.get(event_type=TicketEventType.SLA_BREACHED)
    assert breach.data["threshold"] == 100 and breach.data["label"] == "First response"
    assert breach.data["crossed_at"].startswith("2026-03-02T09:00:00") and breach.data["target_seconds"] == 3600
    assert breach.data["policy"]["name"] == "Standard" and not breach.is_public and breach.actor_name == "System"
    # the resolution clock's warnings come at 13:00, 15:00 and 16:12 Rome time; its breach Tuesday 08:00
    assert sla_scan_due(now=rome(2026, 3, 2, 17, 0)) == 3 + 4  # resolution 50/75/90 + next update 50/75/90/100
    assert sla_scan_due(now=rome(2026, 3, 3, 7, 59)) == 0
    assert sla_scan_due(now=rome(2026, 3, 3, 8, 0)) == 1
    assert (RES, 100) in emitted(ticket)
    assert SlaClockEvent.objects.filter(ticket=ticket).count() == len(emitted(ticket)) == 12


def test_a_policy_s_own_warning_thresholds_are_what_the_scan_emits(office, desk, customer):
    from sla.services import policy_save

    policy_save(
        actor=None,
        data={
            "name": "Own thresholds",
            "position": 100,
            "calendar": office,
            "first_response_target": timedelta(hours=1),
            "resolution_target": timedelta(hours=8),
            "warning_thresholds": [60, 80],
        },
    )
    ticket = TicketFactory(requester=customer, actor=desk, now=MONDAY_9)
    assert sla_scan_due(now=rome(2026, 3, 2, 9, 35)) == 0  # 58%: the default 50% is not one of them
    assert sla_scan_due(now=rome(2026, 3, 2, 9, 36)) == 1
    assert emitted(ticket) == [(FR, 60)]
    assert sla_scan_due(now=rome(2026, 3, 2, 10, 0)) == 2  # 80% at 9:48, then the breach
    assert emitted(ticket) == [(FR, 60), (FR, 80), (FR, 100)]
    assert sla_scan_due(now=rome(2026, 3, 2, 12, 0)) == 0
    assert sla_scan_due(now=rome(2026, 3, 2, 15, 30)) == 2  # resolution: 60% at 13:48, 80% at 15:24
    assert emitted(ticket)[-2:] == [(RES, 60), (RES, 80)]


def test_the_retried_task_emits_nothing_twice(standard, desk, customer):
    TicketFactory(requester=customer, actor=desk, now=rome(2026, 1, 12, 9, 0))
    first = sla_scan_due_task.apply().get()
    again = sla_scan_due_task.apply().get()
    assert first > 0 and again == 0


def test_the_unique_constraint_gates_an_emission(standard, desk, customer):
    ticket = TicketFactory(requester=customer, actor=desk, now=MONDAY_9)
    clock = SlaClock.objects.get(ticket=ticket, metric=FR)
    at, now = rome(2026, 3, 2, 10, 0), rome(2026, 3, 2, 10, 1)
    with transaction.atomic():
        assert sla_threshold_emit(ticket=ticket, clock=clock, threshold=100, crossed_at=at, now=now) is True
        # a stale scanner that did not see the first emission is stopped by the constraint, not by luck
        assert sla_threshold_emit(ticket=ticket, clock=clock, threshold=100, crossed_at=at, now=now) is False
    assert ticket.events.filter(event_type=TicketEventType.SLA_BREACHED).count() == 1


def test_a_stopped_clock_still_reports_its_breach_but_not_old_warnings(standard, desk, customer):
    ticket = TicketFactory(requester=customer, actor=desk, now=MONDAY_9)
    ticket_transition(
        ticket=ticket,
        actor=desk,
        to_status=TicketStatus.RESOLVED,
        resolution_code="solved",
        resolution_notes="ok",
        now=rome(2026, 3, 2, 15, 0),
    )
    sla_scan_due(now=rome(2026, 3, 2, 16, 0))
    # first response (10:00) and next update (13:00) breached before the resolution: reported; the warnings
    # of stopped clocks, and the resolution's (met, 6 of 8 hours), are not
    assert emitted(ticket) == [(FR, 100), (NU, 100)]
    assert SlaClock.objects.filter(ticket=ticket, next_check_at__isnull=False).count() == 0


def test_a_scan_reads_only_the_due_clocks(standard, desk, customer):
    for _ in range(3):
        TicketFactory(requester=customer, actor=desk, now=MONDAY_9)
    with CaptureQueriesContext(connection) as few:
        sla_scan_due(now=rome(2026, 3, 2, 9, 10))  # nothing due
    for _ in range(12):
        TicketFactory(requester=customer, actor=desk, now=MONDAY_9)
    with CaptureQueriesContext(connection) as many:
        sla_scan_due(now=rome(2026, 3, 2, 9, 10))
    assert len(few) == len(many) == 1  # one indexed range query, whatever the number of open tickets
    # the work grows with the due clocks only: each further due clock adds the same number of queries
    early = [TicketFactory(requester=customer, actor=desk, now=rome(2026, 3, 2, 8, 0)) for _ in range(6)]
    counts = []
    for n in (1, 2, 3):
        with CaptureQueriesContext(connection) as ctx:
            assert sla_scan_due(now=rome(2026, 3, 2, 8, 30), limit=n, max_rounds=1) == n
        counts.append(len(ctx))
    assert counts[2] - counts[1] == counts[1] - counts[0] > 0
    assert [emitted(t) for t in early] == [[(FR, 50)]] * 6


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_scanners_emit_each_warning_and_breach_exactly_once(standard, desk, customer):
    tickets = [TicketFactory(requester=customer, actor=desk, now=MONDAY_9) for _ in range(12)]
    now = rome(2026, 3, 2, 18, 0)
    # by 18:00: first response 50/75/90/100, next update 50/75/90/100, resolution 50/75/90 = 11 per ticket
    expected = 11 * len(tickets)
    barrier = threading.Barrier(2)
    counts, errors = [], []

    def scanner():
        try:
            barrier.wait(timeout=30)
            counts.append(sla_scan_due(now=now, limit=5))  # small pages: the two interleave on the same clocks
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
    counts.append(sla_scan_due(now=now))  # whatever a scanner skipped (a ticket the other held) comes now
    assert sum(counts) == expected
    assert SlaClockEvent.objects.count() == expected
    events = TicketEvent.objects.filter(event_type__in=SLA_EVENTS)
    keys = [(e.ticket_id, e.data["metric"], e.data["threshold"]) for e in events]
    assert len(keys) == len(set(keys)) == expected
    assert sla_scan_due(now=now) == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_racing_emitters_of_the_same_threshold_produce_one_event(standard, desk, customer):
    ticket = TicketFactory(requester=customer, actor=desk, now=MONDAY_9)
    clock = SlaClock.objects.get(ticket=ticket, metric=RES)
    barrier = threading.Barrier(4)
    results, errors = [], []

    def emit():
        try:
            mine = Ticket.objects.get(pk=ticket.pk)
            barrier.wait(timeout=30)
            with transaction.atomic():  # no ticket lock taken first: only the constraint stands between them
                results.append(
                    sla_threshold_emit(
                        ticket=mine,
                        clock=clock,
                        threshold=50,
                        crossed_at=rome(2026, 3, 2, 13),
                        now=rome(2026, 3, 2, 14),
                    )
                )
        except Exception as exc:  # asserted below
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=emit) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert sorted(results) == [False, False, False, True]
    assert ticket.events.filter(event_type=TicketEventType.SLA_WARNING).count() == 1


def test_clock_events_name_the_target_so_a_new_target_warns_afresh(standard, urgent, desk, customer):
    ticket = TicketFactory(requester=customer, actor=desk, now=MONDAY_9)
    sla_scan_due(now=rome(2026, 3, 2, 9, 31))
    assert emitted(ticket) == [(FR, 50)]
    from tickets.services import ticket_update

    ticket_update(
        ticket=ticket,
        actor=desk,
        data={"priority": "P1", "priority_override_reason": "VIP"},
        now=rome(2026, 3, 2, 9, 32),
    )
    # the 15-minute target of the urgent policy: its thresholds were all crossed before 9:32, emitted now
    assert sla_scan_due(now=rome(2026, 3, 2, 9, 33)) == 4  # FR 50/75/90/100 of 15 minutes
    targets = set(SlaClockEvent.objects.filter(ticket=ticket, metric=FR).values_list("target", flat=True))
    assert targets == {timedelta(hours=1), timedelta(minutes=15)}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_ticket_held_by_another_transaction_is_left_for_the_next_run_and_not_read_again(standard, desk, customer):
    tickets = [TicketFactory(requester=customer, actor=desk, now=MONDAY_9) for _ in range(3)]
    held, locked, release = tickets[0], threading.Event(), threading.Event()

    def holder():  # a writer holding the first ticket's row lock while the scan runs
        try:
            with transaction.atomic():
                Ticket.objects.select_for_update().get(pk=held.pk)
                locked.set()
                release.wait(timeout=60)
        finally:
            connection.close()

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert locked.wait(timeout=30)
        now = rome(2026, 3, 2, 9, 30)  # each ticket's first-response 50%: one clock due per ticket
        with CaptureQueriesContext(connection) as queries:
            assert sla_scan_due(now=now, limit=2) == 2  # the two free tickets, in two rounds of two due clocks
    finally:
        release.set()
        thread.join(timeout=60)
    lock_attempts = [q for q in queries if "SKIP LOCKED" in q["sql"] and str(held.pk) in q["sql"].split("IN (")[1]]
    assert len(lock_attempts) == 1  # tried once; the second round asked for other clocks
    assert [emitted(t) for t in tickets] == [[], [(FR, 50)], [(FR, 50)]]
    assert sla_scan_due(now=now) == 1  # the next run takes it
