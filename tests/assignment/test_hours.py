"""Operational hours: inside them the strategy picks an available member; outside them P1 and P2 go to
whoever is on call and lower priorities wait in the group queue until the next business hours."""

from datetime import UTC, date, datetime, time

import pytest

from accounts.roles import Role
from assignment.models import OnCallRotation, RoutingRule
from assignment.services import absence_create, assignment_assign_waiting
from catalog.choices import AssignmentStrategy
from sla.models import BusinessCalendar, BusinessHours
from tests.factories import ResolverGroupFactory, UserFactory
from tickets.services import ticket_create

# 2026-12-04 is a Friday; Europe/Rome is UTC+1 in December.
FRIDAY_NOON = datetime(2026, 12, 4, 11, 0, tzinfo=UTC)
SATURDAY_NIGHT = datetime(2026, 12, 5, 22, 0, tzinfo=UTC)
MONDAY_0905_ROME = datetime(2026, 12, 7, 8, 5, tzinfo=UTC)


@pytest.fixture
def office_group(roles):
    calendar = BusinessCalendar.objects.create(name="Rome office", time_zone="Europe/Rome")
    for day in range(5):
        BusinessHours.objects.create(calendar=calendar, weekday=day, start=time(9), end=time(17))
    group = ResolverGroupFactory(
        name="Infrastructure",
        slug="infra-hours",
        operational_calendar=calendar,
        assignment_strategy=AssignmentStrategy.LEAST_LOADED,
    )
    day_staff = UserFactory(username="day", roles=[Role.RESOLVER])
    night_staff = UserFactory(username="night", roles=[Role.RESOLVER])
    for m in (day_staff, night_staff):
        group.memberships.create(user=m)
    rotation = OnCallRotation.objects.create(
        group=group,
        name="On call",
        period="weekly",
        time_zone="Europe/Rome",
        handoff_time=time(9),
        handoff_weekday=0,
        starts_on=date(2026, 11, 30),
    )
    rotation.members.create(user=night_staff, position=0)
    RoutingRule.objects.create(name="all", order=1, target_group=group)
    return group, day_staff, night_staff


def _new(customer, when, impact, urgency):
    # impact x urgency give the priority through the matrix: (1, 1) is P1, (4, 4) is P4
    return ticket_create(
        actor=None, requester=customer, title="Server problem", impact=impact, urgency=urgency, now=when
    )


def test_inside_hours_the_strategy_assigns(db, customer, office_group):
    group, day_staff, night_staff = office_group
    ticket = _new(customer, FRIDAY_NOON, 4, 4)
    assert ticket.resolver_group == group and ticket.assignee in (day_staff, night_staff)


def test_outside_hours_p1_goes_to_on_call_and_p4_waits_for_monday(db, customer, office_group):
    group, day_staff, night_staff = office_group
    urgent = _new(customer, SATURDAY_NIGHT, 1, 1)
    assert urgent.priority == "P1" and urgent.assignee == night_staff
    assert "on-call member" in urgent.routing.explanation
    routine = _new(customer, SATURDAY_NIGHT, 4, 4)
    assert routine.priority == "P4" and routine.assignee is None
    assert "waits in the group queue for the next business hours" in routine.routing.explanation
    assert assignment_assign_waiting(now=SATURDAY_NIGHT) == 0  # still outside hours
    assert assignment_assign_waiting(now=MONDAY_0905_ROME) == 1
    routine.refresh_from_db()
    assert routine.assignee in (day_staff, night_staff)


def test_outside_hours_with_the_on_call_member_absent_leaves_p1_queued(db, customer, office_group):
    group, _, night_staff = office_group
    absence_create(
        user=night_staff,
        starts_at=datetime(2026, 12, 5, tzinfo=UTC),
        ends_at=datetime(2026, 12, 6, tzinfo=UTC),
        kind="sick",
    )
    urgent = _new(customer, SATURDAY_NIGHT, 1, 1)
    assert urgent.assignee is None and "nobody is on call" in urgent.routing.explanation


def test_outside_hours_p2_goes_to_on_call_too(db, customer, office_group):
    _, _, night_staff = office_group
    urgent = _new(customer, SATURDAY_NIGHT, 2, 2)
    assert urgent.priority == "P2" and urgent.assignee == night_staff


def test_a_group_that_assigns_by_hand_still_pages_on_call_for_p1_outside_hours(db, customer, office_group):
    group, day_staff, night_staff = office_group
    group.assignment_strategy = AssignmentStrategy.NONE
    group.save(update_fields=["assignment_strategy"])
    in_hours = _new(customer, FRIDAY_NOON, 1, 1)
    assert in_hours.priority == "P1" and in_hours.assignee is None
    assert "assigns by hand" in in_hours.routing.explanation
    at_night = _new(customer, SATURDAY_NIGHT, 1, 1)
    assert at_night.assignee == night_staff and "on-call member" in at_night.routing.explanation
    routine = _new(customer, SATURDAY_NIGHT, 4, 4)
    assert routine.assignee is None
    # the beat leaves the hand-assigned queue alone in hours, whatever the priority
    assert assignment_assign_waiting(now=MONDAY_0905_ROME) == 0
    in_hours.refresh_from_db()
    assert in_hours.assignee is None


def test_a_p1_queued_in_a_hand_assigned_group_reaches_on_call_once_someone_is(db, customer, office_group):
    group, _, night_staff = office_group
    group.assignment_strategy = AssignmentStrategy.NONE
    group.save(update_fields=["assignment_strategy"])
    absence_create(
        user=night_staff,
        starts_at=datetime(2026, 12, 5, tzinfo=UTC),
        ends_at=datetime(2026, 12, 5, 23, tzinfo=UTC),
        kind="sick",
    )
    urgent = _new(customer, SATURDAY_NIGHT, 1, 1)
    assert urgent.assignee is None and "nobody is on call" in urgent.routing.explanation
    assert assignment_assign_waiting(now=datetime(2026, 12, 5, 23, 30, tzinfo=UTC)) == 1
    urgent.refresh_from_db()
    assert urgent.assignee == night_staff
