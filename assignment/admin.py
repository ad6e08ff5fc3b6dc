from django.contrib import admin

from assignment.models import (
    Absence,
    AgentSkill,
    GroupAssignmentState,
    OnCallOverride,
    OnCallRotation,
    RotationMember,
    RoutingRule,
    TicketRouting,
)


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    list_display = ("order", "name", "target_group", "is_active")
    list_display_links = ("name",)
    list_editable = ("order", "is_active")
    list_filter = ("is_active", "target_group")
    filter_horizontal = ("services", "organizations")
    search_fields = ("name", "keywords")


class RotationMemberInline(admin.TabularInline):
    model = RotationMember
    extra = 1
    autocomplete_fields = ("user",)


class OnCallOverrideInline(admin.TabularInline):
    model = OnCallOverride
    extra = 0
    autocomplete_fields = ("user",)


@admin.register(OnCallRotation)
class OnCallRotationAdmin(admin.ModelAdmin):
    list_display = ("name", "group", "period", "handoff_time", "time_zone", "is_active")
    list_filter = ("group", "period", "is_active")
    inlines = [RotationMemberInline, OnCallOverrideInline]


@admin.register(Absence)
class AbsenceAdmin(admin.ModelAdmin):
    list_display = ("user", "kind", "starts_at", "ends_at", "note")
    list_filter = ("kind",)
    search_fields = ("user__username", "user__first_name", "user__last_name")
    autocomplete_fields = ("user",)
    date_hierarchy = "starts_at"


@admin.register(AgentSkill)
class AgentSkillAdmin(admin.ModelAdmin):
    list_display = ("user", "tag", "level")
    list_filter = ("tag",)
    search_fields = ("user__username", "tag")
    autocomplete_fields = ("user",)


@admin.register(GroupAssignmentState)
class GroupAssignmentStateAdmin(admin.ModelAdmin):
    list_display = ("group", "last_assigned", "assignments", "updated_at")
    readonly_fields = ("group", "last_assigned", "assignments", "updated_at")

    def has_add_permission(self, request):
        return False


@admin.register(TicketRouting)
class TicketRoutingAdmin(admin.ModelAdmin):
    list_display = ("ticket", "source", "rule_name", "explanation", "decided_at")
    list_filter = ("source",)
    readonly_fields = [f.name for f in TicketRouting._meta.fields]

    def has_add_permission(self, request):
        return False
