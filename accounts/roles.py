"""The five roles of the process, as Django groups, and what each may do.

This table is the one place role permissions are defined. The data migration creates the groups from it;
later migrations call `roles_sync` again when an app adds permissions. Code asks for permissions
(`user.has_perm("tickets.work_ticket")`), never for group names, so an admin can build other roles.
"""

from django.db import models


class Role(models.TextChoices):
    SERVICE_DESK = "Service Desk"
    RESOLVER = "Resolver"
    SERVICE_MANAGER = "Service Manager"
    CUSTOMER = "Customer"
    VENDOR = "Vendor"


_TICKET_WORK = [
    "tickets.view_ticket",
    "tickets.change_ticket",
    "tickets.work_ticket",
    "tickets.add_comment",
    "tickets.view_comment",
    "tickets.add_attachment",
    "tickets.view_attachment",
    "tickets.add_ticketlink",
    "tickets.view_ticketlink",
    "tickets.delete_ticketlink",
    "tickets.view_ticketevent",
    "catalog.view_service",
    "catalog.view_resolvergroup",
    "accounts.view_user",
    "accounts.view_organization",
]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    Role.SERVICE_DESK: _TICKET_WORK
    + [
        "tickets.add_ticket",
        "tickets.view_all_tickets",
        "accounts.add_user",
        "accounts.change_user",
        "accounts.add_organization",
        "accounts.change_organization",
        "communications.view_outboundemail",
        "communications.view_messagetemplate",
        "mail.view_failed_mail",
        "mail.view_mailbox",
        "mail.view_inboundmessage",
    ],
    Role.RESOLVER: _TICKET_WORK + ["tickets.add_ticket"],
    Role.SERVICE_MANAGER: _TICKET_WORK
    + [
        "tickets.add_ticket",
        "tickets.view_all_tickets",
        "tickets.manage_configuration",
        "catalog.add_service",
        "catalog.change_service",
        "catalog.add_resolvergroup",
        "catalog.change_resolvergroup",
        "accounts.add_user",
        "accounts.change_user",
        "accounts.add_organization",
        "accounts.change_organization",
        "communications.view_outboundemail",
        "communications.view_messagetemplate",
        "communications.change_messagetemplate",
        "communications.view_statusupdatecadence",
        "communications.change_statusupdatecadence",
        "communications.add_statusupdatecadence",
        "communications.view_informationrequirement",
        "communications.change_informationrequirement",
        "communications.add_informationrequirement",
        "mail.view_failed_mail",
        "mail.view_mailbox",
        "mail.change_mailbox",
        "mail.add_mailbox",
        "mail.view_inboundmessage",
    ],
    # Customers and vendors hold no model permissions: what they see is decided by the selectors
    # (their own tickets, their organization's where it allows it, their vendor cases).
    Role.CUSTOMER: [],
    Role.VENDOR: [],
}

AGENT_PERMISSION = "tickets.work_ticket"


def roles_sync(apps=None) -> None:
    """Create the role groups and give each exactly the permissions of ROLE_PERMISSIONS that exist."""
    if apps is None:
        from django.apps import apps as global_apps

        apps = global_apps
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, perms in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        wanted = []
        for dotted in perms:
            app_label, codename = dotted.split(".")
            wanted.extend(Permission.objects.filter(content_type__app_label=app_label, codename=codename))
        group.permissions.set(wanted)


def user_is_agent(user) -> bool:
    """Service Desk, Resolver and Service Manager (and superusers): people who work tickets. The same answer
    as `user.has_perm(AGENT_PERMISSION)` with the model backend, from one query (not the two that load all of
    the user's permissions), kept on the user object as Django keeps its permission cache."""
    if not (user and user.is_authenticated and user.is_active):
        return False
    known = getattr(user, "_itsm_is_agent", None)
    if known is None:
        perm_cache = getattr(user, "_perm_cache", None)
        if user.is_superuser:
            known = True
        elif perm_cache is not None:
            known = AGENT_PERMISSION in perm_cache
        else:
            from django.contrib.auth.models import Permission
            from django.db.models import Q

            app_label, codename = AGENT_PERMISSION.split(".")
            known = (
                Permission.objects.filter(content_type__app_label=app_label, codename=codename)
                .filter(Q(user=user) | Q(group__user=user))
                .exists()
            )
        user._itsm_is_agent = known
    return known


def user_sees_all_tickets(user) -> bool:
    return bool(user and user.is_authenticated and user.has_perm("tickets.view_all_tickets"))


def user_role_names(user) -> list[str]:
    if not user or not user.is_authenticated:
        return []
    cached = getattr(user, "_itsm_role_names", None)
    if cached is None:
        cached = sorted(user.groups.values_list("name", flat=True))
        user._itsm_role_names = cached
    return cached
