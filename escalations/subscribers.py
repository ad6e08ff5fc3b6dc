"""How escalations react to ticket events (registered in tickets/subscribers.py, after the SLA clocks).

Runs inside the transaction that wrote the event, under the ticket's row lock. It never fires a level (the
scan does, escalations/services.py): it recomputes the ticket's schedule (which path applies, when its next
level falls due) whenever the clocks, the group, the priority, the status or the status-update flag can have
changed, and de-escalates at once what no longer stands (the ticket resolved, a clock met, an update sent).
An SLA warning or breach, an overdue status update and a reopen are consumed here: when they make a level due,
the ticket is checked right after commit instead of at the next beat. Ignores its own event types."""

from tickets.choices import TicketEventType as E

OWN_EVENTS = frozenset(
    {
        E.ESCALATED,
        E.DEESCALATED,
        E.COLLABORATION_ADDED,
        E.COLLABORATION_ENDED,
        E.VENDOR_CASE_OPENED,
        E.VENDOR_CASE_UPDATED,
        E.VENDOR_CASE_BREACHED,
        E.MAJOR_INCIDENT_DECLARED,
        E.MAJOR_INCIDENT_BROADCAST,
    }
)
# Events after which a level may be due at once: checked right after commit.
CHECK_SOON = frozenset({E.SLA_WARNING, E.SLA_BREACHED, E.STATUS_UPDATE_DUE})
# Fields of an update that can change the path (priority) or the clocks (type, service, organization).
PATH_FIELDS = frozenset({"priority", "ticket_type", "service", "organization"})
# Mail that counts as an update for the customer (communications.services.ticket_mail_queue clears the
# status-update flag before it queues the mail, so the refresh sees the flag gone).
CUSTOMER_UPDATE_KINDS = frozenset({"status_update", "info_request", "resolution_notice", "agent_reply", "reopen"})


def _relevant(event) -> bool:
    kind = event.event_type
    if kind in OWN_EVENTS:
        return False
    data = event.data or {}
    if kind == E.UPDATED and not (set(data.get("changes") or {}) & PATH_FIELDS):
        return False
    if kind == E.COMMENT_ADDED and not data.get("public"):
        return False
    if kind == E.ASSIGNED and "resolver_group" not in data:
        return False
    if kind == E.NOTIFICATION_QUEUED and data.get("kind") not in CUSTOMER_UPDATE_KINDS:
        return False
    return kind in (
        E.CREATED,
        E.UPDATED,
        E.STATUS_CHANGED,
        E.COMMENT_ADDED,
        E.ASSIGNED,
        E.NOTIFICATION_QUEUED,
        E.SLA_WARNING,
        E.SLA_BREACHED,
        E.SLA_POLICY_APPLIED,
        E.STATUS_UPDATE_DUE,
    )


def on_ticket_events(ticket, events) -> None:
    """Settling subscriber: one refresh of the ticket's escalations per change."""
    relevant = [e for e in events if _relevant(e)]
    if not relevant:
        return
    from escalations.services import escalation_ticket_refresh

    check_soon = any(
        e.event_type in CHECK_SOON or (e.event_type == E.STATUS_CHANGED and "reopen_count" in (e.data or {}))
        for e in relevant
    )
    new = events[0].event_type == E.CREATED and events[0].seq == 1
    escalation_ticket_refresh(ticket=ticket, now=relevant[-1].created_at, check_soon=check_soon, new=new)
