"""Load the demo data (idempotent) and print one login per role as `<role>: <username> / <password>`."""

from django.core.management.base import BaseCommand

from demo.services import demo_login_lines, demo_seed


class Command(BaseCommand):
    help = "Create demo groups, services, organizations, logins and about 200 tickets (only what is missing)."

    def add_arguments(self, parser):
        parser.add_argument("--tickets", type=int, default=200, help="How many demo tickets there should be.")

    def handle(self, *args, **options):
        result = demo_seed(target=options["tickets"])
        self.stdout.write(
            f"Demo data ready: {result['existing'] + result['created']} demo tickets ({result['created']} new)."
        )
        self.stdout.write("Demo logins:")
        for line in demo_login_lines():
            self.stdout.write(line)
