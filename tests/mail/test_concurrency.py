"""Intake under concurrency on PostgreSQL: the same message delivered to several workers at once is taken
in once (the unique constraint decides, the loser reports a duplicate), and concurrent replies to one ticket
all land, in the ticket's one audit chain."""

import pytest

from mail.models import InboundMessage, Mailbox
from mail.services import inbound_ingest, mailbox_poll
from tests.mail.conftest import make_maildir, make_message
from tests.tickets.test_concurrency import _run_in_threads
from tickets.audit import audit_verify
from tickets.models import Comment, Ticket

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_one_message_delivered_to_eight_workers_at_once_is_taken_in_once(roles, customer):
    mailbox = Mailbox.objects.create(name="Support", slug="support", url="pipe:", from_address="s@itsm.example")
    raw = make_message(subject="delivered eight times")
    results, errors = _run_in_threads(lambda i: inbound_ingest(mailbox=mailbox, raw=raw), n=8)
    assert errors == []
    assert sorted(r.duplicate for r in results) == [False] + [True] * 7
    assert Ticket.objects.count() == 1 and InboundMessage.objects.count() == 1


def test_concurrent_replies_to_one_ticket_all_land(roles, customer):
    mailbox = Mailbox.objects.create(name="Support", slug="support", url="pipe:", from_address="s@itsm.example")
    ticket = inbound_ingest(mailbox=mailbox, raw=make_message()).message.ticket
    replies = [make_message(subject=f"Re: [{ticket.number}] part {i}", body=f"part {i}") for i in range(8)]
    results, errors = _run_in_threads(lambda i: inbound_ingest(mailbox=mailbox, raw=replies[i]), n=8)
    assert errors == [] and not any(r.duplicate for r in results)
    assert Comment.objects.filter(ticket=ticket, is_public=True).count() == 8
    assert audit_verify()[2] == []  # no broken chain


def test_two_workers_polling_one_mailbox_never_both_fetch(roles, tmp_path, customer):
    url = make_maildir(tmp_path, new={f"{i}.host": make_message(subject=f"m{i}") for i in range(20)})
    box = Mailbox.objects.create(name="MD", slug="md", url=url)
    results, errors = _run_in_threads(lambda i: mailbox_poll(mailbox_id=box.pk), n=2)
    assert errors == []
    assert sum(r.taken for r in results) == 20 and sum(r.skipped for r in results) <= 1
    assert Ticket.objects.count() == 20


def test_workers_processing_one_poll_at_once_keep_every_conversation_in_order(roles, customer):
    """Four workers get the same stored messages in adversarial orders (replies before what they answer):
    each message is processed exactly once, and every reply lands on its conversation's one ticket."""
    from mail.choices import InboundStatus
    from mail.services import inbound_process_many, inbound_store

    mailbox = Mailbox.objects.create(name="Support", slug="support", url="pipe:", from_address="s@itsm.example")
    pending = []
    for c in range(6):
        root = f"<conv{c}@acme.example>"
        raws = [make_message(message_id=root, subject=f"conversation {c}")]
        raws += [
            make_message(message_id=f"<conv{c}-{r}@acme.example>", subject=f"Re: conversation {c}", references=root)
            for r in range(3)
        ]
        for raw in raws:
            m = inbound_store(mailbox=mailbox, raw=raw).message
            pending.append((m.pk, m.conversation_key))
    orders = [list(reversed(pending)), pending[::2] + pending[1::2], pending[1::2] + pending[::2], pending]
    results, errors = _run_in_threads(lambda i: inbound_process_many(orders[i]), n=4)
    assert errors == []
    assert sum(results) == len(pending)  # each processed once, by whichever worker came first
    assert Ticket.objects.count() == 6
    for c in range(6):
        ticket = Ticket.objects.get(title=f"conversation {c}")
        assert Comment.objects.filter(ticket=ticket, is_public=True).count() == 3
    assert not InboundMessage.objects.filter(status=InboundStatus.RECEIVED).exists()
    assert audit_verify()[2] == []


def test_the_acknowledgement_rate_limit_holds_when_workers_take_one_sender_in_at_once(roles, customer, settings):
    """Eight new conversations of one sender, taken in by eight workers at once (they go to different
    workers): the sender gets exactly the limit's number of acknowledgements, the rest are recorded as
    suppressed."""
    from communications.models import OutboundEmail

    settings.ITSM_MAIL_ACK_RATE_LIMIT = 3
    mailbox = Mailbox.objects.create(name="Support", slug="support", url="pipe:", from_address="s@itsm.example")
    raws = [make_message(subject=f"new problem {i}") for i in range(8)]
    results, errors = _run_in_threads(lambda i: inbound_ingest(mailbox=mailbox, raw=raws[i]), n=8)
    assert errors == [] and Ticket.objects.count() == 8
    acks = OutboundEmail.objects.filter(kind=OutboundEmail.Kind.ACKNOWLEDGEMENT)
    assert acks.count() == 3
