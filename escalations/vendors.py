"""Writes of vendor escalation: vendors and their underpinning contracts (configuration), and vendor cases.

A vendor case (`vendor_case_open`, by hand or by a level of a path) has its own clock: response and resolution due
on the contract's calendar from the case's opening (sla/calendar.py), beside the customer's SLA clocks. The vendor
is mailed through the outbox, on the case's own thread; its answers (`vendor_reply_record`: by mail, matched by
escalations/vendor_mail.py, or on the vendor portal) become internal notes on the ticket and update the case. The
escalation scan records each missed vendor target once (`vendor_cases_check_due`)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.urls import reverse

from accounts.models import User
from accounts.roles import Role, user_is_agent, user_role_names
from communications.models import OutboundEmail
from escalations.choices import (
    VENDOR_CASE_ACTIVE,
    VENDOR_CASE_OPEN,
    EscalationKind,
    MessageDirection,
    NotificationKind,
    VendorCaseStatus,
)
from escalations.models import (
    Escalation,
    Notification,
    UnderpinningContract,
    Vendor,
    VendorCase,
    VendorCaseMessage,
)
from escalations.selectors import active_contract_for, due_vendor_case_ids
from escalations.services import (
    Recipient,
    _add,
    _group_informed,
    _lock_ticket,
    _now,
    _ref,
    _require_agent,
    _require_manager,
    notify,
)
from itsm.lib.config_audit import config_change_log, describe_changes
from itsm.lib.errors import DomainError, PermissionDenied
from sla.calendar import CalendarError, add_business_time
from sla.models import BusinessCalendar
from sla.selectors import calendar_compile
from tickets.choices import ALLOWED_TRANSITIONS, OPEN_STATUSES, PendingReason, TicketEventType
from tickets.choices import TicketStatus as S
from tickets.events import event_write
from tickets.models import Ticket

# --- vendors: configuration ---------------------------------------------------------------------------------


def pattern_check(pattern: str) -> str:
    pattern = (pattern or "").strip()
    if not pattern:
        return ""
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise DomainError(
            f"The reference pattern is not a valid regular expression: {exc}.",
            details={"reference_pattern": [str(exc)]},
        ) from exc
    if compiled.search("") is not None:
        raise DomainError(
            "The reference pattern matches an empty text: it would match every mail.",
            details={"reference_pattern": ["matches the empty string"]},
        )
    return pattern


@transaction.atomic
def vendor_save(
    *,
    actor: User | None,
    name: str,
    slug: str,
    support_email: str = "",
    email_domains: Iterable[str] = (),
    reference_pattern: str = "",
    contacts: Iterable[User] = (),
    is_active: bool = True,
    notes: str = "",
    vendor: Vendor | None = None,
) -> Vendor:
    """Create or change a vendor. Its contacts must hold the Vendor role (they will see its cases)."""
    _require_manager(actor)
    contacts = list(contacts)
    wrong = [c for c in contacts if Role.VENDOR not in user_role_names(c) or user_is_agent(c)]
    if wrong:
        raise DomainError(
            "Vendor contacts must hold the Vendor role (and not be agents): "
            + ", ".join(c.display_name for c in wrong)
            + ".",
            details={"contacts": ["not a vendor user"]},
        )
    creating = vendor is None
    v = vendor or Vendor()
    before = {} if creating else _vendor_snapshot(v)
    v.name, v.slug = name.strip(), slug.strip()
    v.support_email = (support_email or "").strip()
    v.email_domains = sorted({d.strip().lower().lstrip("@") for d in email_domains if d.strip()})
    v.reference_pattern = pattern_check(reference_pattern)
    v.is_active, v.notes = is_active, notes
    if not v.name or not v.slug:
        raise DomainError("A vendor needs a name and a slug.", details={"name": ["required"]})
    v.save()
    v.contacts.set(contacts)
    config_change_log(
        actor=actor,
        obj=v,
        action="added" if creating else "changed",
        message=("Vendor: " + describe_changes(before, _vendor_snapshot(v)))[:10_000],
    )
    return v


def _vendor_snapshot(v: Vendor) -> dict[str, Any]:
    return {
        "name": v.name,
        "support_email": v.support_email,
        "domains": v.email_domains,
        "pattern": v.reference_pattern,
        "active": v.is_active,
        "contacts": sorted(str(c) for c in v.contacts.all()) if v.pk else [],
    }


@transaction.atomic
def contract_save(
    *,
    actor: User | None,
    vendor: Vendor,
    name: str,
    calendar: BusinessCalendar,
    response_target: timedelta,
    resolution_target: timedelta,
    reference: str = "",
    is_active: bool = True,
    contract: UnderpinningContract | None = None,
) -> UnderpinningContract:
    _require_manager(actor)
    if response_target <= timedelta(0) or resolution_target <= timedelta(0):
        raise DomainError("Contract targets must be more than zero.", details={"response_target": ["positive"]})
    if response_target > resolution_target:
        raise DomainError(
            "The response target cannot be longer than the resolution target.",
            details={"response_target": ["longer than the resolution target"]},
        )
    creating = contract is None
    c = contract or UnderpinningContract(vendor=vendor)
    c.name, c.reference, c.calendar = name.strip(), reference.strip(), calendar
    c.response_target, c.resolution_target, c.is_active = response_target, resolution_target, is_active
    c.save()
    config_change_log(
        actor=actor,
        obj=c,
        action="added" if creating else "changed",
        message=f"Contract {c.name}: response {response_target}, resolution {resolution_target} on {calendar}",
    )
    return c


# --- vendor cases -------------------------------------------------------------------------------------------


def _case_due(case: VendorCase) -> None:
    """The case's own clock: its targets on the contract's calendar, from the case's opening."""
    contract = case.contract
    if contract is None:
        case.response_due_at = case.resolution_due_at = None
        return
    try:
        cal = calendar_compile(contract.calendar)
    except CalendarError as exc:
        raise DomainError(f"The contract's calendar {contract.calendar} is unusable: {exc}") from exc
    case.response_due_at = add_business_time(cal, case.opened_at, contract.response_target)
    case.resolution_due_at = add_business_time(cal, case.opened_at, contract.resolution_target)


