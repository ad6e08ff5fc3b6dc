"""Writes of the outbox: queue a mail in the caller's transaction, deliver it later.

Delivery claims a row (status `sending` with a lease) in one short transaction, talks to the SMTP server
outside any transaction, then records the outcome in a second one: a slow SMTP server never holds a
database lock, two workers never send the same row, and a worker that dies mid-send leaves a lease that
expires, so the mail is retried (at-least-once delivery)."""

import logging
import smtplib
from datetime import datetime, timedelta
from email.utils import make_msgid

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from communications.models import OutboundEmail
from tickets.choices import TicketEventType
from tickets.models import Ticket

logger = logging.getLogger(__name__)

SEND_LEASE = timedelta(minutes=5)
CUSTOMER_KINDS = frozenset(
    {
        OutboundEmail.Kind.ACKNOWLEDGEMENT,
        OutboundEmail.Kind.STATUS_UPDATE,
        OutboundEmail.Kind.INFO_REQUEST,
        OutboundEmail.Kind.RESOLUTION_NOTICE,
        OutboundEmail.Kind.CLOSURE,
        OutboundEmail.Kind.REOPEN,
        OutboundEmail.Kind.AGENT_REPLY,
    }
)


class TemporaryDeliveryError(Exception):
    pass


class PermanentDeliveryError(Exception):
    pass


def _schedule_delivery(outbound_id: int) -> None:
    """After commit, hand the row to a worker. If the broker is down the row stays queued and the
    every-minute sweeper (outbox_deliver_due) sends it."""
    from communications.tasks import outbound_email_deliver as outbound_email_deliver_task

    def enqueue() -> None:
        try:
            outbound_email_deliver_task.delay(outbound_id)
        except Exception:  # broker unavailable: the sweeper will pick the row up
            logger.warning(
                "Could not enqueue delivery of outbound mail %s; the sweeper will", outbound_id, exc_info=True
            )

    transaction.on_commit(enqueue)


@transaction.atomic
def outbound_email_queue(
    *,
    ticket: Ticket | None,
    kind: str,
    to: list[str],
    subject: str,
    body_text: str,
    cc: list[str] | None = None,
    body_html: str = "",
    from_email: str | None = None,
    reply_to: str = "",
    in_reply_to: str = "",
    references: str = "",
    headers: dict[str, str] | None = None,
    now: datetime | None = None,
) -> OutboundEmail:
    now = now or timezone.now()
    outbound = OutboundEmail.objects.create(
        ticket=ticket,
        kind=kind,
        from_email=from_email or settings.DEFAULT_FROM_EMAIL,
        reply_to=reply_to,
        to=list(to),
        cc=list(cc or []),
        subject=subject[:255],
        body_text=body_text,
        body_html=body_html,
        message_id=make_msgid(domain=settings.ITSM_MAIL_DOMAIN),
        in_reply_to=in_reply_to,
        references=references,
        headers=headers or {},
        next_attempt_at=now,
        created_at=now,
    )
    if ticket is not None:
        from tickets.services import ticket_event_record

        ticket_event_record(
            ticket=ticket,
            event_type=TicketEventType.NOTIFICATION_QUEUED,
            data={"outbound_id": outbound.pk, "kind": kind, "to": outbound.to, "subject": outbound.subject},
            is_public=False,
            now=now,
        )
    _schedule_delivery(outbound.pk)
    return outbound


def notification_resolution_enqueue(*, ticket: Ticket, now: datetime | None = None) -> OutboundEmail | None:
    """Queue the resolution notice to the requester, with accept and reject links. Without an address
    the failure is recorded on the ticket (and the closure gate keeps it open)."""
    now = now or timezone.now()
    requester = ticket.requester
    if not requester.email:
        from tickets.services import ticket_event_record

        ticket_event_record(
            ticket=ticket,
            event_type=TicketEventType.NOTIFICATION_FAILED,
            data={"kind": OutboundEmail.Kind.RESOLUTION_NOTICE, "error": "the requester has no email address"},
            is_public=False,
            now=now,
        )
        return None
    url = settings.SITE_URL + reverse("tickets:detail", args=[ticket.number])
    context = {
        "requester_name": requester.display_name,
        "number": ticket.number,
        "title": ticket.title,
        "resolution_notes": ticket.resolution_notes,
        "accept_url": f"{url}#resolution",
        "reject_url": f"{url}#resolution",
        "acceptance_days": round(settings.ITSM_ACCEPTANCE_WINDOW.total_seconds() / 86400, 1),
    }
    body = render_to_string("communications/email/resolution_notice.txt", context)
    return outbound_email_queue(
        ticket=ticket,
        kind=OutboundEmail.Kind.RESOLUTION_NOTICE,
        to=[requester.email],
        cc=[w.email for w in ticket.watchers.all() if w.email],
        subject=f"[{ticket.number}] Resolved: {ticket.title}",
        body_text=body,
        headers={"Auto-Submitted": "auto-generated"},
        now=now,
    )


