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
