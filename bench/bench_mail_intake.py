"""Mail intake throughput: 2,000 generated messages of about 20 KB (a tenth with an attachment, a quarter
of them replies threaded by References) taken in from a Maildir folder and over IMAP (a real dovecot on
127.0.0.1) into PostgreSQL, next to the floor measured in the same run: parsing, sanitizing and classifying
the same messages with no database. Also shows that a duplicate costs one lookup and no write.

    python -m bench.bench_mail_intake            # BENCH_MAIL_MESSAGES=2000 by default

Needs PostgreSQL (BENCH_DATABASE_URL) and, for the IMAP part, root and Debian's dovecot (skipped otherwise,
and said so in the results)."""

import os
import random
import shutil
import sys
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

from bench.harness import Measurement, report, setup

N = int(os.environ.get("BENCH_MAIL_MESSAGES", "2000"))
WORDS = (
    "printer network outage password reset server database backup restore access request laptop screen vpn "
    "certificate mailbox quota license invoice deployment firewall latency timeout error restart ticket"
).split()


def _paragraph(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def generate(tag: str, count: int, *, seed: int) -> list[bytes]:
    """About 20 KB each: a text part, an HTML part with a quoted history, a tenth with a 6 KB attachment."""
    rng = random.Random(seed)
    messages: list[bytes] = []
    ids: list[tuple[str, int]] = []
    for i in range(count):
        m = EmailMessage()
        contact = i % 300
        parent = rng.choice(ids[-200:]) if ids and rng.random() < 0.25 else None
        if parent:  # a reply comes from the person who wrote the message it answers
            contact = parent[1]
        org = contact % 20
        m["From"] = f"Contact {contact} <contact{contact}@org{org}.example>"
        m["To"] = "support@itsm.example"
        mid = f"<{tag}-{i}@org{org}.example>"
        m["Message-ID"] = mid
        m["Date"] = "Thu, 03 Dec 2026 10:00:00 +0000"
        if parent:
            m["Subject"] = f"Re: problem {tag} {i}"
            m["In-Reply-To"] = parent[0]
            m["References"] = parent[0]
        else:
            m["Subject"] = f"Problem {tag} {i}: {rng.choice(WORDS)} {rng.choice(WORDS)}"
        text = "\n\n".join(_paragraph(rng, 40) for _ in range(28))
        m.set_content(text + "\n\nOn Monday the service desk wrote:\n> " + _paragraph(rng, 30))
        paras = "".join(f"<p style='color:#333' onclick='x()'>{_paragraph(rng, 40)}</p>" for _ in range(26))
        html = (
            f"<html><head><style>p{{margin:0}}</style></head><body>{paras}"
            f"<img src='https://tracker.example/{i}.gif'><div class='gmail_quote'>On Monday we wrote:"
            f"<blockquote>{_paragraph(rng, 30)}</blockquote></div></body></html>"
        )
        m.add_alternative(html, subtype="html")
        if i % 10 == 0:
            m.add_attachment(rng.randbytes(6000), maintype="application", subtype="pdf", filename=f"report-{i}.pdf")
        messages.append(m.as_bytes())
        ids.append((mid, contact))
    return messages


def parse_only(messages: list[bytes]) -> None:
    from mail.loops import classify
    from mail.parsing import parse_message
    from mail.sanitize import fold_quoted_html, html_to_text, sanitize_html

    own = {"support@itsm.example"}
    for raw in messages:
        parsed = parse_message(raw)
        fold_quoted_html(sanitize_html(parsed.html))
        if not parsed.text:
            html_to_text(parsed.html)
        classify(parsed, own_addresses=own)


def write_maildir(messages: list[bytes]) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="bench-maildir-"))
    for sub in ("new", "cur", "tmp"):
        (folder / sub).mkdir()
    for i, raw in enumerate(messages):
        (folder / "new" / f"{i:06d}.bench").write_bytes(raw)
    return folder


