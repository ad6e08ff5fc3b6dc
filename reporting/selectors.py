"""Aggregations over tickets for the Service Manager. Each is one grouped query, whatever the volume."""

from datetime import datetime, timedelta

from django.db.models import Count, Q
from django.utils import timezone

from tickets.choices import OPEN_STATUSES, Priority, TicketStatus
from tickets.selectors import ticket_visible_qs

AGE_BUCKETS = [("< 1 day", 0, 1), ("1-3 days", 1, 3), ("3-7 days", 3, 7), ("7-30 days", 7, 30), ("> 30 days", 30, None)]


def backlog_overview(*, user, now: datetime | None = None) -> dict:
    now = now or timezone.now()
    visible = ticket_visible_qs(user=user)
    open_qs = visible.filter(status__in=OPEN_STATUSES)
    by_status = dict(visible.values_list("status").annotate(n=Count("id")).order_by())
    by_priority = dict(open_qs.values_list("priority").annotate(n=Count("id")).order_by())
    by_group = list(
        open_qs.values("resolver_group__name").annotate(n=Count("id")).order_by("-n", "resolver_group__name")
    )
    age_aggregates = {}
    for i, (_label, low, high) in enumerate(AGE_BUCKETS):
        cond = Q(created_at__lte=now - timedelta(days=low))
        if high is not None:
            cond &= Q(created_at__gt=now - timedelta(days=high))
        age_aggregates[f"age{i}"] = Count("id", filter=cond)
    aging = open_qs.aggregate(**age_aggregates)
    return {
        "by_status": [(s.label, by_status.get(s.value, 0)) for s in TicketStatus],
        "by_priority": [(p.label, by_priority.get(p.value, 0)) for p in Priority]
        + [("Not set", by_priority.get("", 0))],
        "by_group": [(row["resolver_group__name"] or "Unassigned", row["n"]) for row in by_group],
        "aging": [(label, aging[f"age{i}"]) for i, (label, _, _) in enumerate(AGE_BUCKETS)],
        "open_total": sum(by_status.get(s, 0) for s in OPEN_STATUSES),
    }
