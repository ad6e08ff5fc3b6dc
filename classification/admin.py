"""Admin: read-only. Rules, categories and the priority tables are edited on the Classification pages
(/classification/), through classification.services, which validates and logs each edit."""

from django.contrib import admin

from classification.models import Category, ClassificationRule, CriticalityAdjustment, PriorityMatrixCell
from sla.admin import ReadOnlyAdmin


@admin.register(ClassificationRule)
class ClassificationRuleAdmin(ReadOnlyAdmin):
    list_display = ("position", "name", "is_active", "set_ticket_type", "set_service", "set_resolver_group")
    list_select_related = ("set_service", "set_resolver_group")


@admin.register(Category)
class CategoryAdmin(ReadOnlyAdmin):
    list_display = ("service", "parent", "name", "is_active")
    list_select_related = ("service", "parent")


@admin.register(PriorityMatrixCell)
class PriorityMatrixCellAdmin(ReadOnlyAdmin):
    list_display = ("impact", "urgency", "priority", "updated_at")


@admin.register(CriticalityAdjustment)
class CriticalityAdjustmentAdmin(ReadOnlyAdmin):
    list_display = ("criticality", "shift", "updated_at")
