"""SLA configuration pages (Service Managers): calendars, policies and the recompute jobs' progress.
Each view parses a form, calls one service, and renders; a refused edit shows its reason on the form."""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from itsm.lib.errors import DomainError
from itsm.lib.htmx import htmx_partial
from sla import selectors, services
from sla.forms import CalendarForm, PolicyForm
from sla.models import BusinessCalendar, SlaPolicy

manager_required = permission_required(services.CONFIG_PERMISSION, raise_exception=True)


@manager_required
def overview(request: HttpRequest) -> HttpResponse:
    context = {
        "calendars": selectors.calendar_list(),
        "policies": selectors.policy_list(),
        "jobs": selectors.recompute_job_list(),
        "jobs_active": selectors.recompute_jobs_active(),
    }
    template = "sla/overview.html"
    if htmx_partial(request):
        template += "#jobs"
    return render(request, template, context)


def _form_error(form, exc: DomainError) -> None:
    for field, msgs in (exc.details or {}).items() if isinstance(exc.details, dict) else []:
        if field in form.fields:
            for m in msgs:
                form.add_error(field, m)
    form.add_error(None, exc.message)


@manager_required
def calendar_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    calendar = get_object_or_404(BusinessCalendar.objects.prefetch_related("hours", "holidays"), pk=pk) if pk else None
    initial = CalendarForm.initial_for(calendar) if calendar else {}
    form = CalendarForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            saved = services.calendar_save(
                actor=request.user,
                calendar=calendar,
                name=d["name"],
                time_zone=d["time_zone"],
                is_24x7=d["is_24x7"],
                hours=d["hours_parsed"],
                holidays=d["holidays_parsed"],
                holiday_country=d["holiday_country"],
                holiday_subdivision=d["holiday_subdivision"].strip(),
                description=d["description"],
            )
        except DomainError as exc:
            _form_error(form, exc)
        else:
            note = " The open tickets on it are being recomputed." if calendar else ""
            messages.success(request, f"Calendar {saved.name} saved (version {saved.version}).{note}")
            return redirect("sla:overview")
    upcoming = []
    if calendar is not None and not calendar.is_24x7:
        from django.utils import timezone

        compiled = selectors.calendar_compile(calendar)
        year = timezone.now().year
        upcoming = list(compiled.holidays_in(year).items()) + list(compiled.holidays_in(year + 1).items())
    return render(
        request,
        "sla/calendar_form.html",
        {
            "form": form,
            "calendar": calendar,
            "weekday_fields": [form[f"day_{i}"] for i in range(7)],
            "upcoming": upcoming,
        },
    )


@manager_required
def policy_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    policy = get_object_or_404(SlaPolicy, pk=pk) if pk else None
    form = PolicyForm(request.POST or None, initial=PolicyForm.initial_for(policy) if policy else {})
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.policy_save(
                actor=request.user,
                policy=policy,
                data=form.service_data(),
                services=form.cleaned_data["services"],
                organizations=form.cleaned_data["organizations"],
            )
        except DomainError as exc:
            _form_error(form, exc)
        else:
            messages.success(
                request,
                f"Policy {saved.name} saved (version {saved.version}); the affected open tickets are being recomputed.",
            )
            return redirect("sla:overview")
    return render(request, "sla/policy_form.html", {"form": form, "policy": policy})


@manager_required
@require_POST
def recompute_all(request: HttpRequest) -> HttpResponse:
    job = services.recompute_all_open(actor=request.user, reason="Recompute of every open ticket, asked by hand")
    messages.success(request, f"Recomputing {job.total} open tickets in the background.")
    return redirect("sla:overview")