def _case_next_check(case: VendorCase) -> datetime | None:
    if case.status not in VENDOR_CASE_OPEN or case.closed_at is not None:
        return None
    candidates = []
    if case.responded_at is None and case.response_due_at and case.response_breach_recorded_at is None:
        candidates.append(case.response_due_at)
    if case.resolved_at is None and case.resolution_due_at and case.resolution_breach_recorded_at is None:
        candidates.append(case.resolution_due_at)
    return min(candidates) if candidates else None


def _vendor_recipients(vendor: Vendor) -> list[str]:
    out: list[str] = []
    for address in [vendor.support_email] + [
        c.email for c in vendor.contacts.filter(is_active=True).order_by("pk") if c.email
    ]:
        if address and address.lower() not in {a.lower() for a in out}:
            out.append(address)
    return out


def vendor_case_subject(case: VendorCase, text: str) -> str:
    from mail.threading import subject_with_tag

    ref = f"{case.vendor_reference} " if case.vendor_reference else ""
    return subject_with_tag(f"{ref}{text}".strip(), case.ticket.number)


def _case_thread(case: VendorCase) -> tuple[str, str]:
    """(In-Reply-To, References) for our next mail on the case: the case's own conversation with the vendor,
    kept apart from the customer's."""
    ids = [
        f"<{m}>" for m in case.messages.exclude(message_id="").order_by("at", "id").values_list("message_id", flat=True)
    ]
    if not ids:
        return "", ""
    references = ids if len(ids) <= 10 else ids[:1] + ids[-9:]
    return ids[-1], " ".join(references)


