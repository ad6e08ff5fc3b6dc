"""Services not covered elsewhere: numbering, assignment, comments, attachments, links, watchers."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from itsm.lib.errors import DomainError, PermissionDenied
from tests.factories import ResolverGroupFactory, TicketFactory, UserFactory
from tickets.choices import LinkKind, PendingReason, TicketEventType, TicketStatus, TicketType
from tickets.exceptions import AttachmentRejected, InvalidLink
from tickets.services import (
    attachment_add,
    clean_filename,
    comment_add,
    ticket_assign,
    ticket_create,
    ticket_link,
    ticket_transition,
    ticket_unlink,
    ticket_update,
    watcher_add,
)


@pytest.mark.smoke
def test_numbers_are_prefixed_by_type_and_share_one_sequence(db, desk, customer):
    a = ticket_create(actor=desk, requester=customer, title="a", ticket_type=TicketType.INCIDENT)
    b = ticket_create(actor=desk, requester=customer, title="b", ticket_type=TicketType.ACCESS_REQUEST)
    c = ticket_create(actor=desk, requester=customer, title="c", ticket_type=TicketType.SERVICE_REQUEST)
    assert a.number == "INC-000001" and b.number == "ACC-000002" and c.number == "REQ-000003"
    ticket_update(ticket=a, actor=desk, data={"ticket_type": TicketType.SERVICE_REQUEST})
    a.refresh_from_db()
    assert a.number == "INC-000001"  # immutable


def test_create_takes_organization_and_default_group(db, desk, customer, service):
    ticket = ticket_create(actor=desk, requester=customer, title="x", service=service)
    assert ticket.organization == customer.organization
    assert ticket.resolver_group == service.default_resolver_group and ticket.status == TicketStatus.ASSIGNED
    assert list(ticket.events.values_list("event_type", flat=True)) == [
        TicketEventType.CREATED,
        TicketEventType.ASSIGNED,
        TicketEventType.STATUS_CHANGED,
    ]


def test_assignee_must_be_agent_and_member(db, desk, resolver, customer, group):
    ticket = TicketFactory(requester=customer)
    with pytest.raises(DomainError, match="not an agent"):
        ticket_assign(ticket=ticket, actor=desk, assignee=customer)
    other_group = ResolverGroupFactory()
    other_group.memberships.create(user=desk)
    with pytest.raises(DomainError, match="not a member"):
        ticket_assign(ticket=ticket, actor=desk, resolver_group=other_group, assignee=resolver)
    ticket_assign(ticket=ticket, actor=desk, resolver_group=group, assignee=resolver, reason="expert")
    assert ticket.assignee == resolver and ticket.status == TicketStatus.ASSIGNED
    event = ticket.events.filter(event_type=TicketEventType.ASSIGNED).get()
    assert event.data["assignee"]["to"]["id"] == resolver.pk and event.data["reason"] == "expert"


def test_customers_cannot_use_agent_services(db, customer):
    ticket = TicketFactory(requester=customer)
    with pytest.raises(PermissionDenied):
        ticket_update(ticket=ticket, actor=customer, data={"title": "mine now"})
    with pytest.raises(PermissionDenied):
        comment_add(ticket=ticket, author=customer, body="note to self", is_public=False)


def test_customer_reply_resumes_a_ticket_pending_on_them(db, desk, customer):
    ticket = TicketFactory(requester=customer)
    ticket_transition(ticket=ticket, actor=desk, to_status=TicketStatus.IN_PROGRESS)
    ticket_transition(
        ticket=ticket, actor=desk, to_status=TicketStatus.PENDING, pending_reason=PendingReason.AWAITING_CUSTOMER
    )
    comment_add(ticket=ticket, author=customer, body="Here is the screenshot", is_public=True)
    assert ticket.status == TicketStatus.IN_PROGRESS and ticket.pending_reason == ""


def test_first_response_is_the_first_public_agent_reply(db, desk, customer):
    ticket = TicketFactory(requester=customer)
    comment_add(ticket=ticket, author=customer, body="any news?", is_public=True)
    comment_add(ticket=ticket, author=desk, body="internal", is_public=False)
    assert ticket.first_response_at is None
    reply = comment_add(ticket=ticket, author=desk, body="on it", is_public=True)
    assert ticket.first_response_at == reply.created_at


def test_attachment_size_limit_and_safe_names(db, desk, customer, settings):
    settings.ITSM_MAX_ATTACHMENT_BYTES = 10
    ticket = TicketFactory(requester=customer)
    with pytest.raises(AttachmentRejected, match="limit is 10 bytes"):
        attachment_add(ticket=ticket, uploaded_by=desk, upload=SimpleUploadedFile("big.bin", b"x" * 11))
    assert ticket.attachments.count() == 0
    ok = attachment_add(ticket=ticket, uploaded_by=desk, upload=SimpleUploadedFile("../../etc/passwd", b"root"))
    assert ok.filename == "passwd" and ok.size == 4 and len(ok.sha256) == 64
    assert clean_filename("..\\evil\x00name?.exe") == "evil_name_.exe"
    assert clean_filename("") == "attachment"


def test_links_shown_both_ways_and_cycles_refused(db, desk, customer):
    a, b, c = (TicketFactory(requester=customer) for _ in range(3))
    ticket_link(source=a, target=b, kind=LinkKind.PARENT_OF, actor=desk)
    ticket_link(source=b, target=c, kind=LinkKind.PARENT_OF, actor=desk)
    with pytest.raises(InvalidLink, match="cycle"):
        ticket_link(source=c, target=a, kind=LinkKind.PARENT_OF, actor=desk)
    with pytest.raises(InvalidLink, match="already has a parent"):
        ticket_link(source=a, target=c, kind=LinkKind.PARENT_OF, actor=desk)
    with pytest.raises(InvalidLink, match="itself"):
        ticket_link(source=a, target=a, kind=LinkKind.RELATED_TO, actor=desk)
    link = ticket_link(source=a, target=c, kind=LinkKind.RELATED_TO, actor=desk)
    with pytest.raises(InvalidLink, match="already linked"):
        ticket_link(source=a, target=c, kind=LinkKind.RELATED_TO, actor=desk)
    assert a.events.filter(event_type=TicketEventType.LINK_ADDED).count() == 2
    assert c.events.filter(event_type=TicketEventType.LINK_ADDED, data__direction="in").count() == 2
    ticket_unlink(link=link, actor=desk)
    assert c.events.filter(event_type=TicketEventType.LINK_REMOVED).count() == 1


def test_watchers_are_audited_once(db, desk, customer):
    ticket = TicketFactory(requester=customer)
    watcher = UserFactory()
    watcher_add(ticket=ticket, user=watcher, actor=desk)
    watcher_add(ticket=ticket, user=watcher, actor=desk)
    watcher_add(ticket=ticket, user=customer, actor=desk)  # the requester is not a watcher
    assert list(ticket.watchers.all()) == [watcher]
    assert ticket.events.filter(event_type=TicketEventType.WATCHER_ADDED).count() == 1


def test_update_records_each_field_and_skips_no_ops(db, desk, customer, service):
    ticket = TicketFactory(requester=customer)
    ticket_description = ticket.description
    version = ticket.version
    ticket_update(ticket=ticket, actor=desk, data={"title": ticket.title})
    assert ticket.version == version and ticket.events.count() == 1
    ticket_update(ticket=ticket, actor=desk, data={"impact": 2, "service": service, "description": "new text"})
    changes = ticket.events.get(event_type=TicketEventType.UPDATED).data["changes"]
    assert changes["impact"] == {"from": 4, "to": 2}
    assert changes["service"] == {"from": None, "to": {"id": service.pk, "name": "Hosting"}}
    assert changes["description"] == {"from": ticket_description, "to": "new text"}  # the whole texts
    with pytest.raises(DomainError, match="cannot be changed here"):
        ticket_update(ticket=ticket, actor=desk, data={"status": "closed"})
