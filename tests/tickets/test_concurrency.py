"""Concurrency on PostgreSQL: no lost update, stale writes refused, numbers unique under load."""

import threading

import pytest
from django.db import close_old_connections, connection

from tests.factories import TicketFactory, UserFactory
from tickets.choices import TicketEventType
from tickets.exceptions import StaleVersion
from tickets.models import Ticket, TicketEvent
from tickets.services import ticket_create, ticket_update, watcher_add

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 20


def _run_in_threads(target, n=THREADS):
    barrier = threading.Barrier(n)
    results, errors = [], []

    def worker(i):
        try:
            barrier.wait(timeout=30)
            results.append(target(i))
        except Exception as exc:  # collected and asserted on by the test
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results, errors


def test_twenty_agents_updating_one_ticket_lose_nothing(desk, customer):
    ticket = TicketFactory(requester=customer, actor=desk)
    watchers = [UserFactory(username=f"watcher{i}") for i in range(THREADS)]
    start_events = ticket.events.count()

    def change(i):
        # A read-modify-write client: it edits what it read and names that version; when another agent
        # got there first it is told (StaleVersion, a 409 in the API), reloads and applies its edit again.
        attempts = 0
        while True:
            attempts += 1
            mine = Ticket.objects.get(pk=ticket.pk)
            try:
                ticket_update(
                    ticket=mine,
                    actor=desk,
                    data={"description": f"{mine.description}\nline {i}"},
                    expected_version=mine.version,
                )
                break
            except StaleVersion:
                continue
        watcher_add(ticket=mine, user=watchers[i], actor=desk)
        return attempts

    results, errors = _run_in_threads(change)
    assert errors == [] and len(results) == THREADS
    ticket.refresh_from_db()
    lines = [line for line in ticket.description.splitlines() if line.startswith("line ")]
    assert sorted(lines) == sorted(f"line {i}" for i in range(THREADS))  # every append survived
    assert ticket.watchers.count() == THREADS
    assert ticket.version == 1 + THREADS
    assert ticket.events.count() == start_events + 2 * THREADS
    assert ticket.events.filter(event_type=TicketEventType.UPDATED).count() == THREADS
    seqs = list(ticket.events.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))


def test_stale_version_is_refused_for_all_but_one(desk, customer):
    ticket = TicketFactory(requester=customer, actor=desk)
    version = ticket.version

    def change(i):
        ticket_update(
            ticket=Ticket.objects.get(pk=ticket.pk), actor=desk, data={"title": f"title {i}"}, expected_version=version
        )
        return i

    results, errors = _run_in_threads(change)
    assert len(results) == 1
    assert len(errors) == THREADS - 1 and all(isinstance(e, StaleVersion) for e in errors)
    ticket.refresh_from_db()
    assert ticket.title == f"title {results[0]}" and ticket.version == version + 1
    assert "was changed by someone else" in errors[0].message


def test_ticket_numbers_unique_under_concurrent_creation(desk, customer):
    def create(i):
        return ticket_create(actor=desk, requester=customer, title=f"concurrent {i}").number

    numbers, errors = _run_in_threads(create)
    assert errors == []
    assert len(numbers) == THREADS and len(set(numbers)) == THREADS
    values = sorted(int(n.split("-")[1]) for n in numbers)
    assert values == list(range(values[0], values[0] + THREADS))  # no gaps, no repeats
    assert TicketEvent.objects.filter(event_type=TicketEventType.CREATED).count() == THREADS
