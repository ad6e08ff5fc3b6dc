from django.contrib import admin

from catalog.models import ResolverGroup, ResolverGroupMembership, Service


class MembershipInline(admin.TabularInline):
    model = ResolverGroupMembership
    extra = 1
    autocomplete_fields = ("user",)


@admin.register(ResolverGroup)
class ResolverGroupAdmin(admin.ModelAdmin):
    list_display = ("name", "manager", "email", "is_active")
    search_fields = ("name",)
    prepopulated_fields = {"slug": ("name",)}
    inlines = [MembershipInline]
    autocomplete_fields = ("manager",)


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ("name", "criticality", "default_resolver_group", "is_active")
    list_filter = ("criticality", "is_active")
    search_fields = ("name",)
    prepopulated_fields = {"slug": ("name",)}
