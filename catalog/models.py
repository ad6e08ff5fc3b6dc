"""The service catalogue and the resolver groups that own its services."""

from django.conf import settings
from django.db import models

from catalog.choices import AssignmentStrategy
from itsm.lib.models import TimeStampedModel


class ResolverGroup(TimeStampedModel):
    """A team that takes ownership of tickets until resolution (Infrastructure, Security, ...)."""

    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=60, unique=True)
    description = models.TextField(blank=True)
    email = models.EmailField(blank=True, help_text="Team mailbox, for notifications.")
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="managed_resolver_groups",
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        through="ResolverGroupMembership",
        related_name="resolver_groups",
        blank=True,
    )
    escalation_contact = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who is called when the group's tickets escalate (the manager when empty).",
    )
    operational_calendar = models.ForeignKey(
        "sla.BusinessCalendar",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The group's operational hours. Empty: the group works around the clock.",
    )
    assignment_strategy = models.CharField(
        max_length=20, choices=AssignmentStrategy.choices, default=AssignmentStrategy.NONE
    )
    is_fallback = models.BooleanField(
        default=False, help_text="Takes tickets that no routing rule and no service default places (the Service Desk)."
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_fallback"], condition=models.Q(is_fallback=True), name="catalog_one_fallback_group"
            )
        ]

    def __str__(self) -> str:
        return self.name


class ResolverGroupMembership(models.Model):
    """A member of a resolver group (the assignment issue adds skills and availability here)."""

    group = models.ForeignKey(ResolverGroup, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["group", "user"]
        constraints = [models.UniqueConstraint(fields=["group", "user"], name="catalog_membership_unique")]

    def __str__(self) -> str:
        return f"{self.user} in {self.group}"


class Service(TimeStampedModel):
    """A business service of the catalogue. Criticality 1 is the most business-critical, 4 the least."""

    class Criticality(models.IntegerChoices):
        CRITICAL = 1, "1 - Critical"
        HIGH = 2, "2 - High"
        MEDIUM = 3, "3 - Medium"
        LOW = 4, "4 - Low"

    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=60, unique=True)
    description = models.TextField(blank=True)
    criticality = models.PositiveSmallIntegerField(choices=Criticality.choices, default=Criticality.MEDIUM)
    default_resolver_group = models.ForeignKey(
        ResolverGroup, null=True, blank=True, on_delete=models.SET_NULL, related_name="default_for_services"
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(criticality__gte=1, criticality__lte=4), name="catalog_service_criticality_1_4"
            )
        ]

    def __str__(self) -> str:
        return self.name
