"""Vendor escalation: a case with its own clock on the contract's calendar, mail to the vendor through the
outbox with threading headers (on the wire, to a real SMTP listener), the vendor's replies matched by our tag,
our thread or the vendor's reference pattern (through the real mail intake), what vendors may see, and the
vendors' performance for reporting."""

from datetime import timedelta
from email import message_from_bytes, policy

import pytest
from rest_framework.test import APIClient

from communications.models import OutboundEmail
from communications.services import outbox_deliver_due
from escalations.choices import ThresholdKind, VendorCaseStatus
from escalations.models import Escalation, Notification, VendorCase, VendorCaseMessage
from escalations.selectors import vendor_clock_views, vendor_performance
from escalations.services import LevelInput, escalation_scan_due, path_save
from escalations.vendors import vendor_case_mail, vendor_case_open, vendor_case_update, vendor_reply_record
from itsm.lib.errors import DomainError
from mail.choices import InboundStatus
from mail.services import inbound_ingest
from sla.models import SlaClock
from tests.escalations.conftest import MONDAY_9
from tests.factories import TicketFactory
from tests.mail.conftest import make_message
from tests.sla.conftest import rome
from tickets.choices import PendingReason, TicketEventType, TicketStatus
from tickets.models import Ticket
from tickets.selectors import ticket_visible_qs
from tickets.services import comment_add

MONDAY_10 = rome(2026, 3, 2, 10)


@pytest.fixture
def ticket(standard, desk, customer, service):
    return TicketFactory(requester=customer, actor=desk, service=service, title="VPN tunnel drops", now=MONDAY_9)


@pytest.fixture
def case(ticket, vendor, desk, mailbox):
    return vendor_case_open(
        ticket=ticket, vendor=vendor, actor=desk, summary="The concentrator drops tunnels every hour.", now=MONDAY_10
    )


def test_a_vendor_case_has_its_own_clock_and_puts_the_ticket_on_awaiting_vendor(ticket, case, desk):
    # the contract: 2h response, 16h resolution on the office calendar, from the case's opening (Monday 10:00)
    assert case.response_due_at == rome(2026, 3, 2, 12)
    assert case.resolution_due_at == rome(2026, 3, 4, 8)  # 7h Monday + 9h Tuesday, used at 17:00: Wednesday 08:00
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.PENDING and ticket.pending_reason == PendingReason.AWAITING_VENDOR
    # the customer's clock is another clock: by default awaiting a vendor does not pause it (the policy decides)
    resolution = SlaClock.objects.get(ticket=ticket, metric="resolution")
    assert not resolution.is_paused and resolution.target_at == rome(2026, 3, 3, 8)
    opened = ticket.events.get(event_type=TicketEventType.VENDOR_CASE_OPENED)
    assert opened.data["vendor"]["name"] == "Northwind Networks" and opened.actor_id == desk.pk
    assert not opened.is_public
    esc = Escalation.objects.get(ticket=ticket)
    assert esc.kinds == ["vendor"] and esc.actor_id == desk.pk and esc.actions["vendor"]["case_id"] == case.pk
    views = {v.label: v for v in vendor_clock_views(case, now=rome(2026, 3, 2, 11))}
    assert views["Vendor response"].state == "running" and views["Vendor response"].remaining == timedelta(hours=1)
    with pytest.raises(DomainError, match="open case with Northwind"):
        vendor_case_open(ticket=ticket, vendor=case.vendor, actor=desk, summary="again")


def test_the_mail_to_the_vendor_goes_through_the_outbox_with_threading_headers(smtp_server, ticket, case):
    out = OutboundEmail.objects.get(ticket=ticket, kind=OutboundEmail.Kind.VENDOR)
    assert out.to == ["support@vendor.example", "victor@vendor.example"]
    outbox_deliver_due(now=MONDAY_10 + timedelta(minutes=1))
    wire = message_from_bytes(smtp_server.messages[-1].original_content, policy=policy.default)
    assert wire["Subject"] == f"[{ticket.number}] VPN tunnel drops" and wire["X-ITSM-Vendor-Case"] == str(case.pk)
    assert wire["Message-ID"] == out.message_id and wire["Reply-To"] == "support@itsm.example"
    assert "The concentrator drops tunnels every hour." in wire.get_content()
    # a second mail on the case answers the first one (the case's own thread, not the customer's)
    ticket.refresh_from_db()
    vendor_case_mail(case=case, actor=case.opened_by, body="Any news?", now=MONDAY_10 + timedelta(hours=1))
    outbox_deliver_due(now=MONDAY_10 + timedelta(hours=1, minutes=1))
    second = message_from_bytes(smtp_server.messages[-1].original_content, policy=policy.default)
    assert second["In-Reply-To"] == out.message_id and out.message_id in second["References"]


