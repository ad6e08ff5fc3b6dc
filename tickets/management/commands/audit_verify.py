"""Check every ticket's audit trail hash chain. Exit status 1 when any chain is broken."""

from django.core.management.base import BaseCommand, CommandError

from tickets.audit import audit_verify


class Command(BaseCommand):
    help = "Recompute the SHA-256 chain of every ticket's events and name each ticket whose chain is broken."

    def handle(self, *args, **options):
        tickets, events, broken = audit_verify()
        for problem in broken:
            self.stdout.write(f"BROKEN {problem.ticket_number}")
            for line in problem.problems:
                self.stdout.write(f"  - {line}")
        summary = f"{tickets} tickets, {events} events checked; {len(broken)} broken chain(s)."
        if broken:
            raise CommandError(summary)
        self.stdout.write(self.style.SUCCESS(summary))