def main() -> None:
    setup()
    from celery import current_app
    from django.conf import settings
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from accounts.models import Organization
    from accounts.roles import roles_sync
    from catalog.models import ResolverGroup, Service
    from mail.models import InboundMessage, Mailbox
    from mail.services import inbound_ingest, mailbox_poll

    current_app.conf.broker_url = "memory://"  # delivery is the workers' job: intake only queues the outbox row
    current_app.conf.task_always_eager = False
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    roles_sync()
    Organization.objects.bulk_create(
        [Organization(name=f"Org {i}", slug=f"org{i}", email_domains=[f"org{i}.example"]) for i in range(20)]
    )
    group = ResolverGroup.objects.create(name="Service Desk", slug="sd")
    service = Service.objects.create(name="Workplace", slug="workplace", default_resolver_group=group)

    print(f"generating {N} messages for the Maildir run and {N} for the IMAP run ...", flush=True)
    maildir_set = generate("md", N, seed=1)
    imap_set = generate("imap", N, seed=2)
    avg = sum(map(len, maildir_set)) / len(maildir_set)
    print(f"average size {avg / 1024:.1f} KB", flush=True)

    measurements: list[Measurement] = []
    floor = Measurement("parse + sanitize + classify, no database (the floor)", items=N)
    for _ in range(3):
        start = time.perf_counter()
        parse_only(maildir_set)
        floor.seconds.append(time.perf_counter() - start)
    measurements.append(floor)

    def box(slug: str, url: str) -> Mailbox:
        return Mailbox.objects.create(
            name=slug, slug=slug, url=url, from_address="support@itsm.example", default_service=service,
            default_resolver_group=group,
        )  # fmt: skip

    folder = write_maildir(maildir_set)
    md_box = box("maildir", f"maildir://{folder}")
    md = Measurement("intake from a Maildir into PostgreSQL", items=N)
    start = time.perf_counter()
    result = mailbox_poll(mailbox_id=md_box.pk)
    md.seconds.append(time.perf_counter() - start)
    assert result.taken == N and not result.error, result
    measurements.append(md)
    shutil.rmtree(folder, ignore_errors=True)

    notes: dict = {"messages": N, "average_kb": round(avg / 1024, 1)}
    imap_rate = None
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.servers import Dovecot, dovecot_available

    reason = dovecot_available()
    if reason:
        notes["imap"] = f"not measured: {reason}"
    else:
        import imaplib

        server = Dovecot()
        server.start()
        try:
            user, password = server.add_user()
            conn = imaplib.IMAP4("127.0.0.1", server.imap_port)
            conn.login(user, password)
            for raw in imap_set:
                conn.append("INBOX", None, None, raw)
            conn.logout()
            imap_box = box("imap", f"imap://{user}:{password}@127.0.0.1:{server.imap_port}/INBOX")
            im = Measurement("intake over IMAP (dovecot) into PostgreSQL", items=N)
            start = time.perf_counter()
            result = mailbox_poll(mailbox_id=imap_box.pk)
            im.seconds.append(time.perf_counter() - start)
            assert result.taken == N and not result.error, result
            measurements.append(im)
            imap_rate = im.rate
        finally:
            server.stop()

    # a duplicate: one lookup, no write
    sample = maildir_set[:200]
    with CaptureQueriesContext(connection) as queries:
        dup = Measurement("duplicates (200 messages delivered again)", items=len(sample))
        start = time.perf_counter()
        outcomes = [inbound_ingest(mailbox=md_box, raw=raw) for raw in sample]
        dup.seconds.append(time.perf_counter() - start)
    assert all(o.duplicate for o in outcomes)
    writes = [q for q in queries.captured_queries if not q["sql"].lstrip().upper().startswith("SELECT")]
    measurements.append(dup)
    notes["queries_per_duplicate"] = len(queries.captured_queries) / len(sample)
    notes["writes_for_duplicates"] = len(writes)
    notes["inbound_rows"] = InboundMessage.objects.count()

    ratios = {"maildir intake / parse-only floor": md.rate / floor.rate}
    if imap_rate:
        ratios["imap intake / parse-only floor"] = imap_rate / floor.rate
    report("mail_intake", measurements, ratios, notes)


if __name__ == "__main__":
    main()
