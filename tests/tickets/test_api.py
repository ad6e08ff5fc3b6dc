"""REST API v1: authentication, visibility (404 for what is not yours), errors as 4xx with a message."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from tests.factories import PASSWORD, TicketFactory, ticket_in_status
from tickets.choices import TicketStatus
from tickets.services import comment_add


def api(user=None, token=False):
    client = APIClient()
    if user is not None:
        if token:
            response = client.post("/api/v1/auth/token/", {"username": user.username, "password": PASSWORD})
            assert response.status_code == 200, response.content
            client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
        else:
            client.force_authenticate(user)
    return client


@pytest.mark.smoke
def test_token_auth_and_ticket_shape(db, desk, customer, service):
    client = api(desk, token=True)
    response = client.post(
        "/api/v1/tickets/",
        {
            "title": "Server down",
            "requester": customer.pk,
            "service": service.pk,
            "impact": 2,
            "urgency": 1,
            "ticket_type": "incident",
            "channel": "phone",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    for key in [
        "number",
        "title",
        "description",
        "ticket_type",
        "status",
        "pending_reason",
        "channel",
        "impact",
        "urgency",
        "priority",
        "service",
        "requester",
        "organization",
        "resolver_group",
        "assignee",
        "created_at",
        "updated_at",
        "resolved_at",
        "closed_at",
        "version",
    ]:
        assert key in body
    assert body["number"].startswith("INC-") and body["ticket_type"] == "incident"
    assert body["status"] == "assigned" and body["resolver_group"] == service.default_resolver_group_id
    assert body["impact"] == 2 and body["urgency"] == 1 and body["channel"] == "phone"
    assert body["organization"] == customer.organization_id
    detail = client.get(f"/api/v1/tickets/{body['number']}/")
    assert detail.status_code == 200 and detail.json()["number"] == body["number"]


def test_unauthenticated_and_bad_credentials(db, desk):
    assert APIClient().get("/api/v1/tickets/").status_code == 401
    bad = APIClient().post("/api/v1/auth/token/", {"username": desk.username, "password": "nope"})
    assert bad.status_code == 400


def test_customer_creates_own_ticket_only(db, customer, other_customer):
    client = api(customer)
    response = client.post("/api/v1/tickets/", {"title": "Need help"}, format="json")
    assert response.status_code == 201
    assert response.json()["requester"] == customer.pk and response.json()["channel"] == "api"
    refused = client.post("/api/v1/tickets/", {"title": "x", "requester": other_customer.pk}, format="json")
    assert refused.status_code == 403


@pytest.mark.smoke
def test_customer_of_another_organization_gets_404_everywhere(db, customer, other_customer):
    ticket = TicketFactory(requester=customer)
    client = api(other_customer)
    n = ticket.number
    assert client.get(f"/api/v1/tickets/{n}/").status_code == 404
    assert client.patch(f"/api/v1/tickets/{n}/", {"title": "x"}, format="json").status_code == 404
    assert client.get(f"/api/v1/tickets/{n}/comments/").status_code == 404
    assert client.post(f"/api/v1/tickets/{n}/comments/", {"body": "hi"}, format="json").status_code == 404
    assert client.get(f"/api/v1/tickets/{n}/events/").status_code == 404
    assert client.post(f"/api/v1/tickets/{n}/transitions/", {"to": "cancelled"}, format="json").status_code == 404
    listing = client.get("/api/v1/tickets/")
    assert listing.status_code == 200 and listing.json()["count"] == 0


def test_organization_sharing(db, customer, colleague):
    ticket = TicketFactory(requester=customer)
    assert api(colleague).get(f"/api/v1/tickets/{ticket.number}/").status_code == 404
    customer.organization.share_tickets = True
    customer.organization.save()
    assert api(colleague).get(f"/api/v1/tickets/{ticket.number}/").status_code == 200


def test_customer_cannot_patch_own_ticket(db, customer):
    ticket = TicketFactory(requester=customer)
    response = api(customer).patch(f"/api/v1/tickets/{ticket.number}/", {"title": "mine"}, format="json")
    assert response.status_code == 403 and "detail" in response.json()


def test_patch_with_stale_version_is_409(db, desk, customer, group):
    ticket = TicketFactory(requester=customer)
    client = api(desk)
    ok = client.patch(f"/api/v1/tickets/{ticket.number}/", {"title": "New title", "version": 1}, format="json")
    assert ok.status_code == 200 and ok.json()["version"] == 2
    stale = client.patch(f"/api/v1/tickets/{ticket.number}/", {"urgency": 1, "version": 1}, format="json")
    assert stale.status_code == 409
    assert "changed by someone else" in stale.json()["detail"]
    header = client.patch(f"/api/v1/tickets/{ticket.number}/", {"urgency": 1}, format="json", HTTP_IF_MATCH='"1"')
    assert header.status_code == 409
    assign = client.patch(
        f"/api/v1/tickets/{ticket.number}/", {"resolver_group": group.pk, "version": 2}, format="json"
    )
    assert assign.status_code == 200 and assign.json()["status"] == "assigned"


def test_transition_errors_are_400_with_a_message(db, desk, customer):
    ticket = TicketFactory(requester=customer)
    client = api(desk)
    bad = client.post(f"/api/v1/tickets/{ticket.number}/transitions/", {"to": "closed"}, format="json")
    assert bad.status_code == 400
    assert "New (new)" in bad.json()["detail"] and "Closed (closed)" in bad.json()["detail"]
    unknown = client.post(f"/api/v1/tickets/{ticket.number}/transitions/", {"to": "archived"}, format="json")
    assert unknown.status_code == 400
    resolved = ticket_in_status(TicketStatus.RESOLVED, requester=customer)
    blocked = client.post(f"/api/v1/tickets/{resolved.number}/transitions/", {"to": "closed"}, format="json")
    assert blocked.status_code == 400 and blocked.json()["code"] == "closure_blocked"
    assert len(blocked.json()["errors"]["unmet"]) == 2
    ok = client.post(
        f"/api/v1/tickets/{ticket.number}/transitions/",
        {"to": "pending", "pending_reason": "awaiting_customer"},
        format="json",
    )
    assert ok.status_code == 200 and ok.json()["pending_reason"] == "awaiting_customer"


def test_malformed_input_is_400_not_500(db, desk, customer):
    ticket = TicketFactory(requester=customer)
    client = api(desk)
    garbage = client.generic("POST", "/api/v1/tickets/", "{not json", content_type="application/json")
    assert garbage.status_code == 400
    assert client.post("/api/v1/tickets/", {"title": ""}, format="json").status_code == 400
    assert client.post("/api/v1/tickets/", {"title": "x", "impact": 9}, format="json").status_code == 400
    assert client.patch(f"/api/v1/tickets/{ticket.number}/", {"urgency": "soon"}, format="json").status_code == 400
    assert client.get("/api/v1/tickets/?status=bogus").status_code == 400
    assert client.get("/api/v1/tickets/NOPE-1/").status_code == 404


def test_internal_notes_and_events_hidden_from_customers(db, desk, customer):
    ticket = TicketFactory(requester=customer, actor=desk)
    comment_add(ticket=ticket, author=desk, body="customer seems confused", is_public=False)
    comment_add(ticket=ticket, author=desk, body="We are on it.", is_public=True)
    agent_view = api(desk).get(f"/api/v1/tickets/{ticket.number}/comments/").json()
    customer_view = api(customer).get(f"/api/v1/tickets/{ticket.number}/comments/").json()
    assert len(agent_view) == 2
    assert [c["body"] for c in customer_view] == ["We are on it."]
    events_customer = api(customer).get(f"/api/v1/tickets/{ticket.number}/events/").json()
    assert all(not (e["event_type"] == "comment_added" and not e["data"]["public"]) for e in events_customer)
    assert len(api(desk).get(f"/api/v1/tickets/{ticket.number}/events/").json()) > len(events_customer)
    refused = api(customer).post(
        f"/api/v1/tickets/{ticket.number}/comments/", {"body": "x", "public": False}, format="json"
    )
    assert refused.status_code == 403


def test_comment_with_file_and_download_headers(db, desk, customer):
    ticket = TicketFactory(requester=customer)
    upload = SimpleUploadedFile("report.html", b"<script>alert(1)</script>", content_type="text/html")
    response = api(customer).post(
        f"/api/v1/tickets/{ticket.number}/comments/", {"body": "see file", "files": [upload]}, format="multipart"
    )
    assert response.status_code == 201, response.content
    url = response.json()["attachments"][0]["url"]
    download = api(customer).get(url)
    assert download.status_code == 200
    assert (
        download["Content-Disposition"].startswith("attachment;") and "report.html" in download["Content-Disposition"]
    )
    assert download["X-Content-Type-Options"] == "nosniff"
    assert download["Content-Type"] == "application/octet-stream"
    assert b"".join(download.streaming_content) == b"<script>alert(1)</script>"


def test_resolution_endpoint(db, customer):
    from django.utils import timezone

    from tickets.models import Ticket

    ticket = ticket_in_status(TicketStatus.RESOLVED, requester=customer)
    Ticket.objects.filter(pk=ticket.pk).update(resolution_notice_sent_at=timezone.now())
    response = api(customer).post(f"/api/v1/tickets/{ticket.number}/resolution/", {"accept": True}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "closed"


def test_links_api(db, desk, customer):
    a, b = TicketFactory(requester=customer), TicketFactory(requester=customer)
    client = api(desk)
    created = client.post(
        f"/api/v1/tickets/{a.number}/links/", {"kind": "parent_of", "target": b.number}, format="json"
    )
    assert created.status_code == 201
    cycle = client.post(f"/api/v1/tickets/{b.number}/links/", {"kind": "parent_of", "target": a.number}, format="json")
    assert cycle.status_code == 400 and "cycle" in cycle.json()["detail"]
    from_b = client.get(f"/api/v1/tickets/{b.number}/links/").json()
    assert from_b == [
        {
            "id": created.json()["id"],
            "kind": "parent_of",
            "label": "Child of",
            "direction": "in",
            "ticket": a.number,
            "title": a.title,
            "status": a.status,
        }
    ]


def test_openapi_schema(db, desk):
    response = api(desk).get("/api/schema/")
    assert response.status_code == 200
    assert b"/api/v1/tickets/{number}/transitions/" in response.content


@pytest.mark.smoke
def test_nul_bytes_and_garbage_ids_are_4xx_not_500(db, desk, customer, client):
    """PostgreSQL refuses NUL in any query: such input must be a 400 or 404 before it gets there."""
    ticket = TicketFactory(requester=customer)
    api_client = api(desk)
    assert api_client.get("/api/v1/tickets/%00/").status_code == 400
    assert api_client.get(f"/api/v1/tickets/{ticket.number}%00/").status_code == 400
    assert api_client.get("/api/v1/tickets/?q=a%00b").status_code == 400
    nul_title = api_client.post("/api/v1/tickets/", {"title": "a\x00b"}, format="json")
    assert nul_title.status_code == 400 and "title" in nul_title.json()
    assert api_client.get("/api/v1/tickets/" + "X" * 200 + "/").status_code == 404
    client.force_login(desk)
    assert client.get("/tickets/%00/").status_code == 400
    garbage = client.post(f"/tickets/{ticket.number}/links/remove/", {"link_id": "abc"}, follow=True)
    assert garbage.status_code == 200 and b"No such link on this ticket" in garbage.content


def test_a_customer_may_copy_only_people_of_their_own_organization(db, customer, colleague, other_customer, desk):
    client = api(customer)
    own = client.post(
        "/api/v1/tickets/", {"title": "x", "cc": [colleague.email, "new.person@acme.example"]}, format="json"
    )
    assert own.status_code == 201
    ticket = TicketFactory._meta.model.objects.get(number=own.json()["number"])
    assert sorted(w.email for w in ticket.watchers.all()) == sorted([colleague.email, "new.person@acme.example"])
    stranger = client.post(
        "/api/v1/tickets/", {"title": "x", "cc": [other_customer.email, "anyone@elsewhere.example"]}, format="json"
    )
    assert stranger.status_code == 400
    assert "anyone@elsewhere.example" in str(stranger.json()) and other_customer.email in str(stranger.json())
    assert not TicketFactory._meta.model.objects.filter(requester=customer).exclude(pk=ticket.pk).exists()
    from accounts.models import User

    assert not User.objects.filter(email="anyone@elsewhere.example").exists()
    by_agent = api(desk).post(
        "/api/v1/tickets/",
        {"title": "x", "requester": customer.pk, "cc": ["anyone@elsewhere.example"]},
        format="json",
    )
    assert by_agent.status_code == 201
