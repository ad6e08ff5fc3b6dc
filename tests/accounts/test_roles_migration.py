"""The role groups come from the data migrations (accounts 0002_roles, mail 0002_roles), not from roles_sync()
at test time: these tests use the plain `db` fixture, so they see exactly what `migrate` left behind."""

import pytest
from django.contrib.auth.models import Group, Permission

from accounts.roles import ROLE_PERMISSIONS, Role


def _perms(role: str) -> set[str]:
    group = Group.objects.get(name=role)
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}


def test_migration_created_the_five_role_groups(db):
    names = set(Group.objects.values_list("name", flat=True))
    assert {"Service Desk", "Resolver", "Service Manager", "Customer", "Vendor"} <= names
    assert set(Role.values) == {"Service Desk", "Resolver", "Service Manager", "Customer", "Vendor"}


def test_service_desk_permissions(db):
    perms = _perms(Role.SERVICE_DESK)
    assert {
        "tickets.change_ticket",
        "tickets.add_ticket",
        "tickets.work_ticket",
        "tickets.view_all_tickets",
        "tickets.add_comment",
        "accounts.add_user",
        "accounts.change_organization",
        "mail.view_failed_mail",
        "mail.view_inboundmessage",
    } <= perms
    # the desk works tickets but does not configure SLAs, classification or the catalogue
    assert "tickets.manage_configuration" not in perms
    assert "catalog.change_service" not in perms
    assert "tickets.delete_ticket" not in perms


def test_resolver_permissions(db):
    perms = _perms(Role.RESOLVER)
    assert {"tickets.view_ticket", "tickets.change_ticket", "tickets.work_ticket", "tickets.add_ticket"} <= perms
    assert {"tickets.add_comment", "tickets.add_attachment", "tickets.view_ticketevent"} <= perms
    # a resolver sees the tickets of their groups only, and manages nothing
    assert "tickets.view_all_tickets" not in perms
    assert "tickets.manage_configuration" not in perms
    assert "accounts.add_user" not in perms
    assert "mail.view_failed_mail" not in perms


def test_service_manager_permissions(db):
    perms = _perms(Role.SERVICE_MANAGER)
    # SLA, classification and escalation configuration all require tickets.manage_configuration
    assert {
        "tickets.manage_configuration",
        "tickets.view_all_tickets",
        "tickets.work_ticket",
        "catalog.change_service",
        "catalog.add_resolvergroup",
        "communications.change_messagetemplate",
        "communications.change_statusupdatecadence",
        "communications.add_informationrequirement",
        "mail.change_mailbox",
        "mail.view_failed_mail",
    } <= perms


@pytest.mark.parametrize("role", [Role.SERVICE_DESK, Role.RESOLVER, Role.SERVICE_MANAGER])
def test_agent_groups_hold_exactly_the_table(db, role):
    """What migrate leaves behind matches accounts/roles.py in full: no permission of the table is missing
    because its model did not exist yet when a data migration ran."""
    assert _perms(role) == set(ROLE_PERMISSIONS[role])


@pytest.mark.parametrize("role", [Role.CUSTOMER, Role.VENDOR])
def test_customer_and_vendor_hold_no_model_permissions(db, role):
    assert ROLE_PERMISSIONS[role] == []
    assert Group.objects.get(name=role).permissions.count() == 0


def test_every_permission_named_in_the_table_exists(db):
    for role, dotted in ROLE_PERMISSIONS.items():
        for name in dotted:
            app_label, codename = name.split(".")
            assert Permission.objects.filter(content_type__app_label=app_label, codename=codename).exists(), (
                role,
                name,
            )
