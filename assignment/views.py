from django.contrib.auth.decorators import permission_required
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from assignment.selectors import group_workload, groups_overview
from catalog.models import ResolverGroup
from tickets.choices import Priority


@permission_required("tickets.work_ticket")
def group_list(request):
    return render(request, "assignment/group_list.html", {"rows": groups_overview()})


@permission_required("tickets.work_ticket")
def group_workload_view(request, slug: str):
    group = get_object_or_404(ResolverGroup, slug=slug, is_active=True)
    now = timezone.now()
    data = group_workload(group=group, at=now)
    return render(
        request,
        "assignment/group_workload.html",
        {"group": group, "now": now, "priorities": Priority.values, **data},
    )
