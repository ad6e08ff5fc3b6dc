"""Mail intake: every write of the mail app.

A message is taken in in two steps. `inbound_store` commits its raw bytes (status Received); only then is
it marked or moved in the mailbox. `inbound_process` then turns it into what it is, in its own transaction.
It never loses one: whatever goes wrong in processing (a message that cannot be parsed, a refused sender, a
bug) quarantines the message with the reason instead of dropping it, and a message whose processing never
ran (a worker died, the broker lost the task) is picked up by `inbound_process_waiting`. It never doubles
one: (mailbox, Message-ID) is unique, checked by one lookup and enforced by the constraint (a message with
no Message-ID gets one from its content hash), so a duplicate costs that one lookup and writes nothing.

A mailbox poll stores what it fetches, then hands it to the Celery workers (`inbound_dispatch`), split by
conversation (the thread's first Message-ID), so any number of workers take one mailbox in at once while
the messages of one conversation keep their order: before a message is processed, any earlier message of
its conversation still waiting is processed first, whichever worker holds it. `inbound_ingest` (the MTA
pipe, files) stores and processes one message at once, in the calling process.

What a message becomes:
- a reply (threading.py) from the requester, a CC watcher or, where the organization shares tickets, one of
  its contacts: a public comment; a reply to a Resolved ticket reopens it; to a Closed or Cancelled ticket,
  a new ticket linked to the old one;
- a reply from anyone else (sender_policy.py): an internal note marked "unverified sender", no status change;
- an automatic reply (loops.py) to a ticket: an internal note, no status change, never answered;
- a bounce: the outbound mail it reports is marked failed on its ticket;
- anything else: a new ticket (`intake_ticket_create`), acknowledged unless it is automatic, bulk, a list
  or from our own address, and at most ITSM_MAIL_ACK_RATE_LIMIT times per hour per sender."""

import hashlib
import logging
import re
import zlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.validators import validate_email
from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import User
from accounts.selectors import contact_find_by_email, organization_for_email
from accounts.services import contact_get_or_create
from itsm.lib.errors import DomainError, PermissionDenied
from itsm.lib.transactions import service_scope
from mail import loops, sender_policy
from mail import threading as mail_threading
from mail.choices import InboundStatus
from mail.models import InboundMessage, Mailbox
from mail.parsing import ParsedMessage, ParseError, _message_ids, derived_message_id, parse_message
from mail.sanitize import fold_quoted_html, html_to_text, sanitize_html
from tickets.choices import Channel, LinkKind, TicketStatus
from tickets.models import Ticket

logger = logging.getLogger(__name__)

INTAKE_NAME = "Mail intake"
DISPATCH_EVERY = 100  # a poll hands stored messages to the workers by this many
MAX_WATCHERS = 20
_HEADER_END = re.compile(rb"\r?\n\r?\n")
_MESSAGE_ID_HEADER = re.compile(rb"(?im)^message-id[ \t]*:[ \t]*((?:.*)(?:\r?\n[ \t].*)*)")
_REFERENCES_HEADER = re.compile(rb"(?im)^references[ \t]*:[ \t]*((?:.*)(?:\r?\n[ \t].*)*)")
_IN_REPLY_TO_HEADER = re.compile(rb"(?im)^in-reply-to[ \t]*:[ \t]*((?:.*)(?:\r?\n[ \t].*)*)")


@dataclass
class IngestResult:
    message: InboundMessage
    duplicate: bool

    @property
    def status(self) -> str:
        return self.message.status


def _head(raw: bytes) -> bytes:
    m = _HEADER_END.search(raw, 0, 262144)
    return raw[: m.start()] if m else raw[:262144]


def _first_id(head: bytes, pattern: re.Pattern) -> str:
    found = pattern.search(head)
    if found:
        ids = _message_ids(found.group(1).decode("utf-8", "replace"))
        if ids and ids[0]:
            return ids[0]
    return ""


def message_id_of(raw: bytes) -> tuple[str, bool]:
    """(Message-ID, derived?) read from the header block without parsing the message: the duplicate check
    must be cheap. Without a usable Message-ID, the id is derived from the content hash."""
    found = _first_id(_head(raw), _MESSAGE_ID_HEADER)
    return (found, False) if found else (derived_message_id(raw), True)


