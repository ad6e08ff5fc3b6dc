"""Input and output serializers of the ticket API. Inputs only validate; the services decide."""

from django.urls import reverse
from rest_framework import serializers

from accounts.models import User
from catalog.models import ResolverGroup, Service
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


class TicketOutputSerializer(serializers.ModelSerializer):
    """The ticket as integrations see it. Field names are a public contract: do not rename."""

    requester_email = serializers.EmailField(source="requester.email", read_only=True)
    requester_name = serializers.CharField(source="requester.display_name", read_only=True)
    organization_name = serializers.CharField(source="organization.name", read_only=True, default=None)
    service_name = serializers.CharField(source="service.name", read_only=True, default=None)
    resolver_group_name = serializers.CharField(source="resolver_group.name", read_only=True, default=None)
    assignee_username = serializers.CharField(source="assignee.username", read_only=True, default=None)
    priority = serializers.SerializerMethodField()
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
            "service",
            "service_name",
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
            "url",
        ]
        read_only_fields = fields

    def get_priority(self, obj: Ticket) -> str | None:
        return obj.priority or None

    def get_url(self, obj: Ticket) -> str:
        return reverse("api:ticket-detail", args=[obj.number])


class TicketCreateInputSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=255)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    ticket_type = serializers.ChoiceField(choices=TicketType.choices, default=TicketType.INCIDENT)
    channel = serializers.ChoiceField(choices=Channel.choices, required=False)
    impact = serializers.ChoiceField(choices=Impact.choices, default=Impact.SINGLE_USER)
    urgency = serializers.ChoiceField(choices=Urgency.choices, default=Urgency.MEDIUM)
    service = serializers.PrimaryKeyRelatedField(queryset=Service.objects.filter(is_active=True), required=False)
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
    priority = serializers.ChoiceField(choices=Priority.choices, required=False, allow_blank=True)
    service = serializers.PrimaryKeyRelatedField(
        queryset=Service.objects.filter(is_active=True), required=False, allow_null=True
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
