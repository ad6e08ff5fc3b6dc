"""Browser pages: login, list, detail with timeline, create, actions; visibility and query counts."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from tests.factories import TicketFactory, ticket_in_status
from tickets.choices import TicketStatus
from tickets.models import Ticket
from tickets.services import comment_add


@pytest.mark.smoke
def test_login_page_and_redirects(client, db):
    assert client.get("/").status_code == 302
    page = client.get("/accounts/login/")
    assert page.status_code == 200 and b"Log in" in page.content
    assert client.get("/tickets/").status_code == 302


@pytest.mark.smoke
def test_agent_list_detail_and_timeline(client, desk, customer):
    ticket = TicketFactory(requester=customer, actor=desk, title="Mail server slow")
    comment_add(ticket=ticket, author=desk, body="Checking the queue", is_public=False)
    client.force_login(desk)
    listing = client.get("/tickets/")
    assert listing.status_code == 200 and ticket.number.encode() in listing.content
    detail = client.get(f"/tickets/{ticket.number}/")
    assert detail.status_code == 200
    assert b"Mail server slow" in detail.content and b"Checking the queue" in detail.content
    assert b"created the ticket" in detail.content and b"History" in detail.content


def test_htmx_list_returns_only_the_results_fragment(client, desk, customer):
    TicketFactory(requester=customer)
    client.force_login(desk)
    fragment = client.get("/tickets/?q=", HTTP_HX_REQUEST="true")
    assert fragment.status_code == 200
    assert b'id="results"' in fragment.content and b"<html" not in fragment.content


def test_customer_sees_own_ticket_not_internal_notes_and_404_for_others(client, desk, customer, other_customer):
    mine = TicketFactory(requester=customer, actor=desk)
    comment_add(ticket=mine, author=desk, body="secret internal note", is_public=False)
    theirs = TicketFactory(requester=other_customer)
    client.force_login(customer)
    page = client.get(f"/tickets/{mine.number}/")
    assert page.status_code == 200 and b"secret internal note" not in page.content
    assert client.get(f"/tickets/{theirs.number}/").status_code == 404
    assert client.post(f"/tickets/{theirs.number}/comment/", {"body": "hi"}).status_code == 404
    assert theirs.number.encode() not in client.get("/tickets/").content


def test_agent_creates_ticket_for_new_contact(client, desk, service):
    client.force_login(desk)
    response = client.post(
        "/tickets/new/",
        {
            "requester_email": "Zoe@Newco.example",
            "requester_name": "Zoe Zed",
            "title": "Phone call: VPN down",
            "description": "Called at 9",
            "ticket_type": "incident",
            "channel": "phone",
            "impact": 3,
            "urgency": 2,
            "service": service.pk,
            "attachment": SimpleUploadedFile("screen.png", b"\x89PNG..."),
        },
    )
    assert response.status_code == 302
    ticket = Ticket.objects.get(title="Phone call: VPN down")
    assert ticket.requester.email.lower() == "zoe@newco.example" and not ticket.requester.has_usable_password()
    assert ticket.channel == "phone" and ticket.status == TicketStatus.ASSIGNED
    assert ticket.attachments.get().filename == "screen.png"


def test_customer_portal_create_comment_and_accept(client, customer, desk):
    client.force_login(customer)
    response = client.post(
        "/tickets/new/", {"title": "Printer jam", "ticket_type": "incident", "impact": 4, "urgency": 3}
    )
    assert response.status_code == 302
    ticket = Ticket.objects.get(title="Printer jam")
    assert ticket.channel == "portal" and ticket.requester == customer
    client.post(f"/tickets/{ticket.number}/comment/", {"body": "It jams on A3", "is_public": ""})
    assert ticket.comments.get().is_public  # a customer's message is always public


def test_agent_actions_show_errors_not_500(client, desk, customer):
    ticket = TicketFactory(requester=customer)
    client.force_login(desk)
    response = client.post(
        f"/tickets/{ticket.number}/transition/", {"to": "closed", "version": ticket.version}, follow=True
    )
    assert response.status_code == 200 and b"Cannot move a ticket from New" in response.content
    stale = client.post(
        f"/tickets/{ticket.number}/edit/",
        {"version": 99, "title": "x", "ticket_type": "incident", "impact": 4, "urgency": 3},
        follow=True,
    )
    assert b"changed by someone else" in stale.content
    ok = client.post(
        f"/tickets/{ticket.number}/transition/", {"to": "in_progress", "version": ticket.version}, follow=True
    )
    assert b"is now In Progress" in ok.content


def test_attachment_download_is_forced_and_checked(client, desk, customer, other_customer):
    ticket = TicketFactory(requester=customer)
    comment_add(
        ticket=ticket,
        author=desk,
        body="log",
        is_public=False,
        files=[SimpleUploadedFile("debug.svg", b"<svg onload=alert(1)>")],
    )
    attachment = ticket.attachments.get()
    assert "debug.svg" not in attachment.file.name  # stored under a generated name
    client.force_login(desk)
    response = client.get(f"/attachments/{attachment.pk}/")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    client.force_login(customer)  # internal file: not for the customer
    assert client.get(f"/attachments/{attachment.pk}/").status_code == 404
    client.force_login(other_customer)
    assert client.get(f"/attachments/{attachment.pk}/").status_code == 404


def _count(client, url, user) -> int:
    if isinstance(client, APIClient):
        client.force_authenticate(type(user).objects.get(pk=user.pk))  # a fresh user: no cached permissions
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("url", ["/tickets/?status=new&status=assigned", "/api/v1/tickets/"])
def test_ticket_list_query_count_does_not_grow(client, desk, customer, service, url):
    for _ in range(10):
        TicketFactory(requester=customer, service=service)
    client.force_login(desk)
    get = APIClient() if url.startswith("/api/") else client
    small = _count(get, url, desk)
    for _ in range(190):
        TicketFactory(requester=customer, service=service)
    assert Ticket.objects.count() == 200
    assert _count(get, url, desk) == small


def test_reporting_overview(client, manager, customer):
    ticket_in_status(TicketStatus.IN_PROGRESS, requester=customer)
    client.force_login(manager)
    page = client.get("/reporting/")
    assert page.status_code == 200 and b"Backlog overview" in page.content
    client.force_login(customer)
    assert client.get("/reporting/").status_code == 302
