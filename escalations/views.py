"""Escalation pages: the Service Manager's overview and path configuration, the ticket page's escalation actions
(functional, vendor case, major incident), vendor cases (agents and the vendor's own contacts: anything else is
a 404), and the notifications list. Each view parses a form, calls one selector or service, and renders; a
refused action comes back as a message, never a 500."""

import functools

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts.roles import user_is_agent
from escalations import selectors, services, vendors
from escalations.forms import (
    ChildForm,
    FunctionalForm,
    LevelForm,
    LevelFormSet,
    MajorIncidentForm,
    PathForm,
    ReasonForm,
    VendorCaseOpenForm,
    VendorCaseUpdateForm,
    VendorMailForm,
    VendorReplyForm,
)
from escalations.models import Escalation, EscalationPath, MajorIncident, TicketCollaboration
from itsm.lib.errors import DomainError, NotFound
from tickets import selectors as ticket_selectors

manager_required = permission_required(services.CONFIG_PERMISSION, raise_exception=True)


def _errors(form) -> str:
    return "; ".join(f"{k}: {' '.join(v)}" if k != "__all__" else " ".join(v) for k, v in form.errors.items())


def _not_found(request: HttpRequest, exc: NotFound) -> HttpResponse:
    return render(request, "404.html", {"message": exc.message}, status=404)


# --- the Service Manager's pages ----------------------------------------------------------------------------


@manager_required
def overview(request: HttpRequest) -> HttpResponse:
    level = request.GET.get("level", "")
    data = selectors.escalation_overview(
        level=int(level) if level.isdigit() else None,
        group=request.GET.get("group", ""),
        vendor=request.GET.get("vendor", ""),
    )
    for name in ("by_level", "by_group", "by_vendor"):  # bars: (label, count, percent of the largest, filter)
        top = max((n for _, n, _ in data[name]), default=0) or 1
        data[name] = [(label, n, round(100 * n / top), key) for label, n, key in data[name]]
    context = {
        **data,
        "filters": {k: v for k, v in request.GET.items() if k in ("level", "group", "vendor") and v},
        "paths": selectors.path_list(),
        "performance": selectors.vendor_performance(),
    }
    return render(request, "escalations/overview.html", context)


@manager_required
def path_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    path = get_object_or_404(EscalationPath, pk=pk) if pk else None
    initial = PathForm.initial_for(path) if path else {}
    levels_initial = [LevelForm.initial_for(lv) for lv in path.levels.order_by("number")] if path else []
    form = PathForm(request.POST or None, initial=initial)
    formset = LevelFormSet(request.POST or None, initial=levels_initial, prefix="levels")
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        d = form.cleaned_data
        rows = [f for f in formset.forms if f.has_changed() or f.initial]
        kept = [f for f in rows if not f.cleaned_data.get("DELETE") and not f.is_blank]
        try:
            saved = services.path_save(
                actor=request.user,
                path=path,
                name=d["name"],
                position=d["position"],
                is_active=d["is_active"],
                description=d["description"],
                priorities=d["priorities"],
                sla_policies=d["sla_policies"],
                resolver_groups=d["resolver_groups"],
                levels=[f.as_input(i) for i, f in enumerate(kept, start=1)],
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"Escalation path {saved.name} saved (version {saved.version}).")
            return redirect("escalations:overview")
    return render(request, "escalations/path_form.html", {"form": form, "formset": formset, "path": path})


@manager_required
@require_POST
def escalation_close(request: HttpRequest, pk: int) -> HttpResponse:
    esc = get_object_or_404(Escalation.objects.select_related("ticket"), pk=pk)
    form = ReasonForm(request.POST)
    try:
        if not form.is_valid():
            raise DomainError("Say why the escalation is closed.")
        services.escalation_close(escalation=esc, actor=request.user, reason=form.cleaned_data["reason"])
        messages.success(request, f"{esc.label} on {esc.ticket.number} closed.")
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect(esc.ticket)


# --- actions on a ticket (agents) ----------------------------------------------------------------------------


