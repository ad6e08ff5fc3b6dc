"""Reads of people and organizations."""

from django.contrib.auth.models import Group
from django.db.models import Q, QuerySet
from django.db.models.functions import Lower

from accounts.models import Organization, User
from accounts.roles import AGENT_PERMISSION


def contact_find_by_email(*, email: str) -> User | None:
    email = (email or "").strip()
    if not email:
        return None
    # matches the functional unique index on lower(email) (an iexact lookup would scan the table)
    return (
        User.objects.select_related("organization").alias(email_lower=Lower("email")).filter(email_lower=email.lower())
    ).first()


def organization_for_email(*, email: str) -> Organization | None:
    """The active organization that lists the address's domain among its mail domains."""
    domain = email.rpartition("@")[2].strip().lower()
    if not domain:
        return None
    for org in Organization.objects.filter(is_active=True).only("id", "name", "email_domains"):
        if domain in {d.strip().lower() for d in org.email_domains or []}:
            return org
    return None


def agent_list() -> QuerySet[User]:
    """Active users who may work tickets (through a role, a direct permission, or as superusers)."""
    app_label, codename = AGENT_PERMISSION.split(".")
    perm = Q(codename=codename, content_type__app_label=app_label)
    groups = Group.objects.filter(permissions__in=_permissions(perm)).values("pk")
    via_groups = User.groups.through.objects.filter(group_id__in=groups).values("user_id")
    direct = User.user_permissions.through.objects.filter(permission__in=_permissions(perm)).values("user_id")
    return (
        User.objects.filter(is_active=True)
        .filter(Q(is_superuser=True) | Q(pk__in=via_groups) | Q(pk__in=direct))
        .order_by("first_name", "last_name", "username")
    )


def _permissions(q: Q):
    from django.contrib.auth.models import Permission

    return Permission.objects.filter(q).values("pk")
