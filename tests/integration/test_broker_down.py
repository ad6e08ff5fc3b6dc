"""The broker (Redis, or the embedded filesystem broker) unreachable while tickets change and mail comes in:
nothing is lost. The change commits with its outbox row, which the every-minute sweeper delivers; a poll
processes what it stored itself. The broker is a real, closed port on 127.0.0.1, not a mock."""

import logging
import socket
from contextlib import contextmanager

import pytest
from django.core import mail

from communications.models import OutboundEmail
from communications.services import outbox_deliver_due
from itsm.celery import app as celery_app
from mail.choices import InboundStatus
from mail.models import InboundMessage, Mailbox
from mail.services import mailbox_poll
from tests.factories import TicketFactory
from tests.mail.conftest import make_maildir, make_message
from tickets.choices import ResolutionCode, TicketStatus
from tickets.services import ticket_transition

pytestmark = pytest.mark.django_db


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _reset_connections() -> None:
    """Make the app build its connection and producer pools again from broker_url (kombu keeps one pool per
    broker address, so the real broker's pool is found again afterwards)."""
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@contextmanager
def broker_down():
    conf = celery_app.conf
    saved = (conf.broker_url, conf.broker_transport_options, conf.task_always_eager)
    conf.broker_url = f"redis://127.0.0.1:{_closed_port()}/0"
    conf.broker_transport_options = {}
    conf.task_always_eager = False
    _reset_connections()
    try:
        yield
    finally:
        conf.broker_url, conf.broker_transport_options, conf.task_always_eager = saved
        _reset_connections()


def test_a_ticket_change_commits_its_mail_when_the_broker_is_down_and_the_sweeper_sends_it(
    desk, customer, django_capture_on_commit_callbacks, caplog
):
    ticket = TicketFactory(requester=customer, actor=desk)
    ticket_transition(ticket=ticket, actor=desk, to_status=TicketStatus.IN_PROGRESS)
    mail.outbox.clear()
    with broker_down(), caplog.at_level(logging.WARNING), django_capture_on_commit_callbacks(execute=True):
        ticket_transition(
            ticket=ticket,
            actor=desk,
            to_status=TicketStatus.RESOLVED,
            resolution_code=ResolutionCode.SOLVED,
            resolution_notes="Replaced the toner.",
        )
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.RESOLVED  # the change stands
    notice = OutboundEmail.objects.get(ticket=ticket, kind=OutboundEmail.Kind.RESOLUTION_NOTICE)
    assert notice.status == OutboundEmail.Status.QUEUED and mail.outbox == []  # kept, not sent, not lost
    assert "the sweeper will" in caplog.text
    assert outbox_deliver_due() == 1  # the beat's sweeper, once a worker runs again
    notice.refresh_from_db()
    assert notice.status == OutboundEmail.Status.SENT
    assert [m.to for m in mail.outbox] == [[customer.email]]


def test_a_poll_processes_what_it_stored_itself_when_the_broker_is_down(customer, group, tmp_path, settings, caplog):
    settings.ITSM_MAIL_INTAKE_PARTITIONS = 8  # as deployed: the poll would hand the messages to the workers
    url = make_maildir(
        tmp_path,
        new={
            "1.host": make_message(sender=customer.email, message_id="<down1@acme.example>", subject="broker down"),
            "2.host": make_message(
                sender=customer.email, message_id="<down2@acme.example>", references="<down1@acme.example>"
            ),
        },
    )
    box = Mailbox.objects.create(name="MD", slug="md", url=url, default_resolver_group=group)
    with broker_down(), caplog.at_level(logging.WARNING):
        result = mailbox_poll(mailbox_id=box.pk)
    assert (result.taken, result.error) == (2, "")
    assert "Could not queue the processing of 2 messages; processing them here" in caplog.text
    first, second = InboundMessage.objects.filter(mailbox=box).order_by("pk")
    assert (first.status, second.status) == (InboundStatus.TICKET, InboundStatus.COMMENT)
    assert first.ticket_id == second.ticket_id
