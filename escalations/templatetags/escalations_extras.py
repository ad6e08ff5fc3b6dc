"""The ticket page's escalation panel, and presentation helpers of escalations."""

from datetime import timedelta

from django import template
from django.utils import timezone

from accounts.roles import user_is_agent
from escalations.forms import FunctionalForm, MajorIncidentForm, VendorCaseOpenForm
from escalations.selectors import ticket_escalation_panel

register = template.Library()


@register.inclusion_tag("escalations/_ticket_panel.html", takes_context=True)
def escalation_panel(context, ticket):
    user = context["request"].user
    panel = ticket_escalation_panel(ticket=ticket, user=user)
    agent = user_is_agent(user)
    return {
        "ticket": ticket,
        "panel": panel,
        "agent": agent,
        "is_manager": user.has_perm("tickets.manage_configuration"),
        "functional_form": FunctionalForm(initial={"version": ticket.version}, prefix="esc") if agent else None,
        "vendor_form": VendorCaseOpenForm(prefix="vc") if agent else None,
        "major_form": MajorIncidentForm(prefix="mi") if agent else None,
        "csrf_token": context.get("csrf_token"),
        "at_level_for": (timezone.now() - panel.current.fired_at) if panel.current else None,
    }


@register.filter
def elapsed(value: timedelta | None) -> str:
    """Wall-clock time spent: "3d 4h", "2h 5m", "12m"."""
    if value is None:
        return "—"
    minutes = max(0, int(value.total_seconds() // 60))
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {mins}m"
    return f"{mins}m"


@register.filter
def level_threshold(level) -> str:
    """ "75% of Resolution used", "2h after the Resolution target"..."""
    from escalations.selectors import level_rule

    return level_rule(level).description


@register.filter
def level_actions(level) -> str:
    """What a level does, in words."""
    from escalations.choices import FunctionalMode

    parts = []
    if level.notify_assignee:
        parts.append("assignee")
    if level.notify_group_manager:
        parts.append("group manager")
    if level.notify_service_managers:
        parts.append("Service Managers")
    if level.contact_id:
        parts.append(level.contact.display_name)
    if level.functional_group_id:
        verb = "move to" if level.functional_mode == FunctionalMode.MOVE else "add"
        parts.append(f"{verb} {level.functional_group.name}")
    if level.vendor_id:
        parts.append(f"vendor {level.vendor.name}")
    return ", ".join(parts) or "—"
