"""Escalation paths, vendors and contracts for the escalation tests, made through the services (as a Service
Manager would). The SLA calendars and policies come from the SLA tests: office hours Mon-Fri 08:00-17:00
Europe/Rome (Italian holidays), a Standard policy of 1h first response, 8h resolution, 4h next update."""

from datetime import timedelta

import pytest

from accounts.roles import Role
from escalations.choices import FunctionalMode, ThresholdKind
from escalations.services import LevelInput, path_save
from escalations.vendors import contract_save, vendor_save
from sla.choices import SlaMetric
from tests.communications.conftest import mailbox, smtp_server  # noqa: F401
from tests.factories import ResolverGroupFactory, UserFactory
from tests.sla.conftest import always, office, rome, standard, urgent  # noqa: F401

MONDAY_9 = rome(2026, 3, 2, 9, 0)
RES = SlaMetric.RESOLUTION


@pytest.fixture
def group_manager(roles, group):
    user = UserFactory(username="gina", email="gina@itsm.example", roles=[Role.RESOLVER])
    group.manager = user
    group.email = "infra-team@itsm.example"
    group.save()
    return user


@pytest.fixture
def head_of_it(roles):
    return UserFactory(username="helen", email="helen@itsm.example", roles=[Role.SERVICE_MANAGER])


@pytest.fixture
def network(roles):
    """The more specialised group: Network Operations, with its manager and one resolver."""
    g = ResolverGroupFactory(name="Network Operations", slug="network", email="netops@itsm.example")
    g.manager = UserFactory(username="nora", email="nora@itsm.example", roles=[Role.RESOLVER])
    g.save()
    g.memberships.create(user=g.manager)
    return g


@pytest.fixture
def netops_resolver(roles, network):
    user = UserFactory(username="ned", email="ned@itsm.example", roles=[Role.RESOLVER])
    network.memberships.create(user=user)
    return user


def hierarchy_levels(head) -> list[LevelInput]:
    """75% of the resolution time: the group manager; at the breach: the Service Managers; 2h of business time
    after it: the head of IT."""
    return [
        LevelInput(1, "Group manager", ThresholdKind.CLOCK_PERCENT, RES, percent=75, notify_group_manager=True),
        LevelInput(2, "Service Manager", ThresholdKind.AFTER_TARGET, RES, duration=timedelta(0),
                   notify_service_managers=True),
        LevelInput(3, "Head of IT", ThresholdKind.AFTER_TARGET, RES, duration=timedelta(hours=2), contact=head),
    ]  # fmt: skip


@pytest.fixture
def hierarchy(standard, head_of_it, manager):  # noqa: F811
    return path_save(actor=None, name="Standard escalation", levels=hierarchy_levels(head_of_it))


@pytest.fixture
def functional_path(standard, network):  # noqa: F811
    """At 50% of the resolution time the ticket moves to Network Operations."""
    return path_save(
        actor=None,
        name="To second line",
        levels=[
            LevelInput(
                1,
                "Second line",
                ThresholdKind.CLOCK_PERCENT,
                RES,
                percent=50,
                functional_group=network,
                functional_mode=FunctionalMode.MOVE,
            )
        ],
    )


@pytest.fixture
def victor(roles):
    return UserFactory(username="victor", email="victor@vendor.example", roles=[Role.VENDOR])


@pytest.fixture
def vendor(victor, office):  # noqa: F811
    v = vendor_save(
        actor=None,
        name="Northwind Networks",
        slug="northwind",
        support_email="support@vendor.example",
        email_domains=["vendor.example"],
        reference_pattern=r"INC\d{7}",
        contacts=[victor],
    )
    contract_save(
        actor=None,
        vendor=v,
        name="Gold support",
        calendar=office,
        response_target=timedelta(hours=2),
        resolution_target=timedelta(hours=16),
    )
    return v


@pytest.fixture
def other_vendor(roles, office):  # noqa: F811
    wendy = UserFactory(username="wendy", email="wendy@other-vendor.example", roles=[Role.VENDOR])
    v = vendor_save(
        actor=None,
        name="Contoso Storage",
        slug="contoso",
        support_email="help@other-vendor.example",
        email_domains=["other-vendor.example"],
        reference_pattern=r"CS-(\d{5})",
        contacts=[wendy],
    )
    return v
