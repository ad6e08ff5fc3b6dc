"""What one change remembers between the services it calls (itsm/lib/transactions.py: scope_remember): the
ticket's lock and row, the head of its audit chain. Remembering saves queries on every mail and every API
call; it must never outlive a savepoint that was rolled back, nor let a stale instance write."""

from contextlib import contextmanager, suppress

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from itsm.lib.transactions import scope_recall, scope_remember, service_scope
from tests.factories import TicketFactory
from tickets.audit import audit_verify
from tickets.models import Ticket
from tickets.services import comment_add, ticket_update

pytestmark = pytest.mark.django_db


class Boom(Exception):
    pass


@contextmanager
def rolled_back():
    """A block in a savepoint of its own that fails and is rolled back; the change goes on after it."""
    with suppress(Boom), transaction.atomic():
        yield
        raise Boom


def test_a_fact_is_forgotten_once_the_savepoint_it_was_noted_in_is_rolled_back():
    with transaction.atomic(), service_scope():
        scope_remember("outer", 1)
        with rolled_back():
            scope_remember("inner", 2)
            assert scope_recall("inner") == 2 and scope_recall("outer") == 1
        assert scope_recall("inner") is None  # its savepoint is gone: it may have undone the write
        assert scope_recall("outer") == 1  # noted before the savepoint: still true
        with transaction.atomic():
            assert scope_recall("outer") == 1  # a savepoint opened later cannot undo it
    assert scope_recall("outer") is None  # the change is over


def test_nothing_is_remembered_outside_a_change():
    scope_remember("x", 1)
    assert scope_recall("x") is None


def test_the_audit_chain_stays_whole_when_a_savepoint_with_events_is_rolled_back(desk, customer):
    ticket = TicketFactory(requester=customer, actor=desk)
    with transaction.atomic(), service_scope():
        comment_add(ticket=ticket, author=desk, body="one", is_public=False)
        with rolled_back():
            comment_add(ticket=ticket, author=desk, body="rolled back", is_public=False)
        comment_add(ticket=ticket, author=desk, body="two", is_public=False)
    seqs = list(ticket.events.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))
    assert not ticket.comments.filter(body="rolled back").exists()
    _, _, broken = audit_verify()
    assert broken == []


def test_a_change_reads_the_chain_head_and_locks_the_ticket_once(desk, customer):
    ticket = TicketFactory(requester=customer, actor=desk)
    with transaction.atomic(), service_scope():
        with CaptureQueriesContext(connection) as first:
            comment_add(ticket=ticket, author=desk, body="one", is_public=False)
        with CaptureQueriesContext(connection) as second:
            comment_add(ticket=ticket, author=desk, body="two", is_public=False)

    def reads(queries, table):
        return [q for q in queries if q["sql"].lstrip().upper().startswith("SELECT") and f"FROM {table}" in q["sql"]]

    assert len(reads(first, '"tickets_ticket"')) == 1 and len(reads(first, "tickets_ticketevent")) == 1
    assert reads(second, '"tickets_ticket"') == [] and reads(second, "tickets_ticketevent") == []


def test_the_ticket_is_read_again_after_a_rolled_back_savepoint(desk, customer):
    ticket = TicketFactory(requester=customer, actor=desk, title="Before")
    with transaction.atomic(), service_scope():
        ticket_update(ticket=ticket, actor=desk, data={"urgency": 2})
        with rolled_back():
            ticket_update(ticket=ticket, actor=desk, data={"title": "Rolled back"})
        assert ticket.title == "Rolled back"  # the instance still holds what was undone ...
        ticket_update(ticket=ticket, actor=desk, data={"impact": 2})
        assert ticket.title == "Before"  # ... so the next service re-read it under the lock
    ticket.refresh_from_db()
    assert (ticket.title, ticket.urgency, ticket.impact) == ("Before", 2, 2)


def test_a_write_through_another_instance_makes_the_first_one_read_again(desk, customer):
    ticket = TicketFactory(requester=customer, actor=desk)
    start = Ticket.objects.get(pk=ticket.pk).version
    with transaction.atomic(), service_scope():
        ticket_update(ticket=ticket, actor=desk, data={"urgency": 2})
        other = Ticket.objects.get(pk=ticket.pk)
        ticket_update(ticket=other, actor=desk, data={"impact": 2})
        ticket_update(ticket=ticket, actor=desk, data={"title": "Third"})
    ticket.refresh_from_db()
    # no version bump lost, no field written back stale
    assert ticket.version == start + 3
    assert (ticket.urgency, ticket.impact, ticket.title) == (2, 2, "Third")


def test_the_chain_head_moves_once_per_change_to_where_the_chain_ends(desk, customer):
    from tickets.models import TicketAuditHead

    ticket = TicketFactory(requester=customer, actor=desk)
    with transaction.atomic(), service_scope():
        with CaptureQueriesContext(connection) as queries:
            comment_add(ticket=ticket, author=desk, body="one", is_public=False)
            comment_add(ticket=ticket, author=desk, body="two", is_public=False)
            with rolled_back():
                comment_add(ticket=ticket, author=desk, body="rolled back", is_public=False)
        assert not [q for q in queries if "tickets_ticketaudithead" in q["sql"]]  # not yet: at the end
    last = ticket.events.order_by("-seq").first()
    head = TicketAuditHead.objects.get(ticket=ticket)
    assert (head.seq, head.hash) == (last.seq, last.hash)
