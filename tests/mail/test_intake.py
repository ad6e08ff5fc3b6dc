"""Mail intake end to end on the database: new tickets, duplicates, threading by every route, the sender
policy (security critical), loops and bounces, acknowledgements and their rate limit, limits, quarantine
and replay."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from communications.models import OutboundEmail, TicketCommunication
from communications.services import ticket_mail_queue
from mail.choices import InboundStatus
from mail.models import InboundMessage
from mail.services import inbound_ingest, inbound_message_replay
from tests.factories import ticket_in_status
from tests.mail.conftest import make_message
from tickets.choices import Channel, LinkKind, TicketEventType, TicketStatus
from tickets.models import Comment, Ticket, TicketLink

pytestmark = pytest.mark.django_db


def ingest(mailbox, raw, **kw):
    return inbound_ingest(mailbox=mailbox, raw=raw, **kw)


def acks():
    return OutboundEmail.objects.filter(kind=OutboundEmail.Kind.ACKNOWLEDGEMENT)


# --- new tickets --------------------------------------------------------------------------------------


@pytest.mark.smoke
def test_a_new_message_opens_a_ticket_with_the_mailbox_defaults_and_keeps_the_raw_message(mailbox, customer):
    raw = make_message(subject="VPN down", body="Since 9:00 nobody can connect.")
    result = ingest(mailbox, raw, source="test")
    msg = result.message
    assert not result.duplicate and msg.status == InboundStatus.TICKET
    ticket = msg.ticket
    assert ticket.title == "VPN down" and ticket.channel == Channel.EMAIL
    assert ticket.requester == customer and ticket.organization == customer.organization
    assert ticket.service == mailbox.default_service and ticket.resolver_group == mailbox.default_resolver_group
    assert ticket.ticket_type == mailbox.default_ticket_type
    assert "nobody can connect" in ticket.description
    stored = InboundMessage.objects.get(pk=msg.pk)
    assert bytes(stored.raw) == raw and stored.ticket == ticket and stored.sender == customer
    assert TicketCommunication.objects.get(ticket=ticket).mailbox == mailbox
    ack = acks().get(ticket=ticket)
    assert ack.to == [customer.email] and ack.headers["Auto-Submitted"] == "auto-generated"


def test_an_unknown_sender_becomes_a_contact_of_the_organization_of_its_domain(mailbox, org_a):
    msg = ingest(mailbox, make_message(sender="Dave Newman <dave@acme.example>")).message
    dave = User.objects.get(email="dave@acme.example")
    assert msg.ticket.requester == dave and dave.organization == org_a
    assert dave.first_name == "Dave" and not dave.has_usable_password()


def test_cc_recipients_of_known_contacts_become_watchers(mailbox, customer, colleague):
    raw = make_message(cc=f"Carol <{colleague.email}>, stranger@elsewhere.example, support@itsm.example")
    ticket = ingest(mailbox, raw).message.ticket
    assert list(ticket.watchers.all()) == [colleague]


def test_a_mailbox_may_refuse_unknown_senders_then_the_message_is_quarantined_and_not_answered(mailbox):
    mailbox.refuse_unknown_senders = True
    mailbox.save()
    msg = ingest(mailbox, make_message(sender="unknown@nowhere.example")).message
    assert msg.status == InboundStatus.QUARANTINED and "unknown sender" in msg.reason
    assert not User.objects.filter(email="unknown@nowhere.example").exists()
    assert not OutboundEmail.objects.exists() and not Ticket.objects.exists()


# --- duplicates ---------------------------------------------------------------------------------------


@pytest.mark.smoke
def test_the_same_message_twice_gives_one_ticket_and_costs_one_lookup_and_no_write(mailbox, customer):
    raw = make_message()
    first = ingest(mailbox, raw)
    with CaptureQueriesContext(connection) as queries:
        second = ingest(mailbox, raw)
    assert second.duplicate and second.message.pk == first.message.pk
    assert len(queries) == 1 and queries[0]["sql"].lstrip().upper().startswith("SELECT")
    assert Ticket.objects.count() == 1 and InboundMessage.objects.count() == 1


@pytest.mark.postgres
def test_the_unique_constraint_refuses_a_second_row_for_one_message_id(mailbox, customer):
    from django.db import IntegrityError, transaction

    msg = ingest(mailbox, make_message()).message
    with pytest.raises(IntegrityError), transaction.atomic():
        InboundMessage.objects.create(mailbox=mailbox, message_id=msg.message_id, raw=b"x", size=1, sha256="0")


def test_a_message_without_message_id_gets_one_from_its_content(mailbox, customer):
    raw = make_message(message_id=None)
    first = ingest(mailbox, raw)
    assert first.message.message_id_derived and first.message.message_id.startswith("sha256-")
    assert ingest(mailbox, raw).duplicate
    assert Ticket.objects.count() == 1


def test_the_same_message_id_in_another_mailbox_is_another_message(mailbox, customer):
    from mail.models import Mailbox

    other = Mailbox.objects.create(name="Other", slug="other", url="pipe:")
    raw = make_message()
    ingest(mailbox, raw)
    assert not ingest(other, raw).duplicate


# --- threading ----------------------------------------------------------------------------------------


@pytest.fixture
def open_ticket(mailbox, customer):
    return ingest(mailbox, make_message(message_id="<first@acme.example>")).message.ticket


@pytest.mark.parametrize("prefix", ["Re: ", "RE: ", "AW: ", "SV: ", "Fwd: ", "TR: ", "Re: AW: Fwd: ", ""])
def test_threading_by_the_ticket_number_in_the_subject_after_any_prefix(mailbox, customer, open_ticket, prefix):
    subject = f"{prefix}[{open_ticket.number}] Printer does not print"
    msg = ingest(mailbox, make_message(subject=subject, body="Still broken.")).message
    assert msg.status == InboundStatus.COMMENT and msg.ticket == open_ticket
    assert msg.comment.is_public and msg.comment.author == customer and "Still broken." in msg.comment.body


def test_threading_by_a_bare_number_in_the_subject(mailbox, customer, open_ticket):
    msg = ingest(mailbox, make_message(subject=f"Re: question about {open_ticket.number}")).message
    assert msg.ticket == open_ticket and msg.status == InboundStatus.COMMENT


def test_a_foreign_ticket_number_is_not_ours(mailbox, customer, open_ticket):
    msg = ingest(mailbox, make_message(subject="Incident INC678439 -- assigned [Ticket#11168]")).message
    assert msg.status == InboundStatus.TICKET and msg.ticket != open_ticket


def test_threading_by_in_reply_to_a_message_we_sent(mailbox, customer, open_ticket):
    ack = acks().get(ticket=open_ticket)
    msg = ingest(mailbox, make_message(subject="thanks", in_reply_to=ack.message_id)).message
    assert msg.ticket == open_ticket and msg.status == InboundStatus.COMMENT


def test_threading_by_references_to_a_message_we_received(mailbox, customer, open_ticket):
    msg = ingest(mailbox, make_message(subject="more", references="<other@x.example> <first@acme.example>")).message
    assert msg.ticket == open_ticket


def test_a_reply_resumes_a_ticket_pending_on_the_customer(mailbox, customer):
    ticket = ticket_in_status(TicketStatus.PENDING, requester=customer)
    ingest(mailbox, make_message(subject=f"Re: [{ticket.number}]", body="Here it is."))
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.IN_PROGRESS


def test_a_reply_to_a_resolved_ticket_reopens_it(mailbox, customer):
    ticket = ticket_in_status(TicketStatus.RESOLVED, requester=customer)
    msg = ingest(mailbox, make_message(subject=f"Re: [{ticket.number}] Resolved", body="It broke again.")).message
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.IN_PROGRESS and ticket.reopen_count == 1
    assert msg.comment.ticket == ticket and "reopened" in msg.reason
    assert OutboundEmail.objects.filter(ticket=ticket, kind=OutboundEmail.Kind.REOPEN).exists()


def test_a_reply_to_a_closed_ticket_opens_a_new_ticket_linked_to_it(mailbox, customer):
    old = ticket_in_status(TicketStatus.CLOSED, requester=customer)
    msg = ingest(mailbox, make_message(subject=f"Re: [{old.number}] Closed", body="New problem")).message
    new = msg.ticket
    assert msg.status == InboundStatus.TICKET and new != old and new.requester == customer
    assert TicketLink.objects.filter(source=new, target=old, kind=LinkKind.RELATED_TO).exists()
    old.refresh_from_db()
    assert old.status == TicketStatus.CLOSED and not old.comments.exists()


# --- the sender policy (security critical) ------------------------------------------------------------


def test_a_stranger_quoting_a_ticket_number_becomes_an_unverified_internal_note(mailbox, customer, other_customer):
    ticket = ticket_in_status(TicketStatus.IN_PROGRESS, requester=customer)
    version = ticket.version
    msg = ingest(mailbox, make_message(sender=other_customer.email, subject=f"Re: [{ticket.number}]")).message
    assert msg.status == InboundStatus.UNVERIFIED and msg.ticket == ticket
    note = msg.comment
    assert not note.is_public and note.author is None and note.author_name == f"{other_customer.email} (by mail)"
    assert "Unverified sender" in note.body and other_customer.email in note.body
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.IN_PROGRESS and ticket.version == version
    assert not OutboundEmail.objects.filter(ticket=ticket).exclude(kind=OutboundEmail.Kind.INTERNAL).exists()


@pytest.mark.smoke
def test_a_stranger_can_never_reopen_a_resolved_ticket_by_mail(mailbox, customer, other_customer):
    ticket = ticket_in_status(TicketStatus.RESOLVED, requester=customer)
    for sender in (other_customer.email, "nobody@evil.example"):
        ingest(mailbox, make_message(sender=sender, subject=f"Re: [{ticket.number}] reopen please"))
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.RESOLVED and ticket.reopen_count == 0
    assert ticket.resolution_rejected_at is None
    assert not ticket.comments.filter(is_public=True).exists()


def test_a_stranger_replying_in_the_thread_cannot_accept_or_close_it(mailbox, customer, other_customer):
    ticket = ticket_in_status(TicketStatus.RESOLVED, requester=customer)
    notice = ticket_mail_queue(ticket=ticket, kind=OutboundEmail.Kind.RESOLUTION_NOTICE, automated=True)
    raw = make_message(
        sender=other_customer.email, subject=f"Re: [{ticket.number}] Resolved", body="accept\nclose\nACCEPT",
        in_reply_to=notice.message_id,
    )  # fmt: skip
    msg = ingest(mailbox, raw).message
    ticket.refresh_from_db()
    assert msg.status == InboundStatus.UNVERIFIED
    assert ticket.status == TicketStatus.RESOLVED and ticket.resolution_accepted_at is None


def test_a_stranger_cannot_resume_a_ticket_pending_on_the_customer(mailbox, customer, other_customer):
    ticket = ticket_in_status(TicketStatus.PENDING, requester=customer)
    ingest(mailbox, make_message(sender=other_customer.email, subject=f"[{ticket.number}]"))
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.PENDING


def test_a_stranger_replying_to_a_closed_ticket_gets_a_ticket_of_their_own(mailbox, customer, other_customer):
    old = ticket_in_status(TicketStatus.CLOSED, requester=customer)
    msg = ingest(mailbox, make_message(sender=other_customer.email, subject=f"Re: [{old.number}]")).message
    assert msg.ticket != old and msg.ticket.requester == other_customer
    assert not old.comments.exists()
    # no link to someone else's ticket: the new ticket does not show (or lead to) the old one
    assert not TicketLink.objects.filter(source=msg.ticket, target=old).exists()
    assert not TicketLink.objects.filter(source=old, target=msg.ticket).exists()


def test_a_stranger_faking_an_auto_reply_is_still_an_unverified_sender(mailbox, customer, other_customer):
    """The auto-reply headers and subjects are anyone's to write: they never make a stranger's mail a plain note."""
    for status in (TicketStatus.IN_PROGRESS, TicketStatus.CLOSED):
        ticket = ticket_in_status(status, requester=customer)
        raw = make_message(
            sender=other_customer.email,
            subject=f"Out of office: [{ticket.number}]",
            headers={"Auto-Submitted": "auto-replied"},
        )
        msg = ingest(mailbox, raw).message
        ticket.refresh_from_db()
        assert msg.status == InboundStatus.UNVERIFIED and msg.ticket == ticket
        assert "Unverified sender" in msg.comment.body and not msg.comment.is_public
        assert ticket.status == status


def test_a_spoofed_display_name_does_not_make_a_stranger_the_requester(mailbox, customer):
    ticket = ticket_in_status(TicketStatus.RESOLVED, requester=customer)
    raw = make_message(sender=f'"{customer.email}" <attacker@evil.example>', subject=f"Re: [{ticket.number}]")
    assert ingest(mailbox, raw).message.status == InboundStatus.UNVERIFIED
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.RESOLVED


def test_a_cc_watcher_may_reply_for_the_customer(mailbox, customer, colleague):
    ticket = ticket_in_status(TicketStatus.RESOLVED, requester=customer)
    ticket.watchers.add(colleague)
    msg = ingest(mailbox, make_message(sender=colleague.email, subject=f"Re: [{ticket.number}]")).message
    ticket.refresh_from_db()
    assert msg.status == InboundStatus.COMMENT and msg.comment.is_public and ticket.status == TicketStatus.IN_PROGRESS


def test_a_contact_of_the_organization_replies_only_where_the_organization_shares_tickets(
    mailbox, customer, colleague, org_a
):
    ticket = ticket_in_status(TicketStatus.IN_PROGRESS, requester=customer)
    first = ingest(mailbox, make_message(sender=colleague.email, subject=f"Re: [{ticket.number}] a")).message
    assert first.status == InboundStatus.UNVERIFIED
    org_a.share_tickets = True
    org_a.save()
    second = ingest(mailbox, make_message(sender=colleague.email, subject=f"Re: [{ticket.number}] b")).message
    assert second.status == InboundStatus.COMMENT and second.comment.is_public


def test_an_agent_replying_by_mail_adds_an_internal_note(mailbox, customer, desk):
    ticket = ticket_in_status(TicketStatus.IN_PROGRESS, requester=customer)
    msg = ingest(mailbox, make_message(sender=desk.email, subject=f"Re: [{ticket.number}]")).message
    assert msg.comment.author == desk and not msg.comment.is_public


# --- loops, auto-replies, bounces, acknowledgements ----------------------------------------------------


@pytest.mark.parametrize(
    "headers,subject",
    [
        ({"Auto-Submitted": "auto-replied"}, "Re: hello"),
        ({"X-Autoreply": "yes"}, "Re: hello"),
        ({"X-Autorespond": "yes"}, "Re: hello"),
        ({"Precedence": "bulk"}, "Newsletter"),
        ({"Precedence": "junk"}, "Newsletter"),
        ({"Precedence": "list", "List-Id": "<users.lists.example>"}, "[users] hello"),
        ({}, "Out of Office: back on Monday"),
        ({}, "Risposta automatica: fuori sede"),
        ({}, "Automatic reply: away"),
        ({}, "Automatische Antwort: Druckerproblem"),
    ],
)
def test_automatic_and_bulk_mail_never_gets_an_acknowledgement(mailbox, customer, headers, subject):
    msg = ingest(mailbox, make_message(subject=subject, headers=headers)).message
    assert msg.status == InboundStatus.TICKET and "not acknowledged" in msg.reason
    assert not acks().exists()


def test_an_explicit_auto_submitted_no_is_answered(mailbox, customer):
    ingest(mailbox, make_message(headers={"Auto-Submitted": "no"}))
    assert acks().count() == 1


def test_mail_from_our_own_address_is_quarantined_as_a_loop(mailbox):
    msg = ingest(mailbox, make_message(sender="support@itsm.example")).message
    assert msg.status == InboundStatus.QUARANTINED and "loop" in msg.reason
    assert not OutboundEmail.objects.exists()


def test_an_auto_reply_to_a_ticket_is_an_internal_note_and_does_not_reopen_it(mailbox, customer):
    ticket = ticket_in_status(TicketStatus.RESOLVED, requester=customer)
    raw = make_message(
        subject=f"Automatic reply: [{ticket.number}] Resolved", headers={"Auto-Submitted": "auto-replied"}
    )
    msg = ingest(mailbox, raw).message
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.RESOLVED and ticket.reopen_count == 0
    assert not msg.comment.is_public and "Automatic reply" in msg.comment.body
    assert not OutboundEmail.objects.filter(ticket=ticket).exists()


def test_acknowledgements_to_one_sender_are_rate_limited(mailbox, customer, settings):
    settings.ITSM_MAIL_ACK_RATE_LIMIT = 3
    for i in range(5):
        ingest(mailbox, make_message(subject=f"Problem {i}"))
    assert Ticket.objects.count() == 5 and acks().count() == 3
    suppressed = Ticket.objects.filter(events__event_type=TicketEventType.NOTIFICATION_SUPPRESSED)
    assert suppressed.count() == 2


def _bounce(original_id: str, *, action="failed", status="5.1.1") -> bytes:
    return (
        "From: MAILER-DAEMON@mx.acme.example (Mail Delivery System)\r\n"
        "To: support@itsm.example\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <bounce-1@mx.acme.example>\r\nAuto-Submitted: auto-replied\r\n"
        'MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.acme.example\r\n\r\n"
        f"Final-Recipient: rfc822; gone@acme.example\r\nAction: {action}\r\nStatus: {status}\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n"
        "--B\r\nContent-Type: message/rfc822\r\n\r\n"
        f"From: support@itsm.example\r\nTo: gone@acme.example\r\nMessage-ID: {original_id}\r\n"
        "Subject: [INC-000001] We received your request\r\n\r\nbody\r\n--B--\r\n"
    ).encode()


def test_a_bounce_marks_the_outbound_mail_it_returns_failed_on_its_ticket(mailbox, customer):
    ticket = ingest(mailbox, make_message()).message.ticket
    ack = acks().get(ticket=ticket)
    msg = ingest(mailbox, _bounce(ack.message_id)).message
    ack.refresh_from_db()
    assert msg.status == InboundStatus.BOUNCE and msg.ticket == ticket
    assert ack.status == OutboundEmail.Status.FAILED and "5.1.1" in ack.last_error
    failed = ticket.events.get(event_type=TicketEventType.NOTIFICATION_FAILED)
    assert failed.data["bounce"] and failed.data["outbound_id"] == ack.pk
    assert Ticket.objects.count() == 1 and acks().count() == 1  # never answered, no ticket


def test_a_delay_report_is_not_a_failure(mailbox, customer):
    ticket = ingest(mailbox, make_message()).message.ticket
    ack = acks().get(ticket=ticket)
    msg = ingest(mailbox, _bounce(ack.message_id, action="delayed", status="4.4.1")).message
    ack.refresh_from_db()
    assert msg.status == InboundStatus.BOUNCE and ack.status != OutboundEmail.Status.FAILED


def test_a_bounce_about_a_message_we_never_sent_is_quarantined(mailbox):
    msg = ingest(mailbox, _bounce("<not-ours@elsewhere.example>")).message
    assert msg.status == InboundStatus.QUARANTINED and "did not send" in msg.reason
    assert not Ticket.objects.exists()


# --- limits, quarantine, replay -----------------------------------------------------------------------


def test_an_attachment_over_the_limit_is_dropped_with_a_note_and_the_message_taken_in(mailbox, customer, settings):
    settings.ITSM_MAIL_MAX_ATTACHMENT_BYTES = 1000
    raw = make_message(
        attachments=[("small.txt", "text/plain", b"ok"), ("huge.bin", "application/octet-stream", b"x" * 5000)]
    )
    msg = ingest(mailbox, raw).message
    ticket = msg.ticket
    assert [a.filename for a in ticket.attachments.all()] == ["small.txt"]
    note = ticket.comments.get(is_public=False)
    assert "huge.bin" in note.body and "5000 bytes" in note.body


def test_a_message_over_the_size_limit_is_quarantined_with_its_bytes(mailbox, customer, settings):
    settings.ITSM_MAIL_MAX_MESSAGE_BYTES = 2000
    raw = make_message(body="x" * 5000)
    msg = ingest(mailbox, raw).message
    assert msg.status == InboundStatus.QUARANTINED and "limit" in msg.reason
    assert bytes(InboundMessage.objects.get(pk=msg.pk).raw) == raw
    assert msg.from_address == customer.email


def test_a_message_that_cannot_be_read_is_quarantined_and_can_be_replayed(mailbox, customer, desk):
    raw = b"\x00\x01 this is not a mail at all"
    msg = ingest(mailbox, raw).message
    assert msg.status == InboundStatus.QUARANTINED and "cannot be read" in msg.reason
    msg = inbound_message_replay(message=msg, actor=desk)
    assert msg.status == InboundStatus.QUARANTINED and msg.replay_count == 1


def test_replay_takes_a_quarantined_message_in_after_the_cause_is_fixed(mailbox, desk, org_a):
    mailbox.refuse_unknown_senders = True
    mailbox.save()
    msg = ingest(mailbox, make_message(sender="newbie@acme.example")).message
    assert msg.status == InboundStatus.QUARANTINED
    User.objects.create(username="newbie", email="newbie@acme.example", organization=org_a)
    msg = inbound_message_replay(message=msg, actor=desk)
    assert msg.status == InboundStatus.TICKET and msg.ticket.requester.email == "newbie@acme.example"
    assert ingest(mailbox, bytes(msg.raw)).duplicate


def test_only_the_service_desk_may_replay(mailbox, customer):
    from itsm.lib.errors import PermissionDenied

    msg = ingest(mailbox, b"garbage").message
    with pytest.raises(PermissionDenied):
        inbound_message_replay(message=msg, actor=customer)


def test_a_bug_in_processing_quarantines_instead_of_losing_the_message(mailbox, customer, monkeypatch):
    import mail.services

    def broken(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(mail.services, "intake_ticket_create", broken)
    msg = ingest(mailbox, make_message()).message
    assert msg.status == InboundStatus.QUARANTINED and "RuntimeError: boom" in msg.reason
    assert not Ticket.objects.exists() and InboundMessage.objects.filter(pk=msg.pk).exists()


# --- HTML -----------------------------------------------------------------------------------------------

HOSTILE = (
    '<html><head><style>body{display:none}</style><script>alert(1)</script></head><body onload="x()">'
    '<p onclick="steal()">Hello <a href="javascript:alert(2)">click</a> <a href="https://ok.example/">ok</a></p>'
    '<img src="https://tracker.example/pixel.gif" alt="tracker"><img src="cid:logo@acme">'
    '<iframe src="https://evil.example"></iframe><form action="https://evil.example"><input name="p"></form>'
    '<div class="gmail_quote">On Monday Bob wrote:<blockquote>old text</blockquote></div></body></html>'
)


def test_hostile_html_is_sanitized_and_cid_images_are_served_from_the_attachments(client, mailbox, customer, desk):
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
    from email.message import EmailMessage

    m = EmailMessage()
    m["From"], m["To"], m["Subject"], m["Message-ID"] = customer.email, "support@itsm.example", "html", "<h@a>"
    m.set_content("Hello")
    m.add_alternative(HOSTILE, subtype="html")
    m.get_payload()[1].add_related(png, "image", "png", cid="<logo@acme>", filename="logo.png")
    msg = ingest(mailbox, m.as_bytes()).message
    html = msg.body_html
    for bad in ("<script", "<style", "onload", "onclick", "javascript:", "tracker.example", "<iframe", "<form"):
        assert bad not in html, bad
    assert 'alt="tracker"' in html and "https://ok.example/" in html
    assert '<details class="quoted-history">' in html and "old text" in html
    logo = msg.ticket.attachments.get(filename="logo.png")
    assert msg.cid_map == {"logo@acme": logo.pk}

    client.force_login(desk)
    page = client.get(msg.ticket.get_absolute_url()).content.decode()
    assert f'src="/mail/images/{logo.pk}/"' in page and "<script>alert(1)" not in page
    image = client.get(f"/mail/images/{logo.pk}/")
    assert image.status_code == 200 and image["Content-Type"] == "image/png"
    assert image["X-Content-Type-Options"] == "nosniff"


def test_inline_images_are_permission_checked_and_only_real_images(client, mailbox, customer, other_customer):
    raw = make_message(attachments=[("fake.png", "image/png", b"<svg onload=alert(1)>"), ("a.txt", "text/plain", b"x")])
    ticket = ingest(mailbox, raw).message.ticket
    fake = ticket.attachments.get(filename="fake.png")
    client.force_login(customer)
    assert client.get(f"/mail/images/{fake.pk}/").status_code == 404  # not an image
    client.force_login(other_customer)
    assert client.get(f"/attachments/{fake.pk}/").status_code == 404  # not theirs


def test_the_ticket_page_folds_quoted_history_in_plain_text(client, mailbox, customer):
    body = "New info below.\n\nOn Mon, 1 Jan 2026 Service Desk wrote:\n> We received your request\n> old\n"
    ticket = ingest(mailbox, make_message(body=body)).message.ticket
    client.force_login(customer)
    page = client.get(ticket.get_absolute_url()).content.decode()
    assert "New info below." in page and '<details class="quoted-history">' in page
    assert Ticket.objects.get(pk=ticket.pk).description.count("We received your request") == 1  # kept in full


def test_an_unverified_note_is_shown_to_agents_only(client, mailbox, customer, other_customer, desk):
    ticket = ticket_in_status(TicketStatus.IN_PROGRESS, requester=customer)
    ingest(mailbox, make_message(sender=other_customer.email, subject=f"[{ticket.number}]", body="secret words"))
    client.force_login(desk)
    page = client.get(ticket.get_absolute_url()).content.decode()
    assert "Unverified sender" in page and "secret words" in page
    client.force_login(customer)
    assert "secret words" not in client.get(ticket.get_absolute_url()).content.decode()
    assert Comment.objects.filter(ticket=ticket, is_public=False).count() == 1


# --- cost -------------------------------------------------------------------------------------------------

# Measured on both databases (the same counts): what one message costs once the process has loaded its
# configuration (rules, SLA policies, escalation paths). A change that adds queries to every mail shows here;
# bench/bench_mail_intake.py measures what they cost.
NEW_TICKET_QUERIES = 33
REPLY_QUERIES = 32


def test_a_new_ticket_and_a_reply_by_mail_stay_within_their_query_budget(mailbox, customer):
    ingest(mailbox, make_message(subject="Warm-up: the first message loads the configuration"))
    with CaptureQueriesContext(connection) as new:
        opened = ingest(mailbox, make_message(subject="Printer on fire"))
    number = opened.message.ticket.number
    with CaptureQueriesContext(connection) as reply:
        replied = ingest(mailbox, make_message(subject=f"Re: [{number}] Printer on fire", body="Still burning"))
    assert opened.message.status == InboundStatus.TICKET and replied.message.status == InboundStatus.COMMENT
    assert len(new) <= NEW_TICKET_QUERIES, "\n".join(q["sql"][:120] for q in new)
    assert len(reply) <= REPLY_QUERIES, "\n".join(q["sql"][:120] for q in reply)
