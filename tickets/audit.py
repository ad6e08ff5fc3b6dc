"""Verification of the audit trail's hash chains (see tickets/events.py for how they are built)."""

from collections.abc import Iterator
from dataclasses import dataclass, field

from tickets.events import GENESIS_HASH, canonical_content, chain_hash
from tickets.models import TicketAuditHead, TicketEvent


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
            "is_public",
            "prev_hash",
            "hash",
        )
        .iterator(chunk_size=5000)
    )


def audit_verify() -> tuple[int, int, list[ChainProblem]]:
    """Recompute every ticket's chain and compare its end with the recorded head. Returns (tickets checked,
    events checked, broken chains)."""
    broken: dict[int, ChainProblem] = {}
    heads = {
        ticket_id: (number, seq, digest)
        for ticket_id, number, seq, digest in TicketAuditHead.objects.values_list(
            "ticket_id", "ticket__number", "seq", "hash"
        ).iterator(chunk_size=5000)
    }
    tickets = events = 0
    current_ticket, current_number = None, ""
    expected_prev = GENESIS_HASH
    expected_seq = 1

    def check_end(ticket_id: int, number: str, last_seq: int, last_hash: str) -> None:
        head = heads.pop(ticket_id, None)
        if head is None:
            problem = f"no recorded chain head (the chain ends at event {last_seq})"
        elif (head[1], head[2]) == (last_seq, last_hash):
            return
        elif head[1] > last_seq:
            problem = f"the chain ends at event {last_seq}, its head records {head[1]} (events removed at the end)"
        else:
            problem = f"the chain's end (event {last_seq}) does not match its recorded head (event {head[1]})"
        broken.setdefault(ticket_id, ChainProblem(number)).problems.append(problem)

    rows = _rows()
    for ticket_id, number, seq, event_type, actor_id, actor_name, created_at, data, public, prev, digest in rows:
        events += 1
        if ticket_id != current_ticket:
            if current_ticket is not None:
                check_end(current_ticket, current_number, expected_seq - 1, expected_prev)
            current_ticket, current_number, expected_prev, expected_seq = ticket_id, number, GENESIS_HASH, 1
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
            is_public=public,
        )
        if chain_hash(prev, content) != digest:
            flag(f"event {seq}: content does not match its hash (edited)")
        expected_prev, expected_seq = digest, seq + 1
    if current_ticket is not None:
        check_end(current_ticket, current_number, expected_seq - 1, expected_prev)
    for ticket_id, (number, seq, _) in heads.items():  # heads left over: tickets whose every event is gone
        tickets += 1
        broken.setdefault(ticket_id, ChainProblem(number)).problems.append(
            f"no events, but its head records {seq} (every event removed)"
        )
    return tickets, events, list(broken.values())