def test_vendor_replies_are_matched_by_our_tag_then_by_their_reference_pattern(ticket, case, mailbox, desk, customer):
    # the vendor answers our mail, tag in the subject, and gives its own reference
    first = make_message(
        sender="Victor Vendor <victor@vendor.example>",
        subject=f"RE: [{ticket.number}] VPN tunnel drops - opened as INC0042137",
        body="We opened INC0042137 and are looking into it.",
    )
    msg = inbound_ingest(mailbox=mailbox, raw=first, now=rome(2026, 3, 2, 11)).message
    assert msg.status == InboundStatus.COMMENT and msg.ticket_id == ticket.pk
    assert "matched by our ticket tag" in msg.reason
    case.refresh_from_db()
    assert case.vendor_reference == "INC0042137" and case.status == VendorCaseStatus.RESPONDED
    assert case.responded_at == rome(2026, 3, 2, 11)  # within the 2h response target
    # later, their own system writes with only its reference: matched by the pattern
    second = make_message(
        sender="noreply@vendor.example",
        subject="Update on INC0042137: firmware patch applied",
        body="Please test again.\n\nNorthwind support",
    )
    msg2 = inbound_ingest(mailbox=mailbox, raw=second, now=rome(2026, 3, 2, 15)).message
    assert msg2.status == InboundStatus.COMMENT and msg2.ticket_id == ticket.pk
    assert "matched by reference pattern" in msg2.reason
    note = msg2.comment
    assert not note.is_public and "firmware patch applied" not in note.body and "Please test again." in note.body
    assert note.author_id is None and "Northwind Networks" in note.author_name
    assert [m.direction for m in VendorCaseMessage.objects.filter(case=case).order_by("at", "id")] == [
        "out",
        "in",
        "in",
    ]
    updated = ticket.events.filter(event_type=TicketEventType.VENDOR_CASE_UPDATED).order_by("seq")
    assert updated.first().data["changes"]["reference"] == "INC0042137"
    # nothing of it reaches the customer: internal notes only, no mail to the requester
    to_customer = [
        m
        for m in OutboundEmail.objects.filter(ticket=ticket).exclude(kind=OutboundEmail.Kind.ACKNOWLEDGEMENT)
        if customer.email in m.to
    ]  # fmt: skip  (in Python: a JSON "contains" lookup is PostgreSQL's only)
    assert to_customer == []
    assert Notification.objects.filter(user=desk, title__startswith="Northwind Networks answered").count() == 2


def test_the_pattern_alone_does_not_let_a_stranger_speak_for_the_vendor(ticket, case, mailbox, other_customer):
    vendor_case_update(case=case, actor=case.opened_by, reference="INC0042137")
    raw = make_message(sender="mallory@evil.example", subject="INC0042137 closed, nothing to do", body="Close it.")
    msg = inbound_ingest(mailbox=mailbox, raw=raw, now=rome(2026, 3, 2, 11)).message
    assert msg.ticket_id != ticket.pk  # an ordinary new message: the case is untouched
    case.refresh_from_db()
    assert case.responded_at is None and case.status == VendorCaseStatus.OPEN


def test_a_missed_vendor_target_is_recorded_once_and_escalates(ticket, case, desk, victor):
    assert escalation_scan_due(now=rome(2026, 3, 2, 11, 59)) == 0
    escalation_scan_due(now=rome(2026, 3, 2, 12, 0))
    escalation_scan_due(now=rome(2026, 3, 2, 12, 5))
    missed = ticket.events.filter(event_type=TicketEventType.VENDOR_CASE_BREACHED)
    assert [e.data["target"] for e in missed] == ["response"]
    assert OutboundEmail.objects.filter(kind=OutboundEmail.Kind.VENDOR, subject__contains="Overdue").count() == 1
    case.refresh_from_db()
    assert case.response_breach_recorded_at == rome(2026, 3, 2, 12) and case.next_check_at == rome(2026, 3, 4, 8)


