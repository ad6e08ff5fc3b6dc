"""Which ticket a message belongs to, and the Message-IDs of a ticket's conversation.

A message joins a ticket when its In-Reply-To or References name a Message-ID we sent (the outbox) or
received (the intake) for that ticket, or when its subject carries one of our ticket numbers, after any
number of reply and forward prefixes (`Re:`, `RE:`, `AW:`, `SV:`, `Fwd:`, `TR:`, ...) and in our tag
format `[INC-000042]`. A number in another system's format (`INC678439`, `[Ticket#123]`) is not ours."""

import re

from tickets.choices import NUMBER_PREFIX
from tickets.models import Ticket

REPLY_PREFIX = re.compile(
    r"^\s*(?:(?:re|aw|sv|vs|fw|fwd|wg|tr|rif|r|antw|antwort|odp|enc|res|ynt|vl|w)\s*(?:\[\d+\]|\(\d+\))?\s*[:：]\s*)+",
    re.I,
)
_PREFIXES = "|".join(sorted(set(NUMBER_PREFIX.values())))
TICKET_NUMBER = re.compile(rf"(?<![A-Za-z0-9#-])\[?((?:{_PREFIXES})-\d{{6,}})\]?(?![A-Za-z0-9-])", re.I)


def strip_reply_prefixes(subject: str) -> str:
    return REPLY_PREFIX.sub("", subject or "").strip()


def ticket_numbers_in_subject(subject: str) -> list[str]:
    return [m.upper() for m in TICKET_NUMBER.findall(subject or "")]


def subject_tag(number: str) -> str:
    return f"[{number}]"


def subject_with_tag(subject: str, number: str) -> str:
    """Our outbound subject: the tag first, once."""
    if subject_tag(number) in subject:
        return subject
    return f"{subject_tag(number)} {subject}".strip()


def ticket_for_message_ids(message_ids: list[str]) -> Ticket | None:
    """The ticket of the newest of these ids that we sent or received."""
    from communications.models import OutboundEmail
    from mail.models import InboundMessage

    ids = [i for i in dict.fromkeys(message_ids) if i][-50:]
    if not ids:
        return None
    ticket_id = (
        OutboundEmail.objects.filter(message_id__in=[f"<{i}>" for i in ids] + ids, ticket__isnull=False)
        .order_by("-created_at")
        .values_list("ticket_id", flat=True)
        .first()
    )
    if ticket_id is None:
        ticket_id = (
            InboundMessage.objects.filter(message_id__in=ids, ticket__isnull=False)
            .order_by("-received_at")
            .values_list("ticket_id", flat=True)
            .first()
        )
    return Ticket.objects.filter(pk=ticket_id).first() if ticket_id else None


def ticket_for_subject(subject: str) -> Ticket | None:
    numbers = ticket_numbers_in_subject(subject)
    if not numbers:
        return None
    return Ticket.objects.filter(number__in=numbers).order_by("-created_at").first()


def find_ticket(*, subject: str, in_reply_to: list[str], references: list[str]) -> tuple[Ticket | None, str]:
    """(ticket, how it was found): by the headers first (they cannot be typed by mistake), then the subject."""
    ticket = ticket_for_message_ids(references + in_reply_to)
    if ticket is not None:
        return ticket, "headers"
    ticket = ticket_for_subject(subject)
    if ticket is not None:
        return ticket, "subject"
    return None, ""


def conversation_headers(ticket: Ticket) -> tuple[str, str]:
    """(In-Reply-To, References) for a new mail on the ticket: it answers the customer's latest message
    (or our latest mail when they never wrote), and references the first and the latest ones."""
    from communications.models import OutboundEmail
    from mail.models import InboundMessage

    inbound = list(
        InboundMessage.objects.filter(ticket=ticket)
        .exclude(message_id_derived=True)
        .order_by("received_at", "id")
        .values_list("received_at", "message_id")
    )
    outbound = [
        (at, mid.strip("<>"))
        for at, mid in OutboundEmail.objects.filter(ticket=ticket)
        .order_by("created_at", "id")
        .values_list("created_at", "message_id")
    ]
    chain = sorted(inbound + outbound, key=lambda x: x[0])
    ids = [f"<{mid}>" for _, mid in chain]
    if not ids:
        return "", ""
    references = ids if len(ids) <= 10 else ids[:1] + ids[-9:]
    in_reply_to = f"<{inbound[-1][1]}>" if inbound else ids[-1]
    return in_reply_to, " ".join(references)
