"""The audit trail's writer: the only code that creates TicketEvent rows.

Each event's hash is SHA-256 over "<previous hash>\\n<canonical JSON of the event>". The canonical JSON has
sorted keys and no whitespace and holds the ticket number, the sequence number, the type, the actor's id
and name, the UTC time, whether the customer sees it, and the data. The first event of a ticket chains to
GENESIS_HASH. The chain's end is kept in TicketAuditHead, moved in the same transaction (once per change, when
the change settles), so a chain cut short is caught as well as an edited one.
Callers hold the ticket's row lock (every service takes it first), so a ticket's chain is written by one
transaction at a time; the (ticket, seq) unique constraint turns any slip into an error, not a fork.
"""

import functools
import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.utils import timezone

from itsm.lib.transactions import current_scope, scope_recall, scope_remember, settle_later
from tickets.choices import CUSTOMER_VISIBLE_EVENTS, TicketEventType
from tickets.models import Ticket, TicketAuditHead, TicketEvent
from tickets.subscribers import settling_subscribers, subscribers

GENESIS_HASH = "0" * 64
SYSTEM_ACTOR_NAME = "System"


def normalize_data(data: dict[str, Any]) -> dict[str, Any]:
    """The JSON form that the database will give back (datetimes and decimals as strings)."""
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def canonical_content(
    *,
    number: str,
    seq: int,
    event_type: str,
    actor_id: int | None,
    actor_name: str,
    created_at: datetime,
    data: dict[str, Any],
    is_public: bool,
) -> str:
    return json.dumps(
        {
            "ticket": number,
            "seq": seq,
            "type": event_type,
            "actor_id": actor_id,
            "actor_name": actor_name,
            "at": created_at.astimezone(UTC).isoformat(timespec="microseconds"),
            "public": bool(is_public),
            "data": data,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )


def chain_hash(prev_hash: str, content: str) -> str:
    return hashlib.sha256(f"{prev_hash}\n{content}".encode()).hexdigest()


def actor_display_name(actor) -> str:
    if actor is None:
        return SYSTEM_ACTOR_NAME
    return getattr(actor, "display_name", None) or str(actor)


_HEAD_SQL = f"SELECT seq, hash FROM {TicketEvent._meta.db_table} WHERE ticket_id = %s ORDER BY seq DESC LIMIT 1"
# PostgreSQL and SQLite (3.24+) both have this upsert
_MOVE_HEAD_SQL = (
    f"INSERT INTO {TicketAuditHead._meta.db_table} (ticket_id, seq, hash) VALUES (%s, %s, %s) "
    "ON CONFLICT (ticket_id) DO UPDATE SET seq = EXCLUDED.seq, hash = EXCLUDED.hash"
)


def event_write(
    *,
    ticket: Ticket,
    event_type: str,
    actor=None,
    data: dict[str, Any] | None = None,
    is_public: bool | None = None,
    now: datetime | None = None,
    first: bool = False,
) -> TicketEvent:
    """Append one event to the ticket's chain. Call inside the service's transaction, after locking.
    `first`: the ticket was inserted in this transaction, so the chain starts here (no read of its head)."""
    if event_type not in TicketEventType.values:
        raise ValueError(f"Unknown ticket event type {event_type!r}")
    data = normalize_data(data or {})
    if is_public is None:
        is_public = event_type in CUSTOMER_VISIBLE_EVENTS
    created_at = (now or timezone.now()).astimezone(UTC)
    if first:  # the ticket was inserted in this very transaction: it has no event yet
        last = None
    else:
        # the chain's head: known when this change already appended to it (the ticket is locked meanwhile),
        # else read (plain SQL: this runs for every event)
        last = scope_recall(("audit-head", ticket.pk))
        if last is None:
            with connection.cursor() as cursor:
                cursor.execute(_HEAD_SQL, [ticket.pk])
                last = cursor.fetchone()
    seq, prev_hash = (last[0] + 1, last[1]) if last else (1, GENESIS_HASH)
    actor_id = actor.pk if actor is not None else None
    actor_name = actor_display_name(actor)[:200]
    content = canonical_content(
        number=ticket.number,
        seq=seq,
        event_type=event_type,
        actor_id=actor_id,
        actor_name=actor_name,
        created_at=created_at,
        data=data,
        is_public=is_public,
    )
    event = TicketEvent(
        ticket=ticket,
        seq=seq,
        event_type=event_type,
        actor_id=actor_id,
        actor_name=actor_name,
        created_at=created_at,
        data=data,
        is_public=is_public,
        prev_hash=prev_hash,
        hash=chain_hash(prev_hash, content),
    )
    event.save()
    if current_scope() is None:
        _head_move(ticket.pk, (seq, event.hash))
    else:  # the head moves once, at the end of the change, to where the chain then ends
        scope_remember(("audit-head", ticket.pk), (seq, event.hash))
        settle_later(("audit-head", ticket.pk), functools.partial(_head_settle, ticket.pk))
    for handler in subscribers():
        handler(event)
    _settle_later(event)
    return event


def _head_move(ticket_id: int, head: tuple[int, str]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(_MOVE_HEAD_SQL, [ticket_id, *head])


def _head_settle(ticket_id: int) -> None:
    """Record the end of the ticket's chain as this change leaves it: known, unless a savepoint was rolled
    back meanwhile (then read from the events themselves)."""
    head = scope_recall(("audit-head", ticket_id))
    if head is None:
        with connection.cursor() as cursor:
            cursor.execute(_HEAD_SQL, [ticket_id])
            head = cursor.fetchone()
    if head is not None:
        _head_move(ticket_id, head)


def _settle_later(event: TicketEvent) -> None:
    """Queue the event for the settling subscribers, which run once per ticket at the end of the change."""
    scope = current_scope()
    if scope is None:
        for handler in settling_subscribers():
            handler(event.ticket, [event])
        return
    key = ("ticket-events", event.ticket_id)
    batch = scope.data.setdefault(key, [])
    batch.append(event)

    def settle() -> None:
        events = scope.data.pop(key, [])
        if events:
            for handler in settling_subscribers():
                handler(events[-1].ticket, events)

    settle_later(key, settle)
