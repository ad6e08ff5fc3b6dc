"""Major incidents: declared by an agent (audited), the hierarchy notified at once, child incidents linked, and
each status update sent to the requesters of every child through the outbox, one mail per requester."""

import pytest

from communications.models import OutboundEmail, TicketCommunication
from communications.services import status_update_send
from escalations.models import Escalation, MajorIncident, Notification
from escalations.services import major_incident_declare, major_incident_link_child
from itsm.lib.errors import DomainError, PermissionDenied
from tests.escalations.conftest import MONDAY_9
from tests.factories import TicketFactory, UserFactory
from tickets.choices import LinkKind, TicketEventType
from tickets.models import TicketLink


@pytest.fixture
def outage(desk, customer, service):
    return TicketFactory(requester=desk, actor=desk, service=service, title="Mail cluster down", now=MONDAY_9)


def test_declaring_notifies_the_hierarchy_at_once_and_is_audited(
    outage, desk, customer, group_manager, manager, hierarchy, head_of_it
):
    with pytest.raises(PermissionDenied):
        major_incident_declare(ticket=outage, actor=customer, summary="everything is down")
    with pytest.raises(DomainError, match="Describe"):
        major_incident_declare(ticket=outage, actor=desk, summary="")
    major = major_incident_declare(ticket=outage, actor=desk, summary="No mail for the whole company", now=MONDAY_9)
    outage.refresh_from_db()
    event = outage.events.get(event_type=TicketEventType.MAJOR_INCIDENT_DECLARED)
    assert event.actor_id == desk.pk and event.data["summary"] == "No mail for the whole company"
    # the group manager, every Service Manager and the path's named contacts: in the app and by mail, at once
    told = set(Notification.objects.filter(ticket=outage).values_list("user__username", flat=True))
    assert told == {"gina", "manager", "helen"}
    to = {a for m in OutboundEmail.objects.filter(ticket=outage, kind=OutboundEmail.Kind.INTERNAL) for a in m.to}
    assert {"gina@itsm.example", "helen@itsm.example", manager.email} <= to
    esc = Escalation.objects.get(ticket=outage)
    assert "major_incident" in esc.kinds and esc.closed_at is None and major.escalation == esc
    assert outage.priority == "P1"  # a major incident is handled as critical (a manual priority, with the reason)
    with pytest.raises(DomainError, match="already"):
        major_incident_declare(ticket=outage, actor=desk, summary="again")


def test_each_status_update_reaches_every_child_requester_once(outage, desk, customer, colleague, other_customer):
    major = major_incident_declare(ticket=outage, actor=desk, summary="No mail", now=MONDAY_9)
    children = [
        TicketFactory(requester=customer, actor=desk, title="Cannot send mail"),
        TicketFactory(requester=customer, actor=desk, title="Outlook offline"),  # the same requester twice
        TicketFactory(requester=colleague, actor=desk, title="No new mail"),
        TicketFactory(requester=other_customer, actor=desk, title="Mail bounces"),
        TicketFactory(requester=desk, actor=desk, title="Me too"),  # the major's own requester
    ]
    for child in children:
        major_incident_link_child(major=major, child=child, actor=desk)
    assert TicketLink.objects.filter(source=outage, kind=LinkKind.PARENT_OF).count() == 5
    with pytest.raises(DomainError):
        major_incident_link_child(major=major, child=outage, actor=desk)
    OutboundEmail.objects.all().delete()
    status_update_send(ticket=outage, actor=desk, message="The storage is back; mail flows again by 11:00.")
    updates = OutboundEmail.objects.filter(kind=OutboundEmail.Kind.STATUS_UPDATE).order_by("pk")
    recipients = [tuple(m.to) for m in updates]
    # the major's requester once (the update itself), then one mail per child requester, never twice
    assert sorted(recipients) == sorted([(desk.email,), (customer.email,), (colleague.email,), (other_customer.email,)])
    mail = updates.get(to=[customer.email])
    assert mail.ticket == children[0] and children[1].number in mail.body_text and outage.number in mail.body_text
    assert "The storage is back" in mail.body_text and mail.subject.startswith(f"[{children[0].number}]")
    # the customer's other ticket counts as updated too (its status-update cadence is satisfied)
    comm = TicketCommunication.objects.get(ticket=children[1])
    assert comm.last_customer_update_at is not None and comm.status_update_due_since is None
    event = outage.events.get(event_type=TicketEventType.MAJOR_INCIDENT_BROADCAST)
    assert event.data["mails"] == 3 and len(event.data["children"]) == 5
    major.refresh_from_db()
    assert major.broadcasts == 1
    # a second update is broadcast again (each update once)
    status_update_send(ticket=outage, actor=desk, message="Fixed.")
    assert OutboundEmail.objects.filter(kind=OutboundEmail.Kind.STATUS_UPDATE).count() == 8


def test_an_update_on_an_ordinary_ticket_goes_to_its_requester_only(desk, customer, colleague):
    parent = TicketFactory(requester=customer, actor=desk)
    child = TicketFactory(requester=colleague, actor=desk)
    from tickets.services import ticket_link

    ticket_link(source=parent, target=child, kind=LinkKind.PARENT_OF, actor=desk)
    status_update_send(ticket=parent, actor=desk, message="Working on it.")
    assert [m.to for m in OutboundEmail.objects.filter(kind=OutboundEmail.Kind.STATUS_UPDATE)] == [[customer.email]]
    assert not MajorIncident.objects.exists()


def test_only_agents_link_children(outage, desk, customer):
    major = major_incident_declare(ticket=outage, actor=desk, summary="No mail")
    child = TicketFactory(requester=customer, actor=desk)
    with pytest.raises(PermissionDenied):
        major_incident_link_child(major=major, child=child, actor=customer)
    stranger = UserFactory(username="nobody")
    with pytest.raises(PermissionDenied):
        major_incident_link_child(major=major, child=child, actor=stranger)