def conversation_key_of(raw: bytes, message_id: str) -> str:
    """The conversation a message belongs to, from its header block: the first id of References (the
    thread's first message), else In-Reply-To, else its own Message-ID."""
    head = _head(raw)
    return (_first_id(head, _REFERENCES_HEADER) or _first_id(head, _IN_REPLY_TO_HEADER) or message_id)[:255]


def inbound_store(*, mailbox: Mailbox, raw: bytes, source: str = "", size: int | None = None, now=None) -> IngestResult:
    """Store one raw message, committed, waiting to be processed (status Received); a message already
    stored for this mailbox is a duplicate: one lookup, nothing written. `size` is the real size of a
    message of which only the header was fetched because it is over the limit."""
    now = now or timezone.now()
    raw = bytes(raw)
    message_id, derived = message_id_of(raw)
    existing = InboundMessage.objects.filter(mailbox=mailbox, message_id=message_id).defer("raw").first()
    if existing is not None:
        return IngestResult(existing, True)
    try:
        with transaction.atomic():
            message = InboundMessage.objects.create(
                mailbox=mailbox,
                message_id=message_id,
                message_id_derived=derived,
                conversation_key=conversation_key_of(raw, message_id),
                raw=raw,
                size=size if size is not None else len(raw),
                sha256=hashlib.sha256(raw).hexdigest(),
                source=source[:255],
                received_at=now,
            )
    except IntegrityError:  # delivered twice at the same moment: the other intake took it
        return IngestResult(InboundMessage.objects.defer("raw").get(mailbox=mailbox, message_id=message_id), True)
    message.mailbox = mailbox
    return IngestResult(message, False)


def inbound_ingest(
    *, mailbox: Mailbox, raw: bytes, source: str = "", size: int | None = None, now=None
) -> IngestResult:
    """Store one message and process it here and now (the MTA pipe and files; see the module's docstring).
    Errors of the system itself (the database is down) propagate, the message then waits stored; anything
    about the message quarantines it."""
    outcome = inbound_store(mailbox=mailbox, raw=raw, source=source, size=size, now=now)
    if not outcome.duplicate:
        message = outcome.message
        inbound_process_many([(message.pk, message.conversation_key)], now=now, mailboxes={mailbox.pk: mailbox})
        message.refresh_from_db(fields=[f.attname for f in InboundMessage._meta.concrete_fields if f.name != "raw"])
    return outcome


def inbound_process_many(
    pending: list[tuple[int, str]], *, now=None, mailboxes: dict[int, Mailbox] | None = None
) -> int:
    """Process stored messages, given as (id, conversation key), in this order, each in its own
    transaction; first, for each, any earlier message of its conversation still waiting (held by another
    worker's task or left by a crash), so replies never overtake what they answer. Returns how many this
    call processed (a message another worker took first is skipped)."""
    done = 0
    mailboxes = {} if mailboxes is None else mailboxes  # read once per call (a task's come from one or a few)
    for pk, key in pending:
        earlier = InboundMessage.objects.filter(status=InboundStatus.RECEIVED, conversation_key=key, pk__lte=pk)
        for waiting_pk in earlier.order_by("pk").values_list("pk", flat=True) if key else [pk]:
            done += _process_stored(waiting_pk, now=now, mailboxes=mailboxes)
    return done


def _process_stored(pk: int, *, now=None, mailboxes: dict[int, Mailbox]) -> bool:
    with transaction.atomic():
        message = InboundMessage.objects.select_for_update().filter(pk=pk, status=InboundStatus.RECEIVED).first()
        if message is None:  # processed meanwhile by another worker
            return False
        mailbox = mailboxes.get(message.mailbox_id)
        if mailbox is None:
            mailbox = Mailbox.objects.select_related("default_service", "default_resolver_group").get(
                pk=message.mailbox_id
            )
            mailboxes[mailbox.pk] = mailbox
        message.mailbox = mailbox
        _process_safely(message, raw=bytes(message.raw), now=now or timezone.now())
    return True


