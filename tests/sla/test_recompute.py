"""After a calendar or policy edit, the open tickets it affects are recomputed in the background, in batches,
with progress; configuration edits are a Service Manager's, versioned and logged."""

import threading
from datetime import time, timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.db import close_old_connections, connection, transaction

from itsm.lib.errors import DomainError, PermissionDenied
from sla.choices import RecomputeStatus, SlaMetric
from sla.models import SlaClock, SlaRecomputeJob
from sla.services import calendar_save, policy_save, recompute_job_run
from tests.factories import TicketFactory
from tests.sla.conftest import rome
from tickets.choices import TicketStatus
from tickets.services import ticket_transition

RES = SlaMetric.RESOLUTION
MONDAY_9 = rome(2026, 3, 2, 9, 0)


def res_target(ticket):
    return SlaClock.objects.get(ticket=ticket, metric=RES).target_at


@pytest.mark.smoke
def test_calendar_edit_recomputes_the_open_tickets_in_batches_with_progress(standard, office, desk, customer, manager):
    tickets = [TicketFactory(requester=customer, actor=desk, now=MONDAY_9) for _ in range(5)]
    done = tickets[-1]
    ticket_transition(
        ticket=done,
        actor=desk,
        to_status=TicketStatus.RESOLVED,
        resolution_code="solved",
        resolution_notes="x",
        now=rome(2026, 3, 2, 10),
    )
    assert res_target(tickets[0]) == rome(2026, 3, 3, 8, 0)
    calendar_save(
        actor=manager,
        calendar=office,
        name="Office",
        time_zone="Europe/Rome",
        hours=[(d, time(9), time(18)) for d in range(5)],
        holiday_country="IT",
    )
    job = SlaRecomputeJob.objects.first()
    assert job.status == RecomputeStatus.QUEUED and job.total == 4 and job.calendar == office
    job = recompute_job_run(job_id=job.pk, batch_size=3, max_batches=1)
    assert (job.status, job.done, job.total, job.percent) == (RecomputeStatus.RUNNING, 3, 4, 75)
    job = recompute_job_run(job_id=job.pk, batch_size=3)
    assert (job.status, job.done, job.changed, job.percent) == (RecomputeStatus.DONE, 4, 4, 100)
    for ticket in tickets[:4]:
        assert res_target(ticket) == rome(2026, 3, 2, 17, 0)  # 8h from 09:00 in a 09-18 day
        assert SlaClock.objects.get(ticket=ticket, metric=RES).calendar_version == 2
    assert SlaClock.objects.get(ticket=done, metric=RES).calendar_version == 1  # closed history is left alone
    log = LogEntry.objects.get(object_id=str(office.pk), change_message__startswith="Calendar version 2")
    assert "09:00-18:00" in log.change_message and log.user == manager
    assert recompute_job_run(job_id=job.pk) is None  # finished: nothing to do


def test_policy_edit_moves_the_targets_of_its_tickets(standard, desk, customer, manager):
    ticket = TicketFactory(requester=customer, actor=desk, now=MONDAY_9)
    policy_save(actor=manager, policy=standard, data={"resolution_target": timedelta(hours=4)})
    job = SlaRecomputeJob.objects.first()
    recompute_job_run(job_id=job.pk)
    assert res_target(ticket) == rome(2026, 3, 2, 13, 0)
    clock = SlaClock.objects.get(ticket=ticket, metric=RES)
    assert clock.policy_version == 2 and clock.target == timedelta(hours=4)


def test_a_new_policy_takes_the_matching_open_tickets(standard, always, desk, customer, manager):
    p1 = TicketFactory(requester=customer, actor=desk, impact=1, urgency=1, now=MONDAY_9)
    p4 = TicketFactory(requester=customer, actor=desk, now=MONDAY_9)
    assert p1.priority == "P1"
    policy_save(
        actor=manager,
        data={
            "name": "P1 around the clock",
            "position": 1,
            "priorities": ["P1"],
            "calendar": always,
            "first_response_target": timedelta(minutes=30),
            "resolution_target": timedelta(hours=4),
        },
    )
    job = SlaRecomputeJob.objects.first()
    assert job.total == 1  # the open P1 tickets (and those already on this policy: none yet)
    recompute_job_run(job_id=job.pk)
    assert SlaClock.objects.get(ticket=p1, metric=RES).policy_name == "P1 around the clock"
    assert SlaClock.objects.get(ticket=p4, metric=RES).policy_name == "Standard"
    assert p1.events.filter(event_type="sla_policy_applied").count() == 1
    assert not p4.events.filter(event_type="sla_policy_applied").exists()


