"""Writes of the outbox: queue a mail in the caller's transaction, deliver it later.

Delivery claims a row (status `sending` with a lease) in one short transaction, talks to the SMTP server
outside any transaction, then records the outcome in a second one: a slow SMTP server never holds a
database lock, two workers never send the same row, and a worker that dies mid-send leaves a lease that
expires, so the mail is retried (at-least-once delivery)."""

import contextlib
import contextvars
import logging
import re
import smtplib
from datetime import datetime, timedelta
from email.utils import formataddr, make_msgid, parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from communications.defaults import DEFAULT_TEMPLATES
from communications.models import (
    InformationRequirement,
    MessageTemplate,
    OutboundEmail,
    StatusUpdateCadence,
    TicketCommunication,
)
from communications.rendering import TemplateError, render, render_subject, template_check
from itsm.lib.errors import DomainError, PermissionDenied
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


_enqueue_suspended: contextvars.ContextVar[bool] = contextvars.ContextVar("outbox_enqueue_suspended", default=False)


@contextlib.contextmanager
def outbox_enqueue_suspended():
    """Queue mail in the outbox without a delivery task per row: for bulk loads (the demo data) that deliver
    what they queued themselves; whatever is left queued is sent by the every-minute sweeper."""
    token = _enqueue_suspended.set(True)
    try:
        yield
    finally:
        _enqueue_suspended.reset(token)


def _schedule_delivery(outbound_id: int) -> None:
    """After commit, hand the row to a worker. If the broker is down the row stays queued and the
    every-minute sweeper (outbox_deliver_due) sends it."""
    from communications.tasks import outbound_email_deliver as outbound_email_deliver_task

    if _enqueue_suspended.get():
        return

    def enqueue() -> None:
        try:
            outbound_email_deliver_task.delay(outbound_id)
        except Exception:  # broker unavailable: the sweeper will pick the row up
            logger.warning(
                "Could not enqueue delivery of outbound mail %s; the sweeper will", outbound_id, exc_info=True
            )

    transaction.on_commit(enqueue)


@transaction.atomic(savepoint=False)  # part of the caller's transaction (the change that causes the mail)
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
    rate_key: str = "",
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
        rate_key=rate_key,
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


# --- customer mail from templates -----------------------------------------------------------------

AUTOMATED_HEADERS = {"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All"}


def communication_for(ticket: Ticket) -> TicketCommunication:
    comm, _ = TicketCommunication.objects.get_or_create(ticket=ticket)
    return comm


def _mailbox_for(ticket: Ticket):
    from mail.models import Mailbox

    mailbox_id = TicketCommunication.objects.filter(ticket=ticket).values_list("mailbox_id", flat=True).first()
    mailbox = Mailbox.objects.filter(pk=mailbox_id).first() if mailbox_id else None
    if mailbox is None:  # a ticket that did not come by mail: the first active mailbox with an address signs
        mailbox = Mailbox.objects.filter(is_active=True).exclude(from_address="").order_by("pk").first()
    return mailbox


def sender_headers(ticket: Ticket, *, mailbox=None) -> tuple[str, str, str]:
    """(From, Reply-To, name that signs) of mail about this ticket: its mailbox's, or the default."""
    mailbox = mailbox or _mailbox_for(ticket)
    if mailbox is not None and mailbox.from_address:
        name = mailbox.from_name or "Service Desk"
        return formataddr((name, mailbox.from_address)), mailbox.reply_to or mailbox.from_address, name
    name, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    return settings.DEFAULT_FROM_EMAIL, "", name or "Service Desk"


_TEMPLATE_CACHE: dict[tuple[str, str], tuple[float, tuple[str, str]]] = {}
TEMPLATE_CACHE_SECONDS = 30.0


def template_for(kind: str, language: str) -> tuple[str, str]:
    """(subject, body) of the template in the contact's language, else English, else the shipped default.
    Cached for a few seconds in the process (template_update clears the cache)."""
    import time

    cached = _TEMPLATE_CACHE.get((kind, language))
    if cached and time.monotonic() - cached[0] < TEMPLATE_CACHE_SECONDS:
        return cached[1]
    rows = {t.language: t for t in MessageTemplate.objects.filter(kind=kind, language__in=[language, "en"])}
    row = rows.get(language) or rows.get("en")
    if row is not None:
        result = (row.subject, row.body)
    else:
        result = DEFAULT_TEMPLATES.get((kind, language)) or DEFAULT_TEMPLATES[(kind, "en")]
    _TEMPLATE_CACHE[(kind, language)] = (time.monotonic(), result)
    return result


