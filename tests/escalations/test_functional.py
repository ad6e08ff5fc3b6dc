"""Functional escalation: a level or an agent moves the ticket to a more specialised group (ownership changes,
a hop, with the reason in the audit trail) or adds that group as collaborating (it sees and works the ticket,
the owner stays); the previous group is informed."""

import pytest

from communications.models import OutboundEmail
from escalations.choices import FunctionalMode
from escalations.models import Escalation, Notification, TicketCollaboration
from escalations.services import collaboration_end, escalation_functional, escalation_scan_due
from itsm.lib.errors import DomainError
from tests.escalations.conftest import MONDAY_9
from tests.factories import TicketFactory
from tests.sla.conftest import rome
from tickets.choices import TicketEventType
from tickets.selectors import ticket_visible_qs
from tickets.services import comment_add


def internal_mail_to(ticket) -> set[str]:
    return {a for m in OutboundEmail.objects.filter(ticket=ticket, kind=OutboundEmail.Kind.INTERNAL) for a in m.to}


def test_a_level_moves_the_ticket_to_the_specialised_group_with_the_audit_trail(
    functional_path, desk, customer, service, group, group_manager, resolver, network
):
    ticket = TicketFactory(requester=customer, actor=desk, service=service, now=MONDAY_9)
    assert ticket.resolver_group == group
    assert escalation_scan_due(now=rome(2026, 3, 2, 13)) == 1  # 50% of 8h
    ticket.refresh_from_db()
    assert ticket.resolver_group == network and ticket.group_hops == 1 and ticket.assignee is None
    kinds = list(ticket.events.order_by("seq").values_list("event_type", flat=True))
    assert kinds.index(TicketEventType.ESCALATED) < kinds.index(TicketEventType.ASSIGNED, kinds.index("escalated"))
    assigned = ticket.events.filter(event_type=TicketEventType.ASSIGNED).order_by("-seq").first()
    assert assigned.data["resolver_group"] == {
        "from": {"id": group.pk, "name": "Infrastructure"},
        "to": {"id": network.pk, "name": "Network Operations"},
    }
    assert assigned.data["reason"].startswith("Functional escalation, level 1 (Second line) of To second line")
    assert assigned.actor_name == "System" and assigned.data["group_hops"] == 1
    esc = Escalation.objects.get(ticket=ticket)
    assert esc.kinds == ["functional"] and esc.actions["functional"]["to"] == "Network Operations"
    # the previous group is informed (manager and team mailbox), and so is the new one
    assert Notification.objects.filter(user=group_manager, title__startswith="Moved to Network Operations").exists()
    assert {"gina@itsm.example", "infra-team@itsm.example", "nora@itsm.example", "netops@itsm.example"} <= (
        internal_mail_to(ticket)
    )
    # the resolver of the old group no longer sees it; the network group does
    assert not ticket_visible_qs(user=resolver).filter(pk=ticket.pk).exists()
    assert ticket_visible_qs(user=network.manager).filter(pk=ticket.pk).exists()


def test_by_hand_a_reason_is_required_and_the_actor_is_recorded(
    desk, customer, service, group, group_manager, resolver, network
):
    ticket = TicketFactory(requester=customer, actor=desk, service=service)
    with pytest.raises(DomainError, match="reason is required"):
        escalation_functional(ticket=ticket, actor=resolver, group=network, mode=FunctionalMode.MOVE, reason=" ")
    with pytest.raises(DomainError):
        escalation_functional(ticket=ticket, actor=customer, group=network, mode=FunctionalMode.MOVE, reason="x")
    esc = escalation_functional(
        ticket=ticket, actor=resolver, group=network, mode=FunctionalMode.MOVE, reason="BGP flaps: needs network"
    )
    ticket.refresh_from_db()
    assert ticket.resolver_group == network and ticket.group_hops == 1
    escalated = ticket.events.get(event_type=TicketEventType.ESCALATED)
    assert escalated.actor_id == resolver.pk and escalated.data["reason"] == "BGP flaps: needs network"
    assigned = ticket.events.filter(event_type=TicketEventType.ASSIGNED).order_by("-seq").first()
    assert assigned.actor_id == resolver.pk and assigned.data["reason"] == "BGP flaps: needs network"
    assert esc.level_number == 0 and esc.label == "By hand: functional"
    assert Notification.objects.filter(user=group_manager).count() == 1


def test_adding_a_collaborating_group_keeps_the_owner_and_lets_the_group_work_the_ticket(
    desk, customer, service, group, group_manager, resolver, network, netops_resolver
):
    ticket = TicketFactory(requester=customer, actor=desk, service=service)
    assert not ticket_visible_qs(user=netops_resolver).filter(pk=ticket.pk).exists()
    escalation_functional(
        ticket=ticket, actor=resolver, group=network, mode=FunctionalMode.ADD, reason="Check the firewall logs"
    )
    ticket.refresh_from_db()
    assert ticket.resolver_group == group and ticket.group_hops == 0  # the owner stays
    added = ticket.events.get(event_type=TicketEventType.COLLABORATION_ADDED)
    assert added.data["group"]["name"] == "Network Operations" and added.data["reason"] == "Check the firewall logs"
    # the collaborating group's members see and work the ticket
    assert ticket_visible_qs(user=netops_resolver).filter(pk=ticket.pk).exists()
    comment_add(ticket=ticket, author=netops_resolver, body="Firewall drops it.", is_public=False)
    assert Notification.objects.filter(user=netops_resolver, title__startswith="Your help is asked").exists()
    assert Notification.objects.filter(user=group_manager, title__contains="now collaborates").exists()
    # adding it twice changes nothing; it cannot be added to the group that owns the ticket
    escalation_functional(ticket=ticket, actor=resolver, group=network, mode=FunctionalMode.ADD, reason="again")
    assert TicketCollaboration.objects.filter(ticket=ticket).count() == 1
    with pytest.raises(DomainError, match="owns the ticket"):
        escalation_functional(ticket=ticket, actor=resolver, group=group, mode=FunctionalMode.ADD, reason="x")
    collaboration_end(collaboration=TicketCollaboration.objects.get(ticket=ticket), actor=resolver)
    assert not ticket_visible_qs(user=netops_resolver).filter(pk=ticket.pk).exists()
    assert ticket.events.filter(event_type=TicketEventType.COLLABORATION_ENDED).exists()
