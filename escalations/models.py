"""Escalation paths and their levels, the escalations that fired, the per-ticket schedule of the next check,
collaborating groups (functional escalation), vendors with their underpinning contracts and cases, major
incidents, and the in-app notifications.

Rows here are written only by escalations/services.py (configuration, firing, de-escalation, vendor cases,
major incidents) and escalations/notifications.py (notifications)."""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from escalations.choices import (
    DEESCALATION_REASONS,
    VENDOR_CASE_ACTIVE,
    EscalationKind,
    FunctionalMode,
    MessageDirection,
    NotificationKind,
    ThresholdKind,
    VendorCaseStatus,
)
from itsm.lib.models import TimeStampedModel
from sla.choices import SlaMetric

# --- paths and levels (configuration) ------------------------------------------------------------------


class EscalationPath(TimeStampedModel):
    """A predefined escalation path, configured by a Service Manager. Paths are tried by `position`; the first
    active path whose conditions all hold applies to a ticket: its SLA policy is one of `sla_policies`, its
    resolver group one of `resolver_groups`, its priority one of `priorities` (an empty condition matches
    anything, so a path without conditions is the default)."""

    name = models.CharField(max_length=120, unique=True)
    position = models.PositiveIntegerField(default=100, help_text="Lower is tried first.")
    is_active = models.BooleanField(default=True)
    description = models.TextField(blank=True)
    sla_policies = models.ManyToManyField("sla.SlaPolicy", blank=True, related_name="escalation_paths")
    resolver_groups = models.ManyToManyField("catalog.ResolverGroup", blank=True, related_name="escalation_paths")
    priorities = models.JSONField(default=list, blank=True, help_text="Any of these priorities (empty: any).")
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("escalations:path-edit", args=[self.pk])