def inbound_dispatch(pending: list[tuple[int, str]]) -> int:
    """Hand stored messages to the workers: one task per share of the conversations
    (ITSM_MAIL_INTAKE_PARTITIONS), each in the order received. With ITSM_MAIL_INTAKE_PARTITIONS=0, or no
    broker reachable, they are processed here. Returns how many tasks were queued."""
    from celery import current_app

    from mail.tasks import inbound_process as task

    partitions = settings.ITSM_MAIL_INTAKE_PARTITIONS
    if partitions <= 0 or current_app.conf.task_always_eager:
        inbound_process_many(pending)
        return 0
    shares: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for pk, key in pending:
        shares[zlib.crc32(key.encode("utf-8", "replace")) % partitions].append((pk, key))
    queued = 0
    for share in shares.values():
        try:
            task.delay(share)
            queued += 1
        except Exception:  # noqa: BLE001 - broker down: the messages are stored, process them here
            logger.warning("Could not queue the processing of %s messages; processing them here", len(share))
            inbound_process_many(share)
    return queued


def inbound_process_waiting(*, now=None, limit: int = 500) -> int:
    """Process the messages stored more than ITSM_MAIL_WAITING_RETRY_AFTER seconds ago and still waiting
    (their task was lost: a worker killed, a broker restarted), oldest first."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.ITSM_MAIL_WAITING_RETRY_AFTER)
    waiting = list(
        InboundMessage.objects.filter(status=InboundStatus.RECEIVED, received_at__lt=cutoff)
        .order_by("pk")
        .values_list("pk", "conversation_key")[:limit]
    )
    if waiting:
        logger.warning("Processing %s stored messages whose processing did not run", len(waiting))
    return inbound_process_many(waiting)


@transaction.atomic
def inbound_message_replay(*, message: InboundMessage, actor: User | None, now=None) -> InboundMessage:
    """Take a quarantined message in again, from its stored raw bytes (after a fix, a new contact, ...)."""
    if actor is not None and not actor.has_perm("mail.view_failed_mail"):
        raise PermissionDenied("Only the service desk may replay failed mail.")
    now = now or timezone.now()
    message = InboundMessage.objects.select_for_update().select_related("mailbox").get(pk=message.pk)
    if message.status != InboundStatus.QUARANTINED:
        raise DomainError("Only a quarantined message can be replayed: this one was taken in.")
    message.replay_count += 1
    _process_safely(message, raw=bytes(message.raw), now=now, replay=True)
    return message


# --- processing -------------------------------------------------------------------------------------


class Quarantine(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _process_safely(message: InboundMessage, *, raw: bytes, now: datetime, replay: bool = False) -> None:
    for name in ("ticket", "comment", "sender"):
        setattr(message, name, None)
    message.body_html, message.cid_map, message.reason = "", {}, ""
    try:
        with transaction.atomic(), service_scope():  # this savepoint is the one the quarantine rolls back to
            _process(message, raw=raw, now=now, replay=replay)
    except (OperationalError, InterfaceError):
        raise
    except Quarantine as exc:
        _quarantine(message, exc.reason)
    except Exception as exc:  # noqa: BLE001 - whatever it is, the message is kept, with the reason
        logger.exception("Mail intake failed on message %s; quarantined", message.pk)
        _quarantine(message, f"intake failed: {type(exc).__name__}: {exc}")
    message.processed_at = now
    message.save(update_fields=UPDATED_FIELDS)


UPDATED_FIELDS = [
    "from_address", "from_name", "subject", "to", "cc", "in_reply_to", "references", "sent_at", "status",
    "reason", "flags", "sender", "ticket", "comment", "body_html", "cid_map", "processed_at", "replay_count",
]  # fmt: skip


def _quarantine(message: InboundMessage, reason: str) -> None:
    for name in ("ticket", "comment", "sender"):
        setattr(message, name, None)
    message.body_html, message.cid_map = "", {}
    message.status = InboundStatus.QUARANTINED
    message.reason = reason[:2000]


def _process(message: InboundMessage, *, raw: bytes, now: datetime, replay: bool) -> None:
    mailbox = message.mailbox
    if message.size > settings.ITSM_MAIL_MAX_MESSAGE_BYTES:
        _fill_from_headers_only(message, raw)
        raise Quarantine(
            f"the message is {message.size} bytes; the limit is {settings.ITSM_MAIL_MAX_MESSAGE_BYTES} bytes "
            "(ITSM_MAIL_MAX_MESSAGE_BYTES). It was left in the mailbox."
        )
    try:
        parsed = parse_message(raw)
    except ParseError as exc:
        raise Quarantine(f"the message cannot be read: {exc}") from exc
    parsed.message_id = message.message_id
    _fill(message, parsed)
    flags = loops.classify(parsed, own_addresses=loops.own_addresses() | mailbox.own_addresses)
    message.flags = flags.as_dict()
    if parsed.defects:
        message.flags["defects"] = sorted(set(parsed.defects))[:20]

    if flags.bounce:
        _bounce(message, parsed, now=now)
        return
    if not parsed.from_address:
        raise Quarantine("no valid sender address (From, Sender, Reply-To and Return-Path are empty or invalid)")
    try:
        validate_email(parsed.from_address)
    except ValidationError as exc:
        raise Quarantine(f"the sender address {parsed.from_address!r} is not a valid address") from exc
    if flags.own_address:
        raise Quarantine(f"mail loop: sent from our own address {parsed.from_address}")
    contact = contact_find_by_email(email=parsed.from_address)
    if not flags.auto_reply:
        from escalations.vendor_mail import vendor_case_for_message

        # a vendor answering one of its cases (our tag, our thread or its own reference): not the customer's mail
        match = vendor_case_for_message(
            from_address=parsed.from_address,
            from_name=parsed.from_name,
            subject=parsed.subject,
            text=_text_of(parsed),
            message_ids=parsed.references + parsed.in_reply_to,
            sender=contact,
        )
        if match is not None:
            _vendor_reply(message, parsed, match, now=now)
            return

    ticket, how = mail_threading.find_ticket(
        subject=parsed.subject, in_reply_to=parsed.in_reply_to, references=parsed.references
    )
    if contact is not None and not contact.is_active:
        raise Quarantine(f"the sender {parsed.from_address} is a deactivated user")
    if ticket is None:
        _new_ticket(message, parsed, flags=flags, contact=contact, now=now)
        return
    message.reason = f"threaded to {ticket.number} by {how}"
    role = sender_policy.sender_role(ticket=ticket, sender=contact, address=parsed.from_address)
    unverified = f"Unverified sender: {parsed.from_address} is not a contact of this ticket. Nothing was changed."
    if ticket.status in (TicketStatus.CLOSED, TicketStatus.CANCELLED):
        if flags.auto_reply:
            label, status = "Automatic reply (not answered)", InboundStatus.COMMENT
            if role == sender_policy.STRANGER:
                label, status = f"{unverified} (an automatic reply)", InboundStatus.UNVERIFIED
            _note(message, parsed, ticket=ticket, author=None, label=label, status=status, now=now)
            return
        # only someone who speaks for the closed ticket gets a follow-up linked to it; a stranger quoting its
        # number gets a ticket of their own, with no link to (and so no sight of) someone else's ticket
        follow_up_of = None if role == sender_policy.STRANGER else ticket
        _new_ticket(message, parsed, flags=flags, contact=contact, now=now, follow_up_of=follow_up_of)
        return
    if role == sender_policy.STRANGER:
        # checked before the auto-reply flags: anyone can write `Auto-Submitted` or an out-of-office subject
        label = f"{unverified} (an automatic reply)" if flags.auto_reply else unverified
        _note(message, parsed, ticket=ticket, author=None, label=label, status=InboundStatus.UNVERIFIED, now=now)
    elif flags.auto_reply:
        _note(message, parsed, ticket=ticket, author=None, label="Automatic reply (not answered)", now=now)
    elif role == sender_policy.AGENT:
        _note(message, parsed, ticket=ticket, author=contact, label="", now=now)
    else:
        _customer_reply(message, parsed, ticket=ticket, contact=contact, role=role, now=now)


def _fill(message: InboundMessage, parsed: ParsedMessage) -> None:
    message.from_address = parsed.from_address[:320]
    message.from_name = parsed.from_name[:200]
    message.subject = parsed.subject[:500]
    message.to = [a for _, a in parsed.to if a][:50]
    message.cc = [a for _, a in parsed.cc if a][:50]
    message.in_reply_to = " ".join(parsed.in_reply_to)[:2000]
    message.references = " ".join(parsed.references)[-4000:]
    message.sent_at = parsed.date
    message.body_html = fold_quoted_html(sanitize_html(parsed.html)) if parsed.html else ""


def _fill_from_headers_only(message: InboundMessage, raw: bytes) -> None:
    try:
        head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0] + b"\n\n"
        parsed = parse_message(head)
        message.from_address, message.subject = parsed.from_address[:320], parsed.subject[:500]
    except ParseError:
        pass


def _text_of(parsed: ParsedMessage) -> str:
    text = parsed.text.strip() or html_to_text(parsed.html)
    return text.strip() or "(no text)"


def _files(parsed: ParsedMessage) -> tuple[list[tuple[ContentFile, str]], list[str]]:
    """(files with their Content-ID, notes about dropped ones). Over the limit, an attachment is dropped."""
    limit = min(settings.ITSM_MAIL_MAX_ATTACHMENT_BYTES, settings.ITSM_MAX_ATTACHMENT_BYTES)
    files, dropped = [], []
    for att in parsed.attachments:
        if att.size > limit:
            dropped.append(
                f"{att.filename} ({att.size} bytes) was not attached: the limit is {limit} bytes "
                "(ITSM_MAIL_MAX_ATTACHMENT_BYTES). The original message is kept with the ticket's mail."
            )
            continue
        files.append((ContentFile(att.payload, name=att.filename or "attachment"), att.content_id))
    return files, dropped


def _cid_map(attachments, files: list[tuple[ContentFile, str]]) -> dict[str, int]:
    return {cid: a.pk for a, (_, cid) in zip(attachments, files, strict=False) if cid}


def _drop_notes(ticket: Ticket, dropped: list[str], now: datetime) -> None:
    from tickets.services import comment_add

    if dropped:
        comment_add(
            ticket=ticket, author=None, body="\n".join(dropped), is_public=False, author_name=INTAKE_NAME, now=now
        )


def _watchers(parsed: ParsedMessage, *, requester: User, own: set[str]) -> list[User]:
    """The other people on the message (To and CC, except us and the sender) who are, or may become,
    contacts: existing contacts, and new addresses of the requester's organization's mail domains."""
    result: list[User] = []
    seen = {requester.email.lower(), *own}
    for _, address in parsed.to + parsed.cc:
        if not address or address in seen or len(result) >= MAX_WATCHERS:
            continue
        seen.add(address)
        user = contact_find_by_email(email=address)
        if user is None and requester.organization_id:
            org = organization_for_email(email=address)
            if org is not None and org.pk == requester.organization_id:
                user, _ = contact_get_or_create(email=address)
        if user is not None and user.is_active:
            result.append(user)
    return result


def intake_ticket_create(
    *,
    mailbox: Mailbox,
    parsed: ParsedMessage,
    requester: User,
    watchers: list[User],
    now: datetime,
) -> Ticket:
    """The one place where mail opens a ticket. The classification rules see the mailbox (slug and address),
    the sender and the text; what no rule decides comes from the mailbox's defaults (type, service, group)."""
    from classification.services import IntakeContext
    from tickets.services import ticket_create

    return ticket_create(
        actor=None,
        requester=requester,
        title=parsed.subject or "(no subject)",
        description=_text_of(parsed),
        channel=Channel.EMAIL,
        watchers=watchers,
        intake=IntakeContext(
            mailbox_key=mailbox.slug,
            mailbox_address=mailbox.from_address,
            sender_email=requester.email,
            default_ticket_type=mailbox.default_ticket_type,
            default_service=mailbox.default_service,
            default_resolver_group=mailbox.default_resolver_group,
        ),
        now=now,
    )


