"""Fixtures of the mail tests: a real dovecot (session), a real SMTP listener, mailboxes and messages."""

import imaplib
import time
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import pytest
from django.utils import timezone

from mail.models import Mailbox
from tests.conftest import _missing
from tests.servers import Dovecot, SMTPServer, dovecot_available


@pytest.fixture(scope="session")
def dovecot_server():
    reason = dovecot_available()
    if reason:
        _missing(reason)
    server = Dovecot()
    try:
        server.start()
    except RuntimeError as exc:
        _missing(str(exc))
    yield server
    server.stop()


@pytest.fixture
def imap_account(dovecot_server):
    """(server, user, password) of a fresh, empty account."""
    user, password = dovecot_server.add_user()
    return dovecot_server, user, password


def imap_append(server, user, password, raw: bytes, folder: str = "INBOX") -> None:
    conn = imaplib.IMAP4("127.0.0.1", server.imap_port)
    conn.login(user, password)
    if folder != "INBOX":
        conn.create(folder)
    typ, data = conn.append(folder, None, imaplib.Time2Internaldate(time.time()), raw)
    assert typ == "OK", data
    conn.logout()


def imap_folder_state(server, user, password, folder: str = "INBOX") -> list[tuple[str, set[str]]]:
    """(uid, flags) of every message in a folder."""
    conn = imaplib.IMAP4("127.0.0.1", server.imap_port)
    conn.login(user, password)
    typ, _ = conn.select(folder)
    if typ != "OK":
        conn.logout()
        return []
    typ, data = conn.uid("FETCH", "1:*", "(FLAGS)")
    result = []
    for item in data:
        if not item:
            continue
        text = item.decode() if isinstance(item, bytes) else item[0].decode()
        import re

        m = re.search(r"UID (\d+) FLAGS \(([^)]*)\)", text)
        if m:
            result.append((m.group(1), set(m.group(2).split())))
    conn.logout()
    return result


@pytest.fixture
def smtp_server(settings):
    server = SMTPServer()
    server.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = server.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    yield server
    try:
        server.stop()
    except Exception:  # noqa: BLE001 - a test may have stopped it already
        pass


@pytest.fixture
def mailbox(db, service, group):
    return Mailbox.objects.create(
        name="Support",
        slug="support",
        url="pipe:",
        from_address="support@itsm.example",
        from_name="ACME Service Desk",
        reply_to="support@itsm.example",
        default_service=service,
        default_resolver_group=group,
    )


def make_maildir(path, *, new: dict[str, bytes] | None = None, cur: dict[str, bytes] | None = None) -> str:
    """A Maildir folder at `path` holding these messages (file name: raw bytes); returns its mailbox URL."""
    for sub in ("new", "cur", "tmp"):
        (path / sub).mkdir(parents=True, exist_ok=True)
    for sub, files in (("new", new or {}), ("cur", cur or {})):
        for name, raw in files.items():
            (path / sub / name).write_bytes(raw)
    return f"maildir://{path}"


def make_message(
    *,
    sender: str = "alice@acme.example",
    to: str = "support@itsm.example",
    subject: str = "Printer does not print",
    body: str = "Hello, the printer on floor 2 prints nothing.",
    html: str | None = None,
    message_id: str | None = "",
    in_reply_to: str = "",
    references: str = "",
    cc: str = "",
    headers: dict[str, str] | None = None,
    attachments: list[tuple[str, str, bytes]] = (),
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    if cc:
        msg["Cc"] = cc
    msg["Subject"] = subject
    msg["Date"] = format_datetime(timezone.now())
    if message_id is not None:
        msg["Message-ID"] = message_id or make_msgid(domain="acme.example")
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    if references:
        msg["References"] = references
    for k, v in (headers or {}).items():
        msg[k] = v
    msg.set_content(body)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    for name, ctype, data in attachments:
        maintype, subtype = ctype.split("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg.as_bytes()
