"""Take mail in from an MTA pipe or from files: `ingest_email -` reads one RFC 822 message from standard
input; `ingest_email PATH...` takes files (one message each) and Maildir folders (every message; the folder
is left as it is). The exit status is non-zero only when the system failed (database down, unreadable
path): a refused message is quarantined with its reason, which is a success for the MTA."""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from mail.fetchers import FetchError, MaildirFetcher
from mail.models import Mailbox
from mail.services import inbound_ingest, pipe_mailbox


class Command(BaseCommand):
    help = "Take in mail from standard input (-) or from files and Maildir folders."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", help="- for standard input, or files and Maildir folders")
        parser.add_argument("--mailbox", help="slug of the mailbox it arrived at (default: the 'pipe' mailbox)")

    def handle(self, *args, paths, mailbox=None, **options):
        if mailbox:
            box = Mailbox.objects.filter(slug=mailbox).first()
            if box is None:
                raise CommandError(f"No mailbox {mailbox!r}; create it with manage.py mailbox_configure.")
        else:
            box = pipe_mailbox()
        counts = {"taken": 0, "duplicates": 0, "quarantined": 0}

        def ingest(raw: bytes, source: str, size=None):
            result = inbound_ingest(mailbox=box, raw=raw, source=source, size=size)
            if result.duplicate:
                counts["duplicates"] += 1
            elif result.status == "quarantined":
                counts["quarantined"] += 1
                self.stderr.write(f"{source}: quarantined: {result.message.reason}")
            else:
                counts["taken"] += 1
            if options["verbosity"] > 1:
                self.stdout.write(f"{source}: {result.message.status} {result.message.reason}")
            return result

        for path in paths:
            if path == "-":
                raw = sys.stdin.buffer.read()
                if not raw.strip():
                    raise CommandError("standard input is empty: no message")
                ingest(raw, "stdin")
                continue
            p = Path(path)
            try:
                if p.is_dir():
                    MaildirFetcher(p, mark=False).run(ingest)
                else:
                    ingest(p.read_bytes(), f"file {p.name}")
            except (OSError, FetchError) as exc:
                raise CommandError(f"{path}: {exc}") from exc
        self.stdout.write(
            f"{counts['taken']} taken in, {counts['quarantined']} quarantined, {counts['duplicates']} duplicates"
        )
