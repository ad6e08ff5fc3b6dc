"""Reads of the catalogue."""

from django.db.models import QuerySet

from catalog.models import ResolverGroup, Service


def service_list_active() -> QuerySet[Service]:
    return Service.objects.filter(is_active=True).select_related("default_resolver_group")


def resolver_group_list_active() -> QuerySet[ResolverGroup]:
    return ResolverGroup.objects.filter(is_active=True)


def resolver_group_is_member(*, group: ResolverGroup, user) -> bool:
    return group.memberships.filter(user=user).exists()
