"""Accept and reject links of the resolution notice that work without a login (mail-created contacts have
no password). A link is signed for one ticket, its requester and this resolution: once the ticket is
reopened and resolved again, older links stop working; it is valid for ITSM_RESOLUTION_LINK_DAYS."""

from django.conf import settings
from django.core import signing
from django.urls import reverse

from itsm.lib.errors import DomainError
from tickets.models import Ticket

SALT = "communications.resolution-link"


def _stamp(ticket: Ticket) -> str:
    return ticket.resolved_at.isoformat() if ticket.resolved_at else ""


def resolution_token(ticket: Ticket) -> str:
    return signing.dumps({"t": ticket.pk, "r": ticket.requester_id, "at": _stamp(ticket)}, salt=SALT, compress=True)


def resolution_links(ticket: Ticket) -> tuple[str, str]:
    token = resolution_token(ticket)
    base = settings.SITE_URL + reverse("communications:resolution", args=[token])
    return f"{base}?decision=accept", f"{base}?decision=reject"


class LinkInvalid(DomainError):
    status_code = 404
    code = "link_invalid"


def resolution_token_ticket(token: str) -> Ticket:
    """The ticket a valid token is for; LinkInvalid when it was altered, expired or is stale."""
    try:
        data = signing.loads(token, salt=SALT, max_age=settings.ITSM_RESOLUTION_LINK_DAYS * 86400)
    except signing.SignatureExpired as exc:
        raise LinkInvalid("This link has expired. Please reply to our mail or sign in.") from exc
    except signing.BadSignature as exc:
        raise LinkInvalid("This link is not valid.") from exc
    ticket = Ticket.objects.select_related("requester").filter(pk=data.get("t")).first()
    if ticket is None or ticket.requester_id != data.get("r"):
        raise LinkInvalid("This link is not valid.")
    if _stamp(ticket) != data.get("at"):
        raise LinkInvalid(f"This link is out of date: {ticket.number} changed since it was sent.")
    return ticket
