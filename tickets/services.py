"""Every write to a ticket. Each function is atomic, takes the ticket's row lock first (so concurrent
writers queue instead of overwriting each other), checks the rules, saves narrowly and appends its
events to the audit trail in the same transaction. Side effects (mail, tasks) run after commit."""

import hashlib
import mimetypes
import re
import unicodedata
from collections.abc import Iterable
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import File
from django.db import connection, models, transaction
from django.utils import timezone

from accounts.models import Organization, User
from accounts.roles import user_is_agent
from catalog.models import ResolverGroup, Service
from classification.models import Category
from classification.priority import decide_priority
from classification.selectors import priority_explain
from classification.services import IntakeContext, classify
from itsm.lib.errors import DomainError, PermissionDenied
from itsm.lib.transactions import scope_recall, scope_remember, service_atomic
from tickets import permissions
from tickets.choices import (
    ALLOWED_TRANSITIONS,
    FINAL_STATUSES,
    NUMBER_PREFIX,
    Channel,
    LinkKind,
    PendingReason,
    ResolutionCode,
    TicketEventType,
    TicketStatus,
    TicketType,
)
from tickets.closure import closure_unmet
from tickets.events import event_write
from tickets.exceptions import (
    AttachmentRejected,
    ClosureBlocked,
    InvalidLink,
    InvalidTransition,
    StaleVersion,
)
from tickets.models import Attachment, Comment, Ticket, TicketLink, TicketNumberCounter

NUMBER_COUNTER = "ticket"
PARENT_LINK_LOCK = "parent-links"

# Fields ticket_update may change. Status, group and assignee have their own services.
UPDATABLE_FIELDS = (
    "title",
    "description",
    "ticket_type",
    "channel",
    "impact",
    "urgency",
    "priority",
    "priority_override_reason",
    "service",
    "category",
    "organization",
    "requester",
    "resolution_code",
    "resolution_notes",
)


# --- helpers --------------------------------------------------------------------------------------


def _now(now: datetime | None) -> datetime:
    return now or timezone.now()


def _lock(ticket: Ticket, *, expected_version: int | None = None) -> Ticket:
    """Reload the ticket under a row lock (PostgreSQL `SELECT ... FOR UPDATE`; on SQLite the IMMEDIATE
    transaction already holds the database's write lock) and check the caller's version. Not read again
    when this very instance was created or locked earlier in the same change (and every write to the row
    since went through it): a routing, an acknowledgement and a comment of one mail lock the ticket once."""
    if scope_recall(("ticket-lock", ticket.pk)) is not ticket:
        ticket.refresh_from_db(from_queryset=Ticket.objects.select_for_update())
        scope_remember(("ticket-lock", ticket.pk), ticket)
    if expected_version is not None and int(expected_version) != ticket.version:
        raise StaleVersion(ticket.number, int(expected_version), ticket.version)
    return ticket


def _save(ticket: Ticket, fields: Iterable[str], now: datetime, *, bump_version: bool = True) -> None:
    fields = set(fields) | {"updated_at"}
    ticket.updated_at = now
    if bump_version:
        ticket.version += 1
        fields.add("version")
    ticket.save(update_fields=sorted(fields))
    # the instance now holds what this write put in the row: it stands for the row only as long as the write
    # does (noted again with the savepoints open now); written through another instance, it must be re-read
    same = scope_recall(("ticket-lock", ticket.pk)) is ticket
    scope_remember(("ticket-lock", ticket.pk), ticket if same else None)


def _event_value(value: Any) -> Any:
    if isinstance(value, models.Model):
        return {"id": value.pk, "name": str(value)}
    return value


def _require_agent(actor) -> None:
    if actor is not None and not user_is_agent(actor):
        raise PermissionDenied("Only service desk agents, resolvers and service managers may do this.")


def _next_number(ticket_type: str) -> str:
    """The next ticket number: one `UPDATE ... RETURNING` on the counter row, inside the caller's
    transaction. The row stays locked until commit, so concurrent creations get distinct values."""
    sql = f"UPDATE {TicketNumberCounter._meta.db_table} SET value = value + 1 WHERE name = %s RETURNING value"
    with connection.cursor() as cursor:
        cursor.execute(sql, [NUMBER_COUNTER])
        row = cursor.fetchone()
        if row is None:  # the counter row is created by a migration; recreate it if a test flushed it
            TicketNumberCounter.objects.get_or_create(name=NUMBER_COUNTER)
            cursor.execute(sql, [NUMBER_COUNTER])
            row = cursor.fetchone()
    return f"{NUMBER_PREFIX[ticket_type]}-{row[0]:06d}"


_RELATION_FIELDS = tuple(f.name for f in Ticket._meta.fields if f.is_relation)


