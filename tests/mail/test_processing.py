"""Store first, process after: a poll commits each message's raw bytes before it touches the mailbox, then
hands the stored messages to the workers. Messages of one conversation keep their order whoever processes
them, and a message whose processing task was lost is processed by the beat task."""

from datetime import timedelta

import pytest
from django.utils import timezone

from mail.choices import InboundStatus
from mail.models import InboundMessage, Mailbox
from mail.services import (
    conversation_key_of,
    inbound_dispatch,
    inbound_process_many,
    inbound_process_waiting,
    inbound_store,
    mailbox_poll,
)
from tests.mail.conftest import make_maildir, make_message
from tickets.models import Comment, Ticket

pytestmark = pytest.mark.django_db


def _stored(mailbox, raw) -> InboundMessage:
    outcome = inbound_store(mailbox=mailbox, raw=raw)
    assert not outcome.duplicate
    return outcome.message


def test_the_conversation_is_the_first_reference_else_in_reply_to_else_the_message_itself():
    assert conversation_key_of(make_message(message_id="<a@x>"), "a@x") == "a@x"
    assert conversation_key_of(make_message(message_id="<b@x>", in_reply_to="<a@x>"), "b@x") == "a@x"
    folded = b"From: a@x\r\nMessage-ID: <c@x>\r\nIn-Reply-To: <b@x>\r\nReferences:\r\n <a@x>\r\n <b@x>\r\n\r\nbody\r\n"
    assert conversation_key_of(folded, "c@x") == "a@x"


@pytest.mark.smoke
def test_a_stored_message_waits_committed_until_it_is_processed(mailbox, customer):
    message = _stored(mailbox, make_message(message_id="<first@acme.example>"))
    assert message.status == InboundStatus.RECEIVED and bytes(message.raw).startswith(b"From:")
    assert message.conversation_key == "first@acme.example" and Ticket.objects.count() == 0
    assert inbound_store(mailbox=mailbox, raw=make_message(message_id="<first@acme.example>")).duplicate
    assert inbound_process_many([(message.pk, message.conversation_key)]) == 1
    message.refresh_from_db()
    assert message.status == InboundStatus.TICKET and message.ticket is not None
    assert inbound_process_many([(message.pk, message.conversation_key)]) == 0  # processed once only


def test_a_reply_processed_before_its_original_waits_for_it(mailbox, customer):
    original = _stored(mailbox, make_message(message_id="<orig@acme.example>", subject="VPN down"))
    reply = _stored(
        mailbox,
        make_message(
            message_id="<reply@acme.example>",
            subject="Re: VPN down",
            body="Still down.",
            in_reply_to="<orig@acme.example>",
            references="<orig@acme.example>",
        ),
    )
    # the worker that holds the reply runs first: it processes the original first, then the reply
    assert inbound_process_many([(reply.pk, reply.conversation_key)]) == 2
    original.refresh_from_db()
    reply.refresh_from_db()
    assert original.status == InboundStatus.TICKET and reply.status == InboundStatus.COMMENT
    assert reply.ticket_id == original.ticket_id and Ticket.objects.count() == 1
    assert Comment.objects.get(ticket=original.ticket, is_public=True).body == "Still down."


def test_a_message_whose_task_was_lost_is_processed_by_the_beat_task(mailbox, customer):
    message = _stored(mailbox, make_message(subject="lost task"))
    now = timezone.now()
    assert inbound_process_waiting(now=now) == 0  # recent: its task may still be queued
    assert InboundMessage.objects.get(pk=message.pk).status == InboundStatus.RECEIVED
    assert inbound_process_waiting(now=now + timedelta(minutes=10)) == 1
    assert InboundMessage.objects.get(pk=message.pk).ticket.title == "lost task"


def test_dispatch_splits_by_conversation_and_keeps_each_in_order(mailbox, customer, settings):
    settings.ITSM_MAIL_INTAKE_PARTITIONS = 3
    stored = []
    for c in range(4):
        stored.append(_stored(mailbox, make_message(message_id=f"<c{c}@acme.example>", subject=f"case {c}")))
        for r in range(2):
            stored.append(
                _stored(
                    mailbox,
                    make_message(
                        message_id=f"<c{c}r{r}@acme.example>",
                        subject=f"Re: case {c}",
                        body=f"reply {r}",
                        references=f"<c{c}@acme.example>",
                    ),
                )
            )
    inbound_dispatch([(m.pk, m.conversation_key) for m in stored])  # tests run tasks eagerly
    assert Ticket.objects.count() == 4
    for c in range(4):
        ticket = Ticket.objects.get(title=f"case {c}")
        bodies = Comment.objects.filter(ticket=ticket, is_public=True).order_by("pk").values_list("body", flat=True)
        assert list(bodies) == ["reply 0", "reply 1"]
    assert not InboundMessage.objects.filter(status=InboundStatus.RECEIVED).exists()


def test_a_poll_stores_everything_then_hands_it_over(tmp_path, customer, service, group):
    url = make_maildir(
        tmp_path,
        new={
            "1.host": make_message(message_id="<p1@acme.example>", subject="poll one"),
            "2.host": make_message(
                message_id="<p2@acme.example>", subject="Re: poll one", references="<p1@acme.example>"
            ),
        },
    )
    box = Mailbox.objects.create(name="MD", slug="md", url=url, default_resolver_group=group)
    result = mailbox_poll(mailbox_id=box.pk)
    assert (result.taken, result.error) == (2, "")
    assert sorted(p.name.split(":")[0] for p in (tmp_path / "cur").iterdir()) == ["1.host", "2.host"]
    messages = list(InboundMessage.objects.filter(mailbox=box).order_by("pk"))
    assert [m.status for m in messages] == [InboundStatus.TICKET, InboundStatus.COMMENT]
    assert messages[0].ticket_id == messages[1].ticket_id
