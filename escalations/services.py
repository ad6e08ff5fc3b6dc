"""Writes of the escalation domain.

- The schedule (`escalation_ticket_refresh`, called by the ticket subscriber escalations/subscribers.py, and in
  bulk after an SLA recompute or a path edit): for each ticket, which path applies, which of its levels have
  not fired yet and when the next one falls due (escalations/thresholds.py, in business time); the
  escalations that no longer stand are closed there and then (de-escalation: clock met, update sent, ticket
  resolved). Nothing fires in a subscriber: firing is the scan's.
- The scan (`escalation_scan_due`, beat every minute, and `escalation_check` right after an SLA warning or
  breach): reads only the tickets whose indexed `next_check_at` has passed, locks them (skipping any another
  transaction holds), re-derives their facts under the lock and fires the levels that are due. Each firing
  inserts an Escalation row whose unique (ticket, level, key) makes it happen once, whatever the number of
  scanners or retries; only the transaction that inserted it writes the ESCALATED event and sends the
  notifications (in-app and through the outbox) and performs the level's functional or vendor action.
- Functional escalation by hand or by a level (`escalation_functional`): move the ticket to a more
  specialised group (tickets.services.ticket_assign: a hop, with the reason) or add that group as
  collaborating; the previous group is informed.
- Vendor escalation: a level's vendor action and vendor cases are in escalations/vendors.py.
- Major incidents (`major_incident_declare`, `major_incident_link_child`, `major_incident_broadcast`).
- Configuration of paths (`path_save`), versioned and logged.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from accounts.roles import user_is_agent
from catalog.models import ResolverGroup
from communications.models import OutboundEmail, TicketCommunication
from escalations.choices import (
    CLOCK_KINDS,
    EscalationKind,
    FunctionalMode,
    NotificationKind,
    ThresholdKind,
)
from escalations.models import (
    Escalation,
    EscalationLevel,
    EscalationPath,
    EscalationSchedule,
    MajorIncident,
    Notification,
    TicketCollaboration,
    Vendor,
)
from escalations.selectors import (
    due_ticket_ids,
    levels_by_id,
    path_set_load,
    service_managers,
    ticket_states,
)
from escalations.thresholds import Due, PathSpec, levels_due, path_select, why_not_live
from itsm.lib.config_audit import config_change_log, describe_changes
from itsm.lib.errors import DomainError, PermissionDenied
from sla.choices import SlaMetric
from tickets.choices import OPEN_STATUSES, LinkKind, Priority, TicketEventType
from tickets.choices import TicketStatus as S
from tickets.events import event_write
from tickets.models import Ticket, TicketLink

logger = logging.getLogger(__name__)

CONFIG_PERMISSION = "tickets.manage_configuration"
SCAN_BATCH = 100
AUTOMATED_HEADERS = {"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All"}

# Tickets whose levels are being fired by this thread: the subscriber leaves their schedule to the firing code,
# which recomputes it once its actions (a group move, a vendor case) are done.
_firing = threading.local()


def _firing_ids() -> set[int]:
    ids = getattr(_firing, "ids", None)
    if ids is None:
        ids = _firing.ids = set()
    return ids


def _now(now: datetime | None) -> datetime:
    return now or timezone.now()


def _ref(obj) -> dict[str, Any] | None:
    return {"id": obj.pk, "name": str(obj)} if obj is not None else None


def _require_agent(actor) -> None:
    if actor is not None and not user_is_agent(actor):
        raise PermissionDenied("Only service desk agents, resolvers and service managers may do this.")


def _require_manager(actor) -> None:
    if actor is not None and not actor.has_perm(CONFIG_PERMISSION):
        raise PermissionDenied("Only a Service Manager may configure escalations and vendors.")


def _lock_ticket(ticket: Ticket) -> Ticket:
    ticket.refresh_from_db(from_queryset=Ticket.objects.select_for_update())
    return ticket


# --- notifications: in the app and through the outbox ------------------------------------------------------


@dataclass(frozen=True)
class Recipient:
    user: User | None
    email: str
    why: str

    @property
    def name(self) -> str:
        return self.user.display_name if self.user is not None else self.email


def _add(out: list[Recipient], user: User | None, why: str, email: str = "") -> None:
    if user is not None and not user.is_active:
        return
    address = (email or (user.email if user else "") or "").strip()
    for r in out:
        if (user is not None and r.user is not None and r.user.pk == user.pk) or (
            address and r.email.lower() == address.lower()
        ):
            return
    if user is None and not address:
        return
    out.append(Recipient(user, address, why))


def _group_informed(group: ResolverGroup | None, why: str, out: list[Recipient] | None = None) -> list[Recipient]:
    """A group is informed through its manager, its escalation contact and its team mailbox."""
    out = out if out is not None else []
    if group is None:
        return out
    _add(out, group.manager, f"{why} (manager)")
    _add(out, group.escalation_contact, f"{why} (escalation contact)")
    if group.email:
        _add(out, None, f"{why} (team mailbox)", email=group.email)
    return out


def notify(
    *,
    recipients: Sequence[Recipient],
    ticket: Ticket | None,
    kind: str,
    title: str,
    body: str,
    now: datetime,
    url: str = "",
) -> list[dict[str, str]]:
    """One in-app notification per person and one outbox mail per address (never two to one address). Runs in
    the caller's transaction (which holds the ticket's lock when there is a ticket): nothing is sent unless it
    commits. Returns who was told, for the audit trail."""
    from communications.services import outbound_email_queue
    from mail.loops import own_addresses

    path = url or (reverse("tickets:detail", args=[ticket.number]) if ticket is not None else "")
    url = settings.SITE_URL + path if path.startswith("/") else path
    people = [r for r in recipients if r.user is not None]
    Notification.objects.bulk_create(
        Notification(
            user=r.user, ticket=ticket, kind=kind, title=title[:255], body=body, url=path[:500], created_at=now
        )
        for r in people
    )
    own = own_addresses()
    subject = f"[{ticket.number}] {title}" if ticket is not None else title
    sent: set[str] = set()
    for r in recipients:
        address = r.email.strip()
        if not address or address.lower() in own or address.lower() in sent:
            continue
        sent.add(address.lower())
        outbound_email_queue(
            ticket=ticket,
            kind=OutboundEmail.Kind.INTERNAL,
            to=[address],
            subject=subject,
            body_text=f"{body}\n\n{url}\n" if url else body,
            headers=dict(AUTOMATED_HEADERS),
            now=now,
        )
    return [{"name": r.name, "email": r.email, "why": r.why} for r in recipients]


def notifications_mark_read(*, user: User, notification_id: int | None = None, now: datetime | None = None) -> str:
    """Mark one of the user's notifications read (returns its link), or all of them."""
    unread = Notification.objects.filter(user=user, read_at__isnull=True)
    if notification_id is None:
        unread.update(read_at=_now(now))
        return ""
    unread.filter(pk=notification_id).update(read_at=_now(now))
    return Notification.objects.filter(user=user, pk=notification_id).values_list("url", flat=True).first() or ""


