"""Browser views: parse the request, call one selector or service, render (a full page or, for htmx, the
fragment that changed). A refused action comes back as a message on the page, never a 500."""

import functools

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.roles import user_is_agent
from accounts.selectors import agent_list
from accounts.services import contact_get_or_create
from classification.selectors import ticket_priority_view
from classification.services import IntakeContext
from communications.models import TicketCommunication
from communications.selectors import outbound_for_ticket
from itsm.lib.errors import DomainError, NotFound, PermissionDenied
from itsm.lib.htmx import htmx_partial
from mail.selectors import ticket_mail_bodies
from sla.selectors import ticket_clock_views, ticket_sla_summary
from tickets import permissions, selectors, services
from tickets.api.views import attachment_response
from tickets.choices import (
    ALLOWED_TRANSITIONS,
    STATUS_COLOUR,
    Channel,
    Impact,
    LinkKind,
    Priority,
    TicketStatus,
    TicketType,
    Urgency,
)
from tickets.closure import acceptance_deadline, closure_unmet
from tickets.forms import (
    AssignForm,
    CommentForm,
    LinkForm,
    ResolutionDecisionForm,
    TicketCreateForm,
    TicketEditForm,
    TransitionForm,
)

PAGE_SIZE = 25
# The key classification rules see for a request made with the portal's (only, general) request form.
PORTAL_FORM = "general"


def home(request: HttpRequest) -> HttpResponse:
    return redirect("tickets:list" if request.user.is_authenticated else "login")


def _form_errors(form) -> str:
    return "; ".join(f"{k}: {' '.join(v)}" if k != "__all__" else " ".join(v) for k, v in form.errors.items())