def test_a_level_opens_a_vendor_case(standard, vendor, desk, customer, service, mailbox):
    path_save(
        actor=None,
        name="Vendor at breach",
        levels=[LevelInput(1, "Vendor", ThresholdKind.AFTER_TARGET, "resolution", duration=timedelta(0),
                           vendor=vendor)],
    )  # fmt: skip
    ticket = TicketFactory(requester=customer, actor=desk, service=service, now=MONDAY_9)
    assert escalation_scan_due(now=rome(2026, 3, 3, 8)) == 1
    case = VendorCase.objects.get(ticket=ticket)
    assert case.opened_at == rome(2026, 3, 3, 8) and case.escalation.level_number == 1
    assert Ticket.objects.get(pk=ticket.pk).pending_reason == PendingReason.AWAITING_VENDOR


def test_a_level_whose_vendor_action_fails_leaves_nothing_half_done(standard, office, desk, customer, service):
    from escalations.vendors import vendor_save

    mute = vendor_save(actor=None, name="Mute Ltd", slug="mute")  # no address: nobody to write to
    path_save(
        actor=None,
        name="Vendor at breach",
        levels=[LevelInput(1, "Vendor", ThresholdKind.AFTER_TARGET, "resolution", duration=timedelta(0),
                           vendor=mute, notify_service_managers=True)],
    )  # fmt: skip
    ticket = TicketFactory(requester=customer, actor=desk, service=service, now=MONDAY_9)
    assert escalation_scan_due(now=rome(2026, 3, 3, 8)) == 1
    esc = Escalation.objects.get(ticket=ticket)
    assert "nobody to write to" in esc.actions["vendor"]["error"]
    assert not VendorCase.objects.exists()
    assert not ticket.events.filter(event_type=TicketEventType.VENDOR_CASE_OPENED).exists()
    assert Ticket.objects.get(pk=ticket.pk).status != TicketStatus.PENDING


def test_closing_the_last_case_puts_the_ticket_back_to_work(ticket, case, desk):
    vendor_case_update(case=case, actor=desk, status=VendorCaseStatus.CLOSED, note="Fixed by their patch")
    ticket.refresh_from_db()
    case.refresh_from_db()
    assert ticket.status == TicketStatus.IN_PROGRESS and case.closed_at is not None


# --- what vendors may see -----------------------------------------------------------------------------------


def test_vendors_see_their_cases_and_those_tickets_without_internal_notes_and_nothing_else(
    client, ticket, case, victor, other_vendor, desk, customer, service
):
    comment_add(ticket=ticket, author=desk, body="Internal: the customer is a VIP", is_public=False)
    comment_add(ticket=ticket, author=desk, body="We asked our vendor.", is_public=True)
    unrelated = TicketFactory(requester=customer, actor=desk, service=service, title="Printer jam")
    client.force_login(victor)
    page = client.get(f"/escalations/vendor-cases/{case.pk}/")
    assert page.status_code == 200 and "The concentrator drops tunnels" in page.content.decode()
    detail = client.get(f"/tickets/{ticket.number}/").content.decode()
    assert "We asked our vendor." in detail and "the customer is a VIP" not in detail
    assert client.get(f"/tickets/{unrelated.number}/").status_code == 404
    assert list(ticket_visible_qs(user=victor)) == [ticket]
    # a vendor reads but does not write in the customer's conversation
    with pytest.raises(DomainError):
        comment_add(ticket=ticket, author=victor, body="hello", is_public=True)
    # another vendor sees neither the case nor the ticket
    wendy = other_vendor.contacts.get()
    client.force_login(wendy)
    assert client.get(f"/escalations/vendor-cases/{case.pk}/").status_code == 404
    assert client.get(f"/tickets/{ticket.number}/").status_code == 404
    # the same through the API
    api = APIClient()
    api.force_authenticate(victor)
    listed = api.get("/api/v1/vendor-cases/").json()
    assert [c["id"] for c in listed["results"]] == [case.pk]
    assert listed["results"][0]["ticket"]["number"] == ticket.number
    assert api.get(f"/api/v1/vendor-cases/{case.pk}/").status_code == 200
    api.force_authenticate(wendy)
    assert api.get("/api/v1/vendor-cases/").json()["results"] == []
    assert api.get(f"/api/v1/vendor-cases/{case.pk}/").status_code == 404
    api.force_authenticate(customer)
    assert api.get(f"/api/v1/vendor-cases/{case.pk}/").status_code == 404