# --- the schedule, the check, firing and de-escalation ------------------------------------------------------


def _deescalate(ticket: Ticket, stale: list[tuple[Escalation, str]], now: datetime) -> None:
    for esc, why in stale:
        esc.closed_at, esc.closed_reason = now, why
    Escalation.objects.bulk_update([e for e, _ in stale], ["closed_at", "closed_reason"])
    event_write(
        ticket=ticket,
        event_type=TicketEventType.DEESCALATED,
        actor=None,
        now=now,
        data={
            "escalations": [
                {"id": e.pk, "level": e.level_number, "name": e.level_name, "label": e.label, "reason": why}
                for e, why in stale
            ]
        },
    )


def _level_recipients(ticket: Ticket, level: EscalationLevel) -> list[Recipient]:
    out: list[Recipient] = []
    if level.notify_assignee and ticket.assignee_id:
        _add(out, ticket.assignee, "assignee")
    if level.notify_group_manager:
        _group_informed(ticket.resolver_group, "group", out)
    if level.notify_service_managers:
        for user in service_managers():
            _add(out, user, "Service Manager")
    if level.contact_id:
        _add(out, level.contact, "management contact")
    return out


def _level_kinds(level: EscalationLevel) -> list[str]:
    kinds = []
    if level.notify_assignee or level.notify_group_manager or level.notify_service_managers or level.contact_id:
        kinds.append(EscalationKind.HIERARCHICAL.value)
    if level.functional_group_id:
        kinds.append(EscalationKind.FUNCTIONAL.value)
    if level.vendor_id:
        kinds.append(EscalationKind.VENDOR.value)
    return kinds