def _case_mail(case: VendorCase, *, subject: str, body: str, author_name: str, now: datetime) -> VendorCaseMessage:
    from communications.services import outbound_email_queue, sender_headers

    to = _vendor_recipients(case.vendor)
    if not to:
        raise DomainError(
            f"{case.vendor} has no support address and no contact with an address: nobody to write to.",
            details={"vendor": ["no address"]},
        )
    from_email, reply_to, _ = sender_headers(case.ticket)
    in_reply_to, references = _case_thread(case)
    outbound = outbound_email_queue(
        ticket=case.ticket,
        kind=OutboundEmail.Kind.VENDOR,
        to=to,
        subject=vendor_case_subject(case, subject),
        body_text=body,
        from_email=from_email,
        reply_to=reply_to,
        in_reply_to=in_reply_to,
        references=references,
        headers={"X-ITSM-Vendor-Case": str(case.pk)},
        now=now,
    )
    return VendorCaseMessage.objects.create(
        case=case,
        direction=MessageDirection.OUT,
        at=now,
        author_name=author_name[:200],
        subject=outbound.subject,
        body=body,
        message_id=outbound.message_id.strip("<>"),
        outbound=outbound,
    )


def _case_event(ticket: Ticket, kind: str, case: VendorCase, actor: User | None, now: datetime, **data) -> None:
    event_write(
        ticket=ticket,
        event_type=kind,
        actor=actor,
        now=now,
        data={
            "case_id": case.pk,
            "vendor": _ref(case.vendor),
            "reference": case.vendor_reference,
            "status": case.status,
            **data,
        },
    )


def _open_case(
    ticket: Ticket,
    *,
    vendor: Vendor,
    actor: User | None,
    summary: str,
    contract: UnderpinningContract | None,
    reference: str,
    escalation: Escalation | None,
    now: datetime,
) -> VendorCase:
    if not vendor.is_active:
        raise DomainError(f"{vendor} is not an active vendor.")
    if contract is not None and contract.vendor_id != vendor.pk:
        raise DomainError(f"{contract} is not a contract of {vendor}.", details={"contract": ["other vendor"]})
    contract = contract or active_contract_for(vendor)
    reference = (reference or "").strip()
    if reference and VendorCase.objects.filter(vendor=vendor, vendor_reference=reference).exists():
        raise DomainError(f"{vendor} reference {reference} belongs to another case already.")
    case = VendorCase(
        ticket=ticket,
        vendor=vendor,
        contract=contract,
        vendor_reference=reference,
        summary=summary,
        opened_by=actor,
        opened_at=now,
        escalation=escalation,
    )
    _case_due(case)
    case.next_check_at = _case_next_check(case)
    try:
        with transaction.atomic():
            case.save(force_insert=True)
    except IntegrityError as exc:
        raise DomainError(f"{ticket.number} has an open case with {vendor} already.") from exc
    _case_event(
        ticket,
        TicketEventType.VENDOR_CASE_OPENED,
        case,
        actor,
        now,
        contract=_ref(contract),
        response_due_at=case.response_due_at,
        resolution_due_at=case.resolution_due_at,
    )
    who = actor.display_name if actor else "the service desk"
    body = (
        f'Hello {vendor.name},\n\nwe need your help with our ticket {ticket.number} "{ticket.title}".'
        + (f"\nYour reference: {reference}." if reference else "")
        + f"\n\n{summary}\n\n"
        + (
            f"Under {contract.name}, we expect your response by {case.response_due_at:%Y-%m-%d %H:%M} UTC and "
            f"a resolution by {case.resolution_due_at:%Y-%m-%d %H:%M} UTC.\n\n"
            if contract
            else ""
        )
        + f"Please keep {ticket.number} in the subject when you reply.\n\n{who}"
    )
    _case_mail(case, subject=ticket.title, body=body, author_name=who, now=now)
    ticket.refresh_from_db()
    if ticket.status in (S.NEW, S.ASSIGNED, S.IN_PROGRESS) and S.PENDING in ALLOWED_TRANSITIONS[ticket.status]:
        from tickets.services import ticket_transition

        # the SLA policy decides whether awaiting a vendor pauses the customer's clocks (by default it does not)
        ticket_transition(
            ticket=ticket,
            actor=actor,
            to_status=S.PENDING,
            pending_reason=PendingReason.AWAITING_VENDOR,
            reason=f"vendor case opened with {vendor}",
            now=now,
        )
    return case