def test_a_vendor_answers_on_the_portal(client, ticket, case, victor):
    client.force_login(victor)
    response = client.post(
        f"/escalations/vendor-cases/{case.pk}/reply/",
        {"body": "Patched, please retest.", "reference": "INC0042999", "resolved": "on"},
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == VendorCaseStatus.RESOLVED and case.vendor_reference == "INC0042999"
    note = ticket.comments.get(body__contains="Patched, please retest.")
    assert not note.is_public and "portal" in note.body


def test_vendor_performance_for_reporting(client, standard, vendor, desk, manager, customer, service, mailbox):
    def opened(at):
        t = TicketFactory(requester=customer, actor=desk, service=service, now=at)
        return vendor_case_open(ticket=t, vendor=vendor, actor=desk, summary="help", now=at)

    fast = opened(rome(2026, 3, 2, 9))  # answered within 2h, resolved within 16h
    vendor_reply_record(case=fast, body="on it", author_name="V", now=rome(2026, 3, 2, 10))
    vendor_reply_record(case=fast, body="fixed", author_name="V", resolved=True, now=rome(2026, 3, 2, 16))
    slow = opened(rome(2026, 3, 2, 9))  # answered late
    vendor_reply_record(case=slow, body="sorry", author_name="V", now=rome(2026, 3, 2, 14))
    silent = opened(rome(2026, 3, 2, 9))  # never answered: breached once past due
    row = vendor_performance(now=rome(2026, 3, 2, 10, 30))[0]  # the silent one is not due yet (11:00)
    assert (row.cases, row.active, row.response_met, row.response_breached) == (3, 2, 1, 1)
    assert (row.resolution_met, row.resolution_breached) == (1, 0) and row.response_rate == 50.0
    later = vendor_performance(now=rome(2026, 3, 5, 9))[0]
    assert (later.response_met, later.response_breached, later.resolution_breached) == (1, 2, 2)
    assert silent.pk and later.vendor == "Northwind Networks"
    client.force_login(manager)  # the reporting overview shows it to Service Managers
    page = client.get("/reporting/").content.decode()
    assert 'id="vendor-performance"' in page and "Northwind Networks" in page
    client.force_login(desk)
    assert 'id="vendor-performance"' not in client.get("/reporting/").content.decode()


def test_agents_update_the_case_and_write_to_the_vendor_on_its_page(client, ticket, case, desk, victor):
    client.force_login(desk)
    client.post(f"/escalations/vendor-cases/{case.pk}/update/", {"status": "", "reference": "INC0042137", "note": ""})
    client.post(f"/escalations/vendor-cases/{case.pk}/mail/", {"body": "Any news on the hotfix?"})
    case.refresh_from_db()
    assert case.vendor_reference == "INC0042137"
    last = OutboundEmail.objects.filter(kind=OutboundEmail.Kind.VENDOR).order_by("-pk").first()
    assert last.subject == f"[{ticket.number}] INC0042137 VPN tunnel drops" and "hotfix" in last.body_text
    page = client.get(f"/escalations/vendor-cases/{case.pk}/").content.decode()
    assert "Any news on the hotfix?" in page and "Mail the vendor" in page
    # a vendor cannot use the agents' actions
    client.force_login(victor)
    client.post(f"/escalations/vendor-cases/{case.pk}/update/", {"status": "closed", "reference": "", "note": ""})
    case.refresh_from_db()
    assert case.status == VendorCaseStatus.OPEN and case.vendor_reference == "INC0042137"
