"""Reads of the outbox."""

from django.db.models import QuerySet

from communications.models import OutboundEmail
from tickets.models import Ticket


def outbound_for_ticket(*, ticket: Ticket) -> QuerySet[OutboundEmail]:
    return OutboundEmail.objects.filter(ticket=ticket).order_by("created_at", "id")
