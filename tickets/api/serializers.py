"""Input and output serializers of the ticket API. Inputs only validate; the services decide."""

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import User
from catalog.models import ResolverGroup, Service
from classification.models import Category
from sla.selectors import ticket_clock_views
from tickets.choices import (
    Channel,
    Impact,
    LinkKind,
    PendingReason,
    Priority,
    ResolutionCode,
    TicketStatus,
    TicketType,
    Urgency,
)
from tickets.models import Attachment, Comment, Ticket, TicketEvent


class SlaClockOutputSerializer(serializers.Serializer):
    """One SLA clock of the ticket, as of the response (business time in the clock's calendar)."""

    metric = serializers.CharField(help_text="first_response, resolution or next_update")
    label = serializers.CharField()
    target_at = serializers.DateTimeField(allow_null=True, help_text="When the target is used up (running clocks).")
    state = serializers.CharField(help_text="running, paused, met, breached or cancelled")
    remaining_business_seconds = serializers.IntegerField(help_text="Negative once breached.")
    percent_used = serializers.FloatField()
    paused = serializers.BooleanField()
    breached = serializers.BooleanField()
    target_business_seconds = serializers.IntegerField()
    elapsed_business_seconds = serializers.IntegerField()
    started_at = serializers.DateTimeField()
    stopped_at = serializers.DateTimeField(allow_null=True)
    cycle = serializers.IntegerField()
    policy = serializers.CharField()
    calendar_time_zone = serializers.CharField()


def sla_representation(ticket: Ticket) -> list[dict]:
    return [
        {
            "metric": v.metric,
            "label": v.label,
            "target_at": v.target_at,
            "state": v.state,
            "remaining_business_seconds": v.remaining_business_seconds,
            "percent_used": v.percent_used,
            "paused": v.is_paused,
            "breached": v.breached,
            "target_business_seconds": int(v.target.total_seconds()),
            "elapsed_business_seconds": int(v.elapsed.total_seconds()),
            "started_at": v.clock.started_at,
            "stopped_at": v.clock.stopped_at,
            "cycle": v.clock.cycle,
            "policy": v.clock.policy_name,
            "calendar_time_zone": v.time_zone,
        }
        for v in ticket_clock_views(ticket)
    ]


class TicketOutputSerializer(serializers.ModelSerializer):
    """The ticket as integrations see it. Field names are a public contract: do not rename."""

    requester_email = serializers.EmailField(source="requester.email", read_only=True)
    requester_name = serializers.CharField(source="requester.display_name", read_only=True)
    organization_name = serializers.CharField(source="organization.name", read_only=True, default=None)
    service_name = serializers.CharField(source="service.name", read_only=True, default=None)
    resolver_group_name = serializers.CharField(source="resolver_group.name", read_only=True, default=None)
    assignee_username = serializers.CharField(source="assignee.username", read_only=True, default=None)
    category_name = serializers.CharField(source="category.path", read_only=True, default=None)
    classification_rule_name = serializers.CharField(source="classification_rule.name", read_only=True, default=None)
    priority = serializers.SerializerMethodField()
    sla = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    class Meta:
        model = Ticket
        fields = [
            "number",
            "title",
            "description",
            "ticket_type",
            "status",
            "pending_reason",
            "channel",
            "impact",
            "urgency",
            "priority",
            "priority_override_reason",
            "service",
            "service_name",
            "category",
            "category_name",
            "classification_rule_name",
            "requester",
            "requester_email",
            "requester_name",
            "organization",
            "organization_name",
            "resolver_group",
            "resolver_group_name",
            "assignee",
            "assignee_username",
            "resolution_code",
            "resolution_notes",
            "reopen_count",
            "created_at",
            "updated_at",
            "first_response_at",
            "resolved_at",
            "closed_at",
            "version",
            "sla",
            "url",
        ]
        read_only_fields = fields

    def get_priority(self, obj: Ticket) -> str | None:
        return obj.priority or None

    @extend_schema_field(SlaClockOutputSerializer(many=True))
    def get_sla(self, obj: Ticket) -> list[dict]:
        return sla_representation(obj)

    def get_url(self, obj: Ticket) -> str:
        return reverse("api:ticket-detail", args=[obj.number])


class TicketCreateInputSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=255)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    ticket_type = serializers.ChoiceField(
        choices=TicketType.choices, required=False, help_text="Left out: the classification rules decide."
    )
    channel = serializers.ChoiceField(choices=Channel.choices, required=False)
    impact = serializers.ChoiceField(choices=Impact.choices, default=Impact.SINGLE_USER)
    urgency = serializers.ChoiceField(choices=Urgency.choices, default=Urgency.MEDIUM)
    service = serializers.PrimaryKeyRelatedField(queryset=Service.objects.filter(is_active=True), required=False)
    category = serializers.PrimaryKeyRelatedField(queryset=Category.objects.filter(is_active=True), required=False)
    priority = serializers.ChoiceField(
        choices=Priority.choices, required=False, help_text="Agents: a manual priority (needs a reason)."
    )
    priority_override_reason = serializers.CharField(required=False, allow_blank=True, default="")
    form = serializers.CharField(required=False, allow_blank=True, default="", max_length=60)
    resolver_group = serializers.PrimaryKeyRelatedField(
        queryset=ResolverGroup.objects.filter(is_active=True), required=False
    )
    requester = serializers.PrimaryKeyRelatedField(queryset=User.objects.filter(is_active=True), required=False)
    requester_email = serializers.EmailField(required=False)
    cc = serializers.ListField(child=serializers.EmailField(), required=False, default=list)


class TicketUpdateInputSerializer(serializers.Serializer):
    version = serializers.IntegerField(required=False, min_value=1)
    title = serializers.CharField(max_length=255, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    ticket_type = serializers.ChoiceField(choices=TicketType.choices, required=False)
    channel = serializers.ChoiceField(choices=Channel.choices, required=False)
    impact = serializers.ChoiceField(choices=Impact.choices, required=False)
    urgency = serializers.ChoiceField(choices=Urgency.choices, required=False)
    priority = serializers.ChoiceField(
        choices=Priority.choices, required=False, allow_blank=True, help_text='"" returns to the priority matrix.'
    )
    priority_override_reason = serializers.CharField(required=False, allow_blank=True)
    service = serializers.PrimaryKeyRelatedField(
        queryset=Service.objects.filter(is_active=True), required=False, allow_null=True
    )
    category = serializers.PrimaryKeyRelatedField(
        queryset=Category.objects.filter(is_active=True), required=False, allow_null=True
    )
    resolution_code = serializers.ChoiceField(choices=ResolutionCode.choices, required=False, allow_blank=True)
    resolution_notes = serializers.CharField(required=False, allow_blank=True)
    resolver_group = serializers.PrimaryKeyRelatedField(
        queryset=ResolverGroup.objects.filter(is_active=True), required=False, allow_null=True
    )
    assignee = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True), required=False, allow_null=True
    )
    assignment_reason = serializers.CharField(required=False, allow_blank=True, default="")


class TransitionInputSerializer(serializers.Serializer):
    to = serializers.ChoiceField(choices=TicketStatus.choices)
    pending_reason = serializers.ChoiceField(choices=PendingReason.choices, required=False, default="")
    resolution_code = serializers.ChoiceField(choices=ResolutionCode.choices, required=False, default="")
    resolution_notes = serializers.CharField(required=False, allow_blank=True, default="")
    reason = serializers.CharField(required=False, allow_blank=True, default="")
    version = serializers.IntegerField(required=False, min_value=1)


class ResolutionDecisionInputSerializer(serializers.Serializer):
    accept = serializers.BooleanField()
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class AttachmentOutputSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = Attachment
        fields = ["id", "filename", "content_type", "size", "sha256", "is_public", "created_at", "url"]

    def get_url(self, obj: Attachment) -> str:
        number = self.context.get("ticket_number") or obj.ticket.number
        return reverse("api:attachment-download", args=[number, obj.pk])


class CommentInputSerializer(serializers.Serializer):
    body = serializers.CharField(allow_blank=True, required=False, default="")
    public = serializers.BooleanField(required=False, allow_null=True, default=None)
    files = serializers.ListField(child=serializers.FileField(), required=False, default=list)


class CommentOutputSerializer(serializers.ModelSerializer):
    public = serializers.BooleanField(source="is_public")
    attachments = AttachmentOutputSerializer(many=True, read_only=True)

    class Meta:
        model = Comment
        fields = ["id", "author", "author_name", "body", "public", "created_at", "attachments"]


class EventOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = TicketEvent
        fields = ["seq", "event_type", "actor", "actor_name", "created_at", "data", "prev_hash", "hash"]


class LinkInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=LinkKind.choices)
    target = serializers.CharField(max_length=20, help_text="The other ticket's number.")
