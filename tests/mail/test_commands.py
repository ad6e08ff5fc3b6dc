"""The MTA pipe and the automation commands."""

import io
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from mail.choices import InboundStatus
from mail.models import InboundMessage, Mailbox
from tests.mail.conftest import make_maildir, make_message
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


class _Stdin:
    def __init__(self, data: bytes) -> None:
        self.buffer = io.BytesIO(data)


def test_ingest_email_reads_one_message_from_stdin(monkeypatch, customer):
    monkeypatch.setattr(sys, "stdin", _Stdin(make_message(subject="piped in")))
    out = io.StringIO()
    call_command("ingest_email", "-", stdout=out)
    assert Ticket.objects.get().title == "piped in"
    assert InboundMessage.objects.get().mailbox.slug == "pipe" and "1 taken in" in out.getvalue()


def test_a_refused_message_is_quarantined_and_the_command_succeeds(monkeypatch):
    monkeypatch.setattr(sys, "stdin", _Stdin(b"this is not a message"))
    err = io.StringIO()
    call_command("ingest_email", "-", stdout=io.StringIO(), stderr=err)  # no CommandError: exit status 0
    assert InboundMessage.objects.get().status == InboundStatus.QUARANTINED
    assert "quarantined" in err.getvalue()


def test_ingest_email_takes_files_and_maildir_folders_into_a_named_mailbox(tmp_path, customer):
    Mailbox.objects.create(name="Sales", slug="sales", url="pipe:")
    (tmp_path / "one.eml").write_bytes(make_message(subject="file one"))
    md = tmp_path / "Maildir"
    make_maildir(
        md, new={"a.host": make_message(subject="maildir a")}, cur={"b.host:2,S": make_message(subject="maildir b")}
    )
    out = io.StringIO()
    call_command("ingest_email", str(tmp_path / "one.eml"), str(md), "--mailbox", "sales", stdout=out)
    assert sorted(Ticket.objects.values_list("title", flat=True)) == ["file one", "maildir a", "maildir b"]
    assert (md / "new" / "a.host").exists()  # the folder is left as it is
    call_command("ingest_email", str(md), "--mailbox", "sales", stdout=out)
    assert Ticket.objects.count() == 3 and "2 duplicates" in out.getvalue()


def test_ingest_email_fails_only_when_the_system_does(tmp_path):
    with pytest.raises(CommandError):
        call_command("ingest_email", str(tmp_path / "missing.eml"), stdout=io.StringIO())
    with pytest.raises(CommandError):
        call_command("ingest_email", "-", "--mailbox", "nope", stdout=io.StringIO())


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_ingest_email_process_exit_status(tmp_path):
    """As an MTA runs it: a separate process, exit status 0 for a quarantined message, 1 for a failure."""
    import os
    import subprocess
    from pathlib import Path

    from django.conf import settings
    from django.db import connection

    root = Path(settings.BASE_DIR)
    env = {**os.environ, "DATABASE_URL": _database_url(connection), "ITSM_VAR_DIR": str(tmp_path)}
    run = [sys.executable, str(root / "manage.py"), "ingest_email", "-"]
    ok = subprocess.run(run, input=b"not a mail", env=env, capture_output=True, cwd=root, timeout=120)
    assert ok.returncode == 0, ok.stderr
    broken = {**env, "DATABASE_URL": "postgres://nobody@127.0.0.1:1/nothing"}
    failed = subprocess.run(run, input=make_message(), env=broken, capture_output=True, cwd=root, timeout=120)
    assert failed.returncode != 0


def _database_url(connection) -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def test_mailbox_configure_creates_updates_and_lists(service, group):
    out = io.StringIO()
    call_command(
        "mailbox_configure", "support", "--url", "imaps://u:secret@mail.example:993/INBOX", "--from-address",
        "support@acme.example", "--type", "service_request", "--service", service.slug, "--group", group.slug,
        "--poll-interval", "120", "--refuse-unknown-senders", "yes", stdout=out,
    )  # fmt: skip
    box = Mailbox.objects.get(slug="support")
    assert box.default_service == service and box.default_resolver_group == group and box.poll_interval == 120
    assert box.refuse_unknown_senders and box.default_ticket_type == "service_request"
    call_command("mailbox_configure", "support", "--active", "no", stdout=out)
    box.refresh_from_db()
    assert not box.is_active and box.poll_interval == 120
    out = io.StringIO()
    call_command("mailbox_configure", "--list", stdout=out)
    assert "imaps://u:***@mail.example:993/INBOX" in out.getvalue() and "secret" not in out.getvalue()
    with pytest.raises(CommandError):
        call_command("mailbox_configure", "x", "--from-address", "not-an-address", stdout=io.StringIO())
