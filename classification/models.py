"""Classification rules, categories per service, and the two priority tables.

Rows here are written only by classification/services.py (every change is versioned in the admin log)."""

from django.db import models

from classification.priority import CRITICALITIES, IMPACTS, PRIORITIES, URGENCIES
from itsm.lib.models import TimeStampedModel
from tickets.choices import Channel, TicketType


class Category(TimeStampedModel):
    """A category of a service's tickets, or (with a parent) a subcategory: two levels, per service."""

    service = models.ForeignKey("catalog.Service", on_delete=models.PROTECT, related_name="categories")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="subcategories")
    name = models.CharField(max_length=120)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["service__name", "parent__name", "name", "id"]
        verbose_name_plural = "categories"
        constraints = [
            models.UniqueConstraint(
                fields=["service", "name"], condition=models.Q(parent__isnull=True), name="category_top_unique"
            ),
            models.UniqueConstraint(
                fields=["parent", "name"], condition=models.Q(parent__isnull=False), name="category_sub_unique"
            ),
            models.CheckConstraint(condition=~models.Q(parent=models.F("id")), name="category_not_own_parent"),
        ]

    def __str__(self) -> str:
        return self.path

    @property
    def path(self) -> str:
        """ "Email and Calendar / Mailbox / Quota"-style, for pickers (reads the parent: select_related it)."""
        if self.parent_id:
            return f"{self.parent.name} / {self.name}"
        return self.name


class ClassificationRule(TimeStampedModel):
    """One ordered rule: when every condition it sets matches the incoming request, it sets the ticket's type,
    service, resolver group and category (each optional). Rules are tried by `position`; the first match wins,
    and the ticket records it (Ticket.classification_rule) so an agent can see who decided.

    Conditions left empty match anything. Keywords match whole words, case-insensitively, in the subject or
    the body; the regular expressions are searched (case-insensitive) in the subject and in the body."""

    name = models.CharField(max_length=120)
    position = models.PositiveIntegerField(default=100, help_text="Lower runs first.")
    is_active = models.BooleanField(default=True)
    description = models.TextField(blank=True)

    # --- conditions
    channels = models.JSONField(default=list, blank=True, help_text="Any of these channels (empty: any).")
    mailbox_key = models.CharField(
        max_length=200,
        blank=True,
        help_text="The mailbox the mail came in through: its slug (support) or address (support@acme.example).",
    )
    sender_domains = models.JSONField(
        default=list, blank=True, help_text='Sender mail domains (subdomains match too), e.g. ["acme.example"].'
    )
    organization = models.ForeignKey(
        "accounts.Organization", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    keywords = models.JSONField(default=list, blank=True, help_text="Any of these words in subject or body.")
    subject_regex = models.CharField(max_length=500, blank=True)
    body_regex = models.CharField(max_length=500, blank=True)
    form = models.CharField(max_length=60, blank=True, help_text="The portal form's key, e.g. general.")

    # --- outcome
    set_ticket_type = models.CharField(max_length=32, choices=TicketType.choices, blank=True)
    set_service = models.ForeignKey(
        "catalog.Service", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    set_resolver_group = models.ForeignKey(
        "catalog.ResolverGroup", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    set_category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(set_ticket_type="") | models.Q(set_ticket_type__in=TicketType.values),
                name="classificationrule_type_valid",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def channel_labels(self) -> list[str]:
        return [Channel(c).label for c in self.channels if c in Channel.values]


class PriorityMatrixCell(models.Model):
    """One cell of the priority matrix: impact x urgency -> base priority."""

    impact = models.PositiveSmallIntegerField(choices=[(i, i) for i in IMPACTS])
    urgency = models.PositiveSmallIntegerField(choices=[(u, u) for u in URGENCIES])
    priority = models.CharField(max_length=2, choices=[(p, p) for p in PRIORITIES])
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["impact", "urgency"]
        constraints = [
            models.UniqueConstraint(fields=["impact", "urgency"], name="prioritymatrix_cell_unique"),
            models.CheckConstraint(condition=models.Q(priority__in=PRIORITIES), name="prioritymatrix_priority_valid"),
        ]

    def __str__(self) -> str:
        return f"impact {self.impact} x urgency {self.urgency} = {self.priority}"


class CriticalityAdjustment(models.Model):
    """How a service's criticality shifts the base priority: +1 raises it one level (P3 -> P2)."""

    criticality = models.PositiveSmallIntegerField(unique=True, choices=[(c, c) for c in CRITICALITIES])
    shift = models.SmallIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["criticality"]
        constraints = [
            models.CheckConstraint(condition=models.Q(shift__gte=-3, shift__lte=3), name="criticality_shift_range")
        ]

    def __str__(self) -> str:
        return f"criticality {self.criticality}: {self.shift:+d}"