def _new_ticket(
    message: InboundMessage,
    parsed: ParsedMessage,
    *,
    flags: loops.NoiseFlags,
    contact: User | None,
    now: datetime,
    follow_up_of: Ticket | None = None,
) -> None:
    from communications.models import TicketCommunication
    from communications.services import acknowledgement_enqueue
    from tickets.services import attachment_add, ticket_link

    mailbox = message.mailbox
    if contact is None:
        if mailbox.refuse_unknown_senders:
            raise Quarantine(
                f"unknown sender {parsed.from_address}: this mailbox takes mail from known contacts only "
                "(it was not answered)"
            )
        contact, _ = contact_get_or_create(email=parsed.from_address, display_name=parsed.from_name, known_missing=True)
    own = loops.own_addresses() | mailbox.own_addresses
    ticket = intake_ticket_create(
        mailbox=mailbox,
        parsed=parsed,
        requester=contact,
        watchers=_watchers(parsed, requester=contact, own=own),
        now=now,
    )
    files, dropped = _files(parsed)
    attachments = [
        attachment_add(ticket=ticket, uploaded_by=contact, upload=f, is_public=True, now=now) for f, _ in files
    ]
    message.cid_map = _cid_map(attachments, files)
    _drop_notes(ticket, dropped, now)
    if follow_up_of is not None:
        ticket_link(source=ticket, target=follow_up_of, kind=LinkKind.RELATED_TO, actor=None, now=now)
    message.status, message.ticket, message.sender = InboundStatus.TICKET, ticket, contact
    message.reason = f"opened {ticket.number}" + (
        f" (follow-up of {follow_up_of.number}, which is closed)" if follow_up_of else ""
    )
    acknowledged = None
    if not flags.answerable:
        message.reason += f"; not acknowledged: {flags.reason}"
    elif not mailbox.send_acknowledgements:
        message.reason += "; not acknowledged: the mailbox sends no acknowledgements"
    else:
        # it answers this message (which is not linked to the ticket until the end of the intake)
        own_id = "" if message.message_id_derived else f"<{message.message_id}>"
        ticket.requester = contact  # the same row, already read
        # queuing it records the mailbox as the ticket's (it answers the ticket from now on)
        acknowledged = acknowledgement_enqueue(ticket=ticket, mailbox=mailbox, conversation=(own_id, own_id), now=now)
    if acknowledged is None and not TicketCommunication.objects.filter(ticket=ticket).update(mailbox=mailbox):
        TicketCommunication.objects.create(ticket=ticket, mailbox=mailbox)