def test_the_job_runs_after_commit_through_the_task(
    standard, office, desk, customer, manager, django_capture_on_commit_callbacks
):
    ticket = TicketFactory(requester=customer, actor=desk, now=MONDAY_9)
    with django_capture_on_commit_callbacks(execute=True):
        calendar_save(
            actor=manager,
            calendar=office,
            name="Office",
            time_zone="Europe/Rome",
            hours=[(d, time(7), time(19)) for d in range(5)],
        )
    assert SlaRecomputeJob.objects.first().status == RecomputeStatus.DONE
    assert res_target(ticket) == rome(2026, 3, 2, 17, 0)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_never_run_the_same_job(standard, desk, customer, manager):
    TicketFactory(requester=customer, actor=desk, now=MONDAY_9)
    job = SlaRecomputeJob.objects.create(reason="Recompute requested", total=1)  # all open tickets
    holding, release = threading.Event(), threading.Event()

    def other_worker():
        try:
            with transaction.atomic():
                SlaRecomputeJob.objects.select_for_update().get(pk=job.pk)  # a batch in progress elsewhere
                holding.set()
                release.wait(timeout=30)
        finally:
            close_old_connections()
            connection.close()

    thread = threading.Thread(target=other_worker)
    thread.start()
    assert holding.wait(timeout=30)
    assert recompute_job_run(job_id=job.pk) is None  # skipped, not blocked, not run twice
    release.set()
    thread.join(timeout=30)
    assert recompute_job_run(job_id=job.pk).status == RecomputeStatus.DONE


def test_only_a_service_manager_configures_and_bad_input_is_refused(office, desk, manager):
    with pytest.raises(PermissionDenied):
        calendar_save(actor=desk, name="Mine", time_zone="UTC", hours=[(0, time(8), time(9))])
    with pytest.raises(DomainError, match="time zone"):
        calendar_save(actor=manager, name="Bad", time_zone="Europe/Atlantis", hours=[(0, time(8), time(9))])
    with pytest.raises(DomainError, match="business hours"):
        calendar_save(actor=manager, name="Empty", time_zone="UTC")
    with pytest.raises(DomainError, match="24x7"):
        calendar_save(actor=manager, name="Both", time_zone="UTC", is_24x7=True, hours=[(0, time(8), time(9))])
    with pytest.raises(DomainError, match="already a calendar"):
        calendar_save(actor=manager, name="office", time_zone="UTC", is_24x7=True)
    with pytest.raises(DomainError, match="percentages"):
        policy_save(
            actor=manager,
            data={
                "name": "X",
                "calendar": office,
                "first_response_target": 60,
                "resolution_target": 600,
                "warning_thresholds": [50, 120],
            },
        )
    with pytest.raises(DomainError, match="pending reason"):
        policy_save(
            actor=manager,
            data={
                "name": "Y",
                "calendar": office,
                "first_response_target": 60,
                "resolution_target": 600,
                "pause_on": {"resolution": ["on_holiday"]},
            },
        )


def test_an_edit_that_affects_no_open_ticket_is_done_at_once(standard):
    job = SlaRecomputeJob.objects.get(policy=standard)
    assert (job.status, job.total, job.finished_at is not None) == (RecomputeStatus.DONE, 0, True)


def test_a_job_over_a_broken_calendar_fails_visibly(standard, office, desk, customer, client, manager):
    from sla.models import BusinessCalendar

    TicketFactory(requester=customer, actor=desk, now=MONDAY_9)
    job = SlaRecomputeJob.objects.create(reason="Recompute requested", total=1)
    BusinessCalendar.objects.filter(pk=office.pk).update(holiday_country="XX", version=9)
    job = recompute_job_run(job_id=job.pk)
    assert job.status == RecomputeStatus.FAILED and "XX" in job.error
    client.force_login(manager)
    assert "XX" in client.get("/sla/").content.decode()