@transaction.atomic
def vendor_case_open(
    *,
    ticket: Ticket,
    vendor: Vendor,
    actor: User | None,
    summary: str,
    contract: UnderpinningContract | None = None,
    reference: str = "",
    now: datetime | None = None,
) -> VendorCase:
    """Vendor escalation by hand: open a case with the vendor (its own clock on the contract's calendar), mail
    the vendor through the outbox with the ticket tag and threading headers, and put the ticket on Pending:
    awaiting vendor. Recorded as an escalation of the ticket."""
    _require_agent(actor)
    summary = (summary or "").strip()
    if not summary:
        raise DomainError("Say what the vendor should do.", details={"summary": ["required"]})
    now = _now(now)
    ticket = _lock_ticket(ticket)
    if ticket.status not in OPEN_STATUSES:
        raise DomainError(f"{ticket.number} is {ticket.get_status_display().lower()}: no vendor case now.")
    esc = Escalation.objects.create(
        ticket=ticket,
        kinds=[EscalationKind.VENDOR.value],
        key=f"hand:vendor:{vendor.pk}:{now.isoformat()}",
        threshold=f"by hand: vendor case with {vendor}",
        fired_at=now,
        reason=summary,
        actor=actor,
    )
    esc.event = event_write(
        ticket=ticket,
        event_type=TicketEventType.ESCALATED,
        actor=actor,
        now=now,
        data={"escalation_id": esc.pk, "level": 0, "kinds": esc.kinds, "vendor": _ref(vendor), "reason": summary},
    )
    case = _open_case(
        ticket,
        vendor=vendor,
        actor=actor,
        summary=summary,
        contract=contract,
        reference=reference,
        escalation=esc,
        now=now,
    )
    esc.actions = {"vendor": {"case_id": case.pk, "opened": True}}
    esc.save(update_fields=["event", "actions"])
    return case


def vendor_escalate(
    ticket: Ticket, *, vendor: Vendor, reason: str, escalation: Escalation, now: datetime
) -> dict[str, Any]:
    """A level's vendor action: open a case, or remind the vendor of the one that is open."""
    case = VendorCase.objects.filter(ticket=ticket, vendor=vendor, status__in=VENDOR_CASE_ACTIVE).first()
    if case is None:
        summary = f'Please investigate {ticket.number} "{ticket.title}" with priority; it reached {reason}.'
        case = _open_case(
            ticket,
            vendor=vendor,
            actor=None,
            summary=summary,
            contract=None,
            reference="",
            escalation=escalation,
            now=now,
        )
        return {"case_id": case.pk, "opened": True}
    _case_mail(
        case,
        subject=f"Escalation: {ticket.title}",
        body=(
            f'Hello {vendor.name},\n\nour ticket {ticket.number} "{ticket.title}" (your case '
            f"{case.vendor_reference or 'without a reference yet'}) was escalated: {reason}.\n"
            "Please give it priority and tell us where it stands.\n\nThe service desk"
        ),
        author_name="Escalation",
        now=now,
    )
    return {"case_id": case.pk, "reminded": True}


@transaction.atomic
def vendor_case_mail(*, case: VendorCase, actor: User, body: str, now: datetime | None = None) -> VendorCaseMessage:
    """An agent writes to the vendor on the case's thread (through the outbox)."""
    _require_agent(actor)
    if actor is None:
        raise PermissionDenied("A person writes to the vendor.")
    body = (body or "").strip()
    if not body:
        raise DomainError("Write the message for the vendor.", details={"body": ["required"]})
    now = _now(now)
    ticket = _lock_ticket(case.ticket)
    case = VendorCase.objects.select_for_update().select_related("vendor", "ticket").get(pk=case.pk)
    case.ticket = ticket
    msg = _case_mail(case, subject=ticket.title, body=body, author_name=actor.display_name, now=now)
    _case_event(ticket, TicketEventType.VENDOR_CASE_UPDATED, case, actor, now, mailed=msg.subject)
    return msg