def ticket_url(ticket: Ticket) -> str:
    return settings.SITE_URL + reverse("tickets:detail", args=[ticket.number])


def ticket_context(ticket: Ticket, *, signed_by: str, **extra) -> dict[str, object]:
    """The allowlisted values a template may use (communications/rendering.py PLACEHOLDERS)."""
    requester = ticket.requester
    context = {
        "ticket_number": ticket.number,
        "ticket_title": ticket.title,
        "ticket_status": ticket.get_status_display(),
        "ticket_priority": ticket.priority or "—",
        "ticket_type": ticket.get_ticket_type_display(),
        "ticket_url": ticket_url(ticket),
        "requester_name": requester.display_name,
        # looked up only when a template uses them (render calls a callable value)
        "organization_name": (lambda: ticket.organization.name) if ticket.organization_id else "",
        "assignee_name": (lambda: ticket.assignee.display_name) if ticket.assignee_id else "our team",
        "resolution_code": ticket.get_resolution_code_display() if ticket.resolution_code else "",
        "resolution_notes": ticket.resolution_notes,
        "acceptance_days": round(settings.ITSM_ACCEPTANCE_WINDOW.total_seconds() / 86400, 1),
        "service_desk_name": signed_by,
        "message": "",
        "missing_information": "",
        "accept_url": "",
        "reject_url": "",
    }
    context.update(extra)
    return context


def _own_addresses() -> set[str]:
    from mail.loops import own_addresses

    return own_addresses()


def _recipients(ticket: Ticket, *, with_watchers: bool) -> tuple[list[str], list[str]]:
    own = _own_addresses()
    to = [ticket.requester.email] if ticket.requester.email and ticket.requester.email.lower() not in own else []
    cc: list[str] = []
    if with_watchers:
        for w in ticket.watchers.all().order_by("pk"):
            if w.email and w.email.lower() not in own and w.email.lower() not in {a.lower() for a in to + cc}:
                cc.append(w.email)
    return to, cc


def _record_not_sent(ticket: Ticket, kind: str, error: str, now: datetime, *, suppressed: bool = False) -> None:
    from tickets.services import ticket_event_record

    ticket_event_record(
        ticket=ticket,
        event_type=TicketEventType.NOTIFICATION_SUPPRESSED if suppressed else TicketEventType.NOTIFICATION_FAILED,
        data={"kind": kind, "error": error},
        is_public=False,
        now=now,
    )


@transaction.atomic(savepoint=False)
def ticket_mail_queue(
    *,
    ticket: Ticket,
    kind: str,
    automated: bool,
    with_watchers: bool = True,
    extra: dict[str, object] | None = None,
    rate_key: str = "",
    mailbox=None,
    conversation: tuple[str, str] | None = None,
    now: datetime | None = None,
) -> OutboundEmail | None:
    """Render the ticket's template of `kind` in the requester's language and queue it to the requester
    (and the CC watchers), with the threading headers of the conversation, the ticket tag in the subject,
    the mailbox's From/Reply-To and, on automated mail, `Auto-Submitted: auto-generated`."""
    from mail.threading import conversation_headers, subject_with_tag

    now = now or timezone.now()
    to, cc = _recipients(ticket, with_watchers=with_watchers)
    if not to and not cc:
        _record_not_sent(ticket, kind, "the requester has no email address", now)
        return None
    if not to:
        to, cc = cc[:1], cc[1:]
    from_email, reply_to, signed_by = sender_headers(ticket, mailbox=mailbox)
    subject_t, body_t = template_for(kind, ticket.requester.language or "en")
    context = ticket_context(ticket, signed_by=signed_by, **(extra or {}))
    in_reply_to, references = conversation or conversation_headers(ticket)
    # what the customer has been told is recorded first: the subscribers of the NOTIFICATION_QUEUED event below
    # (escalations: an "update overdue" level de-escalates) see the ticket as it is once the mail is queued
    changes: dict[str, object] = {"last_customer_update_at": now}
    if mailbox is not None:  # the mailbox this is sent from answers the ticket from now on
        changes["mailbox"] = mailbox
    if kind != OutboundEmail.Kind.ACKNOWLEDGEMENT:
        changes["status_update_due_since"] = None  # an update was sent: the flag goes
    if not TicketCommunication.objects.filter(ticket=ticket).update(**changes):
        TicketCommunication.objects.create(ticket=ticket, **changes)
    outbound = outbound_email_queue(
        ticket=ticket,
        kind=kind,
        to=to,
        cc=cc,
        subject=subject_with_tag(render_subject(subject_t, context), ticket.number),
        body_text=render(body_t, context),
        from_email=from_email,
        reply_to=reply_to,
        in_reply_to=in_reply_to,
        references=references,
        headers=dict(AUTOMATED_HEADERS) if automated else {},
        rate_key=rate_key,
        now=now,
    )
    return outbound


