"""The ticket, its conversation (comments and attachments), its links and its audit trail.

Rows here are written only by tickets/services.py (and tickets/events.py for the audit trail)."""

import uuid
from pathlib import PurePosixPath

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from tickets.choices import (
    ALLOWED_TRANSITIONS,
    LinkKind,
    PendingReason,
    Priority,
    ResolutionCode,
    TicketEventType,
    TicketStatus,
    TicketType,
)
from tickets.choices import Channel as ChannelChoices


class TicketNumberCounter(models.Model):
    """The counter behind ticket numbers. It is incremented with one `UPDATE ... RETURNING` inside the
    creating transaction: the row stays locked until commit, so two creations can never read the same
    value (never max()+1), and a number once committed is never handed out again."""

    name = models.CharField(max_length=40, primary_key=True)
    value = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name}={self.value}"


class Ticket(models.Model):
    """A request logged by the service desk: one incident, request or question, from intake to closure."""

    number = models.CharField(max_length=20, unique=True, editable=False)
    ticket_type = models.CharField(max_length=32, choices=TicketType.choices, default=TicketType.INCIDENT)
    channel = models.CharField(max_length=16, choices=ChannelChoices.choices, default=ChannelChoices.AGENT)
    title = models.CharField(max_length=255)
    description = models.TextField(blank=True)

    requester = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="requested_tickets")
    organization = models.ForeignKey(
        "accounts.Organization", null=True, blank=True, on_delete=models.PROTECT, related_name="tickets"
    )
    watchers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="watched_tickets", help_text="CC watchers."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    impact = models.PositiveSmallIntegerField(default=4, help_text="1 enterprise ... 4 single user")
    urgency = models.PositiveSmallIntegerField(default=3, help_text="1 critical ... 4 low")
    priority = models.CharField(max_length=2, choices=Priority.choices, blank=True)
    priority_override_reason = models.TextField(
        blank=True, help_text="Set when an agent chose the priority by hand; empty: it follows the priority matrix."
    )

    service = models.ForeignKey(
        "catalog.Service", null=True, blank=True, on_delete=models.PROTECT, related_name="tickets"
    )
    resolver_group = models.ForeignKey(
        "catalog.ResolverGroup", null=True, blank=True, on_delete=models.PROTECT, related_name="tickets"
    )
    category = models.ForeignKey(
        "classification.Category", null=True, blank=True, on_delete=models.PROTECT, related_name="tickets"
    )
    classification_rule = models.ForeignKey(
        "classification.ClassificationRule",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tickets",
        help_text="The intake rule that classified the ticket (its name stays in the CREATED event).",
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assigned_tickets",
    )

    status = models.CharField(max_length=16, choices=TicketStatus.choices, default=TicketStatus.NEW)
    pending_reason = models.CharField(max_length=24, choices=PendingReason.choices, blank=True)
    resolution_code = models.CharField(max_length=32, choices=ResolutionCode.choices, blank=True)
    resolution_notes = models.TextField(blank=True)
    cancel_reason = models.TextField(blank=True)
    reopen_count = models.PositiveIntegerField(default=0)
    group_hops = models.PositiveIntegerField(default=0, help_text="How many times the resolver group changed.")

    # Closure evidence (step 7 of the process).
    resolution_notice_sent_at = models.DateTimeField(null=True, blank=True)
    resolution_accepted_at = models.DateTimeField(null=True, blank=True)
    resolution_rejected_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)
    updated_at = models.DateTimeField(default=timezone.now)
    first_response_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    # Optimistic concurrency: every write increments it; a write that names an older version is refused.
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [
            ("work_ticket", "Can work tickets as an agent"),
            ("view_all_tickets", "Can see every ticket"),
            ("manage_configuration", "Can manage service desk configuration"),
        ]
        indexes = [
            models.Index(fields=["status", "-created_at"], name="ticket_status_created_idx"),
            models.Index(fields=["resolver_group", "status"], name="ticket_group_status_idx"),
            models.Index(fields=["assignee", "status"], name="ticket_assignee_status_idx"),
            models.Index(fields=["requester", "-created_at"], name="ticket_requester_idx"),
            models.Index(fields=["organization", "-created_at"], name="ticket_org_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=[s.value for s in TicketStatus]), name="ticket_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(ticket_type__in=[t.value for t in TicketType]), name="ticket_type_valid"
            ),
            models.CheckConstraint(condition=models.Q(impact__gte=1, impact__lte=4), name="ticket_impact_1_4"),
            models.CheckConstraint(condition=models.Q(urgency__gte=1, urgency__lte=4), name="ticket_urgency_1_4"),
            models.CheckConstraint(
                condition=(
                    models.Q(status=TicketStatus.PENDING, pending_reason__in=[r.value for r in PendingReason])
                    | (~models.Q(status=TicketStatus.PENDING) & models.Q(pending_reason=""))
                ),
                name="ticket_pending_reason_iff_pending",
            ),
            models.CheckConstraint(condition=models.Q(version__gte=1), name="ticket_version_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    def get_absolute_url(self) -> str:
        return reverse("tickets:detail", args=[self.number])

    @property
    def allowed_next_statuses(self) -> list[str]:
        return sorted(ALLOWED_TRANSITIONS[self.status])

    @property
    def is_open(self) -> bool:
        return self.status not in (TicketStatus.RESOLVED, TicketStatus.CLOSED, TicketStatus.CANCELLED)


class Comment(models.Model):
    """A message on a ticket: public (the customer sees it) or an internal work note."""

    ticket = models.ForeignKey(Ticket, on_delete=models.PROTECT, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    author_name = models.CharField(max_length=200)
    body = models.TextField()
    is_public = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["ticket", "created_at"], name="comment_ticket_created_idx")]

    def __str__(self) -> str:
        return f"{'Public' if self.is_public else 'Internal'} comment on {self.ticket_id} by {self.author_name}"


def attachment_upload_to(instance: "Attachment", filename: str) -> str:
    """A generated name: nothing the uploader chose reaches the filesystem path."""
    now = timezone.now()
    return f"attachments/{now:%Y/%m}/{uuid.uuid4().hex}"


class Attachment(models.Model):
    """A file on a ticket, stored under a generated name and served only through a permission check,
    always as a download (Content-Disposition: attachment, X-Content-Type-Options: nosniff)."""

    ticket = models.ForeignKey(Ticket, on_delete=models.PROTECT, related_name="attachments")
    comment = models.ForeignKey(Comment, null=True, blank=True, on_delete=models.PROTECT, related_name="attachments")
    file = models.FileField(upload_to=attachment_upload_to, max_length=255)
    filename = models.CharField(max_length=255, help_text="The original name, shown and offered on download.")
    content_type = models.CharField(max_length=120, default="application/octet-stream")
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    is_public = models.BooleanField(default=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.filename

    @property
    def extension(self) -> str:
        return PurePosixPath(self.filename).suffix.lower()


class TicketLink(models.Model):
    """`source` <kind> `target`: parent of, duplicate of, related to, caused by."""

    source = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="links_out")
    target = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="links_in")
    kind = models.CharField(max_length=16, choices=LinkKind.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["source", "target", "kind"], name="ticketlink_unique"),
            models.CheckConstraint(condition=~models.Q(source=models.F("target")), name="ticketlink_not_self"),
            # A ticket has at most one parent, and is a duplicate of at most one ticket.
            models.UniqueConstraint(
                fields=["target"], condition=models.Q(kind=LinkKind.PARENT_OF), name="ticketlink_one_parent"
            ),
            models.UniqueConstraint(
                fields=["source"],
                condition=models.Q(kind=LinkKind.DUPLICATE_OF),
                name="ticketlink_one_duplicate_of",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source_id} {self.kind} {self.target_id}"


class TicketEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError("TicketEvent rows are append-only: they are never updated.")

    def delete(self):
        raise TypeError("TicketEvent rows are append-only: they are never deleted.")


class TicketEvent(models.Model):
    """One entry of a ticket's append-only audit trail, written in the same transaction as the change.

    Tamper evidence: `hash` is SHA-256 over the event's canonical content and the previous event's hash
    for the same ticket (`prev_hash`); `manage.py audit_verify` recomputes every chain."""

    ticket = models.ForeignKey(Ticket, on_delete=models.PROTECT, related_name="events")
    seq = models.PositiveIntegerField(help_text="1, 2, 3... per ticket")
    event_type = models.CharField(max_length=40, choices=TicketEventType.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_name = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    data = models.JSONField(default=dict)
    is_public = models.BooleanField(default=False, help_text="Shown to the customer on the ticket's history.")
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    objects = TicketEventQuerySet.as_manager()

    class Meta:
        ordering = ["ticket", "seq"]
        constraints = [models.UniqueConstraint(fields=["ticket", "seq"], name="ticketevent_ticket_seq_unique")]
        indexes = [models.Index(fields=["event_type", "created_at"], name="ticketevent_type_time_idx")]

    def __str__(self) -> str:
        return f"{self.ticket_id}#{self.seq} {self.event_type}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise TypeError("TicketEvent rows are append-only: they are never updated.")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("TicketEvent rows are append-only: they are never deleted.")


class TicketAuditHead(models.Model):
    """The end of each ticket's chain (sequence number and hash of its last event), moved forward in the
    transaction that appends an event. `audit_verify` compares every chain with it, so deleting the last
    events of a ticket, or all of them, is caught too, not only an edit or a gap inside a chain."""

    ticket = models.OneToOneField(Ticket, primary_key=True, on_delete=models.PROTECT, related_name="audit_head")
    seq = models.PositiveIntegerField()
    hash = models.CharField(max_length=64)

    class Meta:
        verbose_name = "audit chain head"

    def __str__(self) -> str:
        return f"{self.ticket_id}#{self.seq}"
