"""Verification of the audit trail's hash chains (see tickets/events.py for how they are built)."""

from collections.abc import Iterator
from dataclasses import dataclass, field

from tickets.events import GENESIS_HASH, canonical_content, chain_hash
from tickets.models import TicketEvent


@dataclass
class ChainProblem:
    ticket_number: str
    problems: list[str] = field(default_factory=list)


def _rows() -> Iterator[tuple]:
    return (
        TicketEvent.objects.order_by("ticket_id", "seq")
        .values_list(
            "ticket_id",
            "ticket__number",
            "seq",
            "event_type",
            "actor_id",
            "actor_name",
            "created_at",
            "data",
            "prev_hash",
            "hash",
        )
        .iterator(chunk_size=5000)
    )


def audit_verify() -> tuple[int, int, list[ChainProblem]]:
    """Recompute every ticket's chain. Returns (tickets checked, events checked, broken chains)."""
    broken: dict[int, ChainProblem] = {}
    tickets = events = 0
    current_ticket = None
    expected_prev = GENESIS_HASH
    expected_seq = 1
    for ticket_id, number, seq, event_type, actor_id, actor_name, created_at, data, prev, digest in _rows():
        events += 1
        if ticket_id != current_ticket:
            current_ticket, expected_prev, expected_seq = ticket_id, GENESIS_HASH, 1
            tickets += 1

        def flag(message: str, ticket_id=ticket_id, number=number) -> None:
            broken.setdefault(ticket_id, ChainProblem(number)).problems.append(message)

        if seq != expected_seq:
            flag(f"event {seq}: expected sequence number {expected_seq} (an event is missing)")
        if prev != expected_prev:
            flag(f"event {seq}: previous hash does not match event {seq - 1}")
        content = canonical_content(
            number=number,
            seq=seq,
            event_type=event_type,
            actor_id=actor_id,
            actor_name=actor_name,
            created_at=created_at,
            data=data,
        )
        if chain_hash(prev, content) != digest:
            flag(f"event {seq}: content does not match its hash (edited)")
        expected_prev, expected_seq = digest, seq + 1
    return tickets, events, list(broken.values())
