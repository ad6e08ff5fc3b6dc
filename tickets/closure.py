"""The closure gate (step 7 of the process): a ticket is closed only when every criterion holds.

`closure_unmet(ticket)` names each unmet criterion; ticket_transition refuses Close while any remains,
and the auto-close task uses the same function, so there is one definition of "may be closed"."""

from datetime import datetime

from django.conf import settings
from django.utils import timezone

from tickets.choices import SETTLED_STATUSES, LinkKind
from tickets.models import Ticket, TicketLink

CRITERION_RESOLUTION = "a resolution code and resolution notes must be recorded"
CRITERION_NOTICE = "the customer has not been sent the resolution notice"
CRITERION_ACCEPTANCE = (
    "the customer has neither accepted the resolution nor let the acceptance window pass (it ends {deadline})"
)
CRITERION_LINKED = "linked tickets are not resolved, closed or cancelled: {numbers}"


def acceptance_deadline(ticket: Ticket) -> datetime | None:
    """When the customer's silence counts as acceptance: the window runs from the resolution notice."""
    if ticket.resolution_notice_sent_at is None:
        return None
    return ticket.resolution_notice_sent_at + settings.ITSM_ACCEPTANCE_WINDOW


def unresolved_linked_numbers(ticket: Ticket) -> list[str]:
    """Children of the ticket and tickets marked duplicates of it that are not resolved, closed or cancelled."""
    children = TicketLink.objects.filter(source=ticket, kind=LinkKind.PARENT_OF).exclude(
        target__status__in=SETTLED_STATUSES
    )
    duplicates = TicketLink.objects.filter(target=ticket, kind=LinkKind.DUPLICATE_OF).exclude(
        source__status__in=SETTLED_STATUSES
    )
    numbers = list(children.values_list("target__number", flat=True))
    numbers += list(duplicates.values_list("source__number", flat=True))
    return sorted(numbers)


def closure_unmet(ticket: Ticket, *, now: datetime | None = None) -> list[str]:
    now = now or timezone.now()
    unmet: list[str] = []
    if not ticket.resolution_code or not ticket.resolution_notes.strip():
        unmet.append(CRITERION_RESOLUTION)
    if ticket.resolution_notice_sent_at is None:
        unmet.append(CRITERION_NOTICE)
    if ticket.resolution_accepted_at is None:
        deadline = acceptance_deadline(ticket)
        if deadline is None or now < deadline:
            shown = deadline.isoformat(timespec="minutes") if deadline else "after the notice is sent"
            unmet.append(CRITERION_ACCEPTANCE.format(deadline=shown))
    numbers = unresolved_linked_numbers(ticket)
    if numbers:
        unmet.append(CRITERION_LINKED.format(numbers=", ".join(numbers)))
    return unmet
