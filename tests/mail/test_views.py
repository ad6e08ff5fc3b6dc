"""The failed-mail page: who sees it, what it shows (the mailboxes' last errors, each quarantined message
with its reason), the raw message and the replay action."""

import pytest
from django.urls import reverse
from django.utils import timezone

from mail.choices import InboundStatus
from mail.models import InboundMessage, Mailbox
from mail.services import inbound_ingest, inbound_store
from tests.mail.conftest import make_message

pytestmark = pytest.mark.django_db


@pytest.fixture
def failed(mailbox):
    Mailbox.objects.create(
        name="Broken IMAP", slug="broken", url="imap://u:hunter2@mail.example/INBOX", consecutive_failures=3,
        last_error="OSError: [Errno 111] Connection refused", last_error_at=timezone.now(),
    )  # fmt: skip
    return inbound_ingest(mailbox=mailbox, raw=b"Subject: half a message\r\n\r\n\x00\x00").message


def test_customers_and_resolvers_do_not_see_failed_mail(client, failed, customer, resolver):
    for user in (customer, resolver):
        client.force_login(user)
        assert client.get(reverse("mail:failed-list")).status_code == 403
        assert client.get(reverse("mail:failed-raw", args=[failed.pk])).status_code == 403
        assert client.post(reverse("mail:failed-replay", args=[failed.pk])).status_code == 403


def test_the_service_desk_sees_reasons_and_mailbox_errors_without_passwords(client, failed, desk):
    client.force_login(desk)
    page = client.get(reverse("mail:failed-list")).content.decode()
    assert failed.reason and failed.reason[:40] in page
    assert "Connection refused" in page and "failing ×3" in page
    assert "hunter2" not in page and "u:***@mail.example" in page
    raw = client.get(reverse("mail:failed-raw", args=[failed.pk]))
    assert raw["Content-Disposition"].startswith("attachment") and raw.content == bytes(failed.raw)


def test_the_page_shows_messages_stored_and_not_processed_yet_per_mailbox(
    client, mailbox, desk, django_assert_max_num_queries
):
    for i in range(3):
        inbound_store(mailbox=mailbox, raw=make_message(subject=f"waiting {i}"))
    client.force_login(desk)
    with django_assert_max_num_queries(12):  # one query for the waiting counts of all mailboxes
        page = client.get(reverse("mail:failed-list")).content.decode()
    assert "3 <small" in page and "stored, not processed yet" in page


def test_replay_from_the_page(client, mailbox, desk, customer):
    mailbox.refuse_unknown_senders = True
    mailbox.save()
    msg = inbound_ingest(mailbox=mailbox, raw=make_message(sender="late@acme.example")).message
    assert msg.status == InboundStatus.QUARANTINED
    mailbox.refuse_unknown_senders = False
    mailbox.save()
    client.force_login(desk)
    response = client.post(reverse("mail:failed-replay", args=[msg.pk]))
    msg.refresh_from_db()
    assert msg.status == InboundStatus.TICKET and response.status_code == 302
    assert response["Location"] == msg.ticket.get_absolute_url()
    assert not InboundMessage.objects.filter(status=InboundStatus.QUARANTINED).exists()