def _customer_reply(
    message: InboundMessage, parsed: ParsedMessage, *, ticket: Ticket, contact: User, role: str, now: datetime
) -> None:
    from tickets.services import comment_add, ticket_transition

    files, dropped = _files(parsed)
    comment = comment_add(
        ticket=ticket, author=contact, body=_text_of(parsed), is_public=True, files=[f for f, _ in files], now=now
    )
    message.cid_map = _cid_map(list(comment.attachments.order_by("id")) if files else [], files)
    _drop_notes(ticket, dropped, now)
    message.ticket = ticket
    message.save(update_fields=["ticket"])  # a reopen notice answers this message (threading headers)
    # `ticket` is current: comment_add re-read it under its lock, and every write since went through it
    if ticket.status == TicketStatus.RESOLVED:
        ticket_transition(
            ticket=ticket,
            actor=None,
            to_status=TicketStatus.IN_PROGRESS,
            reason=f"the customer replied by mail ({parsed.from_address}, {role})",
            now=now,
        )
        message.reason += "; reopened"
    message.status, message.ticket, message.comment, message.sender = InboundStatus.COMMENT, ticket, comment, contact


def _vendor_reply(message: InboundMessage, parsed: ParsedMessage, match, *, now: datetime) -> None:
    """A vendor's answer on one of its cases: an internal note on the ticket, and the case updated
    (escalations.vendors.vendor_reply_record)."""
    from escalations.vendors import vendor_reply_record

    case = match.case
    files, dropped = _files(parsed)
    comment = vendor_reply_record(
        case=case,
        body=_text_of(parsed),
        author_name=match.author_name,
        reference=match.reference,
        how=f"mail, matched by {match.how}",
        files=[f for f, _ in files],
        inbound=message,
        now=now,
    )
    _drop_notes(case.ticket, dropped, now)
    message.cid_map = _cid_map(list(comment.attachments.order_by("id")), files)
    message.status, message.ticket, message.comment = InboundStatus.COMMENT, case.ticket, comment
    message.sender = contact_find_by_email(email=parsed.from_address)
    case.refresh_from_db(fields=["vendor_reference"])
    message.reason = (
        f"vendor reply: {case.vendor.name} case {case.vendor_reference or case.pk} on {case.ticket.number}, "
        f"matched by {match.how}; kept as an internal note"
    )


