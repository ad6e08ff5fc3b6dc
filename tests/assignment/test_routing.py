"""Routing: ordered rules, first match wins, service default, fallback; the decision is recorded."""

import pytest

from assignment.models import RoutingRule, TicketRouting
from catalog.choices import AssignmentStrategy
from tests.factories import ResolverGroupFactory, ServiceFactory, TicketFactory
from tickets.choices import TicketEventType, TicketStatus, TicketType
from tickets.services import ticket_create


@pytest.fixture
def network(db):
    return ResolverGroupFactory(name="Network Operations", slug="network-operations")


@pytest.fixture
def desk_group(db):
    return ResolverGroupFactory(name="Service Desk", slug="service-desk", is_fallback=True)


@pytest.mark.smoke
def test_keyword_rule_routes_and_is_recorded_and_shown(client, desk, customer, network, desk_group, service):
    RoutingRule.objects.create(name="VPN keywords", order=10, keywords="vpn, anyconnect", target_group=network)
    ticket = ticket_create(actor=customer, requester=customer, title="My VPN drops", service=service)
    assert ticket.resolver_group == network and ticket.status == TicketStatus.ASSIGNED
    routing = TicketRouting.objects.get(ticket=ticket)
    assert routing.rule_name == "VPN keywords" and routing.source == "rule"
    assert "routed to Network Operations by rule 'VPN keywords'" in routing.explanation
    event = ticket.events.get(event_type=TicketEventType.ASSIGNED)
    assert event.actor is None and "by rule 'VPN keywords'" in event.data["reason"]
    client.force_login(desk)
    page = client.get(ticket.get_absolute_url())
    assert b"routed to Network Operations by rule &#x27;VPN keywords&#x27;" in page.content


def test_first_matching_rule_wins_and_conditions_combine(db, customer, network, desk_group, org_a):
    security = ResolverGroupFactory(name="Security", slug="security")
    RoutingRule.objects.create(name="Access for Acme", order=5, ticket_types=["access_request"], target_group=security)
    RoutingRule.objects.get(name="Access for Acme").organizations.add(org_a)
    RoutingRule.objects.create(name="All access", order=20, ticket_types=["access_request"], target_group=network)
    RoutingRule.objects.create(name="Inactive", order=1, is_active=False, target_group=network)
    mine = ticket_create(actor=None, requester=customer, title="Access please", ticket_type=TicketType.ACCESS_REQUEST)
    assert mine.resolver_group == security
    incident = ticket_create(actor=None, requester=customer, title="Broken", ticket_type=TicketType.INCIDENT)
    assert incident.resolver_group == desk_group  # no rule matches, no service: the fallback
    assert TicketRouting.objects.get(ticket=incident).source == "fallback"


def test_priority_and_service_conditions(db, customer, network, desk_group):
    erp = ServiceFactory(name="ERP", slug="erp")
    RoutingRule.objects.create(name="P1 ERP", order=1, priorities=["P1"], target_group=network)
    RoutingRule.objects.get(name="P1 ERP").services.add(erp)
    p1 = ticket_create(
        actor=None,
        requester=customer,
        title="ERP down",
        service=erp,
        priority="P1",
        priority_override_reason="set by the test",
    )
    p3 = ticket_create(
        actor=None,
        requester=customer,
        title="ERP slow",
        service=erp,
        priority="P3",
        priority_override_reason="set by the test",
    )
    assert p1.resolver_group == network and p3.resolver_group == desk_group


def test_service_default_group_when_no_rule(db, customer, service, desk_group):
    ticket = ticket_create(actor=None, requester=customer, title="Disk full", service=service)
    assert ticket.resolver_group == service.default_resolver_group
    assert TicketRouting.objects.get(ticket=ticket).source == "service default"


def test_explicit_group_skips_routing(db, desk, customer, network, desk_group):
    RoutingRule.objects.create(name="Everything", order=1, target_group=desk_group)
    ticket = ticket_create(actor=desk, requester=customer, title="x", resolver_group=network)
    assert ticket.resolver_group == network
    routing = TicketRouting.objects.get(ticket=ticket)
    assert routing.source == "given"
    assert "placed in Network Operations by the person who logged it" in routing.explanation


def test_manual_reassignment_needs_a_reason_counts_hops_and_keeps_ownership(db, desk, customer, network, desk_group):
    from itsm.lib.errors import DomainError
    from tickets.services import ticket_assign

    ticket = TicketFactory(requester=customer)
    assert ticket.resolver_group == desk_group and ticket.group_hops == 0
    with pytest.raises(DomainError, match="reason is required"):
        ticket_assign(ticket=ticket, actor=desk, resolver_group=network)
    ticket_assign(ticket=ticket, actor=desk, resolver_group=network, reason="It is a network problem")
    assert ticket.resolver_group == network and ticket.group_hops == 1
    ticket_assign(ticket=ticket, actor=desk, resolver_group=desk_group, reason="Back to triage")
    assert ticket.group_hops == 2
    event = ticket.events.filter(event_type=TicketEventType.ASSIGNED).order_by("-seq").first()
    assert event.data["group_hops"] == 2 and event.data["reason"] == "Back to triage"
    assert network.assignment_strategy == AssignmentStrategy.NONE


def test_workload_view_shows_members_load_on_call_and_absence(client, desk, customer, roles):
    from datetime import date, timedelta

    from django.utils import timezone

    from accounts.roles import Role
    from assignment.models import OnCallRotation
    from assignment.services import absence_create
    from tests.factories import UserFactory

    group = ResolverGroupFactory(name="Infra", slug="infra")
    on_duty, away = (
        UserFactory(username="onduty", roles=[Role.RESOLVER]),
        UserFactory(username="away", roles=[Role.RESOLVER]),
    )
    for m in (on_duty, away):
        group.memberships.create(user=m)
    rotation = OnCallRotation.objects.create(group=group, name="r", period="daily", starts_on=date(2026, 1, 1))
    rotation.members.create(user=on_duty, position=0)
    now = timezone.now()
    absence_create(user=away, starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=1), kind="sick")
    ticket_create(
        actor=desk,
        requester=customer,
        title="a",
        priority="P1",
        priority_override_reason="set by the test",
        resolver_group=group,
        assignee=on_duty,
    )
    ticket_create(
        actor=desk,
        requester=customer,
        title="b",
        priority="P4",
        priority_override_reason="set by the test",
        resolver_group=group,
    )
    client.force_login(desk)
    page = client.get("/groups/infra/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "On call" in html and "Sick until" in html and "1 unassigned open ticket" in html
    assert client.get("/groups/").status_code == 200
    client.force_login(customer)
    assert client.get("/groups/infra/").status_code == 302
