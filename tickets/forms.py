"""UI forms: input validation only. Saving is the services' job."""

from django import forms

from catalog.models import ResolverGroup, Service
from classification.models import Category
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


class TicketCreateForm(forms.Form):
    requester_email = forms.EmailField(
        label="Requester email", required=False, help_text="An existing contact, or a new one is created."
    )
    requester_name = forms.CharField(label="Requester name", required=False, max_length=150)
    title = forms.CharField(max_length=255)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}), required=False)
    ticket_type = forms.ChoiceField(
        choices=[("", "Let the classification rules decide")] + list(TicketType.choices),
        required=False,
        label="Type",
    )
    channel = forms.ChoiceField(choices=Channel.choices, initial=Channel.PHONE)
    impact = forms.TypedChoiceField(choices=Impact.choices, coerce=int, initial=Impact.SINGLE_USER)
    urgency = forms.TypedChoiceField(choices=Urgency.choices, coerce=int, initial=Urgency.MEDIUM)
    service = forms.ModelChoiceField(queryset=Service.objects.filter(is_active=True), required=False)
    attachment = forms.FileField(required=False)

    def __init__(self, *args, agent: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.agent = agent
        if not agent:
            for name in ("requester_email", "requester_name", "channel"):
                del self.fields[name]

    def clean(self):
        data = super().clean()
        if self.agent and not data.get("requester_email"):
            self.add_error("requester_email", "Who is the request for?")
        return data


class CategoryChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Category) -> str:
        return f"{obj.service.name}: {obj.path}"


class TicketEditForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    title = forms.CharField(max_length=255)
    ticket_type = forms.ChoiceField(choices=TicketType.choices, label="Type")
    impact = forms.TypedChoiceField(choices=Impact.choices, coerce=int)
    urgency = forms.TypedChoiceField(choices=Urgency.choices, coerce=int)
    priority = forms.ChoiceField(
        choices=[("", "Automatic (priority matrix)")] + list(Priority.choices),
        required=False,
        help_text="Choosing one by hand needs a reason; it then stays when impact or urgency change.",
    )
    priority_override_reason = forms.CharField(
        label="Reason for a manual priority", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    service = forms.ModelChoiceField(queryset=Service.objects.filter(is_active=True), required=False)
    category = CategoryChoiceField(
        queryset=Category.objects.filter(is_active=True).select_related("service", "parent"), required=False
    )


class AssignForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    resolver_group = forms.ModelChoiceField(queryset=ResolverGroup.objects.filter(is_active=True), required=False)
    assignee = forms.ModelChoiceField(queryset=None, required=False)
    reason = forms.CharField(required=False, max_length=500)

    def __init__(self, *args, assignee_queryset, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = assignee_queryset


class TransitionForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    to = forms.ChoiceField(choices=TicketStatus.choices)
    pending_reason = forms.ChoiceField(choices=[("", "—")] + list(PendingReason.choices), required=False)
    resolution_code = forms.ChoiceField(choices=[("", "—")] + list(ResolutionCode.choices), required=False)
    resolution_notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    reason = forms.CharField(required=False, max_length=2000)


class CommentForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False, label="Message")
    is_public = forms.BooleanField(required=False, initial=False, label="Public reply (the customer sees it)")
    attachment = forms.FileField(required=False)


class ResolutionDecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("accept", "Accept"), ("reject", "Reject")])
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)


class LinkForm(forms.Form):
    kind = forms.ChoiceField(choices=LinkKind.choices)
    other = forms.CharField(max_length=20, label="Ticket number")