def acknowledgement_enqueue(
    *, ticket: Ticket, mailbox=None, conversation: tuple[str, str] | None = None, now: datetime | None = None
) -> OutboundEmail | None:
    """The acknowledgement of a ticket opened by mail, unless its sender already got
    ITSM_MAIL_ACK_RATE_LIMIT of them within ITSM_MAIL_ACK_RATE_WINDOW (then it is recorded as suppressed)."""
    now = now or timezone.now()
    address = (ticket.requester.email or "").strip().lower()
    window_start = now - timedelta(seconds=settings.ITSM_MAIL_ACK_RATE_WINDOW)
    # Safe under concurrent intake without a lock of its own: an acknowledgement follows a ticket creation, and
    # creations hold the ticket number counter row until they commit (tests/mail/test_concurrency.py).
    sent = OutboundEmail.objects.filter(
        kind=OutboundEmail.Kind.ACKNOWLEDGEMENT, rate_key=address, created_at__gte=window_start
    ).count()
    if address and sent >= settings.ITSM_MAIL_ACK_RATE_LIMIT:
        _record_not_sent(
            ticket,
            OutboundEmail.Kind.ACKNOWLEDGEMENT,
            f"rate limit: {sent} acknowledgements to {address} since {window_start:%Y-%m-%d %H:%M}",
            now,
            suppressed=True,
        )
        return None
    return ticket_mail_queue(
        ticket=ticket,
        kind=OutboundEmail.Kind.ACKNOWLEDGEMENT,
        automated=True,
        with_watchers=False,
        rate_key=address,
        mailbox=mailbox,
        conversation=conversation,
        now=now,
    )


def notification_resolution_enqueue(*, ticket: Ticket, now: datetime | None = None) -> OutboundEmail | None:
    """The resolution notice, with accept and reject links that work without a login (signed for this
    requester and this resolution: a reopened ticket's old links stop working)."""
    from communications.links import resolution_links

    accept_url, reject_url = resolution_links(ticket)
    return ticket_mail_queue(
        ticket=ticket,
        kind=OutboundEmail.Kind.RESOLUTION_NOTICE,
        automated=True,
        extra={"accept_url": accept_url, "reject_url": reject_url},
        now=now,
    )


def agent_reply_enqueue(*, ticket: Ticket, comment, now: datetime | None = None) -> OutboundEmail | None:
    """An agent's public reply, mailed to the requester and the CC watchers. Internal notes never are."""
    if not comment.is_public:
        return None
    return ticket_mail_queue(
        ticket=ticket, kind=OutboundEmail.Kind.AGENT_REPLY, automated=False, extra={"message": comment.body}, now=now
    )


def _require_agent(actor) -> None:
    from accounts.roles import user_is_agent

    if actor is None or not user_is_agent(actor):
        raise PermissionDenied("Only agents may send this.")


@transaction.atomic
def status_update_send(*, ticket: Ticket, actor, message: str, now: datetime | None = None) -> OutboundEmail | None:
    """An agent's status update to the customer (clears the "update due" flag)."""
    _require_agent(actor)
    if not (message or "").strip():
        raise DomainError("Write the update for the customer.", details={"message": ["required"]})
    outbound = ticket_mail_queue(
        ticket=ticket, kind=OutboundEmail.Kind.STATUS_UPDATE, automated=False, extra={"message": message.strip()},
        now=now,
    )  # fmt: skip
    from escalations.services import major_incident_broadcast

    # on a major incident, the update reaches the requesters of every linked child too
    major_incident_broadcast(ticket=ticket, actor=actor, message=message, now=now)
    return outbound


_REQUIREMENT_CACHE: dict[str, tuple[float, list[str]]] = {}


