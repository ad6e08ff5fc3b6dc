"""Customer communication: templates (sandboxed, per language, edited by Service Managers), the threading
headers of every mail, agents' replies, first responses, status-update cadence, requests for information,
resolution links, closure and reopen mails."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from communications.links import resolution_links
from communications.models import MessageTemplate, OutboundEmail, TicketCommunication
from communications.services import (
    acknowledgement_enqueue,
    info_request_send,
    outbox_deliver_due,
    status_update_send,
    status_updates_due,
    template_update,
    ticket_mail_queue,
)
from itsm.lib.errors import DomainError, PermissionDenied
from mail.services import inbound_ingest
from tests.factories import TicketFactory, ticket_in_status
from tests.mail.conftest import make_message
from tickets.choices import PendingReason, ResolutionCode, TicketEventType, TicketStatus, TicketType
from tickets.services import comment_add, ticket_transition, ticket_update

pytestmark = pytest.mark.django_db


def test_customer_text_is_never_evaluated_as_a_template(customer):
    ticket = TicketFactory(requester=customer, title="{{ accept_url }} {% debug %} {{ requester_name }}")
    mail = ticket_mail_queue(ticket=ticket, kind=OutboundEmail.Kind.ACKNOWLEDGEMENT, automated=True)
    assert "{{ accept_url }} {% debug %} {{ requester_name }}" in mail.body_text
    assert "{{ accept_url }}" in mail.subject


def test_the_template_is_chosen_by_the_contacts_language(customer):
    customer.language = "it"
    customer.save()
    mail = acknowledgement_enqueue(ticket=TicketFactory(requester=customer))
    assert "Abbiamo ricevuto" in mail.subject and "Gentile" in mail.body_text


def test_a_service_manager_edits_templates_and_unknown_placeholders_are_refused(client, manager, desk, customer):
    template = MessageTemplate.objects.get(kind="acknowledgement", language="en")
    with pytest.raises(DomainError):
        template_update(template=template, actor=manager, subject="x", body="{{ ticket.requester.password }}")
    with pytest.raises(PermissionDenied):
        template_update(template=template, actor=desk, subject="x", body="y")
    client.force_login(desk)
    assert client.get(reverse("communications:template-edit", args=[template.pk])).status_code == 403
    client.force_login(manager)
    url = reverse("communications:template-edit", args=[template.pk])
    response = client.post(url, {"subject": "Got it: {{ ticket_number }}", "body": "Dear {{ requester_name }}"})
    assert response.status_code == 302
    mail = acknowledgement_enqueue(ticket=TicketFactory(requester=customer))
    assert mail.subject.endswith("Got it: " + mail.ticket.number) and mail.body_text.startswith("Dear ")
    assert mail.subject.startswith(f"[{mail.ticket.number}]")


def test_every_outbound_mail_carries_the_threading_headers_and_the_mailbox_address(mailbox, customer, desk):
    inbound = inbound_ingest(mailbox=mailbox, raw=make_message(message_id="<c1@acme.example>")).message
    ticket = inbound.ticket
    ack = OutboundEmail.objects.get(ticket=ticket, kind=OutboundEmail.Kind.ACKNOWLEDGEMENT)
    assert ack.in_reply_to == "<c1@acme.example>" and ack.references == "<c1@acme.example>"
    assert ack.from_email == "ACME Service Desk <support@itsm.example>" and ack.reply_to == "support@itsm.example"
    assert ack.subject.startswith(f"[{ticket.number}]") and ack.headers["Auto-Submitted"] == "auto-generated"
    assert ack.message_id.endswith("@itsm.localhost>")
    reply = inbound_ingest(
        mailbox=mailbox, raw=make_message(message_id="<c2@acme.example>", in_reply_to=ack.message_id)
    ).message
    assert reply.ticket == ticket
    update = status_update_send(ticket=ticket, actor=desk, message="Working on it")
    assert update.in_reply_to == "<c2@acme.example>"
    assert update.references.split() == ["<c1@acme.example>", ack.message_id, "<c2@acme.example>"]
    assert "Auto-Submitted" not in update.headers  # written by a person


def test_agents_public_replies_are_mailed_to_requester_and_watchers_internal_notes_never(desk, customer, colleague):
    ticket = TicketFactory(requester=customer, actor=desk, watchers=[colleague])
    comment_add(ticket=ticket, author=desk, body="Internal: check the logs", is_public=False)
    assert not OutboundEmail.objects.filter(ticket=ticket).exists()
    comment_add(ticket=ticket, author=desk, body="Please restart the router.", is_public=True)
    mail = OutboundEmail.objects.get(ticket=ticket)
    assert mail.kind == OutboundEmail.Kind.AGENT_REPLY and mail.to == [customer.email] and mail.cc == [colleague.email]
    assert "Please restart the router." in mail.body_text and "Internal" not in mail.body_text
    comment_add(ticket=ticket, author=customer, body="Done.", is_public=True)
    assert OutboundEmail.objects.filter(ticket=ticket).count() == 1  # the customer's own words are not echoed


def test_first_response_by_the_system_and_by_a_person_are_recorded_separately(mailbox, customer, desk):
    ticket = inbound_ingest(mailbox=mailbox, raw=make_message()).message.ticket
    outbox_deliver_due(now=timezone.now() + timedelta(seconds=1))
    comm = TicketCommunication.objects.get(ticket=ticket)
    ticket.refresh_from_db()
    assert comm.first_system_response_at is not None and ticket.first_response_at is None
    comment_add(ticket=ticket, author=desk, body="Looking into it.", is_public=True)
    ticket.refresh_from_db()
    assert ticket.first_response_at is not None
    assert TicketCommunication.objects.get(ticket=ticket).first_system_response_at == comm.first_system_response_at


def test_a_due_status_update_flags_the_ticket_and_reminds_the_assignee_once(desk, customer, resolver, group):
    resolver.email = "rick@itsm.example"
    resolver.save()
    ticket = TicketFactory(
        requester=customer, actor=desk, impact=1, urgency=1, resolver_group=group, assignee=resolver
    )  # P1 from the priority matrix
    later = timezone.now() + timedelta(minutes=61)
    assert status_updates_due(now=timezone.now()) == 0
    assert status_updates_due(now=later) == 1
    assert status_updates_due(now=later) == 0  # flagged once per lapse
    comm = TicketCommunication.objects.get(ticket=ticket)
    assert comm.status_update_due_since == later
    reminder = OutboundEmail.objects.get(ticket=ticket, kind=OutboundEmail.Kind.INTERNAL)
    assert reminder.to == ["rick@itsm.example"] and "Status update due" in reminder.subject
    assert ticket.events.filter(event_type=TicketEventType.STATUS_UPDATE_DUE).count() == 1
    status_update_send(ticket=ticket, actor=resolver, message="Vendor is on site.")
    assert TicketCommunication.objects.get(ticket=ticket).status_update_due_since is None
    p4 = TicketFactory(requester=customer, actor=desk, impact=4, urgency=4)  # P4
    assert status_updates_due(now=later + timedelta(days=3)) == 1  # the P1 again, never the P4
    assert not TicketCommunication.objects.get(ticket=p4).status_update_due_since


def test_the_list_flags_tickets_needing_an_update_or_information(client, desk, customer):
    ticket = TicketFactory(requester=customer, actor=desk, impact=1, urgency=1, ticket_type=TicketType.ACCESS_REQUEST)
    status_updates_due(now=timezone.now() + timedelta(hours=2))
    client.force_login(desk)
    page = client.get(reverse("tickets:list")).content.decode()
    assert "update due" in page and "info missing" in page and ticket.number in page


def test_missing_information_is_flagged_and_requested_in_one_action(mailbox, customer, desk):
    mailbox.default_ticket_type = TicketType.ACCESS_REQUEST
    mailbox.save()
    body = "Please give me access.\nSystem: SAP\n"
    ticket = inbound_ingest(mailbox=mailbox, raw=make_message(body=body)).message.ticket
    comm = TicketCommunication.objects.get(ticket=ticket)
    assert comm.missing_info == ["Access level", "For whom"]
    mail = info_request_send(ticket=ticket, actor=desk)
    assert mail.kind == OutboundEmail.Kind.INFO_REQUEST and "- Access level:" in mail.body_text
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.PENDING and ticket.pending_reason == PendingReason.AWAITING_CUSTOMER
    reply = make_message(subject=f"Re: [{ticket.number}]", body="Access level: read\nFor whom: Alice")
    inbound_ingest(mailbox=mailbox, raw=reply)
    ticket.refresh_from_db()
    assert TicketCommunication.objects.get(ticket=ticket).missing_info == []
    assert ticket.status == TicketStatus.IN_PROGRESS


def test_the_request_for_information_button(client, mailbox, customer, desk):
    ticket = TicketFactory(requester=customer, actor=desk, ticket_type=TicketType.ACCESS_REQUEST)
    client.force_login(desk)
    page = client.get(ticket.get_absolute_url()).content.decode()
    assert "Information missing" in page and "For whom" in page
    client.post(reverse("communications:info-request", args=[ticket.number]), {"message": ""})
    assert OutboundEmail.objects.filter(ticket=ticket, kind=OutboundEmail.Kind.INFO_REQUEST).exists()
    client.force_login(customer)
    response = client.post(reverse("communications:status-update", args=[ticket.number]), {"message": "hi"})
    assert response.status_code == 302
    assert not OutboundEmail.objects.filter(ticket=ticket, kind=OutboundEmail.Kind.STATUS_UPDATE).exists()


def _resolve(ticket, desk):
    ticket_transition(ticket=ticket, actor=desk, to_status=TicketStatus.IN_PROGRESS)
    ticket_transition(
        ticket=ticket, actor=desk, to_status=TicketStatus.RESOLVED, resolution_code=ResolutionCode.SOLVED,
        resolution_notes="Replaced the toner.",
    )  # fmt: skip


def test_the_resolution_notice_links_accept_without_a_login(client, desk, customer):
    ticket = TicketFactory(requester=customer, actor=desk)
    _resolve(ticket, desk)
    notice = OutboundEmail.objects.get(ticket=ticket, kind=OutboundEmail.Kind.RESOLUTION_NOTICE)
    # the links are signed with a timestamp: the ones in the mail, not a second signing, are followed
    accept_url = re.search(r"https?://\S+\?decision=accept", notice.body_text).group(0)
    assert re.search(r"https?://\S+\?decision=reject", notice.body_text)
    expected_accept, _ = resolution_links(ticket)
    assert accept_url.split("/resolution/")[0] == expected_accept.split("/resolution/")[0]
    path = "/" + accept_url.split("/", 3)[3].split("?")[0]
    assert client.get(path).status_code == 200  # a GET (a link scanner) decides nothing
    ticket.refresh_from_db()
    assert ticket.resolution_accepted_at is None
    client.post(path, {"decision": "accept"})
    ticket.refresh_from_db()
    assert ticket.resolution_accepted_at is not None


def test_a_tampered_or_stale_resolution_link_does_nothing(client, desk, customer, other_customer):
    ticket = TicketFactory(requester=customer, actor=desk)
    _resolve(ticket, desk)
    accept_url, _ = resolution_links(ticket)
    path = "/" + accept_url.split("/", 3)[3].split("?")[0]
    assert client.post(path[:-3] + "xx/", {"decision": "accept"}).status_code == 404
    client.post(path, {"decision": "reject", "reason": "Still broken"})
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.IN_PROGRESS and ticket.reopen_count == 1
    assert OutboundEmail.objects.filter(ticket=ticket, kind=OutboundEmail.Kind.REOPEN).exists()
    _resolve_again = ticket_transition(
        ticket=ticket, actor=desk, to_status=TicketStatus.RESOLVED, resolution_code=ResolutionCode.SOLVED,
        resolution_notes="Again.",
    )  # fmt: skip
    assert client.post(path, {"decision": "accept"}).status_code == 404  # the old link is stale
    ticket.refresh_from_db()
    assert ticket.resolution_accepted_at is None


def test_closing_mails_the_closure_notice(desk, customer):
    ticket = ticket_in_status(TicketStatus.RESOLVED, requester=customer)
    from tickets.models import Ticket

    Ticket.objects.filter(pk=ticket.pk).update(
        resolution_notice_sent_at=timezone.now(), resolution_accepted_at=timezone.now()
    )
    ticket.refresh_from_db()
    ticket_transition(ticket=ticket, actor=desk, to_status=TicketStatus.CLOSED)
    closure = OutboundEmail.objects.get(ticket=ticket, kind=OutboundEmail.Kind.CLOSURE)
    assert closure.to == [customer.email] and "closed" in closure.body_text


def test_the_type_change_recomputes_missing_information(desk, customer):
    ticket = TicketFactory(requester=customer, actor=desk)
    assert TicketCommunication.objects.get(ticket=ticket).missing_info == []
    ticket_update(ticket=ticket, actor=desk, data={"ticket_type": TicketType.ACCESS_REQUEST})
    assert TicketCommunication.objects.get(ticket=ticket).missing_info == ["System", "Access level", "For whom"]
