"""Every read of tickets that a user makes goes through here: visibility is applied in one place.

- Agents with `tickets.view_all_tickets` (Service Desk, Service Manager) see every ticket.
- Other agents (Resolvers) see tickets of their resolver groups (owning, or collaborating after a functional
  escalation), assigned to them, created by them or watched by them.
- Customers see tickets they requested or watch, and their organization's when it shares tickets.
- Vendors' contacts see the tickets of their vendor's cases (without internal notes, as customers do).
- Anyone else sees nothing. A ticket you may not see does not exist for you (404)."""

from dataclasses import dataclass
from typing import Any

from django.db.models import Prefetch, Q, QuerySet

from accounts.roles import user_is_agent, user_sees_all_tickets
from catalog.models import ResolverGroupMembership
from itsm.lib.errors import NotFound
from tickets.choices import LINK_INVERSE_LABEL, LinkKind
from tickets.models import Attachment, Comment, Ticket, TicketEvent, TicketLink

LIST_RELATED = (
    "requester",
    "organization",
    "service",
    "resolver_group",
    "assignee",
    "category__parent",
    "classification_rule",
)


def with_list_related(qs: QuerySet[Ticket]) -> QuerySet[Ticket]:
    """Everything a list row shows (the API's ticket JSON too, with its SLA clocks), in a fixed number of
    queries whatever the number of tickets."""
    from sla.selectors import clock_prefetch

    return qs.select_related(*LIST_RELATED).prefetch_related(clock_prefetch())


def ticket_visible_qs(*, user) -> QuerySet[Ticket]:
    if user is None or not user.is_authenticated or not user.is_active:
        return Ticket.objects.none()
    if user_sees_all_tickets(user):
        return Ticket.objects.all()
    watched = Ticket.watchers.through.objects.filter(user_id=user.pk).values("ticket_id")
    visible = Q(requester_id=user.pk) | Q(pk__in=watched)
    if user_is_agent(user):
        from escalations.models import TicketCollaboration

        groups = ResolverGroupMembership.objects.filter(user_id=user.pk).values("group_id")
        collaborating = TicketCollaboration.objects.filter(group_id__in=groups, removed_at__isnull=True)
        visible |= (
            Q(assignee_id=user.pk)
            | Q(resolver_group_id__in=groups)
            | Q(created_by_id=user.pk)
            | Q(pk__in=collaborating.values("ticket_id"))
        )
        return Ticket.objects.filter(visible)
    if user.organization_id and user.organization.share_tickets:
        visible |= Q(organization_id=user.organization_id)
    from escalations.selectors import user_is_vendor, vendor_ids_for_user

    if user_is_vendor(user):
        from escalations.models import VendorCase

        visible |= Q(pk__in=VendorCase.objects.filter(vendor_id__in=vendor_ids_for_user(user)).values("ticket_id"))
    return Ticket.objects.filter(visible)


def ticket_list(*, user, filters: dict[str, Any] | None = None) -> QuerySet[Ticket]:
    """The tickets a user may see, filtered by the shared FilterSet, with everything a list row shows
    fetched in the same query (the query count does not grow with the number of tickets)."""
    from tickets.filters import TicketFilterSet

    qs = with_list_related(ticket_visible_qs(user=user)).select_related("communication")
    return TicketFilterSet(filters or {}, queryset=qs, request_user=user).qs


def ticket_get_for_user(*, user, number: str, for_update: bool = False) -> Ticket:
    number = str(number).strip().upper()
    if not number or len(number) > 32 or "\x00" in number:  # no such number can exist (and NUL is no SQL)
        raise NotFound(f"No ticket {number[:32]!r}.")
    qs = with_list_related(ticket_visible_qs(user=user)).select_related("created_by")
    ticket = qs.filter(number=number).first()
    if ticket is None:
        raise NotFound(f"No ticket {number}.")
    return ticket


def ticket_link_get(*, ticket: Ticket, link_id) -> TicketLink:
    """One link of a ticket (from either side), for a caller who may see the ticket; anything else is a 404."""
    try:
        link_id = int(link_id)
    except (TypeError, ValueError):
        raise NotFound("No such link on this ticket.") from None
    link = (
        TicketLink.objects.filter(pk=link_id)
        .filter(Q(source=ticket) | Q(target=ticket))
        .select_related("source", "target")
        .first()
    )
    if link is None:
        raise NotFound("No such link on this ticket.")
    return link


def comment_list_for_user(*, ticket: Ticket, user) -> QuerySet[Comment]:
    qs = ticket.comments.select_related("author").prefetch_related(
        Prefetch("attachments", queryset=Attachment.objects.order_by("id"))
    )
    if not user_is_agent(user):
        qs = qs.filter(is_public=True)
    return qs.order_by("created_at", "id")


def event_list_for_user(*, ticket: Ticket, user) -> QuerySet[TicketEvent]:
    qs = ticket.events.all().order_by("seq")
    if not user_is_agent(user):
        qs = qs.filter(is_public=True)
    return qs


def attachment_get_for_user(*, user, attachment_id: int) -> Attachment:
    """An attachment of a ticket the user can see; a customer gets only public ones."""
    attachment = (
        Attachment.objects.select_related("ticket")
        .filter(pk=attachment_id, ticket__in=ticket_visible_qs(user=user))
        .first()
    )
    if attachment is None or (not attachment.is_public and not user_is_agent(user)):
        raise NotFound("No such attachment.")
    return attachment


def attachment_list_for_user(*, ticket: Ticket, user) -> QuerySet[Attachment]:
    qs = ticket.attachments.all().order_by("id")
    if not user_is_agent(user):
        qs = qs.filter(is_public=True)
    return qs


@dataclass(frozen=True)
class LinkView:
    link_id: int
    label: str
    kind: str
    other: Ticket
    outgoing: bool


def link_list_for_user(*, ticket: Ticket, user) -> list[LinkView]:
    """Links shown from this ticket's side; linked tickets the user may not see are left out."""
    visible = ticket_visible_qs(user=user)
    rows: list[LinkView] = []
    for link in TicketLink.objects.filter(source=ticket, target__in=visible).select_related("target"):
        rows.append(LinkView(link.pk, LinkKind(link.kind).label, link.kind, link.target, True))
    for link in TicketLink.objects.filter(target=ticket, source__in=visible).select_related("source"):
        rows.append(LinkView(link.pk, LINK_INVERSE_LABEL[link.kind], link.kind, link.source, False))
    return rows
