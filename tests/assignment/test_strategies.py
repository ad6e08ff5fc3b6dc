"""Assignment inside a group: each strategy, availability (absences, on call), and the waiting queue."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from accounts.roles import Role
from assignment.models import AgentSkill, OnCallRotation, RoutingRule
from assignment.services import absence_create, assignment_assign_waiting
from assignment.strategies import Candidate, choose
from catalog.choices import AssignmentStrategy
from tests.factories import ResolverGroupFactory, TicketFactory, UserFactory
from tickets.choices import TicketEventType
from tickets.services import ticket_assign, ticket_create

S = AssignmentStrategy


@pytest.fixture
def team(roles):
    group = ResolverGroupFactory(name="Application Support", slug="app-support")
    members = [UserFactory(username=f"agent{i}", roles=[Role.RESOLVER]) for i in range(3)]
    for m in members:
        group.memberships.create(user=m)
    return group, members


def _set_strategy(group, strategy):
    group.assignment_strategy = strategy
    group.save(update_fields=["assignment_strategy"])


def test_pure_choice_rules():
    cands = [
        Candidate(3, load=5, skill_score=2),
        Candidate(1, load=2, skill_score=0),
        Candidate(2, load=2, skill_score=9),
    ]
    assert choose(S.NONE, cands) == (None, "group queue")
    assert choose(S.LEAST_LOADED, cands)[0] == 1  # tie on load 2: lowest id
    assert choose(S.BEST_SKILL, cands)[0] == 2
    assert choose(S.ROUND_ROBIN, cands, last_assigned_id=1)[0] == 2
    assert choose(S.ROUND_ROBIN, cands, last_assigned_id=3)[0] == 1  # wraps around
    assert choose(S.LEAST_LOADED, [])[0] is None


def test_none_leaves_the_ticket_in_the_group_queue(db, customer, team):
    group, _ = team
    ticket = ticket_create(actor=None, requester=customer, title="x", resolver_group=None, service=None)
    assert ticket.assignee is None
    RoutingRule.objects.create(name="all", order=1, target_group=group)
    ticket = ticket_create(actor=None, requester=customer, title="y")
    assert ticket.resolver_group == group and ticket.assignee is None


@pytest.mark.smoke
def test_round_robin_cycles_through_members(db, customer, team):
    group, members = team
    _set_strategy(group, S.ROUND_ROBIN)
    RoutingRule.objects.create(name="all", order=1, target_group=group)
    got = [ticket_create(actor=None, requester=customer, title=f"t{i}").assignee for i in range(6)]
    ordered = sorted(members, key=lambda m: m.pk)
    assert got == ordered + ordered


def test_least_loaded_weights_open_tickets_by_priority(db, desk, customer, team):
    group, (a, b, c) = team
    _set_strategy(group, S.LEAST_LOADED)
    RoutingRule.objects.create(name="all", order=1, target_group=group)
    # a holds one P1 (weight 8); b holds three P4 (weight 3); c holds two P3 (weight 4).
    for user, priority, n in [(a, "P1", 1), (b, "P4", 3), (c, "P3", 2)]:
        for _ in range(n):
            ticket_create(
                actor=desk,
                requester=customer,
                title="load",
                priority=priority,
                priority_override_reason="set by the test",
                resolver_group=group,
                assignee=user,
            )
    assert (
        ticket_create(
            actor=None, requester=customer, title="new", priority="P3", priority_override_reason="set by the test"
        ).assignee
        == b
    )
    # b is now at 3 + 2 = 5 and c at 4: c is next.
    assert (
        ticket_create(
            actor=None, requester=customer, title="new2", priority="P4", priority_override_reason="set by the test"
        ).assignee
        == c
    )


def test_best_skill_then_least_loaded(db, customer, team):
    group, (a, b, c) = team
    _set_strategy(group, S.BEST_SKILL)
    RoutingRule.objects.create(
        name="oracle", order=1, keywords="oracle", target_group=group, required_skills=["oracle", "sql"]
    )
    AgentSkill.objects.create(user=a, tag="oracle", level=2)
    AgentSkill.objects.create(user=b, tag="oracle", level=4)
    AgentSkill.objects.create(user=b, tag="sql", level=1)
    AgentSkill.objects.create(user=c, tag="oracle", level=5)
    first = ticket_create(actor=None, requester=customer, title="Oracle listener down")
    assert first.assignee == b or first.assignee == c  # both score 5
    second = ticket_create(actor=None, requester=customer, title="Oracle again")
    assert {first.assignee, second.assignee} == {b, c}  # tie on skill, then the less loaded one


def test_absent_members_are_skipped(db, customer, team):
    group, (a, b, c) = team
    _set_strategy(group, S.LEAST_LOADED)
    RoutingRule.objects.create(name="all", order=1, target_group=group)
    now = timezone.now()
    absence_create(user=a, starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=1), kind="holiday")
    absence_create(user=b, starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=1), kind="sick")
    assert {ticket_create(actor=None, requester=customer, title=f"t{i}").assignee for i in range(3)} == {c}


def test_overlapping_absences_are_refused(db, team):
    from itsm.lib.errors import DomainError

    _, (a, _, _) = team
    now = timezone.now()
    absence_create(user=a, starts_at=now, ends_at=now + timedelta(days=2), kind="holiday")
    with pytest.raises(DomainError, match="already has an absence"):
        absence_create(user=a, starts_at=now + timedelta(days=1), ends_at=now + timedelta(days=3), kind="sick")


def test_nobody_available_leaves_it_queued_then_the_beat_assigns(db, customer, team):
    group, members = team
    _set_strategy(group, S.LEAST_LOADED)
    RoutingRule.objects.create(name="all", order=1, target_group=group)
    now = timezone.now()
    for m in members:
        absence_create(user=m, starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=1), kind="training")
    ticket = ticket_create(actor=None, requester=customer, title="waits", now=now)
    assert ticket.assignee is None
    assert assignment_assign_waiting(now=now) == 0
    later = now + timedelta(hours=2)
    assert assignment_assign_waiting(now=later) == 1
    assert assignment_assign_waiting(now=later) == 0  # idempotent
    ticket.refresh_from_db()
    assert ticket.assignee in members
    event = ticket.events.filter(event_type=TicketEventType.ASSIGNED).order_by("-seq").first()
    assert event.data["reason"].startswith("assigned from the Application Support queue")


def test_group_keeps_ownership_while_its_member_is_away(db, desk, customer, team):
    group, (a, _, _) = team
    ticket = TicketFactory(requester=customer, resolver_group=group)
    ticket_assign(ticket=ticket, actor=desk, assignee=a, reason="expert")
    now = timezone.now()
    absence_create(user=a, starts_at=now, ends_at=now + timedelta(days=5), kind="holiday")
    assignment_assign_waiting(now=now + timedelta(minutes=1))
    ticket.refresh_from_db()
    assert ticket.resolver_group == group and ticket.assignee == a


def test_on_call_rotation_model_and_selector(db, team):
    from assignment.selectors import group_on_call

    group, (a, b, _) = team
    rotation = OnCallRotation.objects.create(
        group=group, name="Week", period="daily", time_zone="UTC", handoff_time="09:00", starts_on=date(2026, 1, 1)
    )
    rotation.members.create(user=a, position=0)
    rotation.members.create(user=b, position=1)
    from datetime import UTC, datetime

    assert group_on_call(group=group, at=datetime(2026, 1, 1, 10, tzinfo=UTC)) == a.pk
    assert group_on_call(group=group, at=datetime(2026, 1, 2, 10, tzinfo=UTC)) == b.pk
    rotation.overrides.create(
        user=b,
        starts_at=datetime(2026, 1, 3, 0, tzinfo=UTC),
        ends_at=datetime(2026, 1, 4, 0, tzinfo=UTC),
        reason="swap",
    )
    assert group_on_call(group=group, at=datetime(2026, 1, 3, 10, tzinfo=UTC)) == b.pk
