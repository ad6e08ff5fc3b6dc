"""Skills, absences, on-call rotations, routing rules, and the per-group assignment state."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from assignment.choices import AbsenceKind, RotationPeriod
from itsm.lib.models import TimeStampedModel


class AgentSkill(models.Model):
    """What an agent knows: a tag (e.g. `vpn`, `oracle`) and a level from 1 (basic) to 5 (expert)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="skills")
    tag = models.SlugField(max_length=60)
    level = models.PositiveSmallIntegerField(default=3)

    class Meta:
        ordering = ["user", "tag"]
        constraints = [
            models.UniqueConstraint(fields=["user", "tag"], name="agentskill_user_tag_unique"),
            models.CheckConstraint(condition=models.Q(level__gte=1, level__lte=5), name="agentskill_level_1_5"),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.tag}:{self.level}"


class Absence(models.Model):
    """A period when an agent must not be given new tickets (their group keeps owning their tickets)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="absences")
    kind = models.CharField(max_length=20, choices=AbsenceKind.choices, default=AbsenceKind.HOLIDAY)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-starts_at"]
        indexes = [models.Index(fields=["user", "starts_at", "ends_at"], name="absence_user_period_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="absence_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.get_kind_display()} {self.starts_at:%Y-%m-%d}–{self.ends_at:%Y-%m-%d}"


class OnCallRotation(TimeStampedModel):
    """Members take turns, one period each (a day or a week), handing off at a local time of day in the
    rotation's time zone. Wall-clock handoffs: across a DST change the handoff stays at, say, 09:00."""

    group = models.ForeignKey("catalog.ResolverGroup", on_delete=models.CASCADE, related_name="rotations")
    name = models.CharField(max_length=120)
    period = models.CharField(max_length=10, choices=RotationPeriod.choices, default=RotationPeriod.WEEKLY)
    time_zone = models.CharField(max_length=64, default="UTC", help_text="IANA name, e.g. Europe/Rome.")
    handoff_time = models.TimeField(default="09:00")
    handoff_weekday = models.PositiveSmallIntegerField(
        default=0, help_text="Weekly rotations: 0 = Monday ... 6 = Sunday."
    )
    starts_on = models.DateField(help_text="The first member's first period starts on this day, at the handoff time.")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["group", "name"]

    def __str__(self) -> str:
        return f"{self.group}: {self.name}"

    def clean(self) -> None:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValidationError({"time_zone": f"Unknown time zone {self.time_zone!r}."}) from exc
        if self.handoff_weekday > 6:
            raise ValidationError({"handoff_weekday": "0 (Monday) to 6 (Sunday)."})


class RotationMember(models.Model):
    rotation = models.ForeignKey(OnCallRotation, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["rotation", "position"]
        constraints = [models.UniqueConstraint(fields=["rotation", "position"], name="rotationmember_position_unique")]

    def __str__(self) -> str:
        return f"{self.rotation} #{self.position}: {self.user}"


class OnCallOverride(models.Model):
    """Someone else covers the rotation for a while (a swap, a sick day)."""

    rotation = models.ForeignKey(OnCallRotation, on_delete=models.CASCADE, related_name="overrides")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="override_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} covers {self.rotation} from {self.starts_at:%Y-%m-%d %H:%M}"


class RoutingRule(TimeStampedModel):
    """An ordered rule: when every condition that is set matches, the ticket goes to `target_group`.
    Empty conditions match anything. The first active rule (lowest order) that matches wins."""

    name = models.CharField(max_length=120)
    order = models.PositiveIntegerField(default=100)
    is_active = models.BooleanField(default=True)
    ticket_types = models.JSONField(default=list, blank=True, help_text='e.g. ["incident"]; empty = any')
    priorities = models.JSONField(default=list, blank=True, help_text='e.g. ["P1", "P2"]; empty = any')
    services = models.ManyToManyField("catalog.Service", blank=True, related_name="+")
    organizations = models.ManyToManyField("accounts.Organization", blank=True, related_name="+")
    categories = models.JSONField(default=list, blank=True, help_text="category names; empty = any")
    keywords = models.CharField(
        max_length=500, blank=True, help_text="Comma-separated words; any of them in the title or description."
    )
    target_group = models.ForeignKey("catalog.ResolverGroup", on_delete=models.PROTECT, related_name="+")
    required_skills = models.JSONField(
        default=list, blank=True, help_text='Skill tags the "best skill" strategy looks for, e.g. ["vpn"].'
    )

    class Meta:
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return f"{self.order}. {self.name} → {self.target_group}"


class GroupAssignmentState(models.Model):
    """One row per group: the lock that serializes automatic assignment inside the group (two tickets
    assigned at the same moment cannot both pick the same least-loaded person), and the round-robin cursor."""

    group = models.OneToOneField("catalog.ResolverGroup", on_delete=models.CASCADE, related_name="assignment_state")
    last_assigned = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    assignments = models.PositiveBigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["group"]

    def __str__(self) -> str:
        return f"{self.group}: {self.assignments} automatic assignments"


class TicketRouting(models.Model):
    """How the system last routed a ticket: the rule (or default) that chose the group and why the member
    was chosen, kept for the ticket page ("routed to Network Operations by rule 'VPN keywords'")."""

    ticket = models.OneToOneField("tickets.Ticket", on_delete=models.CASCADE, related_name="routing")
    rule = models.ForeignKey(RoutingRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    rule_name = models.CharField(max_length=120, blank=True)
    source = models.CharField(max_length=20)
    explanation = models.CharField(max_length=500)
    decided_at = models.DateTimeField()

    class Meta:
        ordering = ["-decided_at"]

    def __str__(self) -> str:
        return f"{self.ticket_id}: {self.explanation}"
