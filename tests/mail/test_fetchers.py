"""Fetching from a real dovecot over IMAP and POP3, and from Maildir folders; polling by the beat task.
A message is flagged, moved or deleted at the source only after it was stored."""

import imaplib
import poplib

import pytest
from django.utils import timezone

from mail.choices import InboundStatus
from mail.fetchers import IMPORTED_KEYWORD, MaildirFetcher
from mail.models import InboundMessage, Mailbox
from mail.services import mailbox_poll, mailboxes_poll_due
from tests.mail.conftest import imap_append, imap_folder_state, make_maildir, make_message
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


def _imap_mailbox(server, user, password, **kw):
    return Mailbox.objects.create(
        name=f"IMAP {user}",
        slug=f"imap-{user}",
        url=f"imap://{user}:{password}@127.0.0.1:{server.imap_port}/INBOX",
        from_address="support@itsm.example",
        **kw,
    )


def test_imap_takes_new_messages_and_flags_them_after_the_commit(imap_account, customer):
    server, user, password = imap_account
    for i in range(3):
        imap_append(server, user, password, make_message(subject=f"IMAP problem {i}"))
    box = _imap_mailbox(server, user, password)
    result = mailbox_poll(mailbox_id=box.pk)
    assert (result.taken, result.duplicates, result.error) == (3, 0, "")
    assert sorted(Ticket.objects.values_list("title", flat=True)) == [f"IMAP problem {i}" for i in range(3)]
    state = imap_folder_state(server, user, password)
    assert len(state) == 3 and all({IMPORTED_KEYWORD, "\\Seen"} <= flags for _, flags in state)
    box.refresh_from_db()
    assert box.last_success_at and box.consecutive_failures == 0
    # the next poll finds nothing new
    box.poll_lease_until = None
    box.save()
    assert mailbox_poll(mailbox_id=box.pk).taken == 0


def test_imap_moves_taken_messages_to_the_processed_folder(imap_account, customer):
    server, user, password = imap_account
    imap_append(server, user, password, make_message(subject="to be moved"))
    conn = imaplib.IMAP4("127.0.0.1", server.imap_port)
    conn.login(user, password)
    conn.create("Processed")
    conn.logout()
    box = _imap_mailbox(server, user, password, processed_folder="Processed")
    assert mailbox_poll(mailbox_id=box.pk).taken == 1
    assert imap_folder_state(server, user, password) == []
    assert len(imap_folder_state(server, user, password, "Processed")) == 1


def test_a_crash_after_the_commit_before_the_flag_takes_the_message_in_once(imap_account, customer, monkeypatch):
    """The message is stored, then the flag fails (the connection dies): it stays unflagged in the mailbox,
    and the next poll's duplicate check takes it in exactly once."""
    server, user, password = imap_account
    imap_append(server, user, password, make_message(subject="exactly once"))
    box = _imap_mailbox(server, user, password)
    real_uid = imaplib.IMAP4.uid

    def dying_uid(self, command, *args):
        if command == "STORE":
            raise imaplib.IMAP4.abort("connection lost")
        return real_uid(self, command, *args)

    monkeypatch.setattr(imaplib.IMAP4, "uid", dying_uid)
    first = mailbox_poll(mailbox_id=box.pk)
    assert first.error and "connection lost" in first.error
    assert Ticket.objects.count() == 1
    assert imap_folder_state(server, user, password)[0][1] == set()  # still there, unflagged
    monkeypatch.setattr(imaplib.IMAP4, "uid", real_uid)
    Mailbox.objects.filter(pk=box.pk).update(poll_lease_until=None)
    second = mailbox_poll(mailbox_id=box.pk)
    assert (second.taken, second.duplicates) == (0, 1)
    assert Ticket.objects.count() == 1 and InboundMessage.objects.count() == 1
    assert IMPORTED_KEYWORD in imap_folder_state(server, user, password)[0][1]


