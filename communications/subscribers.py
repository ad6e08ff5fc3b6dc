"""How customer communication reacts to ticket events (registered in tickets/subscribers.py).

Runs inside the transaction that wrote the event, so the mail it queues is committed with the change
(the outbox row and the event are one transaction). Ignores its own event types."""

from tickets.choices import TicketEventType, TicketStatus

OWN_EVENTS = frozenset(
    {
        TicketEventType.NOTIFICATION_QUEUED,
        TicketEventType.NOTIFICATION_SENT,
        TicketEventType.NOTIFICATION_FAILED,
        TicketEventType.NOTIFICATION_SUPPRESSED,
        TicketEventType.STATUS_UPDATE_DUE,
        TicketEventType.MAIL_RECEIVED,
    }
)


def on_ticket_event(event) -> None:
    if event.event_type in OWN_EVENTS:
        return
    from communications import services

    ticket = event.ticket
    data = event.data or {}
    if event.event_type == TicketEventType.CREATED:
        services.communication_create(ticket=ticket)
        return
    if event.event_type == TicketEventType.COMMENT_ADDED:
        if event.actor_id is None:
            return
        from accounts.roles import user_is_agent
        from itsm.lib.transactions import scope_recall
        from tickets.models import Comment

        comment = scope_recall(("comment", data.get("comment_id"))) or (
            Comment.objects.select_related("author").filter(pk=data.get("comment_id")).first()
        )
        if comment is None or comment.author is None:
            return
        if user_is_agent(comment.author):
            if comment.is_public:
                services.agent_reply_enqueue(ticket=ticket, comment=comment, now=event.created_at)
        elif comment.is_public:
            services.missing_information_refresh(ticket=ticket)
        return
    if event.event_type == TicketEventType.UPDATED and "ticket_type" in (data.get("changes") or {}):
        services.missing_information_refresh(ticket=ticket)
        return
    if event.event_type == TicketEventType.STATUS_CHANGED:
        before, after = data.get("from"), data.get("to")
        if after == TicketStatus.CLOSED:
            services.ticket_mail_queue(
                ticket=ticket, kind=services.OutboundEmail.Kind.CLOSURE, automated=True, now=event.created_at
            )
        elif before == TicketStatus.RESOLVED and after == TicketStatus.IN_PROGRESS:
            services.ticket_mail_queue(
                ticket=ticket, kind=services.OutboundEmail.Kind.REOPEN, automated=True, now=event.created_at
            )