def _fire(ticket: Ticket, path: PathSpec, due: Due, level: EscalationLevel, now: datetime) -> Escalation | None:
    """Fire one level, once: the Escalation insert is the gate (IntegrityError: someone else fired it)."""
    threshold = due.rule.description
    try:
        with transaction.atomic():
            esc = Escalation.objects.create(
                ticket=ticket,
                path_id=path.id,
                path_name=path.name,
                level=level,
                level_number=level.number,
                level_name=level.name,
                kinds=_level_kinds(level),
                key=due.key,
                metric=due.metric,
                cycle=due.cycle,
                threshold=threshold,
                crossed_at=due.at,
                fired_at=now,
                reason=f"{threshold} (path {path.name})",
            )
    except IntegrityError:
        return None
    recipients = _level_recipients(ticket, level)
    planned = [r.why for r in recipients]
    if level.functional_group_id:
        planned.append(
            f"{FunctionalMode(level.functional_mode or FunctionalMode.MOVE).label}: {level.functional_group}"
        )
    if level.vendor_id:
        planned.append(f"vendor escalation to {level.vendor}")
    esc.event = event_write(
        ticket=ticket,
        event_type=TicketEventType.ESCALATED,
        actor=None,
        now=now,
        data={
            "escalation_id": esc.pk,
            "level": level.number,
            "level_name": level.name,
            "path": {"id": path.id, "name": path.name},
            "kinds": esc.kinds,
            "threshold": threshold,
            "key": due.key,
            "crossed_at": due.at,
            "actions": planned,
        },
    )
    group = ticket.resolver_group
    title = f"Escalated to level {level.number} ({level.name}): {ticket.title}"
    body = (
        f'{ticket.number} "{ticket.title}" reached level {level.number} of the escalation path {path.name}: '
        f"{threshold}.\n\nPriority: {ticket.priority or '-'}\nStatus: {ticket.get_status_display()}\n"
        f"Group: {group or '-'}\nAssignee: {ticket.assignee.display_name if ticket.assignee_id else '-'}"
    )
    actions: dict[str, Any] = {
        "notified": notify(
            recipients=recipients, ticket=ticket, kind=NotificationKind.ESCALATION, title=title, body=body, now=now
        )
    }
    reason = f"level {level.number} ({level.name}) of {path.name}: {threshold}"
    if level.functional_group_id:
        try:
            with transaction.atomic():  # a refused action leaves nothing half done; the escalation stands
                actions["functional"] = _functional(
                    ticket,
                    group=level.functional_group,
                    mode=level.functional_mode or FunctionalMode.MOVE,
                    reason=f"Functional escalation, {reason}",
                    actor=None,
                    escalation=esc,
                    now=now,
                )
        except DomainError as exc:  # e.g. the group was deactivated: the escalation stands, the failure is shown
            actions["functional"] = {"error": exc.message}
    if level.vendor_id:
        try:
            from escalations.vendors import vendor_escalate

            with transaction.atomic():
                actions["vendor"] = vendor_escalate(ticket, vendor=level.vendor, reason=reason, escalation=esc, now=now)
        except DomainError as exc:
            actions["vendor"] = {"error": exc.message}
    esc.actions = actions
    esc.save(update_fields=["event", "actions"])
    return esc


def _escalations_of(ticket_ids: Sequence[int]) -> tuple[dict[int, set[tuple[int, str]]], dict[int, list[Escalation]]]:
    fired: dict[int, set[tuple[int, str]]] = defaultdict(set)
    active: dict[int, list[Escalation]] = defaultdict(list)
    for esc in Escalation.objects.filter(ticket_id__in=ticket_ids).only(
        "pk", "ticket_id", "level_id", "key", "metric", "cycle", "closed_at", "level_number", "level_name", "kinds"
    ):
        if esc.level_id is not None:
            fired[esc.ticket_id].add((esc.level_id, esc.key))
        if esc.closed_at is None:
            active[esc.ticket_id].append(esc)
    return fired, active


def _process(tickets: Sequence[Ticket], *, now: datetime, fire: bool, new: bool = False) -> int:
    """De-escalate what no longer stands, fire what is due (when `fire`), store each ticket's next check.
    The caller holds the tickets' row locks. `new`: the tickets were created in this transaction (no
    escalation or schedule of theirs exists yet). Returns how many levels fired."""
    if not tickets:
        return 0
    paths = path_set_load()
    ids = [t.pk for t in tickets]
    fired_keys, active = ({}, {}) if new else _escalations_of(ids)
    if not paths and not any(active.values()) and not fire:
        if not new:
            EscalationSchedule.objects.filter(ticket_id__in=ids, next_check_at__isnull=False).update(
                next_check_at=None, path=None, updated_at=now
            )
        return 0
    states = ticket_states(tickets)
    schedules: list[EscalationSchedule] = []
    fired_tickets: list[Ticket] = []
    fired = 0
    levels: dict[int, EscalationLevel] = {}
    for ticket in tickets:
        state = states[ticket.pk]
        stale = []
        for esc in active.get(ticket.pk, []):
            why = why_not_live(
                metric=esc.metric, cycle=esc.cycle, key=esc.key, ticket=state.facts, ticket_status=state.status
            )
            if why:
                stale.append((esc, why))
        if stale:
            _deescalate(ticket, stale, now)
        path = path_select(paths, policy_id=state.policy_id, group_id=state.group_id, priority=state.priority)
        next_at = None
        if path is not None:
            keys = fired_keys.get(ticket.pk, set())
            for due in levels_due(path.levels, state.facts):
                if (due.rule.id, due.key) in keys:
                    continue
                if fire and due.at <= now:
                    if due.rule.id not in levels:
                        levels.update(levels_by_id([r.id for r in path.levels]))
                    _firing_ids().add(ticket.pk)
                    try:
                        if _fire(ticket, path, due, levels[due.rule.id], now) is not None:
                            fired += 1
                    finally:
                        _firing_ids().discard(ticket.pk)
                    keys.add((due.rule.id, due.key))
                    if ticket not in fired_tickets:
                        fired_tickets.append(ticket)
                elif next_at is None or due.at < next_at:
                    next_at = due.at
        schedules.append(
            EscalationSchedule(
                ticket_id=ticket.pk, path_id=path.id if path else None, next_check_at=next_at, updated_at=now
            )
        )
    EscalationSchedule.objects.bulk_create(
        schedules,
        update_conflicts=True,
        unique_fields=["ticket"],
        update_fields=["path", "next_check_at", "updated_at"],
    )
    if fired_tickets:  # their actions changed them (a group, a status): the next check from their new state
        for t in fired_tickets:
            t.refresh_from_db()
        _process(fired_tickets, now=now, fire=False)
    return fired


