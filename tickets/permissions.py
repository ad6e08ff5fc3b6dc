"""What a user may do to a ticket they can already see (seeing is decided by tickets/selectors.py).

Services call these and raise PermissionDenied; views use them to decide which buttons to show."""

from accounts.roles import user_is_agent
from tickets.choices import CUSTOMER_TRANSITIONS, TicketStatus
from tickets.models import Ticket


def is_requester_side(user, ticket: Ticket) -> bool:
    """The requester, or a contact of the same organization when the organization shares its tickets."""
    if user is None or not user.is_authenticated:
        return False
    if ticket.requester_id == user.pk:
        return True
    org = ticket.organization
    return bool(org and org.share_tickets and user.organization_id == org.pk)


def can_work(user) -> bool:
    return user_is_agent(user)


def can_transition(user, ticket: Ticket, to_status: str) -> bool:
    if user is None:  # the system itself (tasks, mail intake)
        return True
    if can_work(user):
        return True
    return ticket.requester_id == user.pk and (ticket.status, to_status) in CUSTOMER_TRANSITIONS


def can_decide_resolution(user, ticket: Ticket) -> bool:
    """Accept or reject a resolution: the customer side of the ticket, or an agent recording their answer."""
    return ticket.status == TicketStatus.RESOLVED and (can_work(user) or is_requester_side(user, ticket))


def can_comment(user, ticket: Ticket, *, internal: bool) -> bool:
    """Agents always; the customer side (the requester, a CC watcher, the organization's contacts where it
    shares tickets) publicly while the ticket is not closed. A vendor reads the ticket of its case but answers
    on the case (escalations), never in the customer's conversation."""
    if can_work(user):
        return True
    if internal or ticket.status == TicketStatus.CLOSED:
        return False
    return is_requester_side(user, ticket) or ticket.watchers.filter(pk=user.pk).exists()