def _note(
    message: InboundMessage,
    parsed: ParsedMessage,
    *,
    ticket: Ticket,
    author: User | None,
    label: str,
    now: datetime,
    status: str = InboundStatus.COMMENT,
) -> None:
    from tickets.services import comment_add

    files, dropped = _files(parsed)
    who = f"{parsed.from_name} <{parsed.from_address}>" if parsed.from_name else parsed.from_address
    body = f"[{label}]\n\n{_text_of(parsed)}" if label else _text_of(parsed)
    comment = comment_add(
        ticket=ticket,
        author=author,
        body=body,
        is_public=False,
        files=[f for f, _ in files],
        author_name=f"{who} (by mail)"[:200],
        now=now,
    )
    message.cid_map = _cid_map(list(comment.attachments.order_by("id")), files)
    _drop_notes(ticket, dropped, now)
    message.status, message.ticket, message.comment = status, ticket, comment
    message.sender = contact_find_by_email(email=parsed.from_address)
    message.reason += f"; kept as an internal note ({label or 'agent'})"


_OUR_ID = None


def _our_message_ids(text: str) -> list[str]:
    global _OUR_ID
    if _OUR_ID is None or _OUR_ID[0] != settings.ITSM_MAIL_DOMAIN:
        _OUR_ID = (settings.ITSM_MAIL_DOMAIN, re.compile(rf"<([^<>\s]+@{re.escape(settings.ITSM_MAIL_DOMAIN)})>"))
    return _OUR_ID[1].findall(text or "")


