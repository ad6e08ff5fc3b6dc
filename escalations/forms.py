"""Forms of the escalation pages: input parsing only; escalations.services validates and saves."""

from django import forms

from accounts.selectors import agent_list
from catalog.models import ResolverGroup
from escalations.choices import FunctionalMode, ThresholdKind, VendorCaseStatus
from escalations.models import EscalationPath, Vendor
from escalations.services import LevelInput
from sla.choices import SlaMetric
from sla.forms import BusinessDurationField
from sla.models import SlaPolicy
from tickets.choices import Priority


class PathForm(forms.Form):
    name = forms.CharField(max_length=120)
    position = forms.IntegerField(min_value=0, initial=100, help_text="Paths are tried in this order.")
    is_active = forms.BooleanField(required=False, initial=True, label="Active")
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    priorities = forms.MultipleChoiceField(
        choices=Priority.choices, required=False, widget=forms.CheckboxSelectMultiple, help_text="Empty: any."
    )
    sla_policies = forms.ModelMultipleChoiceField(
        queryset=SlaPolicy.objects.order_by("position", "name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="SLA policies",
        help_text="Empty: any.",
    )
    resolver_groups = forms.ModelMultipleChoiceField(
        queryset=ResolverGroup.objects.filter(is_active=True).order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Resolver groups",
        help_text="Empty: any.",
    )

    @staticmethod
    def initial_for(path: EscalationPath) -> dict:
        return {
            "name": path.name,
            "position": path.position,
            "is_active": path.is_active,
            "description": path.description,
            "priorities": path.priorities,
            "sla_policies": list(path.sla_policies.all()),
            "resolver_groups": list(path.resolver_groups.all()),
        }


class LevelForm(forms.Form):
    name = forms.CharField(max_length=120, required=False)
    kind = forms.ChoiceField(choices=[("", "—")] + ThresholdKind.choices, required=False, label="Threshold")
    metric = forms.ChoiceField(choices=[("", "—")] + SlaMetric.choices, required=False, label="Clock")
    percent = forms.IntegerField(min_value=1, max_value=1000, required=False, label="%")
    duration = BusinessDurationField(required=False, label="Time", help_text="")
    count = forms.IntegerField(min_value=1, max_value=100, required=False, label="Reopens")
    notify_assignee = forms.BooleanField(required=False, label="Assignee")
    notify_group_manager = forms.BooleanField(required=False, label="Group manager")
    notify_service_managers = forms.BooleanField(required=False, label="Service Managers")
    contact = forms.ModelChoiceField(queryset=agent_list(), required=False, label="Named contact")
    functional_group = forms.ModelChoiceField(
        queryset=ResolverGroup.objects.filter(is_active=True).order_by("name"), required=False, label="Group"
    )
    functional_mode = forms.ChoiceField(choices=[("", "—")] + FunctionalMode.choices, required=False, label="Mode")
    vendor = forms.ModelChoiceField(queryset=Vendor.objects.filter(is_active=True), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["contact"].queryset = agent_list()

    @property
    def is_blank(self) -> bool:
        d = getattr(self, "cleaned_data", {}) or {}
        return not d.get("name") and not d.get("kind")

    def as_input(self, number: int) -> LevelInput:
        d = self.cleaned_data
        return LevelInput(
            number=number,
            name=d.get("name") or "",
            kind=d.get("kind") or "",
            metric=d.get("metric") or "",
            percent=d.get("percent"),
            duration=d.get("duration"),
            count=d.get("count"),
            notify_assignee=d.get("notify_assignee", False),
            notify_group_manager=d.get("notify_group_manager", False),
            notify_service_managers=d.get("notify_service_managers", False),
            contact=d.get("contact"),
            functional_group=d.get("functional_group"),
            functional_mode=d.get("functional_mode") or "",
            vendor=d.get("vendor"),
        )

    @staticmethod
    def initial_for(level) -> dict:
        return {
            "name": level.name,
            "kind": level.kind,
            "metric": level.metric,
            "percent": level.percent,
            "duration": level.duration,
            "count": level.count,
            "notify_assignee": level.notify_assignee,
            "notify_group_manager": level.notify_group_manager,
            "notify_service_managers": level.notify_service_managers,
            "contact": level.contact_id,
            "functional_group": level.functional_group_id,
            "functional_mode": level.functional_mode,
            "vendor": level.vendor_id,
        }


LevelFormSet = forms.formset_factory(LevelForm, extra=1, can_delete=True)


class FunctionalForm(forms.Form):
    group = forms.ModelChoiceField(queryset=ResolverGroup.objects.filter(is_active=True).order_by("name"))
    mode = forms.ChoiceField(choices=FunctionalMode.choices)
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)


class VendorCaseOpenForm(forms.Form):
    vendor = forms.ModelChoiceField(queryset=Vendor.objects.filter(is_active=True).order_by("name"))
    summary = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=5000, label="What we ask")
    reference = forms.CharField(max_length=100, required=False, label="Vendor's reference (if known)")


class VendorCaseUpdateForm(forms.Form):
    status = forms.ChoiceField(choices=[("", "—")] + VendorCaseStatus.choices, required=False)
    reference = forms.CharField(max_length=100, required=False, label="Vendor's reference")
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)


class VendorMailForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), max_length=20000, label="Message to the vendor")


class VendorReplyForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), max_length=20000, label="Your answer")
    reference = forms.CharField(max_length=100, required=False, label="Your reference")
    resolved = forms.BooleanField(required=False, label="Resolved on our side")


class MajorIncidentForm(forms.Form):
    summary = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=5000, label="Impact")


class ChildForm(forms.Form):
    child = forms.CharField(max_length=20, label="Incident number")


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=2000)
