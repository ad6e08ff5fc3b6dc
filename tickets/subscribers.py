"""Who reacts to ticket events: called in this order, inside the transaction that wrote the event, with the
event just written. This list is the one place where other apps hook into the ticket's lifecycle (SLA clocks,
acknowledgements, escalations...), so what happens on a change can be read here, not discovered in signals.

A subscriber is `def handler(event: TicketEvent) -> None`. It must ignore the event types it writes itself
(it may write events through tickets.services.ticket_event_record, which calls the subscribers again)."""

from collections.abc import Callable
from functools import cache

from django.utils.module_loading import import_string

SUBSCRIBERS: list[str] = [
    "sla.services.sla_on_ticket_event",  # SLA clocks follow the ticket's history
    "communications.subscribers.on_ticket_event",
    "escalations.subscribers.on_ticket_event",  # after the SLA clocks: escalation schedule, de-escalation
]


@cache
def subscribers() -> tuple[Callable, ...]:
    return tuple(import_string(path) for path in SUBSCRIBERS)