def _bounce(message: InboundMessage, parsed: ParsedMessage, *, now: datetime) -> None:
    """A delivery report: the outbound mail it returns is marked failed on its ticket (a delay warning is
    only recorded). A report about a message we never sent is quarantined for a person to look at."""
    from communications.models import OutboundEmail
    from communications.services import outbound_mark_bounced

    report = parsed.report
    candidates: list[str] = []
    if report and report.original_message_id:
        candidates.append(report.original_message_id)
    candidates += parsed.in_reply_to + parsed.references
    blobs = [parsed.text] + [a.payload[:65536].decode("utf-8", "replace") for a in parsed.attachments]
    for blob in blobs:
        candidates += _our_message_ids(blob)
    ids = [c for c in dict.fromkeys(candidates) if c]
    outbound = (
        OutboundEmail.objects.filter(message_id__in=[f"<{i}>" for i in ids]).order_by("-created_at").first()
        if ids
        else None
    )
    action = (report.action if report else "") or "failed"
    detail = " ".join(x for x in ((report.status if report else ""), (report.diagnostic if report else "")) if x)
    if outbound is None:
        raise Quarantine(f"delivery report ({action}) about a message we did not send{': ' + detail if detail else ''}")
    message.ticket_id = outbound.ticket_id
    message.status = InboundStatus.BOUNCE
    if action.startswith("delay") or action in ("delivered", "relayed", "expanded"):
        message.reason = f"delivery report ({action}) for outbound mail {outbound.pk}; not a failure"
        return
    outbound_mark_bounced(outbound=outbound, error=detail or parsed.subject or "returned", now=now)
    message.reason = f"bounce: outbound mail {outbound.pk} marked failed ({detail or parsed.subject})"


# --- mailboxes --------------------------------------------------------------------------------------


@dataclass
class PollResult:
    mailbox_id: int
    skipped: bool = False
    taken: int = 0
    duplicates: int = 0
    error: str = ""


def _lease(mailbox_id: int, now: datetime) -> bool:
    """Take the mailbox's poll lease: two workers never poll one mailbox at once."""
    return bool(
        Mailbox.objects.filter(pk=mailbox_id, is_active=True)
        .filter(Q(poll_lease_until__isnull=True) | Q(poll_lease_until__lt=now))
        .update(poll_lease_until=now + timedelta(seconds=settings.ITSM_MAIL_POLL_LEASE))
    )