def _validate(ticket: Ticket) -> None:
    try:
        # Related objects come in as instances the services already hold: no existence query per relation.
        ticket.clean_fields(exclude=["number", "watchers", *_RELATION_FIELDS])
    except ValidationError as exc:
        raise DomainError(
            "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items()), details=exc.message_dict
        ) from exc
    if not ticket.title.strip():
        raise DomainError("A ticket needs a title.", details={"title": ["This field may not be blank."]})


# --- creation and field changes ---------------------------------------------------------------------


@service_atomic
def ticket_create(
    *,
    actor: User | None,
    requester: User,
    title: str,
    description: str = "",
    ticket_type: str | None = None,
    channel: str = Channel.AGENT,
    impact: int = 4,
    urgency: int = 3,
    priority: str = "",
    priority_override_reason: str = "",
    service: Service | None = None,
    category: Category | None = None,
    resolver_group: ResolverGroup | None = None,
    assignee: User | None = None,
    organization: Organization | None = None,
    watchers: Iterable[User] = (),
    intake: IntakeContext | None = None,
    now: datetime | None = None,
) -> Ticket:
    """Log a request. `actor` None means the system (mail intake). A customer may create only their own
    tickets.

    Classification (step 2): the classification rules run on every new ticket (classification.services.classify,
    with `intake` giving the mailbox, sender and portal form); what the caller gives explicitly wins, the first
    matching rule fills the rest (type, service, resolver group, category), the ticket records that rule. Without
    a group the ticket is routed (assignment.services: routing rules, the service's default group, the
    fallback group); the group's assignment strategy then picks a member. The priority comes from the priority matrix
    and the service's criticality; a different `priority` is a manual override and needs
    `priority_override_reason`."""
    now = _now(now)
    if actor is not None and not user_is_agent(actor) and actor.pk != requester.pk:
        raise PermissionDenied("Customers can only create tickets for themselves.")
    if ticket_type and ticket_type not in TicketType.values:
        raise DomainError(f"Unknown ticket type {ticket_type!r}.", details={"ticket_type": ["invalid"]})
    if organization is None:
        organization = requester.organization
    intake = intake or IntakeContext()
    found = classify(
        channel=channel,
        mailbox_key=intake.mailbox_key,
        mailbox_address=intake.mailbox_address,
        sender_email=intake.sender_email or requester.email,
        organization=organization,
        subject=title,
        body=description,
        form=intake.form,
    )
    decided = []
    if not ticket_type and found.ticket_type:
        ticket_type = found.ticket_type
        decided.append("ticket_type")
    if service is None and found.service is not None:
        service = found.service
        decided.append("service")
    if category is None and found.category is not None and service is not None:
        if found.category.service_id == service.pk:
            category = found.category
            decided.append("category")
    if category is not None and (service is None or category.service_id != service.pk):
        raise DomainError(f"{category} is not a category of {service or 'a ticket without a service'}.")
    if resolver_group is None and found.resolver_group is not None:
        resolver_group = found.resolver_group
        decided.append("resolver_group")
    defaults = []  # the channel's defaults (e.g. the mailbox's) fill what neither the caller nor a rule decided
    if not ticket_type and intake.default_ticket_type:
        ticket_type = intake.default_ticket_type
        defaults.append("ticket_type")
    if service is None and intake.default_service is not None:
        service = intake.default_service
        defaults.append("service")
    if resolver_group is None and intake.default_resolver_group is not None and "service" not in decided:
        resolver_group = intake.default_resolver_group
        defaults.append("resolver_group")
    ticket_type = ticket_type or TicketType.INCIDENT
    computed = priority_explain(impact=impact, urgency=urgency, service=service, tables=found.tables)
    chosen = decide_priority(computed=computed, requested=priority or None, reason=priority_override_reason)
    ticket = Ticket(
        ticket_type=ticket_type,
        channel=channel,
        title=title.strip()[:255],
        description=description,
        requester=requester,
        organization=organization,
        created_by=actor,
        impact=impact,
        urgency=urgency,
        priority=chosen.priority,
        priority_override_reason=chosen.override_reason,
        service=service,
        category=category,
        classification_rule=found.rule,
        created_at=now,
        updated_at=now,
    )
    _validate(ticket)
    ticket.number = _next_number(ticket_type)
    ticket.save(force_insert=True)
    scope_remember(("ticket-lock", ticket.pk), ticket)  # inserted by this transaction: no one else sees the row
    watcher_list = [w for w in watchers if w.pk != requester.pk]
    if watcher_list:
        ticket.watchers.add(*watcher_list)
    event_write(
        ticket=ticket,
        event_type=TicketEventType.CREATED,
        actor=actor,
        now=now,
        first=True,
        data={
            "number": ticket.number,
            "title": ticket.title,
            "ticket_type": ticket.ticket_type,
            "channel": ticket.channel,
            "status": ticket.status,
            "requester": _event_value(requester),
            "organization": _event_value(organization),
            "impact": ticket.impact,
            "urgency": ticket.urgency,
            "priority": ticket.priority,
            "priority_computed": computed.as_dict(),
            "priority_override_reason": ticket.priority_override_reason,
            "service": _event_value(service),
            "category": _event_value(category),
            "classification": {
                "rule": _event_value(found.rule),
                "decided": decided,
                "defaults": defaults,
                "mailbox": intake.mailbox_key,
                "form": intake.form,
            },
            "watchers": [_event_value(w) for w in watcher_list],
            "description_sha256": hashlib.sha256(description.encode()).hexdigest(),
        },
    )
    if assignee is not None:
        _assign(ticket, actor=actor, resolver_group=resolver_group, assignee=assignee, reason="", now=now)
    else:
        from assignment.services import ticket_route_and_assign

        # Step 3: a group given or decided above keeps the ticket; otherwise routing rules, the service's
        # default group, the fallback group. Then the group's strategy picks an available member.
        if resolver_group is None:
            source = ""
        elif "resolver_group" in decided:
            source = f"classification rule '{found.rule.name}'"
        elif "resolver_group" in defaults:
            source = "the channel's default group"
        else:
            source = "the person who logged it"
        ticket_route_and_assign(ticket=ticket, group=resolver_group, group_source=source, now=now)
    return ticket