def escalation_ticket_refresh(
    *, ticket: Ticket, now: datetime | None = None, check_soon: bool = False, new: bool = False
) -> None:
    """Recompute one ticket's schedule and de-escalate what no longer stands (the ticket subscriber calls this
    inside the ticket's transaction, under its lock). With `check_soon`, a level that is due already is
    checked right after commit (an SLA warning or breach, an overdue update, a reopen) instead of at the next
    beat."""
    if ticket.pk in _firing_ids():
        return
    now = _now(now)
    _process([ticket], now=now, fire=False, new=new)
    if check_soon:
        due = EscalationSchedule.objects.filter(ticket=ticket, next_check_at__lte=now).exists()
        if due:
            ticket_id, at = ticket.pk, now.isoformat()

            def enqueue() -> None:
                from escalations.tasks import escalation_check as escalation_check_task

                try:
                    escalation_check_task.delay(ticket_id, at)
                except Exception:  # broker down: the every-minute scan fires it
                    logger.warning("Could not enqueue the escalation check of %s", ticket_id, exc_info=True)

            transaction.on_commit(enqueue)


def escalation_schedules_refresh(*, ticket_ids: Sequence[int], now: datetime | None = None) -> None:
    """Recompute the schedules of many tickets (after an SLA recompute changed their clocks; the caller holds
    their row locks)."""
    now = _now(now)
    for i in range(0, len(ticket_ids), 500):
        _process(list(Ticket.objects.filter(pk__in=ticket_ids[i : i + 500]).order_by("pk")), now=now, fire=False)


def escalation_check(*, ticket_id: int, now: datetime | None = None) -> int:
    """Fire what is due for one ticket now (the task enqueued after an SLA warning or breach)."""
    now = _now(now)
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().filter(pk=ticket_id).first()
        if ticket is None:
            return 0
        return _process([ticket], now=now, fire=True)


RETRY_AFTER = timedelta(minutes=10)


def _scan_batch(ids: Sequence[int], now: datetime, skipped: set[int]) -> int:
    """One transaction for up to SCAN_BATCH due tickets: lock them (skipping those another transaction holds: a
    writer or another scanner; they are due again at the next run), re-read their facts under the locks, fire
    what is due, store their next checks. A ticket that fails (a bug, bad data) does not stop the others: the
    batch is retried ticket by ticket, and the failing one is logged and looked at again RETRY_AFTER later."""
    with transaction.atomic():
        tickets = list(Ticket.objects.select_for_update(skip_locked=True).filter(pk__in=ids).order_by("pk"))
        skipped.update(set(ids) - {t.pk for t in tickets})
        try:
            with transaction.atomic():
                return _process(tickets, now=now, fire=True)
        except (OperationalError, InterfaceError):
            raise
        except Exception:
            logger.exception("Escalation scan: a batch failed; its tickets are checked one by one")
        fired = 0
        for ticket in tickets:
            ticket.refresh_from_db()
            try:
                with transaction.atomic():
                    fired += _process([ticket], now=now, fire=True)
            except (OperationalError, InterfaceError):
                raise
            except Exception:
                logger.exception("Escalation scan: ticket %s failed; it is checked again later", ticket.pk)
                EscalationSchedule.objects.filter(ticket=ticket).update(next_check_at=now + RETRY_AFTER)
        return fired


def escalation_scan_due(*, now: datetime | None = None, limit: int = 1000, max_rounds: int = 10) -> int:
    """Fire every level due by `now` and record the vendor targets missed by then. Safe with two beat
    processes or a retried task (row locks with SKIP LOCKED, and the unique key of each firing). Returns how
    many levels fired."""
    now = _now(now)
    fired = 0
    skipped: set[int] = set()  # tickets found locked: left for the next run, not read again in this one
    for _ in range(max_rounds):
        due = due_ticket_ids(now=now, limit=limit, skip=skipped)
        if not due:
            break
        for i in range(0, len(due), SCAN_BATCH):
            fired += _scan_batch(due[i : i + SCAN_BATCH], now, skipped)
        if len(due) < limit:
            break
    from escalations.vendors import vendor_cases_check_due

    vendor_cases_check_due(now=now)
    return fired


@transaction.atomic
def escalation_close(*, escalation: Escalation, actor: User | None, reason: str, now: datetime | None = None) -> None:
    """A Service Manager de-escalates by hand (recorded with the reason)."""
    _require_manager(actor)
    if not (reason or "").strip():
        raise DomainError("Say why the escalation is closed.", details={"reason": ["required"]})
    now = _now(now)
    ticket = _lock_ticket(escalation.ticket)
    esc = Escalation.objects.select_for_update().get(pk=escalation.pk)
    if esc.closed_at is not None:
        return
    esc.closed_at, esc.closed_reason = now, "manual"
    esc.save(update_fields=["closed_at", "closed_reason"])
    event_write(
        ticket=ticket,
        event_type=TicketEventType.DEESCALATED,
        actor=actor,
        now=now,
        data={
            "escalations": [{"id": esc.pk, "level": esc.level_number, "name": esc.level_name, "label": esc.label}],
            "reason": "manual",
            "note": reason.strip(),
        },
    )


