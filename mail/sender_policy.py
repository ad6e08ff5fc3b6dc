"""Who may speak for a ticket by mail (security critical).

A reply counts as the customer's only when its sender is the requester, a CC watcher or, when the
organization shares its tickets among its contacts, a contact of the ticket's organization. Agents are
recognized too (their mail becomes an internal note). Anyone else is a stranger: their mail is kept as an
internal note marked "unverified sender" and changes nothing, so a stranger can never reopen, accept or
close someone else's ticket by mail, however they learned its number."""

from accounts.models import User
from accounts.roles import user_is_agent
from tickets.models import Ticket

REQUESTER = "requester"
WATCHER = "watcher"
ORGANIZATION = "organization"
AGENT = "agent"
STRANGER = "stranger"

CUSTOMER_SIDE = frozenset({REQUESTER, WATCHER, ORGANIZATION})


def sender_role(*, ticket: Ticket, sender: User | None, address: str) -> str:
    """The sender's standing on this ticket. `sender` is the contact found for `address` (or None)."""
    address = (address or "").strip().lower()
    if sender is None or not address or (sender.email or "").strip().lower() != address:
        return STRANGER
    if not sender.is_active:
        return STRANGER
    if ticket.requester_id == sender.pk:
        return REQUESTER
    if user_is_agent(sender):
        return AGENT
    if ticket.watchers.filter(pk=sender.pk).exists():
        return WATCHER
    org = ticket.organization
    if org is not None and org.share_tickets and sender.organization_id == org.pk:
        return ORGANIZATION
    return STRANGER
