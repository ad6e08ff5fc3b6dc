"""Routing and assignment of a new ticket use a fixed number of queries, whatever the number of groups,
agents and open tickets: measured on a tiny setup, then again after adding 50 groups, 500 agents and
10,000 open tickets."""

from datetime import UTC, datetime, time

from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from accounts.roles import Role
from assignment.models import Absence, AgentSkill, OnCallRotation, RotationMember, RoutingRule
from catalog.choices import AssignmentStrategy
from catalog.models import ResolverGroup, ResolverGroupMembership
from sla.models import BusinessCalendar, BusinessHours
from tickets.models import Ticket
from tickets.services import ticket_create

# 2026-12-04 is a Friday (noon in Rome is in office hours); the Saturday night after is outside them.
FRIDAY_NOON = datetime(2026, 12, 4, 11, 0, tzinfo=UTC)
SATURDAY_NIGHT = datetime(2026, 12, 5, 22, 0, tzinfo=UTC)
ABSENCE_FROM = datetime(2026, 12, 1, tzinfo=UTC)
ABSENCE_TO = datetime(2026, 12, 10, tzinfo=UTC)


def _world(
    prefix: str, n_groups: int, n_agents: int, n_tickets: int, requester, first_order: int, calendar=None
) -> None:
    resolver_role = Group.objects.get(name=Role.RESOLVER)
    groups = ResolverGroup.objects.bulk_create(
        ResolverGroup(
            name=f"{prefix}{i}",
            slug=f"{prefix}{i}",
            assignment_strategy=AssignmentStrategy.BEST_SKILL,
            operational_calendar=calendar,
        )
        for i in range(n_groups)
    )
    agents = User.objects.bulk_create(
        User(username=f"{prefix}agent{i}", email=f"{prefix}{i}@x.test") for i in range(n_agents)
    )
    User.groups.through.objects.bulk_create(
        User.groups.through(user_id=a.pk, group_id=resolver_role.pk) for a in agents
    )
    ResolverGroupMembership.objects.bulk_create(
        ResolverGroupMembership(group=groups[i % n_groups], user=a) for i, a in enumerate(agents)
    )
    AgentSkill.objects.bulk_create(AgentSkill(user=a, tag="vpn", level=1 + i % 5) for i, a in enumerate(agents))
    for i, g in enumerate(groups):
        rotation = OnCallRotation.objects.create(group=g, name="r", starts_on="2026-01-01", time_zone="Europe/Rome")
        RotationMember.objects.create(rotation=rotation, user=agents[i], position=0)
    # every tenth agent who is not on call is away over the days measured (in the big world that is every member
    # of group 49 but its on-call one): absences are part of every availability check
    Absence.objects.bulk_create(
        Absence(user=a, starts_at=ABSENCE_FROM, ends_at=ABSENCE_TO, kind="holiday")
        for i, a in enumerate(agents)
        if i >= n_groups and i % 10 == 9
    )
    priorities = ["P1", "P2", "P3", "P4"]
    Ticket.objects.bulk_create(
        Ticket(
            number=f"{prefix.upper()}-{i:07d}",
            title="load",
            requester=requester,
            resolver_group=groups[i % n_groups],
            assignee=agents[i % n_agents],
            status="in_progress",
            priority=priorities[i % 4],
        )
        for i in range(n_tickets)
    )
    RoutingRule.objects.bulk_create(
        RoutingRule(
            name=f"{prefix} rule {i}",
            order=first_order + i,
            keywords=f"{prefix}kw{i}",
            target_group=g,
            required_skills=["vpn"],
        )
        for i, g in enumerate(groups)
    )


def _create_and_count(requester, keyword: str, now=None) -> tuple[int, Ticket]:
    with CaptureQueriesContext(connection) as ctx:
        ticket = ticket_create(
            actor=None,
            requester=requester,
            title=f"Problem {keyword}",
            priority="P2",
            priority_override_reason="set by the test",
            now=now,
        )
    return len(ctx.captured_queries), ticket


def test_route_and_assign_query_count_is_constant(roles, customer):
    _world("small", 2, 4, 10, customer, first_order=1000)
    _create_and_count(customer, "smallkw0")  # warm the per-process caches (policies, rules, templates)
    small, ticket = _create_and_count(customer, "smallkw1")
    assert ticket.resolver_group.slug == "small1" and ticket.assignee is not None

    _world("big", 50, 500, 10_000, customer, first_order=0)
    assert Ticket.objects.filter(status="in_progress").count() == 10_010
    large, ticket = _create_and_count(customer, "bigkw49")  # the 50th of 52 rules matches
    assert ticket.resolver_group.slug == "big49" and ticket.assignee is not None
    assert large == small, f"{small} queries in the small world, {large} with 50 groups/500 agents/10,000 tickets"


def test_query_count_is_constant_with_operational_hours_absences_and_on_call(roles, customer):
    """The same with every group on an office calendar and absent agents: in hours (candidates minus the
    absent) and out of hours (the on-call member of the group, checked for absence)."""
    calendar = BusinessCalendar.objects.create(name="Rome office", time_zone="Europe/Rome")
    for day in range(5):
        BusinessHours.objects.create(calendar=calendar, weekday=day, start=time(9), end=time(17))
    _world("small", 2, 4, 10, customer, first_order=1000, calendar=calendar)
    _create_and_count(customer, "smallkw0", now=FRIDAY_NOON)  # warm the per-process caches
    _create_and_count(customer, "smallkw0", now=SATURDAY_NIGHT)
    small_day, ticket = _create_and_count(customer, "smallkw1", now=FRIDAY_NOON)
    assert ticket.assignee is not None and "on-call" not in ticket.routing.explanation
    small_night, ticket = _create_and_count(customer, "smallkw1", now=SATURDAY_NIGHT)
    assert ticket.assignee is not None and "on-call member" in ticket.routing.explanation

    _world("big", 50, 500, 10_000, customer, first_order=0, calendar=calendar)
    large_day, ticket = _create_and_count(customer, "bigkw49", now=FRIDAY_NOON)
    assert ticket.resolver_group.slug == "big49" and ticket.assignee is not None
    assert not Absence.objects.filter(user=ticket.assignee).exists()
    large_night, ticket = _create_and_count(customer, "bigkw49", now=SATURDAY_NIGHT)
    assert ticket.resolver_group.slug == "big49" and "on-call member" in ticket.routing.explanation
    assert (large_day, large_night) == (small_day, small_night)
