"""Create or update a mailbox by its slug, for automation (deployment scripts, configuration management).

    manage.py mailbox_configure support --url 'imaps://support%40acme.example:secret@mail.acme.example/INBOX' \
        --from-address support@acme.example --type service_request --group service-desk --poll-interval 60
    manage.py mailbox_configure --list"""

from django.core.management.base import BaseCommand, CommandError

from catalog.models import ResolverGroup, Service
from itsm.lib.errors import DomainError
from mail.models import Mailbox
from mail.services import mailbox_configure
from tickets.choices import TicketType


class Command(BaseCommand):
    help = "Create or update a mailbox (by slug), or list them."

    def add_arguments(self, parser):
        parser.add_argument("slug", nargs="?")
        parser.add_argument("--list", action="store_true", help="list the mailboxes and their state")
        parser.add_argument("--name")
        parser.add_argument("--url", help="imap[s]://, pop3[s]://, maildir:///path or pipe:")
        parser.add_argument("--from-address")
        parser.add_argument("--from-name")
        parser.add_argument("--reply-to")
        parser.add_argument("--poll-interval", type=int)
        parser.add_argument("--processed-folder")
        parser.add_argument("--type", choices=TicketType.values, dest="ticket_type")
        parser.add_argument("--service", help="slug of the default service")
        parser.add_argument("--group", help="slug of the default resolver group")
        parser.add_argument("--refuse-unknown-senders", choices=["yes", "no"])
        parser.add_argument("--acknowledge", choices=["yes", "no"])
        parser.add_argument("--active", choices=["yes", "no"])

    def handle(self, *args, **o):
        if o["list"]:
            for m in Mailbox.objects.all():
                state = f"failing ({m.last_error})" if m.consecutive_failures else "ok"
                self.stdout.write(f"{m.slug}\t{m.safe_url}\t{'active' if m.is_active else 'inactive'}\t{state}")
            return
        if not o["slug"]:
            raise CommandError("Name the mailbox's slug (or use --list).")
        yes = {"yes": True, "no": False, None: None}
        fields = {
            "name": o["name"],
            "url": o["url"],
            "from_address": o["from_address"],
            "from_name": o["from_name"],
            "reply_to": o["reply_to"],
            "poll_interval": o["poll_interval"],
            "processed_folder": o["processed_folder"],
            "default_ticket_type": o["ticket_type"],
            "refuse_unknown_senders": yes[o["refuse_unknown_senders"]],
            "send_acknowledgements": yes[o["acknowledge"]],
            "is_active": yes[o["active"]],
        }
        if o["service"]:
            fields["default_service"] = self._get(Service, o["service"])
        if o["group"]:
            fields["default_resolver_group"] = self._get(ResolverGroup, o["group"])
        try:
            mailbox, created = mailbox_configure(slug=o["slug"], **fields)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"{'Created' if created else 'Updated'} mailbox {mailbox.slug}: {mailbox.safe_url}")

    @staticmethod
    def _get(model, slug):
        obj = model.objects.filter(slug=slug).first()
        if obj is None:
            raise CommandError(f"No {model._meta.verbose_name} with slug {slug!r}.")
        return obj