# --- functional escalation ----------------------------------------------------------------------------------


def _functional(
    ticket: Ticket,
    *,
    group: ResolverGroup,
    mode: str,
    reason: str,
    actor: User | None,
    escalation: Escalation | None,
    now: datetime,
) -> dict[str, Any]:
    from tickets.services import ticket_assign

    if not group.is_active:
        raise DomainError(f"{group} is not an active group.")
    previous = ticket.resolver_group
    previous_assignee = ticket.assignee
    link = reverse("tickets:detail", args=[ticket.number])
    if mode == FunctionalMode.MOVE:
        if previous is not None and previous.pk == group.pk:
            return {"mode": mode, "group": group.name, "skipped": f"the ticket is already with {group}"}
        ticket_assign(ticket=ticket, actor=actor, resolver_group=group, reason=reason, now=now)
        told_before = _group_informed(previous, f"previous group {previous}") if previous else []
        if previous_assignee is not None:
            _add(told_before, previous_assignee, "previous assignee")
        notified = notify(
            recipients=told_before,
            ticket=ticket,
            kind=NotificationKind.FUNCTIONAL,
            title=f"Moved to {group} by a functional escalation: {ticket.title}",
            body=f'{ticket.number} "{ticket.title}" left {previous or "no group"} for {group}.\nReason: {reason}',
            now=now,
            url=link,
        )
        notified += notify(
            recipients=_group_informed(group, f"new group {group}"),
            ticket=ticket,
            kind=NotificationKind.FUNCTIONAL,
            title=f"Escalated to {group}: {ticket.title}",
            body=f'{ticket.number} "{ticket.title}" was moved to {group} from {previous or "no group"}.\n'
            f"Priority: {ticket.priority or '-'}\nReason: {reason}",
            now=now,
            url=link,
        )
        return {"mode": mode, "from": previous.name if previous else None, "to": group.name, "notified": notified}
    if previous is not None and previous.pk == group.pk:
        raise DomainError(f"{group} owns the ticket already.")
    try:
        with transaction.atomic():
            collab = TicketCollaboration.objects.create(
                ticket=ticket, group=group, reason=reason, added_by=actor, added_at=now, escalation=escalation
            )
    except IntegrityError:
        return {"mode": mode, "group": group.name, "skipped": f"{group} collaborates on the ticket already"}
    event_write(
        ticket=ticket,
        event_type=TicketEventType.COLLABORATION_ADDED,
        actor=actor,
        now=now,
        data={"collaboration_id": collab.pk, "group": _ref(group), "owner": _ref(previous), "reason": reason},
    )
    owner = _group_informed(previous, f"owning group {previous}") if previous else []
    if previous_assignee is not None:
        _add(owner, previous_assignee, "assignee")
    notified = notify(
        recipients=owner,
        ticket=ticket,
        kind=NotificationKind.FUNCTIONAL,
        title=f"{group} now collaborates on {ticket.number}: {ticket.title}",
        body=f'{group} was added to {ticket.number} "{ticket.title}"; {previous or "no group"} keeps it.\n'
        f"Reason: {reason}",
        now=now,
        url=link,
    )
    helpers = _group_informed(group, f"collaborating group {group}")
    for member in group.members.filter(is_active=True).order_by("pk"):
        _add(helpers, member, f"member of {group}")
    notified += notify(
        recipients=helpers,
        ticket=ticket,
        kind=NotificationKind.FUNCTIONAL,
        title=f"Your help is asked on {ticket.number}: {ticket.title}",
        body=f'{group} was added as a collaborating group on {ticket.number} "{ticket.title}" '
        f"(owned by {previous or 'no group'}).\nPriority: {ticket.priority or '-'}\nReason: {reason}",
        now=now,
        url=link,
    )
    return {"mode": mode, "owner": previous.name if previous else None, "added": group.name, "notified": notified}


