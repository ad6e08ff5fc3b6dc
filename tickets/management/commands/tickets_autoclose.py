from django.core.management.base import BaseCommand

from tickets.services import tickets_autoclose_due


class Command(BaseCommand):
    help = "Close resolved tickets whose acceptance window passed (the beat task does this every 10 minutes)."

    def handle(self, *args, **options):
        self.stdout.write(f"{tickets_autoclose_due()} ticket(s) closed.")
