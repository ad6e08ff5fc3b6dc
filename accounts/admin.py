from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from accounts.models import Organization, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ("username", "email", "first_name", "last_name", "organization", "is_active", "is_staff")
    list_filter = ("is_active", "is_staff", "groups", "organization")
    search_fields = ("username", "email", "first_name", "last_name")
    list_select_related = ("organization",)
    fieldsets = DjangoUserAdmin.fieldsets + (
        ("Contact", {"fields": ("organization", "language", "phone", "job_title")}),
    )
    add_fieldsets = DjangoUserAdmin.add_fieldsets + (
        ("Contact", {"fields": ("email", "first_name", "last_name", "organization", "language")}),
    )


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "share_tickets", "is_active")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
