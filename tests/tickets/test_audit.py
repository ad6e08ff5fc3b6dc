"""The audit trail: every change is an event, events are append-only, tampering is detected."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from tests.factories import TicketFactory
from tickets.audit import audit_verify
from tickets.choices import TicketEventType, TicketStatus
from tickets.models import TicketAuditHead, TicketEvent
from tickets.services import comment_add, ticket_transition, ticket_update


@pytest.fixture
def busy_ticket(desk, customer):
    ticket = TicketFactory(requester=customer, actor=desk)
    ticket_update(ticket=ticket, actor=desk, data={"title": "Printer on fire", "urgency": 1})
    comment_add(ticket=ticket, author=desk, body="On my way", is_public=True)
    ticket_transition(ticket=ticket, actor=desk, to_status=TicketStatus.IN_PROGRESS)
    return ticket


def test_every_change_is_an_event_with_actor_and_diff(db, busy_ticket, desk):
    events = list(busy_ticket.events.order_by("seq"))
    assert [e.event_type for e in events] == [
        TicketEventType.CREATED,
        TicketEventType.UPDATED,
        TicketEventType.COMMENT_ADDED,
        TicketEventType.NOTIFICATION_QUEUED,  # the public reply is mailed to the customer (issue 3)
        TicketEventType.STATUS_CHANGED,
    ]
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    update = events[1]
    assert update.actor == desk and update.actor_name == desk.display_name
    assert update.data["changes"]["urgency"] == {"from": 3, "to": 1}
    assert update.data["changes"]["title"]["to"] == "Printer on fire"
    assert events[0].prev_hash == "0" * 64
    assert all(b.prev_hash == a.hash for a, b in zip(events, events[1:], strict=False))


def test_events_refuse_update_and_delete(db, busy_ticket):
    event = busy_ticket.events.first()
    event.actor_name = "Mallory"
    with pytest.raises(TypeError, match="append-only"):
        event.save()
    with pytest.raises(TypeError, match="append-only"):
        event.delete()
    with pytest.raises(TypeError, match="append-only"):
        TicketEvent.objects.filter(pk=event.pk).update(actor_name="Mallory")
    with pytest.raises(TypeError, match="append-only"):
        TicketEvent.objects.filter(pk=event.pk).delete()


@pytest.mark.smoke
def test_audit_verify_passes_then_catches_an_edit_made_in_sql(db, busy_ticket, desk):
    other = TicketFactory(requester=desk, actor=desk)
    call_command("audit_verify")  # clean chains: no error
    event = busy_ticket.events.get(seq=2)
    table = TicketEvent._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET actor_name = %s WHERE id = %s", ["Somebody Else", event.pk])
    with pytest.raises(CommandError, match="1 broken chain"):
        call_command("audit_verify")
    _, _, broken = audit_verify()
    assert [b.ticket_number for b in broken] == [busy_ticket.number]
    assert other.number not in [b.ticket_number for b in broken]
    assert "event 2: content does not match its hash" in broken[0].problems[0]


def test_audit_verify_catches_a_deleted_event(db, busy_ticket, capsys):
    table = TicketEvent._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE ticket_id = %s AND seq = 2", [busy_ticket.pk])
    with pytest.raises(CommandError):
        call_command("audit_verify")
    out = capsys.readouterr().out
    assert f"BROKEN {busy_ticket.number}" in out and "expected sequence number 2" in out


def test_audit_verify_catches_a_rewritten_json_payload(db, busy_ticket):
    event = busy_ticket.events.get(seq=2)
    data = dict(event.data)
    data["changes"]["urgency"]["to"] = 4
    import json

    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {TicketEvent._meta.db_table} SET data = %s WHERE id = %s", [json.dumps(data), event.pk])
    _, _, broken = audit_verify()
    assert [b.ticket_number for b in broken] == [busy_ticket.number]


def test_audit_verify_catches_an_internal_event_made_public_in_sql(db, busy_ticket):
    """Whether the customer sees an event is part of its hash: showing an internal note's event is caught."""
    event = busy_ticket.events.get(seq=2)
    assert event.is_public is False
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {TicketEvent._meta.db_table} SET is_public = %s WHERE id = %s", [True, event.pk])
    _, _, broken = audit_verify()
    assert [b.ticket_number for b in broken] == [busy_ticket.number]
    assert "event 2: content does not match its hash" in broken[0].problems[0]


def test_audit_verify_catches_the_last_events_removed(db, busy_ticket, capsys):
    """A chain cut short is still a valid chain: only the recorded head shows that events are missing."""
    table = TicketEvent._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE ticket_id = %s AND seq >= 4", [busy_ticket.pk])
    with pytest.raises(CommandError, match="1 broken chain"):
        call_command("audit_verify")
    assert "the chain ends at event 3, its head records 5" in capsys.readouterr().out


def test_audit_verify_catches_every_event_of_a_ticket_removed(db, busy_ticket, desk):
    other = TicketFactory(requester=desk, actor=desk)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {TicketEvent._meta.db_table} WHERE ticket_id = %s", [busy_ticket.pk])
    checked, _, broken = audit_verify()
    assert checked == 2
    assert [b.ticket_number for b in broken] == [busy_ticket.number] and other.number != busy_ticket.number
    assert "every event removed" in broken[0].problems[0]


def test_the_chain_head_follows_every_event(db, busy_ticket):
    last = busy_ticket.events.order_by("-seq").first()
    head = TicketAuditHead.objects.get(ticket=busy_ticket)
    assert (head.seq, head.hash) == (last.seq, last.hash) == (5, last.hash)