def requirement_items(ticket_type: str) -> list[str]:
    """The information a ticket type needs (cached for a few seconds in the process)."""
    import time

    cached = _REQUIREMENT_CACHE.get(ticket_type)
    if cached and time.monotonic() - cached[0] < TEMPLATE_CACHE_SECONDS:
        return cached[1]
    row = InformationRequirement.objects.filter(ticket_type=ticket_type).first()
    items = [str(i) for i in (row.items if row else [])]
    _REQUIREMENT_CACHE[ticket_type] = (time.monotonic(), items)
    return items


def missing_information(ticket: Ticket) -> list[str]:
    """The items of the ticket type's requirement that the customer has not given yet: an item is given
    when the description or a customer's public comment has a line `<item>: <something>`."""
    items = requirement_items(ticket.ticket_type)
    if not items:
        return []
    texts = [ticket.description]
    texts += list(ticket.comments.filter(is_public=True, author_id=ticket.requester_id).values_list("body", flat=True))
    corpus = "\n".join(texts)
    missing = []
    for item in items:
        pattern = rf"(?im)^[\s>*-]*{re.escape(str(item).strip())}\s*[:=]\s*\S"
        if not re.search(pattern, corpus):
            missing.append(str(item))
    return missing


def communication_create(*, ticket: Ticket) -> TicketCommunication:
    """The communication row of a ticket just created, with the information its type still needs."""
    comm = TicketCommunication(ticket=ticket, missing_info=missing_information(ticket))
    # one INSERT ... ON CONFLICT DO NOTHING: the row may exist already (the event was replayed)
    TicketCommunication.objects.bulk_create([comm], ignore_conflicts=True)
    return comm


def missing_information_refresh(*, ticket: Ticket) -> list[str]:
    missing = missing_information(ticket)
    comm = communication_for(ticket)
    if comm.missing_info != missing:
        comm.missing_info = missing
        comm.save(update_fields=["missing_info"])
    return missing


@transaction.atomic
def info_request_send(*, ticket: Ticket, actor, message: str = "", now: datetime | None = None) -> OutboundEmail | None:
    """One action for the agent: mail the request-for-information template listing what is missing, and
    put an open ticket on Pending (awaiting customer)."""
    from tickets.choices import ALLOWED_TRANSITIONS, OPEN_STATUSES, PendingReason, TicketStatus
    from tickets.services import ticket_transition

    _require_agent(actor)
    now = now or timezone.now()
    missing = missing_information_refresh(ticket=ticket)
    if not missing and not (message or "").strip():
        raise DomainError("Nothing is missing: write what you need to know.", details={"message": ["required"]})
    outbound = ticket_mail_queue(
        ticket=ticket,
        kind=OutboundEmail.Kind.INFO_REQUEST,
        automated=False,
        with_watchers=False,
        extra={"missing_information": "\n".join(f"- {m}:" for m in missing), "message": (message or "").strip()},
        now=now,
    )
    comm = communication_for(ticket)
    comm.info_requested_at = now
    comm.save(update_fields=["info_requested_at"])
    ticket.refresh_from_db()
    if (
        outbound is not None
        and ticket.status in OPEN_STATUSES
        and ticket.status != TicketStatus.PENDING
        and TicketStatus.PENDING in ALLOWED_TRANSITIONS[ticket.status]
    ):
        ticket_transition(
            ticket=ticket,
            actor=actor,
            to_status=TicketStatus.PENDING,
            pending_reason=PendingReason.AWAITING_CUSTOMER,
            reason="information requested from the customer",
            now=now,
        )
    return outbound


@transaction.atomic
def template_update(*, template: MessageTemplate, actor, subject: str, body: str) -> MessageTemplate:
    """A Service Manager edits a template; unknown placeholders are refused."""
    if actor is None or not actor.has_perm("communications.change_messagetemplate"):
        raise PermissionDenied("Only Service Managers may edit templates.")
    try:
        template_check(subject)
        template_check(body)
    except TemplateError as exc:
        raise DomainError(str(exc), details={"body": [str(exc)]}) from exc
    if not subject.strip() or not body.strip():
        raise DomainError("A template needs a subject and a body.")
    template.subject, template.body = subject.strip(), body
    template.updated_at, template.updated_by = timezone.now(), actor
    template.save(update_fields=["subject", "body", "updated_at", "updated_by"])
    _TEMPLATE_CACHE.clear()
    return template


