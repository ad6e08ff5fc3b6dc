from django import forms
from django.contrib import admin

from communications.models import (
    InformationRequirement,
    MessageTemplate,
    OutboundEmail,
    StatusUpdateCadence,
    TicketCommunication,
)
from communications.rendering import TemplateError, template_check


@admin.register(OutboundEmail)
class OutboundEmailAdmin(admin.ModelAdmin):
    list_display = ("created_at", "kind", "ticket", "subject", "status", "attempts", "sent_at")
    list_filter = ("status", "kind")
    search_fields = ("subject", "message_id", "ticket__number")
    list_select_related = ("ticket",)
    readonly_fields = [f.name for f in OutboundEmail._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class MessageTemplateAdminForm(forms.ModelForm):
    class Meta:
        model = MessageTemplate
        fields = ("kind", "language", "subject", "body")

    def clean(self):
        data = super().clean()
        for field in ("subject", "body"):
            try:
                template_check(data.get(field, ""))
            except TemplateError as exc:
                self.add_error(field, str(exc))
        return data


@admin.register(MessageTemplate)
class MessageTemplateAdmin(admin.ModelAdmin):
    """Also editable on /communications/templates/; placeholders are checked in both places."""

    form = MessageTemplateAdminForm
    list_display = ("kind", "language", "subject", "updated_at", "updated_by")
    list_filter = ("kind", "language")
    readonly_fields = ("updated_at", "updated_by")

    def save_model(self, request, obj, form, change):
        from communications.services import template_update

        template_update(template=obj, actor=request.user, subject=obj.subject, body=obj.body)

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(StatusUpdateCadence)
class StatusUpdateCadenceAdmin(admin.ModelAdmin):
    list_display = ("priority", "every_minutes", "is_active")


@admin.register(InformationRequirement)
class InformationRequirementAdmin(admin.ModelAdmin):
    list_display = ("ticket_type", "items")


@admin.register(TicketCommunication)
class TicketCommunicationAdmin(admin.ModelAdmin):
    list_display = ("ticket", "mailbox", "first_system_response_at", "last_customer_update_at",
                    "status_update_due_since", "missing_info")  # fmt: skip
    list_filter = ("mailbox",)
    search_fields = ("ticket__number",)
    list_select_related = ("ticket", "mailbox")

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in TicketCommunication._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
