"""Pages of customer communication: the resolution links of the notice (no login needed: the signed link is
the proof), the template editor for Service Managers, and the agents' one-click mails on a ticket."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from communications import services
from communications.forms import MessageForm, ResolutionLinkForm, TemplateForm
from communications.links import LinkInvalid, resolution_token_ticket
from communications.models import MessageTemplate
from communications.rendering import PLACEHOLDERS
from itsm.lib.errors import DomainError, NotFound
from tickets import selectors
from tickets import services as ticket_services
from tickets.choices import TicketStatus


def resolution_link(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows the question (a mail scanner following the link decides nothing); POST answers it."""
    try:
        ticket = resolution_token_ticket(token)
    except LinkInvalid as exc:
        return render(request, "404.html", {"message": exc.message}, status=404)
    form = ResolutionLinkForm(request.POST or None, initial={"decision": request.GET.get("decision", "accept")})
    done = ""
    if request.method == "POST" and form.is_valid():
        if ticket.status != TicketStatus.RESOLVED:
            done = f"{ticket.number} is {ticket.get_status_display().lower()}: there is nothing to decide."
        else:
            try:
                if form.cleaned_data["decision"] == "accept":
                    ticket_services.resolution_accept(ticket=ticket, actor=ticket.requester)
                    done = "Thank you: the resolution is accepted."
                else:
                    ticket_services.resolution_reject(
                        ticket=ticket, actor=ticket.requester, reason=form.cleaned_data["reason"]
                    )
                    done = "We reopened your request and will get back to you."
            except DomainError as exc:
                form.add_error(None, exc.message)
    return render(request, "communications/resolution_link.html", {"ticket": ticket, "form": form, "done": done})


@login_required
@permission_required("communications.view_messagetemplate", raise_exception=True)
def template_list(request: HttpRequest) -> HttpResponse:
    return render(request, "communications/template_list.html", {"templates": MessageTemplate.objects.all()})


@login_required
@permission_required("communications.change_messagetemplate", raise_exception=True)
def template_edit(request: HttpRequest, pk: int) -> HttpResponse:
    template = get_object_or_404(MessageTemplate, pk=pk)
    form = TemplateForm(request.POST or None, initial={"subject": template.subject, "body": template.body})
    if request.method == "POST" and form.is_valid():
        try:
            services.template_update(template=template, actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"Template saved: {template}.")
            return redirect("communications:templates")
    return render(
        request,
        "communications/template_edit.html",
        {"template": template, "form": form, "placeholders": sorted(PLACEHOLDERS.items())},
    )


def _ticket_mail_action(request: HttpRequest, number: str, send) -> HttpResponse:
    try:
        ticket = selectors.ticket_get_for_user(user=request.user, number=number)
    except NotFound as exc:
        return render(request, "404.html", {"message": exc.message}, status=404)
    form = MessageForm(request.POST)
    if not form.is_valid():
        messages.error(request, "; ".join(" ".join(v) for v in form.errors.values()))
        return redirect(ticket)
    try:
        outbound = send(ticket=ticket, actor=request.user, message=form.cleaned_data["message"])
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if outbound is None:
            messages.error(request, "Not sent: the requester has no email address (recorded on the ticket).")
        else:
            messages.success(request, f"Queued to {', '.join(outbound.to + outbound.cc)}.")
    return redirect(ticket)


@login_required
@require_POST
def ticket_status_update(request: HttpRequest, number: str) -> HttpResponse:
    return _ticket_mail_action(request, number, services.status_update_send)


@login_required
@require_POST
def ticket_info_request(request: HttpRequest, number: str) -> HttpResponse:
    return _ticket_mail_action(request, number, services.info_request_send)
