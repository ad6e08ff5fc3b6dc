from django.contrib.auth.decorators import permission_required
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from assignment.availability import group_in_hours
from assignment.selectors import group_workload, groups_overview
from catalog.models import ResolverGroup
from tickets.choices import Priority


@permission_required("tickets.work_ticket")
def group_list(request):
    return render(request, "assignment/group_list.html", {"rows": groups_overview()})


@permission_required("tickets.work_ticket")
def group_workload_view(request, slug: str):
    group = get_object_or_404(
        ResolverGroup.objects.select_related("operational_calendar", "manager", "escalation_contact"),
        slug=slug,
        is_active=True,
    )
    now = timezone.now()
    data = group_workload(group=group, at=now)
    context = {"group": group, "now": now, "priorities": Priority.values, "in_hours": group_in_hours(group, now)}
    return render(request, "assignment/group_workload.html", {**context, **data})
