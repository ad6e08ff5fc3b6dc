"""The closure gate: each criterion blocks on its own and is named; auto-close and acceptance."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.utils import timezone

from itsm.lib.errors import DomainError
from tests.factories import ticket_in_status
from tickets.choices import LinkKind, ResolutionCode, TicketEventType, TicketStatus
from tickets.closure import (
    CRITERION_NOTICE,
    CRITERION_RESOLUTION,
)
from tickets.exceptions import ClosureBlocked
from tickets.models import Ticket
from tickets.services import (
    resolution_accept,
    resolution_reject,
    ticket_link,
    ticket_transition,
    ticket_update,
    tickets_autoclose_due,
)

S = TicketStatus


def closable_ticket(requester):
    """A resolved ticket meeting every criterion: code and notes, notice sent, accepted, no open links."""
    ticket = ticket_in_status(S.RESOLVED, requester=requester)
    now = timezone.now()
    Ticket.objects.filter(pk=ticket.pk).update(resolution_notice_sent_at=now, resolution_accepted_at=now)
    ticket.refresh_from_db()
    return ticket


def test_closable_ticket_closes(db, desk, customer):
    ticket = closable_ticket(customer)
    ticket_transition(ticket=ticket, actor=desk, to_status=S.CLOSED)
    assert ticket.status == S.CLOSED and ticket.closed_at is not None


@pytest.mark.parametrize(
    ("spoil", "expected"),
    [
        ({"resolution_code": ""}, "resolution code and resolution notes"),
        ({"resolution_notes": "  "}, "resolution code and resolution notes"),
        ({"resolution_notice_sent_at": None}, "resolution notice"),
        ({"resolution_accepted_at": None}, "acceptance window"),
    ],
    ids=["no-code", "no-notes", "no-notice", "not-accepted-window-open"],
)
def test_each_closure_criterion_blocks_alone(db, desk, customer, spoil, expected):
    ticket = closable_ticket(customer)
    Ticket.objects.filter(pk=ticket.pk).update(**spoil)
    ticket.refresh_from_db()
    with pytest.raises(ClosureBlocked) as excinfo:
        ticket_transition(ticket=ticket, actor=desk, to_status=S.CLOSED)
    assert len(excinfo.value.unmet) == 1
    assert expected in excinfo.value.unmet[0]
    ticket.refresh_from_db()
    assert ticket.status == S.RESOLVED


@pytest.mark.parametrize("kind", [LinkKind.PARENT_OF, LinkKind.DUPLICATE_OF])
def test_open_child_or_duplicate_blocks_closure(db, desk, customer, kind):
    ticket = closable_ticket(customer)
    other = ticket_in_status(S.IN_PROGRESS, requester=customer)
    if kind == LinkKind.PARENT_OF:
        ticket_link(source=ticket, target=other, kind=kind, actor=desk)
    else:
        ticket_link(source=other, target=ticket, kind=kind, actor=desk)
    with pytest.raises(ClosureBlocked) as excinfo:
        ticket_transition(ticket=ticket, actor=desk, to_status=S.CLOSED)
    assert excinfo.value.unmet == [f"linked tickets are not resolved, closed or cancelled: {other.number}"]
    Ticket.objects.filter(pk=other.pk).update(status=S.RESOLVED)
    ticket_transition(ticket=ticket, actor=desk, to_status=S.CLOSED)
    assert ticket.status == S.CLOSED


def test_a_cancelled_child_no_longer_holds_its_parent_open(db, desk, customer):
    """Cancelled is final: a child opened by mistake and cancelled must not keep its parent from closing."""
    ticket = closable_ticket(customer)
    child = ticket_in_status(S.IN_PROGRESS, requester=customer)
    ticket_link(source=ticket, target=child, kind=LinkKind.PARENT_OF, actor=desk)
    ticket_transition(ticket=child, actor=desk, to_status=S.CANCELLED, reason="opened by mistake")
    ticket_transition(ticket=ticket, actor=desk, to_status=S.CLOSED)
    assert ticket.status == S.CLOSED


def test_a_closed_ticket_keeps_its_fields(db, desk, customer):
    """What was validated and communicated at closure is not rewritten afterwards (the evidence stays)."""
    ticket = closable_ticket(customer)
    ticket_transition(ticket=ticket, actor=desk, to_status=S.CLOSED)
    with pytest.raises(DomainError, match="can no longer be changed"):
        ticket_update(ticket=ticket, actor=desk, data={"resolution_code": "", "title": "nothing happened"})
    ticket.refresh_from_db()
    assert ticket.resolution_code and ticket.title != "nothing happened"


def test_related_link_does_not_block(db, desk, customer):
    ticket = closable_ticket(customer)
    other = ticket_in_status(S.IN_PROGRESS, requester=customer)
    ticket_link(source=ticket, target=other, kind=LinkKind.RELATED_TO, actor=desk)
    ticket_transition(ticket=ticket, actor=desk, to_status=S.CLOSED)
    assert ticket.status == S.CLOSED


def test_all_unmet_criteria_are_named_together(db, desk, customer):
    ticket = ticket_in_status(S.RESOLVED, requester=customer)
    Ticket.objects.filter(pk=ticket.pk).update(resolution_code="")
    ticket.refresh_from_db()
    with pytest.raises(ClosureBlocked) as excinfo:
        ticket_transition(ticket=ticket, actor=desk, to_status=S.CLOSED)
    assert CRITERION_RESOLUTION in excinfo.value.unmet and CRITERION_NOTICE in excinfo.value.unmet
    assert len(excinfo.value.unmet) == 3
    assert "cannot be closed" in excinfo.value.message


def test_resolving_sends_the_notice_and_acceptance_closes(db, desk, customer, django_capture_on_commit_callbacks):
    ticket = ticket_in_status(S.IN_PROGRESS, requester=customer)
    with django_capture_on_commit_callbacks(execute=True):
        ticket_transition(
            ticket=ticket,
            actor=desk,
            to_status=S.RESOLVED,
            resolution_code=ResolutionCode.SOLVED,
            resolution_notes="Replaced the disk.",
        )
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["alice@acme.example"]
    assert ticket.number in mail.outbox[0].subject and "Replaced the disk." in mail.outbox[0].body
    ticket.refresh_from_db()
    assert ticket.resolution_notice_sent_at is not None
    resolution_accept(ticket=ticket, actor=customer)
    assert ticket.status == S.CLOSED


def test_rejection_reopens(db, desk, customer):
    ticket = closable_ticket(customer)
    Ticket.objects.filter(pk=ticket.pk).update(resolution_accepted_at=None)
    ticket.refresh_from_db()
    resolution_reject(ticket=ticket, actor=customer, reason="Still fails every morning.")
    assert ticket.status == S.IN_PROGRESS and ticket.reopen_count == 1
    assert ticket.comments.filter(is_public=True, body="Still fails every morning.").exists()


def test_stranger_cannot_accept(db, customer, other_customer):
    from itsm.lib.errors import PermissionDenied

    ticket = closable_ticket(customer)
    with pytest.raises(PermissionDenied):
        resolution_accept(ticket=ticket, actor=other_customer)


def test_autoclose_after_the_acceptance_window(db, customer):
    ticket = closable_ticket(customer)
    sent = timezone.now() - settings.ITSM_ACCEPTANCE_WINDOW - timedelta(minutes=1)
    Ticket.objects.filter(pk=ticket.pk).update(resolution_accepted_at=None, resolution_notice_sent_at=sent)
    young = closable_ticket(customer)
    Ticket.objects.filter(pk=young.pk).update(resolution_accepted_at=None)
    assert tickets_autoclose_due() == 1
    assert tickets_autoclose_due() == 0  # idempotent
    ticket.refresh_from_db()
    young.refresh_from_db()
    assert ticket.status == S.CLOSED and young.status == S.RESOLVED
    # the last status change (the closure mail's outbox event follows it)
    last = ticket.events.filter(event_type=TicketEventType.STATUS_CHANGED).order_by("-seq").first()
    assert last.actor is None and last.data["reason"] == "acceptance window passed"