class EscalationLevel(models.Model):
    """One level of a path: when it fires (its threshold) and what it does (its actions). Levels fire in
    the order of their thresholds; each fires once per ticket and clock cycle (Escalation's unique key)."""

    path = models.ForeignKey(EscalationPath, on_delete=models.CASCADE, related_name="levels")
    number = models.PositiveSmallIntegerField(help_text="1, 2, 3...: the level the ticket reaches.")
    name = models.CharField(max_length=120, help_text='e.g. "Group manager", "Service Manager", "Head of IT".')

    kind = models.CharField(max_length=20, choices=ThresholdKind.choices)
    metric = models.CharField(
        max_length=20, choices=SlaMetric.choices, blank=True, help_text="The SLA clock (clock thresholds)."
    )
    percent = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Percent of the clock's target.")
    duration = models.DurationField(
        null=True, blank=True, help_text="Business time before/after the target, or how long an update is overdue."
    )
    count = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Reopened this many times.")

    notify_assignee = models.BooleanField(default=False)
    notify_group_manager = models.BooleanField(
        default=False, help_text="The ticket's group manager and the group's escalation contact."
    )
    notify_service_managers = models.BooleanField(default=False, help_text="Every active Service Manager.")
    contact = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="A named management contact to notify.",
    )
    functional_group = models.ForeignKey(
        "catalog.ResolverGroup",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Functional escalation: the more specialised group.",
    )
    functional_mode = models.CharField(max_length=8, choices=FunctionalMode.choices, blank=True)
    vendor = models.ForeignKey(
        "escalations.Vendor",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Vendor escalation: open a case with this vendor (or remind it of the open one).",
    )

    class Meta:
        ordering = ["path", "number"]
        constraints = [
            models.UniqueConstraint(fields=["path", "number"], name="escalationlevel_path_number_unique"),
            models.CheckConstraint(condition=models.Q(number__gte=1), name="escalationlevel_number_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.path.name} L{self.number} {self.name}"


# --- what fired ------------------------------------------------------------------------------------------


class Escalation(models.Model):
    """An escalation of a ticket: a level of its path that fired, or one made by hand (functional, vendor,
    major incident; `level` empty). `key` names the clock cycle it belongs to (e.g. "resolution#1.r0": the
    resolution clock, cycle 1, before any reopen); the unique (ticket, level, key) makes each level fire
    exactly once per clock cycle, whatever the number of scanners or retries. It stays active until it is
    de-escalated (`closed_at`, `closed_reason`): the clock was met, the ticket resolved..."""

    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="escalations")
    path = models.ForeignKey(EscalationPath, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    path_name = models.CharField(max_length=120, blank=True)
    level = models.ForeignKey(EscalationLevel, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    level_number = models.PositiveSmallIntegerField(default=0, help_text="0: an escalation made by hand.")
    level_name = models.CharField(max_length=120, blank=True)
    kinds = models.JSONField(default=list, help_text="hierarchical, functional, vendor, major_incident")
    key = models.CharField(max_length=120)
    metric = models.CharField(max_length=20, blank=True)
    cycle = models.PositiveIntegerField(null=True, blank=True)
    threshold = models.CharField(max_length=255, blank=True, help_text="The rule that fired, in words.")
    crossed_at = models.DateTimeField(null=True, blank=True, help_text="When the threshold was crossed.")
    fired_at = models.DateTimeField(default=timezone.now)
    reason = models.TextField(blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actions = models.JSONField(default=dict, blank=True, help_text="What was done: recipients, group, case...")
    event = models.ForeignKey("tickets.TicketEvent", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_reason = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["ticket", "fired_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "level", "key"], condition=models.Q(level__isnull=False), name="escalation_once"
            )
        ]
        indexes = [
            models.Index(fields=["ticket"], name="escalation_active_idx", condition=models.Q(closed_at__isnull=True)),
            models.Index(fields=["fired_at"], name="escalation_fired_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id} L{self.level_number} {self.key}"

    @property
    def is_active(self) -> bool:
        return self.closed_at is None

    @property
    def closed_reason_label(self) -> str:
        return DEESCALATION_REASONS.get(self.closed_reason, self.closed_reason)

    @property
    def label(self) -> str:
        if self.level_number:
            return f"Level {self.level_number}: {self.level_name}"
        return "By hand: " + ", ".join(EscalationKind(k).label.lower() for k in self.kinds if k in EscalationKind)


class EscalationSchedule(models.Model):
    """When the escalation scan must look at a ticket next: the earliest threshold of its path that has not
    fired yet (null: nothing left to fire). Kept up to date by the ticket subscriber whenever the ticket's
    clocks, group, status or status-update flag change; the every-minute scan reads only the rows whose
    indexed `next_check_at` has passed, so its work follows the tickets due, not the open tickets."""

    ticket = models.OneToOneField(
        "tickets.Ticket", on_delete=models.CASCADE, primary_key=True, related_name="escalation_schedule"
    )
    path = models.ForeignKey(EscalationPath, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    next_check_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["ticket"]
        indexes = [
            models.Index(
                fields=["next_check_at"],
                name="escschedule_next_check_idx",
                condition=models.Q(next_check_at__isnull=False),
            )
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id} next check {self.next_check_at}"


class TicketCollaboration(models.Model):
    """A collaborating group (functional escalation "add"): its members see and work the ticket while the
    owning group keeps it. Ended by `removed_at` (never deleted, so the history stays)."""

    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="collaborations")
    group = models.ForeignKey("catalog.ResolverGroup", on_delete=models.PROTECT, related_name="collaborations")
    reason = models.TextField()
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    added_at = models.DateTimeField(default=timezone.now)
    escalation = models.ForeignKey(Escalation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    removed_at = models.DateTimeField(null=True, blank=True)
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["ticket", "added_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "group"],
                condition=models.Q(removed_at__isnull=True),
                name="collaboration_one_active_per_group",
            )
        ]
        indexes = [
            models.Index(
                fields=["group", "ticket"], name="collab_group_active_idx", condition=models.Q(removed_at=None)
            )
        ]

    def __str__(self) -> str:
        return f"{self.group} on {self.ticket_id}"


# --- vendors ---------------------------------------------------------------------------------------------


class Vendor(TimeStampedModel):
    """A third party that supports components under its responsibility. Its contacts are users with the
    Vendor role (they see the vendor's cases, and the tickets of those cases without internal notes); mail
    from them, or from the vendor's mail domains, is matched to a case by our ticket tag or by
    `reference_pattern`, the shape of the vendor's own ticket numbers."""

    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=60, unique=True)
    support_email = models.EmailField(blank=True, help_text="Where case mail goes (besides the contacts).")
    email_domains = models.JSONField(default=list, blank=True, help_text='e.g. ["vendor.example"]')
    reference_pattern = models.CharField(
        max_length=200,
        blank=True,
        help_text=r"A regular expression for the vendor's ticket numbers, e.g. INC\d{7} (a group, if any, is kept).",
    )
    contacts = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="vendors")
    is_active = models.BooleanField(default=True)
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class UnderpinningContract(TimeStampedModel):
    """What the vendor owes us: response and resolution targets in business time of a calendar."""

    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="contracts")
    name = models.CharField(max_length=120)
    reference = models.CharField(max_length=80, blank=True, help_text="The contract's number.")
    calendar = models.ForeignKey("sla.BusinessCalendar", on_delete=models.PROTECT, related_name="+")
    response_target = models.DurationField(help_text="Business time to the vendor's first answer.")
    resolution_target = models.DurationField(help_text="Business time to the vendor's resolution.")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["vendor", "name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(response_target__gt=timedelta(0), resolution_target__gt=timedelta(0)),
                name="contract_targets_positive",
            )
        ]

    def __str__(self) -> str:
        return f"{self.vendor.name}: {self.name}"


class VendorCase(models.Model):
    """A case opened with a vendor for a ticket: the vendor's reference, its status, and its own clock
    (response and resolution due on the contract's calendar, alongside the customer's SLA clocks). The
    `*_breach_recorded_at` columns are set once, by a conditional update, when the scan records a miss."""

    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.PROTECT, related_name="vendor_cases")
    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="cases")
    contract = models.ForeignKey(
        UnderpinningContract, null=True, blank=True, on_delete=models.PROTECT, related_name="cases"
    )
    vendor_reference = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=12, choices=VendorCaseStatus.choices, default=VendorCaseStatus.OPEN)
    summary = models.TextField(help_text="What we ask of the vendor.")
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    opened_at = models.DateTimeField(default=timezone.now)
    responded_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    response_due_at = models.DateTimeField(null=True, blank=True)
    resolution_due_at = models.DateTimeField(null=True, blank=True)
    response_breach_recorded_at = models.DateTimeField(null=True, blank=True)
    resolution_breach_recorded_at = models.DateTimeField(null=True, blank=True)
    next_check_at = models.DateTimeField(null=True, blank=True)
    escalation = models.ForeignKey(Escalation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["vendor", "vendor_reference"],
                condition=~models.Q(vendor_reference=""),
                name="vendorcase_reference_unique",
            ),
            models.UniqueConstraint(
                fields=["ticket", "vendor"],
                condition=models.Q(status__in=[s.value for s in VENDOR_CASE_ACTIVE]),
                name="vendorcase_one_active_per_vendor",
            ),
        ]
        indexes = [
            models.Index(fields=["vendor", "status"], name="vendorcase_vendor_status_idx"),
            models.Index(
                fields=["next_check_at"],
                name="vendorcase_next_check_idx",
                condition=models.Q(next_check_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.vendor.name} case for {self.ticket_id}" + (
            f" ({self.vendor_reference})" if self.vendor_reference else ""
        )

    def get_absolute_url(self) -> str:
        return reverse("escalations:vendor-case", args=[self.pk])

    @property
    def is_active(self) -> bool:
        return self.status in VENDOR_CASE_ACTIVE


class VendorCaseMessage(models.Model):
    """The case's correspondence: our mail to the vendor (through the outbox) and the vendor's answers (by
    mail, kept as internal notes on the ticket, or from the vendor portal). Message-IDs thread the
    conversation and match replies to the case."""

    case = models.ForeignKey(VendorCase, on_delete=models.CASCADE, related_name="messages")
    direction = models.CharField(max_length=3, choices=MessageDirection.choices)
    at = models.DateTimeField(default=timezone.now)
    author_name = models.CharField(max_length=200)
    subject = models.CharField(max_length=255, blank=True)
    body = models.TextField()
    message_id = models.CharField(max_length=255, blank=True, help_text="Without angle brackets.")
    outbound = models.ForeignKey(
        "communications.OutboundEmail", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    inbound = models.ForeignKey(
        "mail.InboundMessage", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    comment = models.ForeignKey("tickets.Comment", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["case", "at", "id"]
        indexes = [models.Index(fields=["message_id"], name="vendorcasemsg_message_id_idx")]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} {self.at:%Y-%m-%d %H:%M}: {self.subject[:60]}"


# --- major incidents -------------------------------------------------------------------------------------


class MajorIncident(models.Model):
    """A ticket declared a major incident: the hierarchy is notified at once, child incidents are linked to it
    (TicketLink parent of), and each status update on it reaches the requesters of every child."""

    ticket = models.OneToOneField("tickets.Ticket", on_delete=models.CASCADE, related_name="major_incident")
    summary = models.TextField()
    declared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    declared_at = models.DateTimeField(default=timezone.now)
    escalation = models.ForeignKey(Escalation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    broadcasts = models.PositiveIntegerField(default=0, help_text="Status updates sent to the children's requesters.")

    class Meta:
        ordering = ["-declared_at"]

    def __str__(self) -> str:
        return f"Major incident {self.ticket_id}"


# --- in-app notifications --------------------------------------------------------------------------------


class Notification(models.Model):
    """A message for one person in the app (the top bar shows the unread count); the same news goes by mail
    through the outbox."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    ticket = models.ForeignKey(
        "tickets.Ticket", null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=20, choices=NotificationKind.choices)
    title = models.CharField(max_length=255)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="notification_user_idx"),
            models.Index(fields=["user"], name="notification_unread_idx", condition=models.Q(read_at__isnull=True)),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.title}"
