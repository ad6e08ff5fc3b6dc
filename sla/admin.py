"""Admin: read-only. Calendars and policies are edited on the SLA pages (/sla/), through sla.services, which
versions each edit, logs it and recomputes the affected tickets; clocks are derived from the event log."""

from django.contrib import admin

from sla.models import BusinessCalendar, BusinessHours, Holiday, SlaClock, SlaClockEvent, SlaPolicy, SlaRecomputeJob


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class HoursInline(admin.TabularInline):
    model = BusinessHours
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class HolidayInline(HoursInline):
    model = Holiday


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(ReadOnlyAdmin):
    list_display = ("name", "time_zone", "is_24x7", "holiday_country", "holiday_subdivision", "version", "updated_at")
    inlines = [HoursInline, HolidayInline]


@admin.register(SlaPolicy)
class SlaPolicyAdmin(ReadOnlyAdmin):
    list_display = (
        "position",
        "name",
        "is_active",
        "calendar",
        "first_response_target",
        "resolution_target",
        "version",
    )
    list_select_related = ("calendar",)


@admin.register(SlaClock)
class SlaClockAdmin(ReadOnlyAdmin):
    list_display = ("ticket", "metric", "state", "target_at", "elapsed", "target", "policy_name", "next_check_at")
    list_filter = ("metric", "state", "is_paused")
    search_fields = ("ticket__number",)
    list_select_related = ("ticket",)


@admin.register(SlaClockEvent)
class SlaClockEventAdmin(ReadOnlyAdmin):
    list_display = ("ticket", "metric", "cycle", "threshold", "target", "crossed_at", "emitted_at")
    list_filter = ("metric", "threshold")
    search_fields = ("ticket__number",)
    list_select_related = ("ticket",)


@admin.register(SlaRecomputeJob)
class SlaRecomputeJobAdmin(ReadOnlyAdmin):
    list_display = ("reason", "status", "done", "total", "changed", "created_at", "finished_at")
    list_filter = ("status",)
