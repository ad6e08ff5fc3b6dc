"""Reads of the assignment domain. Each function issues a fixed number of queries, whatever the number of
groups, agents or open tickets (aggregates run in the database, never in Python loops over tickets)."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Case, Count, IntegerField, OuterRef, Q, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce

from accounts.models import User
from assignment.choices import PRIORITY_WEIGHT
from assignment.models import Absence, AgentSkill, OnCallOverride, OnCallRotation, RoutingRule
from assignment.oncall import Override, Rotation, on_call
from assignment.routing import RuleSpec
from assignment.strategies import Candidate
from catalog.models import ResolverGroup, ResolverGroupMembership
from tickets.choices import OPEN_STATUSES, Priority
from tickets.models import Ticket


def _weight_expression():
    return Case(
        *[When(priority=p, then=Value(PRIORITY_WEIGHT[p])) for p in Priority.values],
        default=Value(PRIORITY_WEIGHT[""]),
        output_field=IntegerField(),
    )


def routing_rules_active() -> list[RuleSpec]:
    """The active rules in order, as plain data. Three queries (rules, their services, their organizations),
    read as tuples: a new ticket pays for the rules' data, not for building model instances."""
    rows = list(
        RoutingRule.objects.filter(is_active=True)
        .order_by("order", "id")
        .values_list(
            "id", "name", "target_group_id", "ticket_types", "priorities", "categories", "keywords", "required_skills"
        )
    )
    ids = [r[0] for r in rows]
    services: dict[int, set[int]] = {}
    for rule_id, service_id in RoutingRule.services.through.objects.filter(routingrule_id__in=ids).values_list(
        "routingrule_id", "service_id"
    ):
        services.setdefault(rule_id, set()).add(service_id)
    orgs: dict[int, set[int]] = {}
    for rule_id, org_id in RoutingRule.organizations.through.objects.filter(routingrule_id__in=ids).values_list(
        "routingrule_id", "organization_id"
    ):
        orgs.setdefault(rule_id, set()).add(org_id)
    return [
        RuleSpec(
            id=pk,
            name=name,
            target_group_id=group_id,
            ticket_types=frozenset(types or []),
            priorities=frozenset(priorities or []),
            service_ids=frozenset(services.get(pk, ())),
            organization_ids=frozenset(orgs.get(pk, ())),
            categories=frozenset(categories or []),
            keywords=tuple(k.strip() for k in (keywords or "").split(",") if k.strip()),
            required_skills=tuple(skills or []),
        )
        for pk, name, group_id, types, priorities, categories, keywords, skills in rows
    ]


def fallback_group() -> ResolverGroup | None:
    return ResolverGroup.objects.filter(is_fallback=True, is_active=True).first()


def group_candidates(*, group: ResolverGroup, at: datetime, required_skills: tuple[str, ...] = ()) -> list[Candidate]:
    """Members of the group who are active and not absent at `at`, with their weighted open-ticket load and
    their skill score for `required_skills`. One query."""
    load = (
        Ticket.objects.filter(assignee=OuterRef("pk"), status__in=OPEN_STATUSES)
        .order_by()
        .values("assignee")
        .annotate(w=Sum(_weight_expression()))
        .values("w")
    )
    skill = (
        AgentSkill.objects.filter(user=OuterRef("pk"), tag__in=list(required_skills))
        .order_by()
        .values("user")
        .annotate(s=Sum("level"))
        .values("s")
    )
    members = ResolverGroupMembership.objects.filter(group=group).values("user_id")
    rows = (
        User.objects.filter(pk__in=members, is_active=True)
        .exclude(Q(pk__in=Absence.objects.filter(starts_at__lte=at, ends_at__gt=at).values("user_id")))
        .annotate(
            load=Coalesce(Subquery(load, output_field=IntegerField()), 0),
            skill_score=Coalesce(Subquery(skill, output_field=IntegerField()), 0),
        )
        .values_list("pk", "load", "skill_score")
    )
    return [Candidate(user_id=pk, load=load, skill_score=score) for pk, load, score in rows]