def vendor_reply_record(
    *,
    case: VendorCase,
    body: str,
    author_name: str,
    reference: str = "",
    resolved: bool = False,
    how: str = "mail",
    files: Sequence = (),
    inbound=None,
    now: datetime | None = None,
):
    """The vendor answered (by mail, matched to the case, or on the vendor portal): the answer becomes an
    internal note on the ticket (the customer never sees it), the case records its first response, the
    vendor's reference and a resolution when the vendor says so, and the ticket's people are told. Returns the
    note (a Comment)."""
    from tickets.services import comment_add

    now = _now(now)
    with transaction.atomic():
        ticket = _lock_ticket(case.ticket)
        case = VendorCase.objects.select_for_update().select_related("vendor").get(pk=case.pk)
        case.ticket = ticket
        comment = comment_add(
            ticket=ticket,
            author=None,
            body=f"[Vendor {case.vendor.name}, case {case.vendor_reference or case.pk}, by {how}]\n\n{body}",
            is_public=False,
            files=files,
            author_name=f"{author_name} ({case.vendor.name})"[:200],
            now=now,
        )
        changes: dict[str, Any] = {}
        reference = (reference or "").strip()[:100]
        if reference and not case.vendor_reference:
            taken = VendorCase.objects.filter(vendor=case.vendor, vendor_reference=reference).exclude(pk=case.pk)
            if not taken.exists():
                case.vendor_reference = reference
                changes["reference"] = reference
        if case.responded_at is None:
            case.responded_at = now
            changes["responded_at"] = now
        if case.status == VendorCaseStatus.OPEN:
            case.status = VendorCaseStatus.RESPONDED
            changes["status"] = case.status
        if resolved and case.resolved_at is None and case.status in VENDOR_CASE_ACTIVE:
            case.resolved_at, case.status = now, VendorCaseStatus.RESOLVED
            changes.update(resolved_at=now, status=case.status)
        case.next_check_at = _case_next_check(case)
        case.save()
        VendorCaseMessage.objects.create(
            case=case,
            direction=MessageDirection.IN,
            at=now,
            author_name=author_name[:200],
            subject=(inbound.subject[:255] if inbound is not None else ""),
            body=body,
            message_id=(inbound.message_id if inbound is not None and not inbound.message_id_derived else ""),
            inbound=inbound,
            comment=comment,
        )
        _case_event(ticket, TicketEventType.VENDOR_CASE_UPDATED, case, None, now, reply=how, changes=changes)
        told: list[Recipient] = []
        if ticket.assignee_id:
            _add(told, ticket.assignee, "assignee")
        if case.opened_by_id and case.opened_by_id != ticket.assignee_id:
            _add(told, case.opened_by, "opened the case")
        if not told:
            _group_informed(ticket.resolver_group, "group", told)
        Notification.objects.bulk_create(
            Notification(
                user=r.user,
                ticket=ticket,
                kind=NotificationKind.VENDOR,
                title=f"{case.vendor.name} answered on {ticket.number}"
                + (" and reports it resolved" if changes.get("resolved_at") else ""),
                body=body[:2000],
                url=reverse("tickets:detail", args=[ticket.number]),
                created_at=now,
            )
            for r in told
            if r.user is not None
        )
    return comment


@transaction.atomic
def vendor_case_update(
    *,
    case: VendorCase,
    actor: User,
    status: str | None = None,
    reference: str | None = None,
    note: str = "",
    now: datetime | None = None,
) -> VendorCase:
    """An agent records the vendor's reference or moves the case on (resolved by the vendor, closed). Closing
    the last active case of a ticket that waits for a vendor puts the ticket back In Progress."""
    _require_agent(actor)
    now = _now(now)
    ticket = _lock_ticket(case.ticket)
    case = VendorCase.objects.select_for_update().select_related("vendor").get(pk=case.pk)
    case.ticket = ticket
    changes: dict[str, Any] = {}
    if reference is not None and reference.strip() != case.vendor_reference:
        reference = reference.strip()[:100]
        taken = VendorCase.objects.filter(vendor=case.vendor, vendor_reference=reference).exclude(pk=case.pk)
        if reference and taken.exists():
            raise DomainError(f"{case.vendor} reference {reference} belongs to another case already.")
        changes["reference"] = {"from": case.vendor_reference, "to": reference}
        case.vendor_reference = reference
    if status and status != case.status:
        if status not in VendorCaseStatus.values:
            raise DomainError(f"Unknown case status {status!r}.", details={"status": ["invalid"]})
        if case.status == VendorCaseStatus.CLOSED:
            raise DomainError("The case is closed.")
        changes["status"] = {"from": case.status, "to": status}
        case.status = status
        if status == VendorCaseStatus.RESPONDED and case.responded_at is None:
            case.responded_at = now
        if status == VendorCaseStatus.RESOLVED and case.resolved_at is None:
            case.resolved_at = now
            case.responded_at = case.responded_at or now
        if status == VendorCaseStatus.CLOSED:
            case.closed_at = now
    if not changes and not note.strip():
        return case
    case.next_check_at = _case_next_check(case)
    try:
        with transaction.atomic():
            case.save()
    except IntegrityError as exc:
        raise DomainError("That reference belongs to another case of the vendor.") from exc
    _case_event(ticket, TicketEventType.VENDOR_CASE_UPDATED, case, actor, now, changes=changes, note=note.strip())
    if (
        case.status == VendorCaseStatus.CLOSED
        and ticket.status == S.PENDING
        and ticket.pending_reason == PendingReason.AWAITING_VENDOR
        and not ticket.vendor_cases.filter(status__in=VENDOR_CASE_ACTIVE).exists()
    ):
        from tickets.services import ticket_transition

        ticket_transition(
            ticket=ticket,
            actor=actor,
            to_status=S.IN_PROGRESS,
            now=now,
            reason=f"vendor case with {case.vendor} closed",
        )
    return case