def test_imap_fetches_messages_in_batches_and_marks_each_batch_once(imap_account, customer, monkeypatch):
    from mail import fetchers

    monkeypatch.setattr(fetchers, "FETCH_BATCH", 4)
    server, user, password = imap_account
    for i in range(10):
        imap_append(server, user, password, make_message(subject=f"batched {i}"))
    commands: list[tuple[str, str]] = []
    real_uid = imaplib.IMAP4.uid

    def recording_uid(self, command, *args):
        commands.append((command, args[-1] if args else ""))
        return real_uid(self, command, *args)

    monkeypatch.setattr(imaplib.IMAP4, "uid", recording_uid)
    box = _imap_mailbox(server, user, password)
    assert mailbox_poll(mailbox_id=box.pk).taken == 10
    bodies = [c for c in commands if c == ("FETCH", "(BODY.PEEK[])")]
    stores = [c for c in commands if c[0] == "STORE"]
    assert len(bodies) == 3 and len(stores) == 3  # 4 + 4 + 2 messages: a round trip per batch, not per message
    # taken in the order of the mailbox
    assert list(InboundMessage.objects.order_by("pk").values_list("subject", flat=True)) == [
        f"batched {i}" for i in range(10)
    ]
    assert all(IMPORTED_KEYWORD in flags for _, flags in imap_folder_state(server, user, password))


def test_a_failure_inside_a_batch_marks_what_was_stored_before_it(imap_account, customer, monkeypatch):
    from django.db import OperationalError

    from mail import services

    server, user, password = imap_account
    for i in range(5):
        imap_append(server, user, password, make_message(subject=f"half {i}"))
    real_store = services.inbound_store
    calls = {"n": 0}

    def failing_store(**kw):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OperationalError("the database went away")
        return real_store(**kw)

    monkeypatch.setattr(services, "inbound_store", failing_store)
    box = _imap_mailbox(server, user, password)
    with pytest.raises(OperationalError):
        mailbox_poll(mailbox_id=box.pk)
    flags = [f for _, f in imap_folder_state(server, user, password)]
    assert [IMPORTED_KEYWORD in f for f in flags] == [True, True, False, False, False]
    monkeypatch.setattr(services, "inbound_store", real_store)
    Mailbox.objects.filter(pk=box.pk).update(poll_lease_until=None)
    second = mailbox_poll(mailbox_id=box.pk)
    assert (second.taken, second.duplicates) == (3, 0)
    assert InboundMessage.objects.count() == 5


def test_an_oversized_message_is_recorded_from_its_header_and_left_in_the_mailbox(imap_account, customer, settings):
    settings.ITSM_MAIL_MAX_MESSAGE_BYTES = 3000
    server, user, password = imap_account
    imap_append(server, user, password, make_message(subject="big one", body="y" * 10000))
    box = _imap_mailbox(server, user, password)
    mailbox_poll(mailbox_id=box.pk)
    msg = InboundMessage.objects.get()
    assert msg.status == InboundStatus.QUARANTINED and msg.size > 10000 and msg.subject == "big one"
    state = imap_folder_state(server, user, password)
    assert len(state) == 1 and "\\Seen" not in state[0][1]  # not moved, not deleted, not marked read


def test_pop3_takes_messages_and_deletes_them_only_after_storing(imap_account, customer):
    server, user, password = imap_account
    for i in range(2):
        imap_append(server, user, password, make_message(subject=f"POP {i}"))
    box = Mailbox.objects.create(name="POP", slug="pop", url=f"pop3://{user}:{password}@127.0.0.1:{server.pop3_port}")
    result = mailbox_poll(mailbox_id=box.pk)
    assert (result.taken, result.error) == (2, "")
    assert Ticket.objects.count() == 2
    conn = poplib.POP3("127.0.0.1", server.pop3_port)
    conn.user(user)
    conn.pass_(password)
    assert conn.stat()[0] == 0
    conn.quit()