def group_on_call(*, group: ResolverGroup, at: datetime) -> int | None:
    """The user on call for the group at `at` (first active rotation that has someone), or None.
    Three queries: rotations, their members, the overrides covering `at`."""
    rotations = list(
        OnCallRotation.objects.filter(group=group, is_active=True).order_by("pk").prefetch_related("members")
    )
    if not rotations:
        return None
    overrides: dict[int, list[Override]] = {}
    for o in OnCallOverride.objects.filter(rotation__in=rotations, starts_at__lte=at, ends_at__gt=at):
        overrides.setdefault(o.rotation_id, []).append(Override(o.user_id, o.starts_at, o.ends_at))
    for r in rotations:
        spec = rotation_spec(r)
        user_id = on_call(spec, at, overrides.get(r.pk, []))
        if user_id is not None:
            return user_id
    return None


def rotation_spec(rotation: OnCallRotation) -> Rotation:
    return Rotation(
        period=rotation.period,
        time_zone=rotation.time_zone,
        handoff_time=rotation.handoff_time,
        handoff_weekday=rotation.handoff_weekday,
        starts_on=rotation.starts_on,
        member_ids=tuple(m.user_id for m in sorted(rotation.members.all(), key=lambda m: m.position)),
    )


def user_is_absent(*, user_id: int, at: datetime) -> bool:
    return Absence.objects.filter(user_id=user_id, starts_at__lte=at, ends_at__gt=at).exists()


@dataclass
class MemberWorkload:
    user: User
    open_by_priority: dict[str, int]
    open_total: int
    weighted_load: int
    absent: Absence | None
    on_call: bool


def group_workload(*, group: ResolverGroup, at: datetime) -> dict:
    """The workload view of a group: members, their open tickets by priority, absences, who is on call,
    and the group's unassigned queue. A fixed number of queries."""
    members = list(
        User.objects.filter(memberships__group=group).order_by("first_name", "last_name", "username").distinct()
    )
    ids = [m.pk for m in members]
    counts: dict[int, dict[str, int]] = {}
    for assignee, priority, n in (
        Ticket.objects.filter(assignee_id__in=ids, status__in=OPEN_STATUSES)
        .order_by()
        .values_list("assignee", "priority")
        .annotate(n=Count("id"))
    ):
        counts.setdefault(assignee, {})[priority or ""] = n
    absences = {a.user_id: a for a in Absence.objects.filter(user_id__in=ids, starts_at__lte=at, ends_at__gt=at)}
    on_call_id = group_on_call(group=group, at=at)
    rows = []
    for m in members:
        by_priority = counts.get(m.pk, {})
        rows.append(
            MemberWorkload(
                user=m,
                open_by_priority={p: by_priority.get(p, 0) for p in [*Priority.values, ""]},
                open_total=sum(by_priority.values()),
                weighted_load=sum(PRIORITY_WEIGHT.get(p, 1) * n for p, n in by_priority.items()),
                absent=absences.get(m.pk),
                on_call=m.pk == on_call_id,
            )
        )
    queue = Ticket.objects.filter(resolver_group=group, assignee__isnull=True, status__in=OPEN_STATUSES).aggregate(
        total=Count("id"), **{f"p_{p}": Count("id", filter=Q(priority=p)) for p in Priority.values}
    )
    return {"members": rows, "queue": queue, "on_call_id": on_call_id}


def groups_overview() -> list[dict]:
    """Every active group with its open, unassigned and member counts (three grouped queries)."""
    groups = list(ResolverGroup.objects.filter(is_active=True).annotate(member_count=Count("memberships")))
    open_counts = dict(
        Ticket.objects.filter(status__in=OPEN_STATUSES).order_by().values_list("resolver_group").annotate(n=Count("id"))
    )
    queue_counts = dict(
        Ticket.objects.filter(status__in=OPEN_STATUSES, assignee__isnull=True)
        .order_by()
        .values_list("resolver_group")
        .annotate(n=Count("id"))
    )
    return [
        {"group": g, "members": g.member_count, "open": open_counts.get(g.pk, 0), "queue": queue_counts.get(g.pk, 0)}
        for g in groups
    ]