def _claim(outbound_id: int, now: datetime) -> OutboundEmail | None:
    with transaction.atomic():
        outbound = OutboundEmail.objects.select_for_update().filter(pk=outbound_id).first()
        if outbound is None:
            return None
        due = outbound.next_attempt_at <= now
        if not due or outbound.status not in (OutboundEmail.Status.QUEUED, OutboundEmail.Status.SENDING):
            return None
        outbound.status = OutboundEmail.Status.SENDING
        outbound.attempts += 1
        outbound.next_attempt_at = now + SEND_LEASE  # the lease: another sender waits until it expires
        outbound.save(update_fields=["status", "attempts", "next_attempt_at"])
        return outbound


def _send(outbound: OutboundEmail) -> None:
    headers = {"Message-ID": outbound.message_id, **outbound.headers}
    if outbound.in_reply_to:
        headers["In-Reply-To"] = outbound.in_reply_to
    if outbound.references:
        headers["References"] = outbound.references
    message = EmailMultiAlternatives(
        subject=outbound.subject,
        body=outbound.body_text,
        from_email=outbound.from_email,
        to=outbound.to,
        cc=outbound.cc,
        reply_to=[outbound.reply_to] if outbound.reply_to else None,
        headers=headers,
        connection=get_connection(fail_silently=False),
    )
    if outbound.body_html:
        message.attach_alternative(outbound.body_html, "text/html")
    try:
        message.send()
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        error = "; ".join(f"{rcpt}: {code} {msg!r}" for rcpt, (code, msg) in exc.recipients.items())
        if all(code >= 500 for code in codes):
            raise PermanentDeliveryError(error) from exc
        raise TemporaryDeliveryError(error) from exc
    except smtplib.SMTPResponseException as exc:
        error = f"{exc.smtp_code} {exc.smtp_error!r}"
        if exc.smtp_code >= 500:
            raise PermanentDeliveryError(error) from exc
        raise TemporaryDeliveryError(error) from exc
    except (TimeoutError, smtplib.SMTPException, OSError) as exc:
        raise TemporaryDeliveryError(f"{type(exc).__name__}: {exc}") from exc


def outbound_email_deliver(*, outbound_id: int, now: datetime | None = None) -> str:
    """Try to send one queued mail. Returns its status afterwards."""
    now = now or timezone.now()
    outbound = _claim(outbound_id, now)
    if outbound is None:
        return "skipped"
    try:
        _send(outbound)
    except TemporaryDeliveryError as exc:
        return _record_failure(outbound, str(exc), permanent=False, now=now)
    except PermanentDeliveryError as exc:
        return _record_failure(outbound, str(exc), permanent=True, now=now)
    return _record_sent(outbound, now=timezone.now())


@transaction.atomic
def _record_sent(outbound: OutboundEmail, *, now: datetime) -> str:
    outbound.status = OutboundEmail.Status.SENT
    outbound.sent_at = now
    outbound.last_error = ""
    outbound.save(update_fields=["status", "sent_at", "last_error"])
    if outbound.ticket_id:
        from tickets.services import ticket_event_record, ticket_record_resolution_notice

        ticket = Ticket.objects.get(pk=outbound.ticket_id)
        ticket_event_record(
            ticket=ticket,
            event_type=TicketEventType.NOTIFICATION_SENT,
            data={
                "outbound_id": outbound.pk,
                "kind": outbound.kind,
                "to": outbound.to,
                "cc": outbound.cc,
                "message_id": outbound.message_id,
            },
            is_public=outbound.kind in CUSTOMER_KINDS,
            now=now,
        )
        if outbound.kind == OutboundEmail.Kind.RESOLUTION_NOTICE:
            ticket_record_resolution_notice(ticket=ticket, sent_at=now, outbound_id=outbound.pk)
    return outbound.status


@transaction.atomic
def _record_failure(outbound: OutboundEmail, error: str, *, permanent: bool, now: datetime) -> str:
    outbound.last_error = error[:2000]
    if permanent or outbound.attempts >= settings.ITSM_OUTBOX_MAX_ATTEMPTS:
        outbound.status = OutboundEmail.Status.FAILED
    else:
        outbound.status = OutboundEmail.Status.QUEUED
        backoff = settings.ITSM_OUTBOX_BACKOFF_SECONDS * 2 ** (outbound.attempts - 1)
        outbound.next_attempt_at = now + timedelta(seconds=min(backoff, 6 * 3600))
    outbound.save(update_fields=["status", "last_error", "next_attempt_at"])
    if outbound.status == OutboundEmail.Status.FAILED and outbound.ticket_id:
        from tickets.services import ticket_event_record

        ticket_event_record(
            ticket=Ticket.objects.get(pk=outbound.ticket_id),
            event_type=TicketEventType.NOTIFICATION_FAILED,
            data={"outbound_id": outbound.pk, "kind": outbound.kind, "to": outbound.to, "error": error[:500]},
            is_public=False,
            now=now,
        )
    return outbound.status


def outbox_deliver_due(*, now: datetime | None = None, limit: int = 200) -> int:
    """Deliver every queued mail that is due, and every `sending` row whose lease expired (its worker
    died). Returns how many were sent."""
    now = now or timezone.now()
    ids = list(
        OutboundEmail.objects.filter(
            Q(status=OutboundEmail.Status.QUEUED) | Q(status=OutboundEmail.Status.SENDING),
            next_attempt_at__lte=now,
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(outbound_email_deliver(outbound_id=pk, now=now) == OutboundEmail.Status.SENT for pk in ids)
