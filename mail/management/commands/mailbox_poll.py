"""Poll mailboxes now (what the beat task does every minute): all active polled ones, or those named."""

from django.core.management.base import BaseCommand

from mail.choices import POLLED_SCHEMES
from mail.models import Mailbox
from mail.services import mailbox_poll


class Command(BaseCommand):
    help = "Poll active mailboxes now."

    def add_arguments(self, parser):
        parser.add_argument("slugs", nargs="*")

    def handle(self, *args, slugs, **options):
        boxes = Mailbox.objects.filter(is_active=True)
        if slugs:
            boxes = boxes.filter(slug__in=slugs)
        for box in boxes:
            if box.scheme not in POLLED_SCHEMES:
                continue
            r = mailbox_poll(mailbox_id=box.pk)
            state = "skipped (another poll holds it)" if r.skipped else (f"FAILED: {r.error}" if r.error else "ok")
            self.stdout.write(f"{box.slug}: {r.taken} taken in, {r.duplicates} duplicates, {state}")