def ticket_action(view):
    """A POST on one ticket: 404 when the user cannot see it; DomainErrors become an error message;
    always ends on the ticket page."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, number: str) -> HttpResponse:
        try:
            ticket = selectors.ticket_get_for_user(user=request.user, number=number)
        except NotFound as exc:
            return render(request, "404.html", {"message": exc.message}, status=404)
        try:
            view(request, ticket)
        except DomainError as exc:
            messages.error(request, exc.message)
        return redirect("tickets:detail", number=ticket.number)

    return login_required(require_POST(wrapper))


@login_required
def ticket_list(request: HttpRequest) -> HttpResponse:
    params = request.GET.copy()
    if "open" not in params and not params.get("status"):
        params["open"] = "true"
    tickets = selectors.ticket_list(user=request.user, filters=params)
    page = Paginator(tickets, PAGE_SIZE).get_page(request.GET.get("page"))
    now = timezone.now()
    for t in page:
        t.sla_next = ticket_sla_summary(t, now=now)
    context = {
        "page": page,
        "params": params,
        "querystring": params.urlencode() if params else "",
        "statuses": TicketStatus.choices,
        "types": TicketType.choices,
        "priorities": Priority.choices,
        "status_colour": STATUS_COLOUR,
        "selected_status": params.getlist("status"),
        "orderings": [("", "Newest first"), ("time_to_breach", "Time to breach"), ("-updated", "Recently updated")],
    }
    template = "tickets/ticket_list.html"
    if htmx_partial(request):
        template += "#results"
    return render(request, template, context)


@login_required
def ticket_create(request: HttpRequest) -> HttpResponse:
    agent = user_is_agent(request.user)
    form = TicketCreateForm(request.POST or None, request.FILES or None, agent=agent)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            with transaction.atomic():
                if agent:
                    requester, _ = contact_get_or_create(
                        email=d["requester_email"], display_name=d.get("requester_name", "")
                    )
                    channel, intake = d["channel"], IntakeContext()
                else:  # the portal's general request form
                    requester, channel, intake = request.user, Channel.PORTAL, IntakeContext(form=PORTAL_FORM)
                ticket = services.ticket_create(
                    actor=request.user,
                    requester=requester,
                    title=d["title"],
                    description=d["description"],
                    ticket_type=d["ticket_type"] or None,
                    channel=channel,
                    impact=d["impact"],
                    urgency=d["urgency"],
                    service=d["service"],
                    intake=intake,
                )
                if d.get("attachment"):
                    services.attachment_add(ticket=ticket, uploaded_by=request.user, upload=d["attachment"])
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"Ticket {ticket.number} created.")
            return redirect(ticket)
    return render(request, "tickets/ticket_form.html", {"form": form})


@login_required
def ticket_detail(request: HttpRequest, number: str) -> HttpResponse:
    try:
        ticket = selectors.ticket_get_for_user(user=request.user, number=number)
    except NotFound as exc:
        return render(request, "404.html", {"message": exc.message}, status=404)
    user = request.user
    agent = user_is_agent(user)
    comments = list(selectors.comment_list_for_user(ticket=ticket, user=user))
    visible_attachments = set(selectors.attachment_list_for_user(ticket=ticket, user=user).values_list("pk", flat=True))
    bodies = ticket_mail_bodies(ticket=ticket, user=user, visible_attachment_ids=visible_attachments)
    for c in comments:
        c.mail = bodies.get(c.pk)
    context = {
        "ticket": ticket,
        "agent": agent,
        "status_colour": STATUS_COLOUR,
        "comments": comments,
        "description_mail": bodies["description"],
        "events": selectors.event_list_for_user(ticket=ticket, user=user).select_related(None),
        "links": selectors.link_list_for_user(ticket=ticket, user=user),
        "loose_attachments": selectors.attachment_list_for_user(ticket=ticket, user=user).filter(comment=None),
        "watchers": ticket.watchers.all(),
        "comment_form": CommentForm(),
        "can_decide": permissions.can_decide_resolution(user, ticket),
        "acceptance_deadline": acceptance_deadline(ticket),
        "clocks": ticket_clock_views(ticket),
        # agents always; the customer side while the ticket is open (a vendor reads, it answers on its case)
        "can_reply": agent
        or (ticket.status != TicketStatus.CANCELLED and permissions.can_comment(user, ticket, internal=False)),
    }
    if agent:
        context.update(
            {
                "transitions": [TicketStatus(s) for s in sorted(ALLOWED_TRANSITIONS[ticket.status])],
                "transition_form": TransitionForm(initial={"version": ticket.version}),
                "edit_form": TicketEditForm(
                    initial={
                        "version": ticket.version,
                        "title": ticket.title,
                        "ticket_type": ticket.ticket_type,
                        "impact": ticket.impact,
                        "urgency": ticket.urgency,
                        "priority": ticket.priority if ticket.priority_override_reason else "",
                        "priority_override_reason": ticket.priority_override_reason,
                        "service": ticket.service_id,
                        "category": ticket.category_id,
                    }
                ),
                "priority_view": ticket_priority_view(ticket),
                "impacts": Impact.choices,
                "urgencies": Urgency.choices,
                "assign_form": AssignForm(
                    initial={
                        "version": ticket.version,
                        "resolver_group": ticket.resolver_group_id,
                        "assignee": ticket.assignee_id,
                    },
                    assignee_queryset=agent_list(),
                ),
                "link_form": LinkForm(),
                "outbound": outbound_for_ticket(ticket=ticket),
                "communication": TicketCommunication.objects.filter(ticket=ticket).first(),
                "closure_unmet": closure_unmet(ticket) if ticket.status == TicketStatus.RESOLVED else [],
            }
        )
    else:
        context["can_withdraw"] = permissions.can_transition(user, ticket, TicketStatus.CANCELLED)
    return render(request, "tickets/ticket_detail.html", context)


@ticket_action
def ticket_comment(request: HttpRequest, ticket) -> None:
    form = CommentForm(request.POST, request.FILES)
    if not form.is_valid():
        raise DomainError(_form_errors(form))
    d = form.cleaned_data
    public = d["is_public"] if user_is_agent(request.user) else True
    files = [d["attachment"]] if d.get("attachment") else []
    services.comment_add(ticket=ticket, author=request.user, body=d["body"], is_public=public, files=files)
    messages.success(request, "Reply added." if public else "Internal note added.")


@ticket_action
def ticket_transition(request: HttpRequest, ticket) -> None:
    form = TransitionForm(request.POST)
    if not form.is_valid():
        raise DomainError(_form_errors(form))
    d = form.cleaned_data
    services.ticket_transition(
        ticket=ticket,
        actor=request.user,
        to_status=d["to"],
        pending_reason=d["pending_reason"],
        resolution_code=d["resolution_code"],
        resolution_notes=d["resolution_notes"],
        reason=d["reason"],
        expected_version=d.get("version"),
    )
    messages.success(request, f"{ticket.number} is now {ticket.get_status_display()}.")


@ticket_action
def ticket_edit(request: HttpRequest, ticket) -> None:
    form = TicketEditForm(request.POST)
    if not form.is_valid():
        raise DomainError(_form_errors(form))
    d = dict(form.cleaned_data)
    version = d.pop("version")
    services.ticket_update(ticket=ticket, actor=request.user, data=d, expected_version=version)
    messages.success(request, "Ticket updated.")


@ticket_action
def ticket_assign(request: HttpRequest, ticket) -> None:
    form = AssignForm(request.POST, assignee_queryset=agent_list())
    if not form.is_valid():
        raise DomainError(_form_errors(form))
    d = form.cleaned_data
    services.ticket_assign(
        ticket=ticket,
        actor=request.user,
        resolver_group=d["resolver_group"],
        assignee=d["assignee"],
        reason=d["reason"],
        expected_version=d["version"],
    )
    messages.success(request, "Assignment saved.")


@ticket_action
def ticket_resolution(request: HttpRequest, ticket) -> None:
    form = ResolutionDecisionForm(request.POST)
    if not form.is_valid():
        raise DomainError(_form_errors(form))
    if form.cleaned_data["decision"] == "accept":
        services.resolution_accept(ticket=ticket, actor=request.user)
        messages.success(request, "Thank you: the resolution is accepted.")
    else:
        services.resolution_reject(ticket=ticket, actor=request.user, reason=form.cleaned_data["reason"])
        messages.success(request, "The ticket was reopened.")


@ticket_action
def ticket_withdraw(request: HttpRequest, ticket) -> None:
    services.ticket_transition(
        ticket=ticket,
        actor=request.user,
        to_status=TicketStatus.CANCELLED,
        reason=request.POST.get("reason", "").strip() or "withdrawn by the customer",
    )
    messages.success(request, "Your request was withdrawn.")


@ticket_action
def ticket_link_add(request: HttpRequest, ticket) -> None:
    form = LinkForm(request.POST)
    if not form.is_valid():
        raise DomainError(_form_errors(form))
    other = selectors.ticket_get_for_user(user=request.user, number=form.cleaned_data["other"].strip())
    services.ticket_link(source=ticket, target=other, kind=form.cleaned_data["kind"], actor=request.user)
    messages.success(request, f"Linked: {LinkKind(form.cleaned_data['kind']).label} {other.number}.")


@ticket_action
def ticket_link_remove(request: HttpRequest, ticket) -> None:
    link = selectors.ticket_link_get(ticket=ticket, link_id=request.POST.get("link_id"))
    services.ticket_unlink(link=link, actor=request.user)
    messages.success(request, "Link removed.")


@login_required
def attachment_download(request: HttpRequest, attachment_id: int) -> HttpResponse:
    try:
        attachment = selectors.attachment_get_for_user(user=request.user, attachment_id=attachment_id)
    except (NotFound, PermissionDenied) as exc:
        return render(request, "404.html", {"message": exc.message}, status=404)
    return attachment_response(attachment)
