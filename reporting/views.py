from django.contrib.auth.decorators import permission_required
from django.shortcuts import render

from escalations.selectors import vendor_performance
from reporting.selectors import backlog_overview


@permission_required("tickets.work_ticket")
def overview(request):
    data = backlog_overview(user=request.user)
    for key in ("by_status", "by_priority", "by_group", "aging"):
        peak = max((n for _, n in data[key]), default=0) or 1
        data[key] = [(label, n, round(100 * n / peak)) for label, n in data[key]]
    if request.user.has_perm("tickets.manage_configuration"):
        data["vendor_performance"] = vendor_performance()
    return render(request, "reporting/overview.html", data)
