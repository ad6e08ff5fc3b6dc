from django.contrib import admin, messages

from itsm.lib.errors import DomainError
from mail.models import InboundMessage, Mailbox
from mail.services import inbound_message_replay


@admin.register(Mailbox)
class MailboxAdmin(admin.ModelAdmin):
    list_display = ("name", "safe_url", "is_active", "poll_interval", "last_success_at", "consecutive_failures",
                    "last_error_at", "last_error")  # fmt: skip
    list_filter = ("is_active",)
    search_fields = ("name", "slug", "from_address")
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("last_polled_at", "last_success_at", "last_error", "last_error_at", "consecutive_failures",
                       "next_poll_at", "created_at")  # fmt: skip


@admin.action(description="Replay the selected quarantined messages")
def replay(modeladmin, request, queryset):
    for message in queryset.filter(status="quarantined"):
        try:
            message = inbound_message_replay(message=message, actor=request.user)
        except DomainError as exc:
            modeladmin.message_user(request, f"{message}: {exc.message}", messages.ERROR)
            continue
        level = messages.ERROR if message.status == "quarantined" else messages.SUCCESS
        modeladmin.message_user(request, f"{message}: {message.status}: {message.reason}", level)


@admin.register(InboundMessage)
class InboundMessageAdmin(admin.ModelAdmin):
    list_display = ("received_at", "mailbox", "from_address", "subject", "status", "reason", "ticket")
    list_filter = ("status", "mailbox")
    search_fields = ("message_id", "from_address", "subject", "ticket__number")
    list_select_related = ("mailbox", "ticket")
    actions = [replay]
    exclude = ("raw",)

    def get_queryset(self, request):
        return super().get_queryset(request).defer("raw")

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in InboundMessage._meta.fields if f.name != "raw"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
