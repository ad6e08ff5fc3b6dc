"""The outbox: every mail the system sends is first a row here, written in the same transaction as the
change that causes it, then delivered by a Celery task (and by the every-minute sweeper if the broker
was down). Nothing is lost when Redis or the SMTP server is unavailable."""

from django.db import models
from django.utils import timezone


class OutboundEmail(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    class Kind(models.TextChoices):
        ACKNOWLEDGEMENT = "acknowledgement", "Acknowledgement"
        STATUS_UPDATE = "status_update", "Status update"
        INFO_REQUEST = "info_request", "Request for information"
        RESOLUTION_NOTICE = "resolution_notice", "Resolution notice"
        CLOSURE = "closure", "Closure"
        REOPEN = "reopen", "Reopen"
        AGENT_REPLY = "agent_reply", "Agent reply"
        INTERNAL = "internal", "Internal notification"
        VENDOR = "vendor", "Mail to a vendor"

    ticket = models.ForeignKey(
        "tickets.Ticket", null=True, blank=True, on_delete=models.PROTECT, related_name="outbound_emails"
    )
    kind = models.CharField(max_length=32, choices=Kind.choices)
    from_email = models.CharField(max_length=255)
    reply_to = models.CharField(max_length=255, blank=True)
    to = models.JSONField(default=list)
    cc = models.JSONField(default=list, blank=True)
    subject = models.CharField(max_length=255)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)
    message_id = models.CharField(max_length=255, unique=True)
    in_reply_to = models.CharField(max_length=255, blank=True)
    references = models.TextField(blank=True)
    headers = models.JSONField(default=dict, blank=True)
    rate_key = models.CharField(
        max_length=320, blank=True, db_index=True, help_text="Lower-cased recipient of a rate-limited mail."
    )

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="outbox_due_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {', '.join(self.to)}: {self.subject}"


class MessageTemplate(models.Model):
    """The text of one kind of customer mail in one language, edited by Service Managers. Placeholders are
    `{{ name }}` from an allowlist (communications/rendering.py); nothing else in the text is interpreted."""

    class Kind(models.TextChoices):
        ACKNOWLEDGEMENT = "acknowledgement", "Acknowledgement"
        STATUS_UPDATE = "status_update", "Status update"
        INFO_REQUEST = "info_request", "Request for information"
        RESOLUTION_NOTICE = "resolution_notice", "Resolution notice"
        CLOSURE = "closure", "Closure"
        REOPEN = "reopen", "Reopen"
        AGENT_REPLY = "agent_reply", "Agent reply"

    kind = models.CharField(max_length=32, choices=Kind.choices)
    language = models.CharField(max_length=8, choices=[("en", "English"), ("it", "Italiano")])
    subject = models.CharField(max_length=255)
    body = models.TextField()
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["kind", "language"]
        constraints = [models.UniqueConstraint(fields=["kind", "language"], name="message_template_kind_lang_unique")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.language})"


class TicketCommunication(models.Model):
    """What the customer has been told about one ticket, and what is due: the first response by the system
    (the acknowledgement) beside the ticket's first response by a person (Ticket.first_response_at), the
    last update the customer got, the status-update flag, and the information still missing."""

    ticket = models.OneToOneField(
        "tickets.Ticket", on_delete=models.CASCADE, primary_key=True, related_name="communication"
    )
    mailbox = models.ForeignKey(
        "mail.Mailbox", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="The mailbox the ticket came in through: its address signs our mail.",
    )  # fmt: skip
    first_system_response_at = models.DateTimeField(null=True, blank=True)
    last_customer_update_at = models.DateTimeField(null=True, blank=True)
    status_update_due_since = models.DateTimeField(
        null=True, blank=True, help_text="Set when a status update is overdue; cleared when one is sent."
    )
    missing_info = models.JSONField(default=list, blank=True)
    info_requested_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["ticket"]
        indexes = [models.Index(fields=["status_update_due_since"], name="ticketcomm_update_due_idx")]

    def __str__(self) -> str:
        return f"Communication of {self.ticket_id}"


class StatusUpdateCadence(models.Model):
    """How often a customer of a ticket of this priority must hear from us (for example P1 every hour)."""

    priority = models.CharField(max_length=2, unique=True, choices=[(f"P{i}", f"P{i}") for i in range(1, 5)])
    every_minutes = models.PositiveIntegerField()
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["priority"]

    def __str__(self) -> str:
        return f"{self.priority} every {self.every_minutes} min"


class InformationRequirement(models.Model):
    """What a ticket of this type must tell us (for an Access Request: system, access level, for whom).
    An item counts as given when the request has a line `<item>: <something>`."""

    ticket_type = models.CharField(max_length=32, unique=True)
    items = models.JSONField(default=list, help_text='e.g. ["System", "Access level", "For whom"]')

    class Meta:
        ordering = ["ticket_type"]

    def __str__(self) -> str:
        return f"{self.ticket_type}: {', '.join(self.items)}"
