"""Admin for every ticket model. The audit trail is read-only; tickets are never deleted."""

from django.contrib import admin

from tickets.models import Attachment, Comment, Ticket, TicketEvent, TicketLink, TicketNumberCounter


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    """Read-mostly: changes go through the ticket page or the API so that every change is audited."""

    list_display = ("number", "title", "ticket_type", "status", "priority", "resolver_group", "assignee", "created_at")
    list_filter = ("status", "ticket_type", "priority", "channel", "resolver_group")
    search_fields = ("number", "title")
    list_select_related = ("resolver_group", "assignee")
    date_hierarchy = "created_at"

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Ticket._meta.fields] + ["watchers"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Comment)
class CommentAdmin(ReadOnlyAdmin):
    list_display = ("ticket", "author_name", "is_public", "created_at")
    list_filter = ("is_public",)
    search_fields = ("ticket__number", "body")
    list_select_related = ("ticket",)


@admin.register(Attachment)
class AttachmentAdmin(ReadOnlyAdmin):
    list_display = ("ticket", "filename", "size", "content_type", "is_public", "created_at")
    search_fields = ("ticket__number", "filename", "sha256")
    list_select_related = ("ticket",)


@admin.register(TicketLink)
class TicketLinkAdmin(ReadOnlyAdmin):
    list_display = ("source", "kind", "target", "created_at")
    list_filter = ("kind",)
    list_select_related = ("source", "target")


@admin.register(TicketEvent)
class TicketEventAdmin(ReadOnlyAdmin):
    list_display = ("ticket", "seq", "event_type", "actor_name", "created_at", "short_hash")
    list_filter = ("event_type",)
    search_fields = ("ticket__number",)
    list_select_related = ("ticket",)

    @admin.display(description="hash")
    def short_hash(self, obj):
        return obj.hash[:12]


@admin.register(TicketNumberCounter)
class TicketNumberCounterAdmin(ReadOnlyAdmin):
    list_display = ("name", "value")
