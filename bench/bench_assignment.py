"""Assignment decision time with 100,000 open tickets, next to a bare SQL query of the same workload figures.

    python -m bench.bench_assignment            # BENCH_DATABASE_URL, default postgres://.../itsm_bench

Data: 50 resolver groups (best skill, then least loaded), 500 agents with skills, 50 routing rules,
100,000 open tickets spread over the agents. The decision is what a new ticket costs before the write:
evaluate the routing rules, then pick the member (availability, weighted load, skills) in the database.
The baseline is one hand-written SQL statement computing the same weighted loads for the same group."""

import os
import random

from bench.harness import measure, report, setup

N_GROUPS, N_AGENTS = 50, 500
N_TICKETS = int(os.environ.get("BENCH_TICKETS", "100000"))
REPEAT = 50


def generate():
    from django.contrib.auth.models import Group

    from accounts.models import User
    from accounts.roles import Role, roles_sync
    from assignment.models import AgentSkill, RoutingRule
    from catalog.choices import AssignmentStrategy
    from catalog.models import ResolverGroup, ResolverGroupMembership
    from tickets.models import Ticket

    roles_sync()
    rng = random.Random(5)
    role = Group.objects.get(name=Role.RESOLVER)
    groups = ResolverGroup.objects.bulk_create(
        ResolverGroup(name=f"Group {i}", slug=f"group-{i}", assignment_strategy=AssignmentStrategy.BEST_SKILL)
        for i in range(N_GROUPS)
    )
    agents = User.objects.bulk_create(User(username=f"agent{i}", email=f"agent{i}@x.test") for i in range(N_AGENTS))
    User.groups.through.objects.bulk_create(User.groups.through(user_id=a.pk, group_id=role.pk) for a in agents)
    ResolverGroupMembership.objects.bulk_create(
        ResolverGroupMembership(group=groups[i % N_GROUPS], user=a) for i, a in enumerate(agents)
    )
    AgentSkill.objects.bulk_create(
        AgentSkill(user=a, tag=tag, level=rng.randint(1, 5)) for a in agents for tag in ("vpn", "erp")
    )
    RoutingRule.objects.bulk_create(
        RoutingRule(name=f"rule {i}", order=i, keywords=f"keyword{i}", target_group=g, required_skills=["vpn"])
        for i, g in enumerate(groups)
    )
    requester = User.objects.create(username="requester", email="r@x.test")
    batch = []
    for i in range(N_TICKETS):
        agent = agents[i % N_AGENTS]
        batch.append(
            Ticket(
                number=f"BLK-{i:07d}",
                title="load",
                requester=requester,
                resolver_group_id=groups[i % N_GROUPS].pk,
                assignee=agent,
                status=rng.choice(["assigned", "in_progress", "pending"]) if rng.random() > 0.05 else "new",
                pending_reason="awaiting_other",
                priority=rng.choice(["P1", "P2", "P3", "P4"]),
            )
        )
        if len(batch) == 5000:
            _flush(Ticket, batch)
    _flush(Ticket, batch)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return groups[-1], requester


def _flush(model, batch):
    for t in batch:
        if t.status != "pending":
            t.pending_reason = ""
    model.objects.bulk_create(batch)
    batch.clear()


def main() -> None:
    setup()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from assignment.availability import choose_member
    from assignment.services import ticket_route
    from catalog.models import ResolverGroup
    from tickets.models import Ticket

    target, requester = generate()
    ticket = Ticket(title="Problem with keyword49", requester=requester, priority="P2", ticket_type="incident")
    now = timezone.now()

    def decide():
        routing = ticket_route(ticket=ticket)
        group = ResolverGroup.objects.get(pk=routing.group_id)
        return choose_member(group=group, priority="P2", at=now, required_skills=routing.required_skills)

    user_id, why = decide()
    assert user_id is not None, why
    with CaptureQueriesContext(connection) as ctx:
        decide()
    members = list(target.memberships.values_list("user_id", flat=True))
    sql = """
        SELECT assignee_id, SUM(CASE priority WHEN 'P1' THEN 8 WHEN 'P2' THEN 4 WHEN 'P3' THEN 2 ELSE 1 END)
        FROM tickets_ticket
        WHERE assignee_id = ANY(%s) AND status IN ('new', 'assigned', 'in_progress', 'pending')
        GROUP BY assignee_id
    """

    def bare():
        with connection.cursor() as cursor:
            cursor.execute(sql, [members])
            return cursor.fetchall()

    decision = measure("decision: route + choose member (reads only)", decide, repeat=REPEAT)
    baseline = measure("baseline: bare SQL of the group's weighted loads", bare, repeat=REPEAT)
    report(
        "assignment",
        [decision, baseline],
        {"decision / bare SQL (median)": decision.median / baseline.median},
        {
            "open tickets": Ticket.objects.filter(status__in=["new", "assigned", "in_progress", "pending"]).count(),
            "groups / agents": f"{N_GROUPS} / {N_AGENTS}",
            "queries per decision": len(ctx.captured_queries),
            "chosen": f"user {user_id}: {why}",
        },
    )


if __name__ == "__main__":
    main()