# --- status-update cadence ------------------------------------------------------------------------


def status_updates_due(*, now: datetime | None = None, limit: int = 500) -> int:
    """Flag open tickets whose customer has not heard from us within their priority's cadence, and remind
    the assignee (or the group's mailbox). Safe to run twice at once: each ticket's communication row is
    locked and re-checked; a flag stays until an update is sent, so nobody is reminded twice for one lapse."""
    from tickets.choices import OPEN_STATUSES
    from tickets.services import ticket_event_record

    now = now or timezone.now()
    flagged = 0
    for cadence in StatusUpdateCadence.objects.filter(is_active=True):
        cutoff = now - timedelta(minutes=cadence.every_minutes)
        ids = list(
            Ticket.objects.filter(status__in=OPEN_STATUSES, priority=cadence.priority)
            .annotate(last_update=Coalesce("communication__last_customer_update_at", "created_at"))
            .filter(last_update__lte=cutoff, communication__status_update_due_since__isnull=True)
            .values_list("pk", flat=True)[:limit]
        )
        for pk in ids:
            with transaction.atomic():
                ticket = Ticket.objects.select_related("assignee", "resolver_group").get(pk=pk)
                TicketCommunication.objects.get_or_create(ticket=ticket)
                comm = TicketCommunication.objects.select_for_update().get(ticket=ticket)
                last = comm.last_customer_update_at or ticket.created_at
                if comm.status_update_due_since is not None or last > cutoff:
                    continue
                comm.status_update_due_since = now
                comm.save(update_fields=["status_update_due_since"])
                ticket_event_record(
                    ticket=ticket,
                    event_type=TicketEventType.STATUS_UPDATE_DUE,
                    data={"priority": ticket.priority, "every_minutes": cadence.every_minutes, "last": last},
                    is_public=False,
                    now=now,
                )
                _status_update_reminder(ticket, cadence, now)
                flagged += 1
    return flagged


def _status_update_reminder(ticket: Ticket, cadence: StatusUpdateCadence, now: datetime) -> None:
    address = ticket.assignee.email if ticket.assignee_id and ticket.assignee.email else ""
    if not address and ticket.resolver_group_id:
        address = ticket.resolver_group.email
    if not address:
        return
    outbound_email_queue(
        ticket=ticket,
        kind=OutboundEmail.Kind.INTERNAL,
        to=[address],
        subject=f"[{ticket.number}] Status update due ({ticket.priority}): {ticket.title}",
        body_text=(
            f'{ticket.number} "{ticket.title}" is {ticket.priority}: its customer must hear from us every '
            f"{cadence.every_minutes} minutes, and the last update is older than that.\n\n"
            f"Send a status update: {ticket_url(ticket)}\n"
        ),
        headers=dict(AUTOMATED_HEADERS),
        now=now,
    )


# --- bounces --------------------------------------------------------------------------------------


@transaction.atomic(savepoint=False)
def outbound_mark_bounced(*, outbound: OutboundEmail, error: str, now: datetime | None = None) -> bool:
    """A delivery report says this mail did not arrive: mark it failed and show it on its ticket."""
    from tickets.services import ticket_event_record

    now = now or timezone.now()
    outbound = OutboundEmail.objects.select_for_update().get(pk=outbound.pk)
    if outbound.status == OutboundEmail.Status.FAILED and outbound.last_error.startswith("bounced"):
        return False
    outbound.status = OutboundEmail.Status.FAILED
    outbound.last_error = f"bounced: {error}"[:2000]
    outbound.save(update_fields=["status", "last_error"])
    if outbound.ticket_id:
        ticket_event_record(
            ticket=Ticket.objects.get(pk=outbound.ticket_id),
            event_type=TicketEventType.NOTIFICATION_FAILED,
            data={
                "outbound_id": outbound.pk,
                "kind": outbound.kind,
                "to": outbound.to,
                "error": outbound.last_error[:500],
                "bounce": True,
            },
            is_public=False,
            now=now,
        )
    return True


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
        if outbound.kind in CUSTOMER_KINDS and outbound.headers.get("Auto-Submitted"):
            # the first response by the system (Ticket.first_response_at is the first by a person)
            TicketCommunication.objects.get_or_create(ticket=ticket)
            TicketCommunication.objects.filter(ticket=ticket, first_system_response_at__isnull=True).update(
                first_system_response_at=now
            )
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