def _case_breach(case: VendorCase, field: str, due: datetime, label: str, now: datetime) -> bool:
    """Record one missed vendor target, once: the conditional UPDATE is the gate."""
    recorded = VendorCase.objects.filter(pk=case.pk, **{f"{field}__isnull": True}).update(**{field: now})
    if not recorded:
        return False
    setattr(case, field, now)
    ticket = case.ticket
    _case_event(ticket, TicketEventType.VENDOR_CASE_BREACHED, case, None, now, target=label, due_at=due)
    told: list[Recipient] = []
    if ticket.assignee_id:
        _add(told, ticket.assignee, "assignee")
    _group_informed(ticket.resolver_group, "group", told)
    notify(
        recipients=told,
        ticket=ticket,
        kind=NotificationKind.VENDOR,
        title=f"{case.vendor.name} missed its {label} target on {ticket.number}",
        body=f"The {label} of {case.vendor.name} (case {case.vendor_reference or case.pk}) was due "
        f"{due:%Y-%m-%d %H:%M} UTC under {case.contract}.",
        now=now,
    )
    if _vendor_recipients(case.vendor):
        _case_mail(
            case,
            subject=f"Overdue: {ticket.title}",
            body=f'Hello {case.vendor.name},\n\nyour {label} on our ticket {ticket.number} "{ticket.title}" was '
            f"due {due:%Y-%m-%d %H:%M} UTC under {case.contract}. Please answer as soon as possible.\n\n"
            "The service desk",
            author_name="Escalation",
            now=now,
        )
    return True


def vendor_cases_check_due(*, now: datetime | None = None, limit: int = 500) -> int:
    """Record the vendor targets missed by `now` (each once), and move each case's next check on."""
    now = _now(now)
    recorded = 0
    for pk in due_vendor_case_ids(now=now, limit=limit):
        with transaction.atomic():
            ticket_id = VendorCase.objects.filter(pk=pk).values_list("ticket_id", flat=True).first()
            ticket = Ticket.objects.select_for_update(skip_locked=True).filter(pk=ticket_id).first()
            if ticket is None:
                continue
            case = (
                VendorCase.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("vendor", "contract")
                .filter(pk=pk, next_check_at__lte=now)
                .first()
            )
            if case is None:
                continue
            case.ticket = ticket
            if case.status in VENDOR_CASE_OPEN and case.closed_at is None:
                if case.responded_at is None and case.response_due_at and case.response_due_at <= now:
                    recorded += _case_breach(case, "response_breach_recorded_at", case.response_due_at, "response", now)
                if case.resolved_at is None and case.resolution_due_at and case.resolution_due_at <= now:
                    recorded += _case_breach(
                        case, "resolution_breach_recorded_at", case.resolution_due_at, "resolution", now
                    )
            VendorCase.objects.filter(pk=pk).update(next_check_at=_case_next_check(case))
    return recorded
