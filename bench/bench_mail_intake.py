"""Mail intake throughput: 2,000 generated messages of about 20 KB (a tenth with an attachment, a quarter
of them replies threaded by References) taken in from a Maildir folder and over IMAP (a real dovecot on
127.0.0.1) into PostgreSQL, next to the floor measured in the same run: parsing, sanitizing and classifying
the same messages with no database, in one process. Also shows that a duplicate costs one lookup and no
write.

Intake is measured twice: processed in the polling process itself (one process, as with
CELERY_TASK_ALWAYS_EAGER), and as deployed, the poll storing and queueing and BENCH_MAIL_WORKERS (default 2,
the cores of the reference machine) Celery worker processes taking the messages in through Redis; the time
runs from the start of the poll until no stored message waits.

    python -m bench.bench_mail_intake            # BENCH_MAIL_MESSAGES=2000 by default

Needs PostgreSQL (BENCH_DATABASE_URL), Redis (BENCH_REDIS_URL, default redis://127.0.0.1:6379/14, flushed)
for the worker runs and, for the IMAP part, root and Debian's dovecot (skipped otherwise, and said so in
the results)."""

import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

from bench.harness import ROOT, Measurement, report, setup

N = int(os.environ.get("BENCH_MAIL_MESSAGES", "2000"))
WORKERS = int(os.environ.get("BENCH_MAIL_WORKERS", "2"))
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
QUEUE = "bench-mail-intake"
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
        m["From"] = f"Contact {contact} <contact{contact}-{tag}@org{org}.example>"  # new contacts in each run
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


def start_workers() -> subprocess.Popen:
    """WORKERS Celery worker processes (prefork) on the bench database, consuming the intake queue only
    (what intake queues for later, such as acknowledgement delivery, is not part of the measure)."""
    env = {**os.environ, "REDIS_URL": REDIS_URL, "CELERY_TASK_ALWAYS_EAGER": "false", "PYTHONPATH": str(ROOT)}
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "itsm", "worker", "-Q", QUEUE, "-c", str(WORKERS), "-P", "prefork",
         "--loglevel", "WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    from celery import current_app

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        replies = current_app.control.ping(timeout=1.0)
        if replies:
            return worker
    worker.terminate()
    raise RuntimeError("the Celery workers did not start")


def poll_with_workers(mailbox_id: int, label: str) -> Measurement:
    from mail.choices import InboundStatus
    from mail.models import InboundMessage
    from mail.services import mailbox_poll

    m = Measurement(label, items=N)
    start = time.perf_counter()
    result = mailbox_poll(mailbox_id=mailbox_id)
    assert result.taken == N and not result.error, result
    waiting = InboundMessage.objects.filter(mailbox_id=mailbox_id, status=InboundStatus.RECEIVED)
    while waiting.exists():
        time.sleep(0.1)
    m.seconds.append(time.perf_counter() - start)
    return m


def imap_run(box, imap_set: list[bytes], measurements: list[Measurement], notes: dict) -> float | None:
    """The IMAP run (with the workers), or None with the reason in the notes when dovecot is missing."""
    import imaplib

    sys.path.insert(0, str(ROOT))
    from tests.servers import Dovecot, dovecot_available

    reason = dovecot_available()
    if reason:
        notes["imap"] = f"not measured: {reason}"
        return None
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
        im = poll_with_workers(imap_box.pk, f"intake over IMAP (dovecot), {WORKERS} workers")
        measurements.append(im)
        return im.rate
    finally:
        server.stop()


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

    # processed in the polling process first; delivery of what intake queues (to the default queue, which
    # no worker of this bench consumes) is not part of the measure
    current_app.conf.broker_url = REDIS_URL
    current_app.conf.task_always_eager = False
    current_app.conf.task_routes = {"mail.tasks.inbound_process": {"queue": QUEUE}}
    settings.ITSM_MAIL_INTAKE_PARTITIONS = 0
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    roles_sync()
    Organization.objects.bulk_create(
        [Organization(name=f"Org {i}", slug=f"org{i}", email_domains=[f"org{i}.example"]) for i in range(20)]
    )
    group = ResolverGroup.objects.create(name="Service Desk", slug="sd")
    service = Service.objects.create(name="Workplace", slug="workplace", default_resolver_group=group)

    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
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
    md = Measurement("intake from a Maildir into PostgreSQL, one process", items=N)
    start = time.perf_counter()
    result = mailbox_poll(mailbox_id=md_box.pk)
    md.seconds.append(time.perf_counter() - start)
    assert result.taken == N and not result.error, result
    measurements.append(md)
    shutil.rmtree(folder, ignore_errors=True)

    # as deployed: the poll stores and queues, WORKERS worker processes take the messages in
    settings.ITSM_MAIL_INTAKE_PARTITIONS = 8
    notes: dict = {"messages": N, "average_kb": round(avg / 1024, 1), "workers": WORKERS}
    workers = start_workers()
    try:
        folder = write_maildir(generate("mdw", N, seed=3))
        mdw_box = box("maildir-workers", f"maildir://{folder}")
        mdw = poll_with_workers(mdw_box.pk, f"intake from a Maildir into PostgreSQL, {WORKERS} workers")
        measurements.append(mdw)
        shutil.rmtree(folder, ignore_errors=True)
        imap_rate = imap_run(box, imap_set, measurements, notes)
    finally:
        workers.terminate()
        workers.wait(timeout=60)

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

    ratios = {
        "maildir intake, one process / parse-only floor": md.rate / floor.rate,
        f"maildir intake, {WORKERS} workers / parse-only floor": mdw.rate / floor.rate,
        f"{WORKERS} workers / one process": mdw.rate / md.rate,
    }
    if imap_rate:
        ratios[f"imap intake, {WORKERS} workers / parse-only floor"] = imap_rate / floor.rate
    report("mail_intake", measurements, ratios, notes)


if __name__ == "__main__":
    main()
