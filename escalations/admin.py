"""Admin. Vendors and their contracts are set up here (the forms go through escalations.services, which checks
the reference pattern and the contacts' role, and logs the edit). Paths are edited on the Escalations page
(/escalations/), which versions them and recomputes the open tickets' schedules; what fired (escalations, vendor
cases, notifications) is shown read-only."""

from django import forms
from django.contrib import admin

from accounts.models import User
from accounts.roles import Role
from escalations import vendors
from escalations.models import (
    Escalation,
    EscalationLevel,
    EscalationPath,
    MajorIncident,
    Notification,
    UnderpinningContract,
    Vendor,
    VendorCase,
    VendorCaseMessage,
)
from itsm.lib.errors import DomainError


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class LevelInline(admin.TabularInline):
    model = EscalationLevel
    extra = 0
    can_delete = False
    fields = ("number", "name", "kind", "metric", "percent", "duration", "count", "functional_group", "vendor")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(EscalationPath)
class EscalationPathAdmin(ReadOnlyAdmin):
    list_display = ("name", "position", "is_active", "version", "updated_at")
    inlines = [LevelInline]


class VendorForm(forms.ModelForm):
    email_domains = forms.CharField(required=False, help_text="Comma-separated, e.g. vendor.example")
    contacts = forms.ModelMultipleChoiceField(
        queryset=User.objects.filter(groups__name=Role.VENDOR, is_active=True).distinct(), required=False
    )

    class Meta:
        model = Vendor
        fields = (
            "name",
            "slug",
            "support_email",
            "email_domains",
            "reference_pattern",
            "contacts",
            "is_active",
            "notes",
        )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["email_domains"] = ", ".join(self.instance.email_domains or [])

    def clean_reference_pattern(self):
        try:
            return vendors.pattern_check(self.cleaned_data.get("reference_pattern") or "")
        except DomainError as exc:
            raise forms.ValidationError(exc.message) from exc

    def clean_email_domains(self):
        return [d.strip() for d in (self.cleaned_data.get("email_domains") or "").split(",") if d.strip()]


class ContractInline(admin.TabularInline):
    model = UnderpinningContract
    extra = 0
    fields = ("name", "reference", "calendar", "response_target", "resolution_target", "is_active")


@admin.register(Vendor)
class VendorAdmin(admin.ModelAdmin):
    form = VendorForm
    list_display = ("name", "support_email", "reference_pattern", "is_active")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [ContractInline]

    def save_model(self, request, obj, form, change):
        d = form.cleaned_data
        saved = vendors.vendor_save(
            actor=request.user,
            vendor=obj if change else None,
            name=d["name"],
            slug=d["slug"],
            support_email=d["support_email"],
            email_domains=d["email_domains"],
            reference_pattern=d["reference_pattern"],
            contacts=d["contacts"],
            is_active=d["is_active"],
            notes=d["notes"],
        )
        obj.pk = saved.pk

    def save_related(self, request, form, formsets, change):
        for formset in formsets:  # contacts were set by the service
            self.save_formset(request, form, formset, change)


class CaseMessageInline(admin.TabularInline):
    model = VendorCaseMessage
    extra = 0
    can_delete = False
    fields = ("at", "direction", "author_name", "subject", "message_id")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(VendorCase)
class VendorCaseAdmin(ReadOnlyAdmin):
    list_display = ("ticket", "vendor", "vendor_reference", "status", "opened_at", "response_due_at", "responded_at")
    list_filter = ("vendor", "status")
    inlines = [CaseMessageInline]


@admin.register(Escalation)
class EscalationAdmin(ReadOnlyAdmin):
    list_display = ("ticket", "level_number", "level_name", "path_name", "fired_at", "closed_at", "closed_reason")
    list_filter = ("level_number", "closed_reason")


@admin.register(MajorIncident)
class MajorIncidentAdmin(ReadOnlyAdmin):
    list_display = ("ticket", "declared_at", "declared_by", "broadcasts")


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ("user", "title", "kind", "created_at", "read_at")
