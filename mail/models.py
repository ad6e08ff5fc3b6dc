"""Mailboxes we take mail from, and every message taken in (raw bytes kept, linked to what it produced).

Rows here are written only by mail/services.py."""

from urllib.parse import urlsplit, urlunsplit

from django.db import models
from django.urls import reverse
from django.utils import timezone

from mail.choices import POLLED_SCHEMES, InboundStatus, Scheme
from tickets.choices import TicketType


class Mailbox(models.Model):
    """A source of customer mail: an IMAP or POP3 account, a Maildir folder, or an MTA pipe. Its defaults
    (type, service, group) apply to the tickets it opens; its From/Reply-To address signs what we send."""

    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=60, unique=True)
    url = models.CharField(
        max_length=500,
        help_text="imap://user:pass@host:143/INBOX (add ?starttls=1), imaps://user:pass@host:993/INBOX, "
        "pop3://user:pass@host:110 (?starttls=1), pop3s://..., maildir:///var/mail/support, or pipe:",
    )
    is_active = models.BooleanField(default=True)
    poll_interval = models.PositiveIntegerField(default=60, help_text="Seconds between two polls.")
    processed_folder = models.CharField(
        max_length=200,
        blank=True,
        help_text="IMAP: move taken messages to this folder (after the database commit). Empty: flag them.",
    )
    default_ticket_type = models.CharField(max_length=32, choices=TicketType.choices, default=TicketType.INCIDENT)
    default_service = models.ForeignKey(
        "catalog.Service", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    default_resolver_group = models.ForeignKey(
        "catalog.ResolverGroup", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    from_address = models.EmailField(blank=True, help_text="From of the mail we send for its tickets.")
    from_name = models.CharField(max_length=120, blank=True, default="Service Desk")
    reply_to = models.EmailField(blank=True, help_text="Reply-To of the mail we send (default: From).")
    refuse_unknown_senders = models.BooleanField(
        default=False, help_text="Quarantine mail from addresses that are not known contacts (never answered)."
    )
    send_acknowledgements = models.BooleanField(default=True)

    next_poll_at = models.DateTimeField(default=timezone.now)
    poll_lease_until = models.DateTimeField(null=True, blank=True, editable=False)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "mailboxes"
        permissions = [("view_failed_mail", "Can see failed mail and replay it")]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        from mail.loops import own_addresses_forget

        super().save(*args, **kwargs)
        own_addresses_forget()

    @property
    def scheme(self) -> str:
        return urlsplit(self.url).scheme.lower() or Scheme.PIPE

    @property
    def is_polled(self) -> bool:
        return self.scheme in POLLED_SCHEMES

    @property
    def safe_url(self) -> str:
        """The URL without its password, for pages and logs."""
        parts = urlsplit(self.url)
        if parts.password:
            netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
            return urlunsplit(parts._replace(netloc=netloc))
        return self.url

    @property
    def own_addresses(self) -> set[str]:
        return {a.lower() for a in (self.from_address, self.reply_to) if a}


class InboundMessage(models.Model):
    """One message taken in. The raw bytes are kept whatever happened; (mailbox, message_id) is unique, so a
    message delivered twice is taken in once. A quarantined message waits for a person (and a replay)."""

    mailbox = models.ForeignKey(Mailbox, on_delete=models.PROTECT, related_name="messages")
    message_id = models.CharField(max_length=255)
    message_id_derived = models.BooleanField(default=False, help_text="No Message-ID: derived from the content.")
    raw = models.BinaryField()
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    source = models.CharField(max_length=255, blank=True, help_text="Where it came from (IMAP UID, file, stdin).")

    from_address = models.CharField(max_length=320, blank=True)
    from_name = models.CharField(max_length=200, blank=True)
    subject = models.CharField(max_length=500, blank=True)
    to = models.JSONField(default=list, blank=True)
    cc = models.JSONField(default=list, blank=True)
    in_reply_to = models.TextField(blank=True)
    references = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True, help_text="The Date header.")
    received_at = models.DateTimeField(default=timezone.now, db_index=True)

    conversation_key = models.CharField(
        max_length=255,
        blank=True,
        help_text="The thread's first Message-ID (References, In-Reply-To, else its own): messages of one "
        "conversation are processed in the order they were received.",
    )
    status = models.CharField(max_length=16, choices=InboundStatus.choices, default=InboundStatus.RECEIVED)
    reason = models.TextField(blank=True, help_text="Why it was quarantined, or what was done and why.")
    flags = models.JSONField(default=dict, blank=True, help_text="Auto-reply, bounce, list... as detected.")
    sender = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="inbound_messages"
    )
    ticket = models.ForeignKey(
        "tickets.Ticket", null=True, blank=True, on_delete=models.PROTECT, related_name="inbound_messages"
    )
    comment = models.ForeignKey(
        "tickets.Comment", null=True, blank=True, on_delete=models.PROTECT, related_name="inbound_messages"
    )
    body_html = models.TextField(blank=True, help_text="The sanitized HTML body, quoted history folded.")
    cid_map = models.JSONField(default=dict, blank=True, help_text="Content-ID -> attachment id.")
    processed_at = models.DateTimeField(null=True, blank=True)
    replay_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["mailbox", "message_id"], name="inbound_mailbox_message_id_unique")
        ]
        indexes = [
            models.Index(fields=["message_id"], name="inbound_message_id_idx"),
            models.Index(fields=["status", "-received_at"], name="inbound_status_idx"),
            models.Index(
                fields=["conversation_key", "id"],
                name="inbound_waiting_conv_idx",
                condition=models.Q(status="received"),
            ),
        ]

    def __str__(self) -> str:
        return f"<{self.message_id}> {self.subject[:60]}"

    def get_absolute_url(self) -> str:
        return reverse("mail:failed-detail", args=[self.pk])