@transaction.atomic
def escalation_functional(
    *,
    ticket: Ticket,
    actor: User,
    group: ResolverGroup,
    mode: str,
    reason: str,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Escalation:
    """Functional escalation by hand: move the ticket to a more specialised group, or add that group as a
    collaborating group. A reason is required; the ticket's history records it (ESCALATED, and ASSIGNED or
    COLLABORATION_ADDED), and the previous group is informed."""
    from tickets.exceptions import StaleVersion

    _require_agent(actor)
    if actor is None:
        raise PermissionDenied("A functional escalation by hand needs a person.")
    if mode not in FunctionalMode.values:
        raise DomainError(f"Unknown mode {mode!r}.", details={"mode": ["invalid"]})
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("Say why the ticket is escalated (a reason is required).", details={"reason": ["required"]})
    now = _now(now)
    ticket = _lock_ticket(ticket)
    if expected_version is not None and int(expected_version) != ticket.version:
        raise StaleVersion(ticket.number, int(expected_version), ticket.version)
    if ticket.status not in OPEN_STATUSES:
        raise DomainError(f"{ticket.number} is {ticket.get_status_display().lower()}: it cannot be escalated.")
    esc = Escalation.objects.create(
        ticket=ticket,
        kinds=[EscalationKind.FUNCTIONAL.value],
        key=f"hand:functional:{now.isoformat()}",
        threshold=f"by hand: {FunctionalMode(mode).label.lower()} {group}",
        fired_at=now,
        reason=reason,
        actor=actor,
    )
    esc.event = event_write(
        ticket=ticket,
        event_type=TicketEventType.ESCALATED,
        actor=actor,
        now=now,
        data={
            "escalation_id": esc.pk,
            "level": 0,
            "kinds": esc.kinds,
            "functional": {"mode": mode, "group": _ref(group), "from": _ref(ticket.resolver_group)},
            "reason": reason,
        },
    )
    esc.actions = {
        "functional": _functional(ticket, group=group, mode=mode, reason=reason, actor=actor, escalation=esc, now=now)
    }
    esc.save(update_fields=["event", "actions"])
    return esc


@transaction.atomic
def collaboration_end(*, collaboration: TicketCollaboration, actor: User, now: datetime | None = None) -> None:
    """The collaborating group's help is no longer needed: it stops seeing the ticket (unless it owns it)."""
    _require_agent(actor)
    now = _now(now)
    ticket = _lock_ticket(collaboration.ticket)
    collab = TicketCollaboration.objects.select_for_update().get(pk=collaboration.pk)
    if collab.removed_at is not None:
        return
    collab.removed_at, collab.removed_by = now, actor
    collab.save(update_fields=["removed_at", "removed_by"])
    event_write(
        ticket=ticket,
        event_type=TicketEventType.COLLABORATION_ENDED,
        actor=actor,
        now=now,
        data={"collaboration_id": collab.pk, "group": _ref(collab.group)},
    )


# --- major incidents ----------------------------------------------------------------------------------------


@transaction.atomic
def major_incident_declare(*, ticket: Ticket, actor: User, summary: str, now: datetime | None = None) -> MajorIncident:
    """An agent declares the ticket a major incident: recorded in its history, and the whole hierarchy (the
    group's manager and escalation contact, every Service Manager, the named contacts of the ticket's
    escalation path) is notified at once."""
    if actor is None or not user_is_agent(actor):
        raise PermissionDenied("Only agents may declare a major incident.")
    summary = (summary or "").strip()
    if not summary:
        raise DomainError("Describe the major incident (its impact).", details={"summary": ["required"]})
    now = _now(now)
    ticket = _lock_ticket(ticket)
    if ticket.status not in OPEN_STATUSES:
        raise DomainError(
            f"{ticket.number} is {ticket.get_status_display().lower()}: it cannot become a major incident."
        )
    if MajorIncident.objects.filter(ticket=ticket).exists():
        raise DomainError(f"{ticket.number} is a major incident already.")
    recipients = _group_informed(ticket.resolver_group, "group")
    for user in service_managers():
        _add(recipients, user, "Service Manager")
    schedule = EscalationSchedule.objects.filter(ticket=ticket).first()
    if schedule is not None and schedule.path_id:
        for level in EscalationLevel.objects.filter(path_id=schedule.path_id, contact__isnull=False).select_related(
            "contact"
        ):
            _add(recipients, level.contact, f"management contact (level {level.number})")
    esc = Escalation.objects.create(
        ticket=ticket,
        kinds=[EscalationKind.MAJOR_INCIDENT.value, EscalationKind.HIERARCHICAL.value],
        key=f"hand:major:{now.isoformat()}",
        threshold="declared a major incident",
        fired_at=now,
        reason=summary,
        actor=actor,
    )
    major = MajorIncident.objects.create(
        ticket=ticket, summary=summary, declared_by=actor, declared_at=now, escalation=esc
    )
    esc.event = event_write(
        ticket=ticket,
        event_type=TicketEventType.MAJOR_INCIDENT_DECLARED,
        actor=actor,
        now=now,
        data={"escalation_id": esc.pk, "summary": summary, "notified": [r.why for r in recipients]},
    )
    esc.actions = {
        "notified": notify(
            recipients=recipients,
            ticket=ticket,
            kind=NotificationKind.MAJOR_INCIDENT,
            title=f"MAJOR INCIDENT declared: {ticket.title}",
            body=f'{actor.display_name} declared {ticket.number} "{ticket.title}" a major incident.\n\n{summary}\n\n'
            f"Priority: {ticket.priority or '-'}\nGroup: {ticket.resolver_group or '-'}",
            now=now,
        )
    }
    esc.save(update_fields=["event", "actions"])
    if ticket.priority != Priority.P1:
        from tickets.services import ticket_update

        ticket_update(
            ticket=ticket,
            actor=actor,
            data={"priority": Priority.P1, "priority_override_reason": f"major incident: {summary}"[:2000]},
            now=now,
        )
    return major


@transaction.atomic
def major_incident_link_child(
    *, major: MajorIncident, child: Ticket, actor: User, now: datetime | None = None
) -> TicketLink:
    """Link an incident to the major incident as its child (a parent-of link, both histories record it)."""
    from tickets.services import ticket_link

    if actor is None or not user_is_agent(actor):
        raise PermissionDenied("Only agents may link incidents to a major incident.")
    if child.pk == major.ticket_id:
        raise DomainError("A major incident cannot be its own child.")
    return ticket_link(source=major.ticket, target=child, kind=LinkKind.PARENT_OF, actor=actor, now=now)


def major_incident_broadcast(*, ticket: Ticket, actor: User | None, message: str, now: datetime | None = None) -> int:
    """A status update on a major incident goes to the requesters of every linked child too: one mail per
    requester (the first of their tickets carries it; it names the others), through the outbox, never to the
    people the update itself went to. Each of those tickets records that its customer was updated. Called by
    communications.services.status_update_send in its transaction. Returns how many mails were queued."""
    from communications.services import ticket_mail_queue

    major = MajorIncident.objects.filter(ticket=ticket).first()
    if major is None:
        return 0
    now = _now(now)
    children = list(
        Ticket.objects.filter(links_in__source=ticket, links_in__kind=LinkKind.PARENT_OF)
        .exclude(status=S.CANCELLED)
        .select_related("requester")
        .order_by("number")
    )
    already = {(ticket.requester.email or "").lower()} | {
        (w.email or "").lower() for w in ticket.watchers.all() if w.email
    }
    by_requester: dict[str, list[Ticket]] = defaultdict(list)
    for child in children:
        address = (child.requester.email or "").strip().lower()
        if address and address not in already:
            by_requester[address].append(child)
    queued = 0
    addresses = []
    for address, tickets in by_requester.items():
        first, others = tickets[0], tickets[1:]
        _lock_ticket(first)
        note = (
            f'\n\nThis update is about the major incident {ticket.number} "{ticket.title}", which affects your '
            f"request{'s' if others else ''} {', '.join(t.number for t in tickets)}."
        )
        outbound = ticket_mail_queue(
            ticket=first,
            kind=OutboundEmail.Kind.STATUS_UPDATE,
            automated=False,
            with_watchers=False,
            extra={"message": message.strip() + note},
            now=now,
        )
        if outbound is not None:
            queued += 1
            addresses.append(address)
            if others:  # they heard about those tickets too
                TicketCommunication.objects.filter(ticket__in=others).update(
                    last_customer_update_at=now, status_update_due_since=None
                )
    _lock_ticket(ticket)
    MajorIncident.objects.filter(pk=major.pk).update(broadcasts=major.broadcasts + 1)
    event_write(
        ticket=ticket,
        event_type=TicketEventType.MAJOR_INCIDENT_BROADCAST,
        actor=actor,
        now=now,
        data={"children": [c.number for c in children], "requesters": len(addresses), "mails": queued},
    )
    return queued


# --- configuration: paths ------------------------------------------------------------------------------------


@dataclass
class LevelInput:
    """One level as a Service Manager edits it."""

    number: int
    name: str
    kind: str
    metric: str = ""
    percent: int | None = None
    duration: timedelta | None = None
    count: int | None = None
    notify_assignee: bool = False
    notify_group_manager: bool = False
    notify_service_managers: bool = False
    contact: User | None = None
    functional_group: ResolverGroup | None = None
    functional_mode: str = ""
    vendor: Vendor | None = None


def _level_errors(level: LevelInput) -> list[str]:
    errors = []
    prefix = f"Level {level.number}"
    if level.kind not in ThresholdKind.values:
        return [f"{prefix}: unknown threshold {level.kind!r}."]
    if not level.name.strip():
        errors.append(f"{prefix}: give it a name.")
    if level.kind in CLOCK_KINDS and level.metric not in SlaMetric.values:
        errors.append(f"{prefix}: choose the SLA clock.")
    if level.kind == ThresholdKind.CLOCK_PERCENT and not (level.percent and 1 <= level.percent <= 1000):
        errors.append(f"{prefix}: a percentage from 1 to 1000.")
    if level.kind == ThresholdKind.BEFORE_TARGET and not (level.duration and level.duration > timedelta(0)):
        errors.append(f"{prefix}: how long before the target (more than zero).")
    if level.kind in (ThresholdKind.AFTER_TARGET, ThresholdKind.NO_UPDATE) and (
        level.duration is not None and level.duration < timedelta(0)
    ):
        errors.append(f"{prefix}: the time cannot be negative.")
    if level.kind == ThresholdKind.REOPENED and not (level.count and level.count >= 1):
        errors.append(f"{prefix}: how many reopens (1 or more).")
    if level.functional_group is not None and level.functional_mode not in FunctionalMode.values:
        errors.append(f"{prefix}: move the ticket to the group, or add the group?")
    acts = (
        level.notify_assignee,
        level.notify_group_manager,
        level.notify_service_managers,
        level.contact is not None,
        level.functional_group is not None,
        level.vendor is not None,
    )
    if not any(acts):
        errors.append(f"{prefix}: choose at least one action.")
    return errors


def _path_snapshot(p: EscalationPath) -> dict[str, Any]:
    if not p.pk:
        return {}
    return {
        "name": p.name,
        "position": p.position,
        "active": p.is_active,
        "priorities": p.priorities,
        "policies": sorted(str(x) for x in p.sla_policies.all()),
        "groups": sorted(str(g) for g in p.resolver_groups.all()),
        "levels": [
            f"L{lv.number} {lv.name}: {lv.kind} {lv.metric} {lv.percent or ''} {lv.duration or ''} {lv.count or ''}"
            for lv in p.levels.order_by("number")
        ],
    }


@transaction.atomic
def path_save(
    *,
    actor: User | None,
    name: str,
    levels: Sequence[LevelInput],
    position: int = 100,
    is_active: bool = True,
    description: str = "",
    priorities: Iterable[str] = (),
    sla_policies: Iterable = (),
    resolver_groups: Iterable[ResolverGroup] = (),
    path: EscalationPath | None = None,
    now: datetime | None = None,
) -> EscalationPath:
    """Create or change a path and its levels (numbered 1, 2, 3... in the order given). Versioned and logged;
    the schedules of the open tickets are recomputed in the background, so the new rules apply to them."""
    _require_manager(actor)
    errors: dict[str, list[str]] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = ["A path needs a name."]
    elif EscalationPath.objects.filter(name__iexact=name).exclude(pk=path.pk if path else None).exists():
        errors["name"] = [f"There is already a path named {name}."]
    priorities = list(dict.fromkeys(priorities))
    if [p for p in priorities if p not in Priority.values]:
        errors["priorities"] = ["Unknown priority."]
    if not levels:
        errors["levels"] = ["A path needs at least one level."]
    level_errors = [e for lv in levels for e in _level_errors(lv)]
    if level_errors:
        errors["levels"] = level_errors
    if errors:
        raise DomainError(
            "The path cannot be saved: " + " ".join(m for msgs in errors.values() for m in msgs), details=errors
        )
    creating = path is None
    if path is not None:
        path = EscalationPath.objects.select_for_update().get(pk=path.pk)
    p = path or EscalationPath()
    before = _path_snapshot(p)
    p.name, p.position, p.is_active, p.description, p.priorities = name, position, is_active, description, priorities
    p.version = 1 if creating else p.version + 1
    p.save()
    p.sla_policies.set(list(sla_policies))
    p.resolver_groups.set(list(resolver_groups))
    existing = {lv.number: lv for lv in p.levels.all()}
    keep = set()
    for number, data in enumerate(levels, start=1):
        lv = existing.get(number) or EscalationLevel(path=p, number=number)
        for attr in (
            "name",
            "kind",
            "metric",
            "percent",
            "duration",
            "count",
            "notify_assignee",
            "notify_group_manager",
            "notify_service_managers",
            "contact",
            "functional_group",
            "functional_mode",
            "vendor",
        ):
            setattr(lv, attr, getattr(data, attr))
        lv.name = lv.name.strip()
        if lv.kind not in CLOCK_KINDS:
            lv.metric = ""
        if lv.functional_group is None:
            lv.functional_mode = ""
        lv.save()
        keep.add(number)
    p.levels.exclude(number__in=keep).delete()
    config_change_log(
        actor=actor,
        obj=p,
        action="added" if creating else "changed",
        message=f"Escalation path version {p.version}: " + describe_changes(before, _path_snapshot(p)),
    )
    refresh_all_open_later(reason=f"Escalation path {p.name} {'created' if creating else 'edited'}")
    return p


def refresh_all_open_later(*, reason: str) -> None:
    """After commit, recompute the schedules of every open ticket in the background (a path edit)."""

    def start() -> None:
        from escalations.tasks import escalation_schedules_rebuild as rebuild_task

        try:
            rebuild_task.delay(reason)
        except Exception:  # broker down: each ticket's next event, or the next edit, refreshes it
            logger.warning("Could not enqueue the escalation schedule rebuild (%s)", reason, exc_info=True)

    transaction.on_commit(start)


def escalation_schedules_rebuild(*, batch_size: int = 500, now: datetime | None = None) -> int:
    """Recompute the schedule of every open ticket, batch by batch, each batch under its tickets' row locks
    (never a table lock). Returns how many tickets were refreshed."""
    now = _now(now)
    done = 0
    last = 0
    while True:
        with transaction.atomic():
            tickets = list(
                Ticket.objects.select_for_update()
                .filter(status__in=OPEN_STATUSES, pk__gt=last)
                .order_by("pk")[:batch_size]
            )
            if not tickets:
                return done
            _process(tickets, now=now, fire=False)
        done += len(tickets)
        last = tickets[-1].pk
