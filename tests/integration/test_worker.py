"""The background worker for real: a Celery worker consuming the configured broker (Redis when REDIS_URL
is set, as in CI; the embedded filesystem broker otherwise) delivers mail queued by a ticket change."""

import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.core import mail

from communications.models import OutboundEmail
from itsm.celery import app as celery_app
from tests.factories import TicketFactory
from tickets.choices import ResolutionCode, TicketEventType, TicketStatus
from tickets.models import Ticket
from tickets.services import ticket_transition


@pytest.fixture
def real_worker():
    celery_app.conf.task_always_eager = False
    try:
        with start_worker(celery_app, pool="solo", perform_ping_check=False, loglevel="WARNING", shutdown_timeout=15):
            yield
    finally:
        celery_app.conf.task_always_eager = True


def _wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


@pytest.mark.smoke
@pytest.mark.django_db(transaction=True)
def test_worker_delivers_the_resolution_notice_after_commit(roles, desk, customer, real_worker):
    ticket = TicketFactory(requester=customer, actor=desk)
    ticket_transition(ticket=ticket, actor=desk, to_status=TicketStatus.IN_PROGRESS)
    ticket_transition(
        ticket=ticket,
        actor=desk,
        to_status=TicketStatus.RESOLVED,
        resolution_code=ResolutionCode.SOLVED,
        resolution_notes="Rebooted the switch.",
    )
    assert _wait_for(lambda: OutboundEmail.objects.filter(status=OutboundEmail.Status.SENT).exists()), (
        f"the worker did not deliver the mail through {celery_app.conf.broker_url}"
    )
    ticket = Ticket.objects.get(pk=ticket.pk)
    assert ticket.resolution_notice_sent_at is not None
    assert ticket.events.filter(event_type=TicketEventType.NOTIFICATION_SENT).count() == 1
    assert [m.to for m in mail.outbox] == [[customer.email]]


@pytest.mark.smoke
def test_every_beat_schedule_entry_is_a_registered_task():
    celery_app.loader.import_default_modules()
    for name, entry in celery_app.conf.beat_schedule.items():
        assert entry["task"] in celery_app.tasks, name


@pytest.mark.redis
def test_redis_is_the_broker_and_the_cache_when_configured():
    import redis
    from django.core.cache import cache

    assert celery_app.conf.broker_url.startswith("redis://")
    assert redis.Redis.from_url(settings.REDIS_URL).ping()
    cache.set("itsm-test-key", "value", 30)
    assert cache.get("itsm-test-key") == "value"
    assert settings.CACHES["default"]["BACKEND"].endswith("RedisCache")


@pytest.mark.smoke
@pytest.mark.django_db(transaction=True)
def test_a_polled_mailbox_is_processed_by_the_worker(roles, customer, group, tmp_path, real_worker):
    from mail.choices import InboundStatus
    from mail.models import InboundMessage, Mailbox
    from mail.services import mailbox_poll
    from tests.mail.conftest import make_maildir, make_message

    url = make_maildir(
        tmp_path,
        new={
            "1.host": make_message(sender=customer.email, message_id="<w1@acme.example>", subject="worker one"),
            "2.host": make_message(
                sender=customer.email, message_id="<w2@acme.example>", references="<w1@acme.example>"
            ),
        },
    )
    box = Mailbox.objects.create(name="MD", slug="md", url=url, default_resolver_group=group)
    result = mailbox_poll(mailbox_id=box.pk)
    assert result.taken == 2  # stored and queued; the worker processes them
    assert _wait_for(lambda: not InboundMessage.objects.filter(status=InboundStatus.RECEIVED).exists()), (
        f"the worker did not process the stored mail through {celery_app.conf.broker_url}"
    )
    first, second = InboundMessage.objects.filter(mailbox=box).order_by("pk")
    assert (first.status, second.status) == (InboundStatus.TICKET, InboundStatus.COMMENT)
    assert first.ticket_id == second.ticket_id and first.ticket.title == "worker one"
