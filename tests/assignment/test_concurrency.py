"""Concurrent automatic assignment keeps the balance (PostgreSQL, real threads)."""

from collections import Counter

import pytest

from accounts.roles import Role
from assignment.models import RoutingRule
from catalog.choices import AssignmentStrategy
from tests.factories import ResolverGroupFactory, UserFactory
from tests.tickets.test_concurrency import _run_in_threads
from tickets.services import ticket_create

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_twenty_simultaneous_tickets_spread_evenly_over_four_members(roles, customer):
    group = ResolverGroupFactory(name="Infra", slug="infra", assignment_strategy=AssignmentStrategy.LEAST_LOADED)
    members = [UserFactory(username=f"m{i}", roles=[Role.RESOLVER]) for i in range(4)]
    for m in members:
        group.memberships.create(user=m)
    RoutingRule.objects.create(name="all", order=1, target_group=group)

    def create(i):
        return ticket_create(
            actor=None, requester=customer, title=f"t{i}", priority="P3", priority_override_reason="set by the test"
        ).assignee_id

    assignees, errors = _run_in_threads(create)
    assert errors == []
    # Without the group lock, simultaneous decisions read the same loads and pile onto one person.
    assert Counter(assignees) == {m.pk: 5 for m in members}
