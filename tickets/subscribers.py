"""Who reacts to ticket events. This is the one place where other apps hook into the ticket's lifecycle, so
what happens on a change can be read here, not discovered in signals. Both lists run in the transaction that
wrote the events, in the order given.

SUBSCRIBERS: `def handler(event: TicketEvent) -> None`, called for every event as it is written.

SETTLING_SUBSCRIBERS: `def handler(ticket: Ticket, events: list[TicketEvent]) -> None`, called once per ticket
when the change that wrote the events ends (the outermost service call; see itsm/lib/transactions.py), with all
of them in order; at once, with one event, for an event written outside any service. For state derived from
the whole history (SLA clocks, escalation schedules), which one change would otherwise recompute per event.

A handler must ignore the event types it writes itself (it may write events through
tickets.services.ticket_event_record, which calls the subscribers again)."""

from collections.abc import Callable
from functools import cache

from django.utils.module_loading import import_string

SUBSCRIBERS: list[str] = [
    "communications.subscribers.on_ticket_event",  # acknowledgements, replies, notices, update flags
]

SETTLING_SUBSCRIBERS: list[str] = [
    "sla.services.sla_on_ticket_events",  # SLA clocks follow the ticket's history
    "escalations.subscribers.on_ticket_events",  # after the clocks: escalation schedule, de-escalation
]


@cache
def subscribers() -> tuple[Callable, ...]:
    return tuple(import_string(path) for path in SUBSCRIBERS)


@cache
def settling_subscribers() -> tuple[Callable, ...]:
    return tuple(import_string(path) for path in SETTLING_SUBSCRIBERS)
