"""Delivery through a real SMTP listener (aiosmtpd on 127.0.0.1): what goes on the wire, retries after a
temporary failure (4xx, connection refused), permanent failures (5xx) shown on the ticket, and no mail lost
when the SMTP server is down while the ticket changes."""

from datetime import timedelta
from email import message_from_bytes, policy

import pytest
from django.urls import reverse
from django.utils import timezone

from communications.models import OutboundEmail
from communications.services import outbox_deliver_due
from mail.services import inbound_ingest
from tests.mail.conftest import make_message
from tickets.choices import TicketEventType

pytestmark = pytest.mark.django_db


def later(minutes: int = 0):
    return timezone.now() + timedelta(minutes=minutes, seconds=1)


def test_the_acknowledgement_goes_out_with_threading_headers_on_the_wire(smtp_server, mailbox, customer):
    ticket = inbound_ingest(mailbox=mailbox, raw=make_message(message_id="<orig@acme.example>")).message.ticket
    # the first attempt (in production the task queued on commit, or the every-minute sweeper)
    outbox_deliver_due(now=later())
    assert len(smtp_server.messages) == 1
    envelope = smtp_server.messages[0]
    assert envelope.rcpt_tos == [customer.email]
    wire = message_from_bytes(envelope.original_content, policy=policy.default)
    assert wire["In-Reply-To"] == "<orig@acme.example>" and wire["References"] == "<orig@acme.example>"
    assert wire["Auto-Submitted"] == "auto-generated" and wire["Message-ID"].endswith("@itsm.localhost>")
    assert wire["Subject"].startswith(f"[{ticket.number}]") and "support@itsm.example" in wire["From"]
    assert wire["Reply-To"] == "support@itsm.example"
    ack = OutboundEmail.objects.get(ticket=ticket)
    assert ack.status == OutboundEmail.Status.SENT and wire["Message-ID"] == ack.message_id


def test_a_temporary_4xx_is_retried_with_backoff_until_it_is_sent(smtp_server, mailbox, customer):
    smtp_server.handler.reply = "451 4.3.0 Try again later"
    ticket = inbound_ingest(mailbox=mailbox, raw=make_message()).message.ticket
    first = later()
    assert outbox_deliver_due(now=first) == 0
    ack = OutboundEmail.objects.get(ticket=ticket)
    assert ack.status == OutboundEmail.Status.QUEUED and ack.attempts == 1 and "451" in ack.last_error
    assert ack.next_attempt_at > first
    assert outbox_deliver_due(now=first) == 0  # not due yet: backoff
    smtp_server.handler.reply = None
    assert outbox_deliver_due(now=later(minutes=2)) == 1
    ack.refresh_from_db()
    assert ack.status == OutboundEmail.Status.SENT and ack.attempts == 2 and len(smtp_server.messages) == 1


def test_a_permanent_5xx_is_marked_failed_and_shown_on_the_ticket(client, smtp_server, mailbox, customer, desk):
    smtp_server.handler.reply = "550 5.1.1 No such user"
    ticket = inbound_ingest(mailbox=mailbox, raw=make_message()).message.ticket
    outbox_deliver_due(now=later())
    ack = OutboundEmail.objects.get(ticket=ticket)
    assert ack.status == OutboundEmail.Status.FAILED and "550" in ack.last_error
    assert ticket.events.filter(event_type=TicketEventType.NOTIFICATION_FAILED).exists()
    client.force_login(desk)
    page = client.get(reverse("tickets:detail", args=[ticket.number])).content.decode()
    assert "No such user" in page and 'class="failed"' in page


def test_no_mail_is_lost_when_the_smtp_server_is_down_during_a_ticket_change(smtp_server, mailbox, customer, desk):
    from tickets.services import comment_add

    smtp_server.stop()  # the port refuses connections now
    ticket = inbound_ingest(mailbox=mailbox, raw=make_message()).message.ticket
    comment_add(ticket=ticket, author=desk, body="We are on it.", is_public=True)
    assert outbox_deliver_due(now=later()) == 0
    queued = OutboundEmail.objects.filter(ticket=ticket)
    assert queued.count() == 2 and all(o.status == OutboundEmail.Status.QUEUED for o in queued)
    assert all("Connection" in o.last_error or "refused" in o.last_error.lower() for o in queued)
    from tests.servers import SMTPServer

    restarted = SMTPServer()
    restarted.port = smtp_server.port
    from aiosmtpd.controller import Controller

    restarted.controller = Controller(restarted.handler, hostname="127.0.0.1", port=smtp_server.port)
    restarted.start()
    try:
        assert outbox_deliver_due(now=later(minutes=5)) == 2
    finally:
        restarted.stop()
    assert {o.status for o in OutboundEmail.objects.filter(ticket=ticket)} == {OutboundEmail.Status.SENT}
    bodies = [e.original_content for e in restarted.messages]
    assert any(b"We are on it." in b for b in bodies) and len(bodies) == 2
