"""Forms of the classification pages: input parsing only; classification.services validates and saves."""

from django import forms

from accounts.models import Organization
from catalog.models import ResolverGroup, Service
from classification.models import Category
from classification.priority import CRITICALITIES, IMPACTS, MAX_SHIFT, PRIORITIES, URGENCIES, PriorityTables
from tickets.choices import Channel, TicketType


class CategoryChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Category) -> str:
        return f"{obj.service.name}: {obj.path}"


class RuleForm(forms.Form):
    name = forms.CharField(max_length=120)
    position = forms.IntegerField(min_value=0, initial=100, help_text="Rules are tried in this order.")
    is_active = forms.BooleanField(required=False, initial=True, label="Active")
    channels = forms.MultipleChoiceField(
        choices=Channel.choices, required=False, widget=forms.CheckboxSelectMultiple, label="Channels (none: any)"
    )
    mailbox_key = forms.CharField(
        max_length=200, required=False, label="Mailbox", help_text="e.g. support@acme.example"
    )
    sender_domains = forms.CharField(required=False, help_text="Comma separated; subdomains match too.")
    organization = forms.ModelChoiceField(queryset=Organization.objects.filter(is_active=True), required=False)
    keywords = forms.CharField(required=False, help_text="Comma separated; any of them, as a whole word.")
    subject_regex = forms.CharField(max_length=500, required=False, label="Subject matches (regular expression)")
    body_regex = forms.CharField(max_length=500, required=False, label="Body matches (regular expression)")
    form = forms.CharField(
        max_length=60, required=False, label="Portal form", help_text='"general" is the portal form.'
    )
    set_ticket_type = forms.ChoiceField(
        choices=[("", "—")] + list(TicketType.choices), required=False, label="Set type"
    )
    set_service = forms.ModelChoiceField(
        queryset=Service.objects.filter(is_active=True), required=False, label="Set service"
    )
    set_resolver_group = forms.ModelChoiceField(
        queryset=ResolverGroup.objects.filter(is_active=True), required=False, label="Set resolver group"
    )
    set_category = CategoryChoice(
        queryset=Category.objects.filter(is_active=True).select_related("service", "parent"),
        required=False,
        label="Set category",
    )
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)

    @classmethod
    def initial_for(cls, rule) -> dict:
        return {
            "name": rule.name,
            "position": rule.position,
            "is_active": rule.is_active,
            "channels": rule.channels,
            "mailbox_key": rule.mailbox_key,
            "sender_domains": ", ".join(rule.sender_domains),
            "organization": rule.organization_id,
            "keywords": ", ".join(rule.keywords),
            "subject_regex": rule.subject_regex,
            "body_regex": rule.body_regex,
            "form": rule.form,
            "set_ticket_type": rule.set_ticket_type,
            "set_service": rule.set_service_id,
            "set_resolver_group": rule.set_resolver_group_id,
            "set_category": rule.set_category_id,
            "description": rule.description,
        }


class CategoryForm(forms.Form):
    service = forms.ModelChoiceField(queryset=Service.objects.filter(is_active=True), empty_label="Service…")
    parent = CategoryChoice(
        queryset=Category.objects.filter(parent__isnull=True, is_active=True).select_related("service"),
        required=False,
        label="Under (for a subcategory)",
        empty_label="(a top-level category)",
    )
    name = forms.CharField(max_length=120)


class PriorityTablesForm(forms.Form):
    """One select per matrix cell and per criticality."""

    def __init__(self, *args, tables: PriorityTables, **kwargs):
        super().__init__(*args, **kwargs)
        for i in IMPACTS:
            for u in URGENCIES:
                self.fields[f"cell_{i}_{u}"] = forms.ChoiceField(
                    choices=[(p, p) for p in PRIORITIES], initial=tables.matrix[(i, u)], label=f"I{i} U{u}"
                )
        for c in CRITICALITIES:
            self.fields[f"shift_{c}"] = forms.TypedChoiceField(
                choices=[(s, f"{s:+d}") for s in range(MAX_SHIFT, -MAX_SHIFT - 1, -1)],
                coerce=int,
                initial=tables.shifts[c],
                label=f"Criticality {c}",
            )

    def rows(self):
        return [(i, [self[f"cell_{i}_{u}"] for u in URGENCIES]) for i in IMPACTS]

    def shift_fields(self):
        return [self[f"shift_{c}"] for c in CRITICALITIES]

    def matrix(self) -> dict[tuple[int, int], str]:
        return {(i, u): self.cleaned_data[f"cell_{i}_{u}"] for i in IMPACTS for u in URGENCIES}

    def shifts(self) -> dict[int, int]:
        return {c: self.cleaned_data[f"shift_{c}"] for c in CRITICALITIES}
