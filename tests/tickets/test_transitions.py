"""The lifecycle: every allowed transition works and is audited; everything else is refused by name."""

import itertools

import pytest
from django.utils import timezone

from tests.factories import ResolverGroupFactory, ticket_in_status
from tickets.choices import ALLOWED_TRANSITIONS, PendingReason, TicketEventType, TicketStatus
from tickets.exceptions import InvalidTransition
from tickets.models import Ticket
from tickets.services import ticket_transition

S = TicketStatus
ALLOWED = sorted((a, b) for a, targets in ALLOWED_TRANSITIONS.items() for b in targets)
REFUSED = sorted((a, b) for a, b in itertools.product(S.values, S.values) if b not in ALLOWED_TRANSITIONS[a])


def _closable(ticket: Ticket) -> None:
    now = timezone.now()
    Ticket.objects.filter(pk=ticket.pk).update(resolution_notice_sent_at=now, resolution_accepted_at=now)
    ticket.refresh_from_db()


@pytest.mark.smoke
@pytest.mark.parametrize(("current", "target"), ALLOWED)
def test_ticket_transition_allowed(db, desk, current, target):
    ticket = ticket_in_status(current, requester=desk)
    if target == S.ASSIGNED:
        ticket.resolver_group = ResolverGroupFactory()
        ticket.save(update_fields=["resolver_group"])
    if target == S.CLOSED:
        _closable(ticket)
    before = ticket.events.count()
    ticket_transition(
        ticket=ticket,
        actor=desk,
        to_status=target,
        pending_reason=PendingReason.AWAITING_VENDOR if target == S.PENDING else "",
        reason="test reason" if target == S.CANCELLED else "",
    )
    ticket.refresh_from_db()
    assert ticket.status == target
    status_events = ticket.events.filter(event_type=TicketEventType.STATUS_CHANGED).order_by("-seq")
    assert status_events[0].data["from"] == current and status_events[0].data["to"] == target
    assert ticket.events.count() > before


@pytest.mark.parametrize(("current", "target"), REFUSED)
def test_ticket_transition_refused_names_both_statuses(db, desk, current, target):
    ticket = ticket_in_status(current, requester=desk)
    before = (ticket.status, ticket.version, ticket.events.count())
    with pytest.raises(InvalidTransition) as excinfo:
        ticket_transition(ticket=ticket, actor=desk, to_status=target, reason="x", pending_reason="awaiting_other")
    assert current in excinfo.value.message and target in excinfo.value.message
    ticket.refresh_from_db()
    assert (ticket.status, ticket.version, ticket.events.count()) == before


def test_ticket_transition_sample_of_refusals_reads_well(db, desk):
    ticket = ticket_in_status(S.CLOSED, requester=desk)
    with pytest.raises(InvalidTransition, match=r"from Closed \(closed\) to In Progress \(in_progress\)"):
        ticket_transition(ticket=ticket, actor=desk, to_status=S.IN_PROGRESS)
    with pytest.raises(InvalidTransition, match="no such status"):
        ticket_transition(ticket=ticket, actor=desk, to_status="archived")


def test_reopen_counts_and_clears_resolution_state(db, desk):
    ticket = ticket_in_status(S.RESOLVED, requester=desk)
    _closable(ticket)
    ticket_transition(ticket=ticket, actor=desk, to_status=S.IN_PROGRESS, reason="still broken")
    ticket.refresh_from_db()
    assert ticket.reopen_count == 1
    assert ticket.resolved_at is None and ticket.resolution_notice_sent_at is None
    assert ticket.resolution_accepted_at is None


def test_pending_needs_a_reason_and_leaving_pending_clears_it(db, desk):
    ticket = ticket_in_status(S.IN_PROGRESS, requester=desk)
    with pytest.raises(InvalidTransition, match="pending reason is required"):
        ticket_transition(ticket=ticket, actor=desk, to_status=S.PENDING)
    ticket_transition(ticket=ticket, actor=desk, to_status=S.PENDING, pending_reason=PendingReason.AWAITING_CUSTOMER)
    assert ticket.pending_reason == PendingReason.AWAITING_CUSTOMER
    ticket_transition(ticket=ticket, actor=desk, to_status=S.IN_PROGRESS)
    ticket.refresh_from_db()
    assert ticket.pending_reason == ""


def test_cancel_needs_a_reason(db, desk):
    ticket = ticket_in_status(S.NEW, requester=desk)
    with pytest.raises(InvalidTransition, match="reason is required"):
        ticket_transition(ticket=ticket, actor=desk, to_status=S.CANCELLED, reason="  ")
    ticket_transition(ticket=ticket, actor=desk, to_status=S.CANCELLED, reason="duplicate of a phone call")
    assert ticket.cancel_reason == "duplicate of a phone call"


def test_assigned_needs_an_owner(db, desk):
    ticket = ticket_in_status(S.IN_PROGRESS, requester=desk)
    with pytest.raises(InvalidTransition, match="assign a resolver group"):
        ticket_transition(ticket=ticket, actor=desk, to_status=S.ASSIGNED)


def test_customer_may_only_withdraw_own_ticket(db, customer, colleague):
    from itsm.lib.errors import PermissionDenied

    ticket = ticket_in_status(S.IN_PROGRESS, requester=customer)
    with pytest.raises(PermissionDenied):
        ticket_transition(ticket=ticket, actor=customer, to_status=S.RESOLVED)
    with pytest.raises(PermissionDenied):
        ticket_transition(ticket=ticket, actor=colleague, to_status=S.CANCELLED, reason="not mine")
    ticket_transition(ticket=ticket, actor=customer, to_status=S.CANCELLED, reason="no longer needed")
    assert ticket.status == S.CANCELLED