def ticket_action(view):
    """A POST on a ticket the user can see (404 otherwise); DomainErrors become a message; ends on the ticket."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, number: str) -> HttpResponse:
        try:
            ticket = ticket_selectors.ticket_get_for_user(user=request.user, number=number)
        except NotFound as exc:
            return _not_found(request, exc)
        try:
            if not user_is_agent(request.user):
                raise DomainError("Only agents may escalate tickets.")
            view(request, ticket)
        except DomainError as exc:
            messages.error(request, exc.message)
        return redirect(ticket)

    return login_required(require_POST(wrapper))


@ticket_action
def ticket_functional(request: HttpRequest, ticket) -> None:
    form = FunctionalForm(request.POST, prefix="esc")
    if not form.is_valid():
        raise DomainError(_errors(form))
    d = form.cleaned_data
    services.escalation_functional(
        ticket=ticket,
        actor=request.user,
        group=d["group"],
        mode=d["mode"],
        reason=d["reason"],
        expected_version=d.get("version"),
    )
    messages.success(request, f"Escalated to {d['group']}.")


@ticket_action
def ticket_vendor_case(request: HttpRequest, ticket) -> None:
    form = VendorCaseOpenForm(request.POST, prefix="vc")
    if not form.is_valid():
        raise DomainError(_errors(form))
    d = form.cleaned_data
    case = vendors.vendor_case_open(
        ticket=ticket, vendor=d["vendor"], actor=request.user, summary=d["summary"], reference=d["reference"]
    )
    messages.success(request, f"Case opened with {case.vendor}; the vendor was written to.")


@ticket_action
def ticket_major(request: HttpRequest, ticket) -> None:
    form = MajorIncidentForm(request.POST, prefix="mi")
    if not form.is_valid():
        raise DomainError(_errors(form))
    services.major_incident_declare(ticket=ticket, actor=request.user, summary=form.cleaned_data["summary"])
    messages.success(request, f"{ticket.number} is a major incident: the hierarchy was notified.")


@ticket_action
def ticket_major_child(request: HttpRequest, ticket) -> None:
    form = ChildForm(request.POST)
    if not form.is_valid():
        raise DomainError(_errors(form))
    major = MajorIncident.objects.filter(ticket=ticket).first()
    if major is None:
        raise DomainError(f"{ticket.number} is not a major incident.")
    child = ticket_selectors.ticket_get_for_user(user=request.user, number=form.cleaned_data["child"].strip())
    services.major_incident_link_child(major=major, child=child, actor=request.user)
    messages.success(request, f"{child.number} linked as a child of the major incident.")


@login_required
@require_POST
def collaboration_end(request: HttpRequest, pk: int) -> HttpResponse:
    collab = get_object_or_404(TicketCollaboration.objects.select_related("ticket"), pk=pk)
    try:
        ticket = ticket_selectors.ticket_get_for_user(user=request.user, number=collab.ticket.number)
    except NotFound as exc:
        return _not_found(request, exc)
    try:
        services.collaboration_end(collaboration=collab, actor=request.user)
        messages.success(request, f"{collab.group} no longer collaborates on {ticket.number}.")
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect(ticket)


# --- vendor cases (agents and the vendor's contacts) ------------------------------------------------------------


@login_required
def vendor_case_list(request: HttpRequest) -> HttpResponse:
    show_all = request.GET.get("all") == "1"
    cases = list(selectors.vendor_case_list_for_user(user=request.user, active_only=not show_all)[:200])
    now = timezone.now()
    for case in cases:
        case.clocks = selectors.vendor_clock_views(case, now=now)
    return render(request, "escalations/vendor_case_list.html", {"cases": cases, "show_all": show_all})


def _case_or_404(request: HttpRequest, pk: int):
    return selectors.vendor_case_get_for_user(user=request.user, case_id=pk)


@login_required
def vendor_case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        case = _case_or_404(request, pk)
    except NotFound as exc:
        return _not_found(request, exc)
    agent = user_is_agent(request.user)
    context = {
        "case": case,
        "agent": agent,
        "clocks": selectors.vendor_clock_views(case),
        "case_messages": selectors.vendor_case_messages(case=case),
        "update_form": VendorCaseUpdateForm(initial={"reference": case.vendor_reference}),
        "mail_form": VendorMailForm(),
        "reply_form": VendorReplyForm(initial={"reference": case.vendor_reference}),
    }
    return render(request, "escalations/vendor_case_detail.html", context)


def case_action(view):
    @functools.wraps(view)
    def wrapper(request: HttpRequest, pk: int) -> HttpResponse:
        try:
            case = _case_or_404(request, pk)
        except NotFound as exc:
            return _not_found(request, exc)
        try:
            view(request, case)
        except DomainError as exc:
            messages.error(request, exc.message)
        return redirect(case)

    return login_required(require_POST(wrapper))


@case_action
def vendor_case_update(request: HttpRequest, case) -> None:
    form = VendorCaseUpdateForm(request.POST)
    if not form.is_valid():
        raise DomainError(_errors(form))
    d = form.cleaned_data
    vendors.vendor_case_update(
        case=case, actor=request.user, status=d["status"] or None, reference=d["reference"], note=d["note"]
    )
    messages.success(request, "Case updated.")


@case_action
def vendor_case_mail(request: HttpRequest, case) -> None:
    form = VendorMailForm(request.POST)
    if not form.is_valid():
        raise DomainError(_errors(form))
    vendors.vendor_case_mail(case=case, actor=request.user, body=form.cleaned_data["body"])
    messages.success(request, f"Mail to {case.vendor} queued.")


@case_action
def vendor_case_reply(request: HttpRequest, case) -> None:
    """The vendor's contact answers on the portal (agents write with vendor_case_mail)."""
    if user_is_agent(request.user):
        raise DomainError("Agents write to the vendor with “Mail the vendor”.")
    form = VendorReplyForm(request.POST)
    if not form.is_valid():
        raise DomainError(_errors(form))
    d = form.cleaned_data
    vendors.vendor_reply_record(
        case=case,
        body=d["body"],
        author_name=request.user.display_name,
        reference=d["reference"],
        resolved=d["resolved"],
        how="the vendor portal",
    )
    messages.success(request, "Thank you: your answer was recorded.")


# --- notifications ---------------------------------------------------------------------------------------------


@login_required
def notification_list(request: HttpRequest) -> HttpResponse:
    items = list(selectors.notification_list(user=request.user))
    return render(request, "escalations/notification_list.html", {"items": items})


@login_required
@require_POST
def notification_read(request: HttpRequest) -> HttpResponse:
    target = request.POST.get("id", "")
    url = services.notifications_mark_read(user=request.user, notification_id=int(target) if target.isdigit() else None)
    if url and url_has_allowed_host_and_scheme(url, allowed_hosts=None):  # our own relative links only
        return redirect(url)
    return redirect("escalations:notifications")