_NOT_GIVEN: Any = object()


@service_atomic
def ticket_update(
    *,
    ticket: Ticket,
    actor: User | None,
    data: dict[str, Any],
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Ticket:
    """Change fields of UPDATABLE_FIELDS. One event lists each changed field with its from and to.

    Priority: it follows the priority matrix (impact, urgency, service criticality) unless it was set by hand.
    Setting `priority` to another value than the matrix gives needs `priority_override_reason`; such an
    override stays when impact, urgency or service change later (the event notes what the matrix gives then),
    until `priority` is set to "" (back to the matrix). A change of service clears a category of the old one."""
    _require_agent(actor)
    unknown = set(data) - set(UPDATABLE_FIELDS)
    if unknown:
        raise DomainError(
            f"These fields cannot be changed here: {', '.join(sorted(unknown))}.",
            details={f: ["not updatable"] for f in sorted(unknown)},
        )
    now = _now(now)
    _lock(ticket, expected_version=expected_version)
    if ticket.status in FINAL_STATUSES and data:
        # what a closed ticket says is what was validated and communicated: it is not rewritten afterwards
        raise DomainError(
            f"{ticket.number} is {ticket.get_status_display().lower()}: its fields can no longer be changed. "
            "Open a new ticket (it can be linked to this one) instead.",
            details={"status": [ticket.status]},
        )
    data = dict(data)
    requested_priority = data.pop("priority", _NOT_GIVEN)
    override_reason = data.pop("priority_override_reason", _NOT_GIVEN)
    before_computed = priority_explain(impact=ticket.impact, urgency=ticket.urgency, service=ticket.service)
    changes: dict[str, dict[str, Any]] = {}
    for field, value in data.items():
        old = getattr(ticket, field)
        if isinstance(value, str) and field in ("title",):
            value = value.strip()
        if value == old or (value is None and old == ""):
            continue
        changes[field] = {"from": _event_value(old), "to": _event_value(value)}
        setattr(ticket, field, "" if value is None and field not in ("service", "organization", "category") else value)
    if "service" in changes and ticket.category_id and "category" not in changes:
        if ticket.service is None or ticket.category.service_id != ticket.service.pk:
            changes["category"] = {"from": _event_value(ticket.category), "to": None}
            ticket.category = None
    if ticket.category_id and (ticket.service is None or ticket.category.service_id != ticket.service_id):
        raise DomainError(
            f"{ticket.category} is not a category of {ticket.service or 'a ticket without a service'}.",
            details={"category": ["not a category of the ticket's service"]},
        )
    computed = priority_explain(impact=ticket.impact, urgency=ticket.urgency, service=ticket.service)
    chosen = decide_priority(
        computed=computed,
        current_priority=ticket.priority,
        current_reason=ticket.priority_override_reason,
        requested=None if requested_priority is _NOT_GIVEN else (requested_priority or ""),
        reason=None if override_reason is _NOT_GIVEN else (override_reason or ""),
    )
    priority_kept = None
    if chosen.priority != ticket.priority:
        changes["priority"] = {"from": ticket.priority, "to": chosen.priority}
        ticket.priority = chosen.priority
    if chosen.override_reason != ticket.priority_override_reason:
        changes["priority_override_reason"] = {"from": ticket.priority_override_reason, "to": chosen.override_reason}
        ticket.priority_override_reason = chosen.override_reason
    if chosen.overridden and computed.computed != before_computed.computed and "priority" not in changes:
        # An override is never undone silently: say what the matrix gives now, and that the override stays.
        priority_kept = {
            "priority": ticket.priority,
            "computed": {"from": before_computed.computed, "to": computed.computed},
            "reason": ticket.priority_override_reason,
        }
    if not changes:
        return ticket
    if "resolution_code" in changes and ticket.resolution_code not in ["", *ResolutionCode.values]:
        raise DomainError(f"Unknown resolution code {ticket.resolution_code!r}.")
    _validate(ticket)
    fields = [("requester_id" if f == "requester" else f) for f in changes]
    _save(ticket, fields, now)
    event_data: dict[str, Any] = {"changes": changes}
    if {"impact", "urgency", "service", "priority"} & set(changes):
        event_data["priority_computed"] = computed.as_dict()
    if priority_kept:
        event_data["priority_kept"] = priority_kept
    event_write(ticket=ticket, event_type=TicketEventType.UPDATED, actor=actor, now=now, data=event_data)
    return ticket


# --- assignment -----------------------------------------------------------------------------------

_UNSET: Any = object()


def _assign(
    ticket: Ticket,
    *,
    actor: User | None,
    resolver_group: ResolverGroup | None | Any,
    assignee: User | None | Any,
    reason: str,
    now: datetime,
) -> None:
    new_group = ticket.resolver_group if resolver_group is _UNSET else resolver_group
    group_changes = (new_group.pk if new_group else None) != ticket.resolver_group_id
    if assignee is _UNSET:
        # A ticket moving to another group leaves its assignee behind unless one is named.
        new_assignee = None if group_changes else ticket.assignee
    else:
        new_assignee = assignee
    reassigning = (group_changes and ticket.resolver_group_id is not None) or (
        ticket.assignee_id is not None and (new_assignee.pk if new_assignee else None) != ticket.assignee_id
    )
    if actor is not None and reassigning and not reason.strip():
        raise DomainError("Say why the ticket is reassigned (a reason is required).", details={"reason": ["required"]})
    if new_assignee is not None and not user_is_agent(new_assignee):
        raise DomainError(f"{new_assignee} cannot be assigned tickets: they are not an agent.")
    if (
        new_assignee is not None
        and new_group is not None
        and new_group.memberships.exists()
        and not new_group.memberships.filter(user=new_assignee).exists()
    ):
        raise DomainError(f"{new_assignee.display_name} is not a member of {new_group}.")
    changes = {}
    if (new_group.pk if new_group else None) != ticket.resolver_group_id:
        changes["resolver_group"] = {"from": _event_value(ticket.resolver_group), "to": _event_value(new_group)}
    if (new_assignee.pk if new_assignee else None) != ticket.assignee_id:
        changes["assignee"] = {"from": _event_value(ticket.assignee), "to": _event_value(new_assignee)}
    if not changes:
        return
    fields = ["resolver_group", "assignee"]
    if "resolver_group" in changes and ticket.resolver_group_id is not None:
        ticket.group_hops += 1  # a hop: the ticket leaves one group for another (the first routing is not one)
        fields.append("group_hops")
        changes["group_hops"] = ticket.group_hops
    ticket.resolver_group = new_group
    ticket.assignee = new_assignee
    _save(ticket, fields, now)
    event_write(
        ticket=ticket,
        event_type=TicketEventType.ASSIGNED,
        actor=actor,
        now=now,
        data={**changes, "reason": reason},
    )
    # A ticket given to a group or a person is Assigned; one in the fallback group (the Service Desk's own
    # triage queue) is still New until someone takes it or routes it on.
    owned = new_assignee is not None or (new_group is not None and not new_group.is_fallback)
    if ticket.status == TicketStatus.NEW and owned:
        _transition(ticket, actor=actor, to_status=TicketStatus.ASSIGNED, now=now, reason="assigned")


@service_atomic
def ticket_assign(
    *,
    ticket: Ticket,
    actor: User | None,
    resolver_group: ResolverGroup | None | Any = _UNSET,
    assignee: User | None | Any = _UNSET,
    reason: str = "",
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Ticket:
    """Give the ticket to a resolver group and/or a person. A new ticket becomes Assigned."""
    _require_agent(actor)
    now = _now(now)
    _lock(ticket, expected_version=expected_version)
    _assign(ticket, actor=actor, resolver_group=resolver_group, assignee=assignee, reason=reason, now=now)
    return ticket


# --- lifecycle ------------------------------------------------------------------------------------


def _transition(
    ticket: Ticket,
    *,
    actor: User | None,
    to_status: str,
    now: datetime,
    pending_reason: str = "",
    resolution_code: str = "",
    resolution_notes: str = "",
    reason: str = "",
) -> None:
    """Move a locked ticket along the transition table. Permission checks are the caller's."""
    current = ticket.status
    if to_status not in TicketStatus.values:
        raise InvalidTransition(current, to_status, "no such status")
    if to_status not in ALLOWED_TRANSITIONS[current]:
        raise InvalidTransition(current, to_status)
    fields = {"status"}
    data: dict[str, Any] = {"from": current, "to": to_status}
    if reason:
        data["reason"] = reason

    if to_status == TicketStatus.PENDING:
        if pending_reason not in PendingReason.values:
            raise InvalidTransition(
                current, to_status, f"a pending reason is required ({', '.join(PendingReason.values)})"
            )
        ticket.pending_reason = pending_reason
        data["pending_reason"] = pending_reason
        fields.add("pending_reason")
    elif ticket.pending_reason:
        data["pending_reason_cleared"] = ticket.pending_reason
        ticket.pending_reason = ""
        fields.add("pending_reason")

    if to_status == TicketStatus.ASSIGNED and ticket.resolver_group_id is None and ticket.assignee_id is None:
        raise InvalidTransition(current, to_status, "assign a resolver group or an assignee first")

    if to_status == TicketStatus.RESOLVED:
        if resolution_code:
            if resolution_code not in ResolutionCode.values:
                raise InvalidTransition(current, to_status, f"unknown resolution code {resolution_code!r}")
            ticket.resolution_code = resolution_code
        if resolution_notes:
            ticket.resolution_notes = resolution_notes
        ticket.resolved_at = now
        ticket.resolution_notice_sent_at = None
        ticket.resolution_accepted_at = None
        ticket.resolution_rejected_at = None
        fields |= {
            "resolution_code",
            "resolution_notes",
            "resolved_at",
            "resolution_notice_sent_at",
            "resolution_accepted_at",
            "resolution_rejected_at",
        }
        data["resolution_code"] = ticket.resolution_code
        data["resolution_notes"] = ticket.resolution_notes  # the resolution as it was given, kept in the chain

    if current == TicketStatus.RESOLVED and to_status == TicketStatus.IN_PROGRESS:
        ticket.reopen_count += 1
        ticket.resolved_at = None
        ticket.resolution_notice_sent_at = None
        ticket.resolution_accepted_at = None
        fields |= {"reopen_count", "resolved_at", "resolution_notice_sent_at", "resolution_accepted_at"}
        data["reopen_count"] = ticket.reopen_count

    if to_status == TicketStatus.CLOSED:
        unmet = closure_unmet(ticket, now=now)
        if unmet:
            raise ClosureBlocked(unmet)
        ticket.closed_at = now
        fields.add("closed_at")

    if to_status == TicketStatus.CANCELLED:
        if not reason.strip():
            raise InvalidTransition(current, to_status, "a reason is required to cancel a ticket")
        ticket.cancel_reason = reason.strip()
        ticket.closed_at = now
        fields |= {"cancel_reason", "closed_at"}

    ticket.status = to_status
    _save(ticket, fields, now)
    event_write(ticket=ticket, event_type=TicketEventType.STATUS_CHANGED, actor=actor, now=now, data=data)

    if to_status == TicketStatus.RESOLVED:
        from communications.services import notification_resolution_enqueue

        notification_resolution_enqueue(ticket=ticket, now=now)


@service_atomic
def ticket_transition(
    *,
    ticket: Ticket,
    actor: User | None,
    to_status: str,
    pending_reason: str = "",
    resolution_code: str = "",
    resolution_notes: str = "",
    reason: str = "",
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Ticket:
    """Change the status. Refused, naming the current and the asked status, unless the transition table
    allows it; Close also passes the closure gate, naming every unmet criterion."""
    now = _now(now)
    _lock(ticket, expected_version=expected_version)
    if not permissions.can_transition(actor, ticket, to_status):
        raise PermissionDenied(f"You may not move this ticket to {to_status}.")
    _transition(
        ticket,
        actor=actor,
        to_status=to_status,
        now=now,
        pending_reason=pending_reason,
        resolution_code=resolution_code,
        resolution_notes=resolution_notes,
        reason=reason,
    )
    return ticket


@service_atomic
def resolution_accept(*, ticket: Ticket, actor: User | None, now: datetime | None = None) -> Ticket:
    """The customer accepts the resolution; the ticket closes at once if the rest of the gate holds."""
    now = _now(now)
    _lock(ticket)
    if ticket.status != TicketStatus.RESOLVED:
        raise InvalidTransition(ticket.status, TicketStatus.CLOSED, "only a resolved ticket can be accepted")
    if actor is not None and not permissions.can_decide_resolution(actor, ticket):
        raise PermissionDenied("Only the customer of this ticket can accept its resolution.")
    ticket.resolution_accepted_at = now
    _save(ticket, ["resolution_accepted_at"], now)
    event_write(ticket=ticket, event_type=TicketEventType.RESOLUTION_ACCEPTED, actor=actor, now=now)
    if not closure_unmet(ticket, now=now):
        _transition(ticket, actor=actor, to_status=TicketStatus.CLOSED, now=now, reason="resolution accepted")
    return ticket


@service_atomic
def resolution_reject(*, ticket: Ticket, actor: User | None, reason: str, now: datetime | None = None) -> Ticket:
    """The customer rejects the resolution: the ticket is reopened (back to In Progress)."""
    now = _now(now)
    _lock(ticket)
    if ticket.status != TicketStatus.RESOLVED:
        raise InvalidTransition(ticket.status, TicketStatus.IN_PROGRESS, "only a resolved ticket can be rejected")
    if actor is not None and not permissions.can_decide_resolution(actor, ticket):
        raise PermissionDenied("Only the customer of this ticket can reject its resolution.")
    if not reason.strip():
        raise DomainError("Say why the resolution does not solve the problem.", details={"reason": ["required"]})
    ticket.resolution_rejected_at = now
    _save(ticket, ["resolution_rejected_at"], now)
    event_write(
        ticket=ticket,
        event_type=TicketEventType.RESOLUTION_REJECTED,
        actor=actor,
        now=now,
        data={"reason": reason.strip()},
    )
    _comment(ticket, author=actor, body=reason.strip(), is_public=True, now=now)
    _transition(ticket, actor=actor, to_status=TicketStatus.IN_PROGRESS, now=now, reason="resolution rejected")
    return ticket


@service_atomic
def ticket_record_resolution_notice(*, ticket: Ticket, sent_at: datetime, outbound_id: int) -> bool:
    """Called when the resolution notice was delivered; starts the acceptance window. False when the
    ticket is no longer resolved (it was reopened before the notice went out)."""
    _lock(ticket)
    if ticket.status != TicketStatus.RESOLVED or ticket.resolution_notice_sent_at is not None:
        return False
    ticket.resolution_notice_sent_at = sent_at
    _save(ticket, ["resolution_notice_sent_at"], sent_at, bump_version=False)
    return True


def tickets_autoclose_due(*, now: datetime | None = None, limit: int = 500) -> int:
    """Close resolved tickets whose acceptance window has passed (or that were accepted while a linked
    ticket was still open) and that now pass the closure gate. Safe to run twice at once: each ticket
    is re-checked under its row lock."""
    now = _now(now)
    cutoff = now - settings.ITSM_ACCEPTANCE_WINDOW
    ids = list(
        Ticket.objects.filter(status=TicketStatus.RESOLVED, resolution_notice_sent_at__isnull=False)
        .filter(models.Q(resolution_notice_sent_at__lte=cutoff) | models.Q(resolution_accepted_at__isnull=False))
        .order_by("resolution_notice_sent_at")
        .values_list("pk", flat=True)[:limit]
    )
    closed = 0
    for pk in ids:
        with transaction.atomic():
            ticket = Ticket.objects.select_for_update().get(pk=pk)
            if ticket.status != TicketStatus.RESOLVED or closure_unmet(ticket, now=now):
                continue
            reason = "resolution accepted" if ticket.resolution_accepted_at else "acceptance window passed"
            _transition(ticket, actor=None, to_status=TicketStatus.CLOSED, now=now, reason=reason)
            closed += 1
    return closed


# --- conversation ---------------------------------------------------------------------------------


def _comment(
    ticket: Ticket, *, author: User | None, body: str, is_public: bool, now: datetime, author_name: str = ""
) -> Comment:
    comment = Comment.objects.create(
        ticket=ticket,
        author=author,
        author_name=(author.display_name if author else (author_name or "System"))[:200],
        body=body,
        is_public=is_public,
        created_at=now,
    )
    scope_remember(("comment", comment.pk), comment)  # for the event's subscribers, which would read it again
    event_write(
        ticket=ticket,
        event_type=TicketEventType.COMMENT_ADDED,
        actor=author,
        now=now,
        is_public=is_public,
        data={
            "comment_id": comment.pk,
            "public": is_public,
            "by_agent": author is not None and user_is_agent(author),
            "body_sha256": hashlib.sha256(body.encode()).hexdigest(),
            "length": len(body),
        },
    )
    return comment


@service_atomic
def comment_add(
    *,
    ticket: Ticket,
    author: User | None,
    body: str,
    is_public: bool,
    files: Iterable[File] = (),
    author_name: str = "",
    now: datetime | None = None,
) -> Comment:
    """A public reply or an internal work note, with optional files. A customer's comment is always
    public; it resumes a ticket that was pending on the customer. `author_name` names the writer of a
    comment with no author (mail from an unverified sender)."""
    now = _now(now)
    files = list(files)
    body = (body or "").strip()
    if not body and not files:
        raise DomainError("A comment needs text or a file.", details={"body": ["This field may not be blank."]})
    _lock(ticket)
    agent = author is not None and user_is_agent(author)
    if author is not None and not permissions.can_comment(author, ticket, internal=not is_public):
        raise PermissionDenied("You may not add this comment to the ticket.")
    comment = _comment(
        ticket, author=author, body=body or "(files attached)", is_public=is_public, now=now, author_name=author_name
    )
    for f in files:
        _attachment(ticket, uploaded_by=author, upload=f, comment=comment, is_public=is_public, now=now)
    fields = []
    if agent and is_public and ticket.first_response_at is None:
        ticket.first_response_at = now
        fields.append("first_response_at")
    _save(ticket, fields, now, bump_version=False)
    if (
        author is not None
        and not agent
        and ticket.status == TicketStatus.PENDING
        and ticket.pending_reason == PendingReason.AWAITING_CUSTOMER
    ):
        _transition(ticket, actor=author, to_status=TicketStatus.IN_PROGRESS, now=now, reason="customer replied")
    return comment


_UNSAFE_FILENAME = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]+")


def clean_filename(name: str) -> str:
    """A display name safe to offer on download: no path, no control or reserved characters."""
    name = unicodedata.normalize("NFC", PurePosixPath((name or "").replace("\\", "/")).name)
    name = _UNSAFE_FILENAME.sub("_", name).strip(" .")
    return (name or "attachment")[-200:]


def _attachment(
    ticket: Ticket,
    *,
    uploaded_by: User | None,
    upload: File,
    comment: Comment | None,
    is_public: bool,
    now: datetime,
) -> Attachment:
    limit = settings.ITSM_MAX_ATTACHMENT_BYTES
    size = upload.size
    if size is None or size > limit:
        raise AttachmentRejected(
            f"{clean_filename(upload.name)} is {size or 'an unknown number of'} bytes; the limit is {limit} bytes.",
            details={"file": [f"larger than {limit} bytes"]},
        )
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    filename = clean_filename(upload.name)
    content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    attachment = Attachment(
        ticket=ticket,
        comment=comment,
        filename=filename,
        content_type=content_type,
        size=size,
        sha256=digest.hexdigest(),
        is_public=is_public,
        uploaded_by=uploaded_by,
        created_at=now,
    )
    attachment.file.save(filename, upload, save=False)
    attachment.save()
    event_write(
        ticket=ticket,
        event_type=TicketEventType.ATTACHMENT_ADDED,
        actor=uploaded_by,
        now=now,
        is_public=is_public,
        data={
            "attachment_id": attachment.pk,
            "filename": filename,
            "size": size,
            "sha256": attachment.sha256,
            "public": is_public,
        },
    )
    return attachment


@service_atomic
def attachment_add(
    *,
    ticket: Ticket,
    uploaded_by: User | None,
    upload: File,
    is_public: bool = True,
    now: datetime | None = None,
) -> Attachment:
    now = _now(now)
    _lock(ticket)
    if uploaded_by is not None and not permissions.can_comment(uploaded_by, ticket, internal=not is_public):
        raise PermissionDenied("You may not add files to this ticket.")
    attachment = _attachment(ticket, uploaded_by=uploaded_by, upload=upload, comment=None, is_public=is_public, now=now)
    _save(ticket, [], now, bump_version=False)
    return attachment


# --- watchers and links ---------------------------------------------------------------------------


@service_atomic
def watcher_add(*, ticket: Ticket, user: User, actor: User | None, now: datetime | None = None) -> Ticket:
    _require_agent(actor)
    now = _now(now)
    _lock(ticket)
    if user.pk == ticket.requester_id or ticket.watchers.filter(pk=user.pk).exists():
        return ticket
    ticket.watchers.add(user)
    _save(ticket, [], now, bump_version=False)
    event_write(
        ticket=ticket, event_type=TicketEventType.WATCHER_ADDED, actor=actor, now=now, data={"user": _event_value(user)}
    )
    return ticket


@service_atomic
def watcher_remove(*, ticket: Ticket, user: User, actor: User | None, now: datetime | None = None) -> Ticket:
    _require_agent(actor)
    now = _now(now)
    _lock(ticket)
    if not ticket.watchers.filter(pk=user.pk).exists():
        return ticket
    ticket.watchers.remove(user)
    _save(ticket, [], now, bump_version=False)
    event_write(
        ticket=ticket,
        event_type=TicketEventType.WATCHER_REMOVED,
        actor=actor,
        now=now,
        data={"user": _event_value(user)},
    )
    return ticket


def _parent_id(ticket_id: int) -> int | None:
    return (
        TicketLink.objects.filter(kind=LinkKind.PARENT_OF, target_id=ticket_id)
        .values_list("source_id", flat=True)
        .first()
    )


@service_atomic
def ticket_link(
    *, source: Ticket, target: Ticket, kind: str, actor: User | None, now: datetime | None = None
) -> TicketLink:
    """Link two tickets: `source` parent of / duplicate of / related to / caused by `target`.
    Parent/child cycles are refused (parent links are serialized by one lock row, so two concurrent
    links cannot close a cycle together)."""
    _require_agent(actor)
    now = _now(now)
    if kind not in LinkKind.values:
        raise InvalidLink(f"Unknown link kind {kind!r}; use one of {', '.join(LinkKind.values)}.")
    if source.pk == target.pk:
        raise InvalidLink("A ticket cannot be linked to itself.")
    for t in sorted([source, target], key=lambda t: t.pk):
        _lock(t)
    if kind == LinkKind.PARENT_OF:
        TicketNumberCounter.objects.get_or_create(name=PARENT_LINK_LOCK)
        TicketNumberCounter.objects.select_for_update().get(name=PARENT_LINK_LOCK)
        if _parent_id(target.pk) is not None:
            raise InvalidLink(f"{target.number} already has a parent ticket.")
        seen: set[int] = set()
        node: int | None = source.pk
        while node is not None and node not in seen:
            if node == target.pk:
                raise InvalidLink(
                    f"{source.number} cannot be the parent of {target.number}: "
                    f"{target.number} is already one of its ancestors (a cycle)."
                )
            seen.add(node)
            node = _parent_id(node)
    if kind == LinkKind.DUPLICATE_OF:
        if TicketLink.objects.filter(source=source, kind=LinkKind.DUPLICATE_OF).exists():
            raise InvalidLink(f"{source.number} is already marked as a duplicate.")
        if TicketLink.objects.filter(source=target, target=source, kind=LinkKind.DUPLICATE_OF).exists():
            raise InvalidLink(f"{target.number} is already a duplicate of {source.number}.")
    if TicketLink.objects.filter(source=source, target=target, kind=kind).exists():
        raise InvalidLink(f"{source.number} is already linked to {target.number} that way.")
    link = TicketLink.objects.create(source=source, target=target, kind=kind, created_by=actor, created_at=now)
    for this, other, direction in ((source, target, "out"), (target, source, "in")):
        _save(this, [], now, bump_version=False)
        event_write(
            ticket=this,
            event_type=TicketEventType.LINK_ADDED,
            actor=actor,
            now=now,
            data={"link_id": link.pk, "kind": kind, "direction": direction, "other": other.number},
        )
    return link


@service_atomic
def ticket_unlink(*, link: TicketLink, actor: User | None, now: datetime | None = None) -> None:
    _require_agent(actor)
    now = _now(now)
    source, target = link.source, link.target
    for t in sorted([source, target], key=lambda t: t.pk):
        _lock(t)
    data = {"link_id": link.pk, "kind": link.kind}
    link.delete()
    for this, other, direction in ((source, target, "out"), (target, source, "in")):
        _save(this, [], now, bump_version=False)
        event_write(
            ticket=this,
            event_type=TicketEventType.LINK_REMOVED,
            actor=actor,
            now=now,
            data={**data, "direction": direction, "other": other.number},
        )


# --- events recorded for other apps ---------------------------------------------------------------


@transaction.atomic(savepoint=False)  # called inside other services' transactions: no savepoint round trips
def ticket_event_record(
    *,
    ticket: Ticket,
    event_type: str,
    actor: User | None = None,
    data: dict[str, Any] | None = None,
    is_public: bool | None = None,
    now: datetime | None = None,
):
    """Append an event that changes no ticket field (a notification sent, an SLA warning...), under the
    ticket's lock so that its hash chain stays linear. Other apps write to the audit trail through this."""
    now = _now(now)
    _lock(ticket)
    return event_write(ticket=ticket, event_type=event_type, actor=actor, data=data, is_public=is_public, now=now)