def test_a_failing_mailbox_records_its_error_and_does_not_stop_the_others(imap_account, customer, tmp_path):
    server, user, password = imap_account
    imap_append(server, user, password, make_message(subject="from the good mailbox"))
    good = _imap_mailbox(server, user, password)
    bad = Mailbox.objects.create(
        name="Wrong password", slug="bad", url=f"imap://{user}:wrong@127.0.0.1:{server.imap_port}/INBOX"
    )
    down = Mailbox.objects.create(name="Down", slug="down", url="imap://u:p@127.0.0.1:1/INBOX")
    due = mailboxes_poll_due(now=timezone.now())  # runs each poll as its own (eager) task
    assert set(due) >= {good.pk, bad.pk, down.pk}
    assert Ticket.objects.filter(title="from the good mailbox").exists()
    for box in (bad, down):
        box.refresh_from_db()
        assert box.consecutive_failures == 1 and box.last_error and box.last_error_at
        assert box.next_poll_at > timezone.now()
    good.refresh_from_db()
    assert good.consecutive_failures == 0 and not good.last_error


def test_two_polls_of_one_mailbox_never_run_at_once(imap_account, customer):
    server, user, password = imap_account
    box = _imap_mailbox(server, user, password)
    Mailbox.objects.filter(pk=box.pk).update(poll_lease_until=timezone.now() + timezone.timedelta(minutes=5))
    assert mailbox_poll(mailbox_id=box.pk).skipped


def test_maildir_messages_are_marked_seen_after_they_are_taken(tmp_path, customer):
    url = make_maildir(
        tmp_path,
        new={"1.host": make_message(subject="maildir one")},
        cur={"2.host:2,": make_message(subject="maildir two"), "3.host:2,S": make_message(subject="already seen")},
    )
    box = Mailbox.objects.create(name="MD", slug="md", url=url)
    result = mailbox_poll(mailbox_id=box.pk)
    assert result.taken == 2 and result.error == ""
    assert sorted(p.name for p in (tmp_path / "cur").iterdir()) == ["1.host:2,S", "2.host:2,S", "3.host:2,S"]
    assert MaildirFetcher(tmp_path).messages() == []


@pytest.mark.parametrize(
    "url",
    [
        "imaps://{user}:{password}@127.0.0.1:{imaps}/INBOX?tls_verify=0",
        "imap://{user}:{password}@127.0.0.1:{imap}/INBOX?starttls=1&tls_verify=0",
        "pop3s://{user}:{password}@127.0.0.1:{pop3s}?tls_verify=0",
        "pop3://{user}:{password}@127.0.0.1:{pop3}?starttls=1&tls_verify=0",
    ],
    ids=["imaps", "imap-starttls", "pop3s", "pop3-stls"],
)
def test_tls_and_starttls(imap_account, customer, url):
    server, user, password = imap_account
    if not server.tls:
        from tests.conftest import _missing

        _missing("openssl is needed to give the test dovecot a certificate")
    imap_append(server, user, password, make_message(subject="over TLS"))
    url = url.format(user=user, password=password, imap=server.imap_port, imaps=server.imaps_port,
                     pop3=server.pop3_port, pop3s=server.pop3s_port)  # fmt: skip
    box = Mailbox.objects.create(name="TLS", slug="tls", url=url)
    result = mailbox_poll(mailbox_id=box.pk)
    assert (result.taken, result.error) == (1, "")
    assert Ticket.objects.get().title == "over TLS"


def test_a_self_signed_certificate_is_refused_unless_told_otherwise(imap_account, customer):
    server, user, password = imap_account
    if not server.tls:
        from tests.conftest import _missing

        _missing("openssl is needed to give the test dovecot a certificate")
    box = Mailbox.objects.create(
        name="TLS", slug="tls", url=f"imaps://{user}:{password}@127.0.0.1:{server.imaps_port}/INBOX"
    )
    result = mailbox_poll(mailbox_id=box.pk)
    assert "CERTIFICATE_VERIFY_FAILED" in result.error