def mailbox_poll(*, mailbox_id: int, now=None) -> PollResult:
    """Fetch every new message of one mailbox, store it (each is marked or moved in the mailbox once stored)
    and hand what was stored to the workers (`inbound_dispatch`). An error is recorded on the mailbox (shown
    in the admin and on the failed-mail page) and retried at the next poll with a growing delay."""
    from mail.fetchers import fetcher_for

    now = now or timezone.now()
    result = PollResult(mailbox_id)
    if not _lease(mailbox_id, now):
        result.skipped = True
        return result
    mailbox = Mailbox.objects.get(pk=mailbox_id)
    stored: list[tuple[int, str]] = []
    try:

        def ingest(raw: bytes, source: str, size: int | None = None) -> IngestResult:
            outcome = inbound_store(mailbox=mailbox, raw=raw, source=source, size=size)
            if outcome.duplicate:
                result.duplicates += 1
            else:
                result.taken += 1
                stored.append((outcome.message.pk, outcome.message.conversation_key))
                if len(stored) >= DISPATCH_EVERY:  # the workers start while the poll goes on fetching
                    inbound_dispatch(stored)
                    stored.clear()
            return outcome

        fetcher_for(mailbox).run(ingest)
    except (OperationalError, InterfaceError):
        Mailbox.objects.filter(pk=mailbox_id).update(poll_lease_until=None)
        raise  # what was stored waits for inbound_process_waiting
    except Exception as exc:  # noqa: BLE001 - one failing mailbox must not stop the others
        inbound_dispatch(stored)  # what was stored before the failure is processed all the same
        result.error = f"{type(exc).__name__}: {exc}"[:2000]
        failures = mailbox.consecutive_failures + 1
        delay = min(mailbox.poll_interval * 2 ** min(failures, 10), 3600)
        Mailbox.objects.filter(pk=mailbox_id).update(
            last_polled_at=now,
            last_error=result.error,
            last_error_at=now,
            consecutive_failures=F("consecutive_failures") + 1,
            next_poll_at=now + timedelta(seconds=delay),
            poll_lease_until=None,
        )
        logger.warning("Polling mailbox %s failed: %s", mailbox.name, result.error)
        return result
    inbound_dispatch(stored)
    Mailbox.objects.filter(pk=mailbox_id).update(
        last_polled_at=now,
        last_success_at=timezone.now(),
        consecutive_failures=0,
        next_poll_at=now + timedelta(seconds=mailbox.poll_interval),
        poll_lease_until=None,
    )
    return result


def mailboxes_poll_due(*, now=None) -> list[int]:
    """Hand every active polled mailbox that is due to its own task (one failing does not stop the others)."""
    from mail.choices import POLLED_SCHEMES

    now = now or timezone.now()
    due = [
        m.pk
        for m in Mailbox.objects.filter(is_active=True, next_poll_at__lte=now).only("id", "url")
        if m.scheme in POLLED_SCHEMES
    ]
    from mail.tasks import mailbox_poll as mailbox_poll_task

    for pk in due:
        try:
            mailbox_poll_task.delay(pk)
        except Exception:  # noqa: BLE001 - broker down: the next beat tick retries
            logger.warning("Could not enqueue the poll of mailbox %s", pk, exc_info=True)
    return due


@transaction.atomic
def mailbox_configure(*, slug: str, **fields) -> tuple[Mailbox, bool]:
    """Create or update a mailbox by its slug (the automation command's service)."""
    mailbox = Mailbox.objects.select_for_update().filter(slug=slug).first()
    created = mailbox is None
    if created:
        mailbox = Mailbox(slug=slug, name=fields.pop("name", None) or slug)
    for key, value in fields.items():
        if value is not None:
            setattr(mailbox, key, value)
    from django.core.exceptions import ValidationError

    try:
        mailbox.full_clean()
    except ValidationError as exc:
        raise DomainError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from exc
    mailbox.save()
    return mailbox, created


def pipe_mailbox() -> Mailbox:
    """The mailbox of messages piped in by an MTA when no mailbox is named."""
    mailbox, _ = Mailbox.objects.get_or_create(
        slug="pipe", defaults={"name": "MTA pipe", "url": "pipe:", "is_active": True}
    )
    return mailbox
