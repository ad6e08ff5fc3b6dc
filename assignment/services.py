"""Writes of the assignment domain: route a ticket to a group and give it to a member, assign the tickets
that waited for business hours, and record absences. Automatic assignment inside a group is serialized by
the group's GroupAssignmentState row lock, so two tickets assigned at the same moment see each other's load."""

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from assignment.availability import choose_member, group_in_hours
from assignment.choices import ON_CALL_PRIORITIES
from assignment.models import Absence, GroupAssignmentState, TicketRouting
from assignment.routing import RoutingDecision, TicketFacts, route
from assignment.selectors import fallback_group, routing_rules_active
from catalog.choices import AssignmentStrategy
from catalog.models import ResolverGroup
from itsm.lib.errors import DomainError
from itsm.lib.transactions import service_atomic
from tickets.choices import TicketStatus
from tickets.models import Ticket


@dataclass(frozen=True)
class AssignmentDecision:
    routing: RoutingDecision
    assignee_id: int | None
    assignee_reason: str

    @property
    def explanation(self) -> str:
        return f"{self.routing.explanation}; {self.assignee_reason}"


def _facts(ticket: Ticket) -> TicketFacts:
    category = getattr(ticket, "category_name", "") or ""
    return TicketFacts(
        ticket_type=ticket.ticket_type,
        priority=ticket.priority,
        service_id=ticket.service_id,
        organization_id=ticket.organization_id,
        category=category,
        text=f"{ticket.title}\n{ticket.description}",
    )


def ticket_route(*, ticket: Ticket) -> RoutingDecision:
    """Which group: the first matching routing rule, else the service's default group, else the fallback."""
    groups = {}
    service_default = None
    if ticket.service_id and ticket.service.default_resolver_group_id:
        g = ticket.service.default_resolver_group
        service_default = (g.pk, g.name)
    fallback = fallback_group()
    rules = routing_rules_active()
    target_ids = {r.target_group_id for r in rules}
    if target_ids:
        groups = dict(ResolverGroup.objects.filter(pk__in=target_ids).values_list("pk", "name"))
    return route(
        _facts(ticket),
        rules,
        service_default=service_default,
        fallback=(fallback.pk, fallback.name) if fallback else None,
        group_names=groups,
    )


def _lock_group_state(group: ResolverGroup) -> GroupAssignmentState:
    state, _ = GroupAssignmentState.objects.select_for_update().get_or_create(group=group)
    return state


@service_atomic
def ticket_route_and_assign(
    *, ticket: Ticket, group: ResolverGroup | None = None, group_source: str = "", now: datetime | None = None
) -> AssignmentDecision:
    """Route a new ticket (unless `group` was already decided, by `group_source`) and, following the group's
    strategy, give it to an available member. Done by the system (actor None); recorded on the ticket
    (TicketRouting and the ASSIGNED event's reason)."""
    from tickets.services import ticket_assign

    now = now or timezone.now()
    if group is not None:
        routing = RoutingDecision(group.pk, None, "given", f"placed in {group.name} by {group_source or 'hand'}")
    else:
        routing = ticket_route(ticket=ticket)
    if routing.group_id is None:
        return AssignmentDecision(routing, None, "nobody to route to")
    if group is None:
        group = ResolverGroup.objects.select_related("operational_calendar").get(pk=routing.group_id)
    state = _lock_group_state(group)
    assignee_id, why = choose_member(
        group=group,
        priority=ticket.priority,
        at=now,
        required_skills=routing.required_skills,
        last_assigned_id=state.last_assigned_id,
    )
    decision = AssignmentDecision(routing, assignee_id, why)
    assignee = group.members.get(pk=assignee_id) if assignee_id else None
    ticket_assign(
        ticket=ticket, actor=None, resolver_group=group, assignee=assignee, reason=decision.explanation, now=now
    )
    if assignee_id:
        state.last_assigned_id = assignee_id
        state.assignments += 1
        state.save(update_fields=["last_assigned", "assignments", "updated_at"])
    # one upsert (INSERT ... ON CONFLICT), not a locked read then a write in savepoints
    TicketRouting.objects.bulk_create(
        [
            TicketRouting(
                ticket=ticket,
                rule_id=routing.rule.id if routing.rule else None,
                rule_name=routing.rule.name if routing.rule else "",
                source=routing.source,
                explanation=decision.explanation[:500],
                decided_at=now,
            )
        ],
        update_conflicts=True,
        unique_fields=["ticket"],
        update_fields=["rule", "rule_name", "source", "explanation", "decided_at"],
    )
    return decision


def assignment_assign_waiting(*, now: datetime | None = None, limit: int = 200) -> int:
    """Give waiting tickets to a member: unassigned, not yet started tickets of groups that assign
    automatically, once the group is in its hours, and P1/P2 of any group once someone is on call outside its
    hours (a group that assigns by hand included). Each ticket is handled
    under the group lock and re-checked, so two concurrent runs assign a ticket once."""
    from tickets.services import ticket_assign

    now = now or timezone.now()
    waiting = (
        Ticket.objects.filter(
            status__in=[TicketStatus.NEW, TicketStatus.ASSIGNED],
            assignee__isnull=True,
            resolver_group__is_active=True,
        )
        .exclude(Q(resolver_group__assignment_strategy=AssignmentStrategy.NONE) & ~Q(priority__in=ON_CALL_PRIORITIES))
        .order_by("priority", "created_at")
        .values_list("pk", "resolver_group_id", "priority")[:limit]
    )
    in_hours: dict[int, bool] = {}
    assigned = 0
    for pk, group_id, priority in waiting:
        if group_id not in in_hours:
            group = ResolverGroup.objects.select_related("operational_calendar").get(pk=group_id)
            in_hours[group_id] = group_in_hours(group, now)
        if not in_hours[group_id] and priority not in ON_CALL_PRIORITIES:
            continue
        with transaction.atomic():
            group = ResolverGroup.objects.select_related("operational_calendar").get(pk=group_id)
            state = _lock_group_state(group)
            ticket = Ticket.objects.select_for_update().get(pk=pk)
            if ticket.assignee_id or ticket.resolver_group_id != group_id:
                continue
            routing = getattr(ticket, "routing", None)
            skills = ()
            if routing and routing.rule_id:
                skills = tuple(routing.rule.required_skills or [])
            user_id, why = choose_member(
                group=group, priority=priority, at=now, required_skills=skills, last_assigned_id=state.last_assigned_id
            )
            if user_id is None:
                continue
            ticket_assign(
                ticket=ticket,
                actor=None,
                assignee=group.members.get(pk=user_id),
                reason=f"assigned from the {group.name} queue: {why}",
                now=now,
            )
            state.last_assigned_id = user_id
            state.assignments += 1
            state.save(update_fields=["last_assigned", "assignments", "updated_at"])
            assigned += 1
    return assigned


@service_atomic
def absence_create(*, user, starts_at: datetime, ends_at: datetime, kind: str, note: str = "", actor=None) -> Absence:
    """Record an absence. Overlapping absences of the same person are refused (one of them is a mistake)."""
    if ends_at <= starts_at:
        raise DomainError("An absence must end after it starts.")
    overlap = (
        Absence.objects.select_for_update()
        .filter(user=user)
        .filter(Q(starts_at__lt=ends_at) & Q(ends_at__gt=starts_at))
    )
    if overlap.exists():
        raise DomainError(f"{user} already has an absence in that period.")
    absence = Absence(user=user, starts_at=starts_at, ends_at=ends_at, kind=kind, note=note)
    absence.full_clean()
    absence.save()
    return absence
