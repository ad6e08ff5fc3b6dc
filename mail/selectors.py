"""Reads of mail intake, with visibility applied: the failed-mail list for the service desk, and the mail
bodies shown on a ticket page (sanitized HTML, `cid:` images pointed at the permission-checked view)."""

import re
from dataclasses import dataclass

from django.db.models import Count, Min, QuerySet
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

from accounts.roles import user_is_agent
from mail.choices import InboundStatus
from mail.models import InboundMessage, Mailbox
from mail.sanitize import text_to_html
from tickets.models import Ticket

_CID_SRC = re.compile(r'src="cid:([^"]*)"', re.I)


def failed_mail_list() -> QuerySet[InboundMessage]:
    return (
        InboundMessage.objects.filter(status=InboundStatus.QUARANTINED)
        .select_related("mailbox")
        .defer("raw", "body_html")
        .order_by("-received_at", "-id")
    )


def mailbox_list() -> list[Mailbox]:
    """The mailboxes, each with `waiting` (messages stored, not processed yet) and `oldest_waiting`."""
    waiting = {
        row["mailbox_id"]: row
        for row in InboundMessage.objects.filter(status=InboundStatus.RECEIVED)
        .values("mailbox_id")
        .annotate(n=Count("id"), oldest=Min("received_at"))
    }
    mailboxes = list(Mailbox.objects.select_related("default_service", "default_resolver_group").order_by("name"))
    for m in mailboxes:
        row = waiting.get(m.pk) or {}
        m.waiting, m.oldest_waiting = row.get("n", 0), row.get("oldest")
    return mailboxes


def _html_with_images(message: InboundMessage, visible_ids: set[int]) -> str:
    def repl(m: re.Match) -> str:
        attachment_id = message.cid_map.get(m.group(1))
        if attachment_id in visible_ids:
            return f'src="{reverse("mail:attachment-inline", args=[attachment_id])}"'
        return 'data-cid-missing=""'

    return _CID_SRC.sub(repl, message.body_html)


@dataclass
class MailBody:
    html: SafeString
    label: str  # "Unverified sender", "Automatic reply", "By mail" ...
    message_id: int


def ticket_mail_bodies(*, ticket: Ticket, user, visible_attachment_ids: set[int]) -> dict:
    """{"description": MailBody | None, comment id: MailBody} for the messages behind the ticket's
    description and comments. A customer gets only the bodies of public comments and of the description."""
    agent = user_is_agent(user)
    rows = (
        InboundMessage.objects.filter(ticket=ticket)
        .exclude(status__in=[InboundStatus.QUARANTINED, InboundStatus.BOUNCE])
        .select_related("comment")
        .defer("raw")
        .order_by("received_at", "id")
    )
    result: dict = {"description": None}
    for message in rows:
        if message.comment_id and not message.comment.is_public and not agent:
            continue
        if message.body_html:
            html = _html_with_images(message, visible_attachment_ids)
        else:
            text = message.comment.body if message.comment_id else ticket.description
            html = text_to_html(text)
        label = ""
        if message.status == InboundStatus.UNVERIFIED:
            label = "Unverified sender"
        elif message.flags.get("auto_reply"):
            label = "Automatic reply"
        body = MailBody(mark_safe(html), label or "By mail", message.pk)  # noqa: S308 - sanitized by nh3
        if message.comment_id:
            result[message.comment_id] = body
        elif message.status == InboundStatus.TICKET and result["description"] is None:
            result["description"] = body
    return result
