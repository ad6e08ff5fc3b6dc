"""Escalation pages: the overview is the Service Manager's, paths are edited there, the ticket page shows the
current level and offers the escalation actions to agents, notifications show in the top bar; the API."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from escalations.models import Escalation, EscalationPath, Notification, VendorCase
from escalations.services import escalation_scan_due
from tests.escalations.conftest import MONDAY_9
from tests.factories import TicketFactory
from tests.sla.conftest import rome


def escalated_ticket(customer, desk, service, at=MONDAY_9):
    ticket = TicketFactory(requester=customer, actor=desk, service=service, now=at)
    escalation_scan_due(now=at + timedelta(days=1))  # Tuesday 09:00: levels 1 (75%) and 2 (breach at 08:00)
    return ticket


def test_the_overview_is_for_service_managers(client, hierarchy, desk, customer, resolver, manager, service):
    escalated_ticket(customer, desk, service)
    for user in (desk, resolver, customer):
        client.force_login(user)
        assert client.get("/escalations/").status_code == 403
    client.force_login(manager)
    page = client.get("/escalations/").content.decode()
    assert "Level 2: Service Manager" in page and "Infrastructure" in page and "Standard escalation" in page
    assert "75% of Resolution used" in page  # the path's levels, in words
    filtered = client.get("/escalations/?level=1").content.decode()
    assert "No ticket is escalated with these filters" in filtered


def test_overview_query_count_does_not_grow_with_escalated_tickets(client, hierarchy, desk, customer, manager, service):
    client.force_login(manager)
    escalated_ticket(customer, desk, service)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/escalations/").status_code == 200
        return len(ctx.captured_queries)

    small = count()
    for _ in range(15):
        escalated_ticket(customer, desk, service)
    assert Escalation.objects.filter(closed_at=None).count() == 16 * 2
    assert count() == small


def test_a_service_manager_creates_a_path_on_its_page(client, standard, manager, group):
    client.force_login(manager)
    assert client.get("/escalations/paths/new/").status_code == 200
    data = {
        "name": "Infra path",
        "position": "20",
        "is_active": "on",
        "resolver_groups": [str(group.pk)],
        "levels-TOTAL_FORMS": "3",
        "levels-INITIAL_FORMS": "0",
        "levels-MIN_NUM_FORMS": "0",
        "levels-MAX_NUM_FORMS": "1000",
        "levels-0-name": "Half time",
        "levels-0-kind": "clock_percent",
        "levels-0-metric": "resolution",
        "levels-0-percent": "50",
        "levels-0-notify_group_manager": "on",
        "levels-1-name": "Breach",
        "levels-1-kind": "after_target",
        "levels-1-metric": "resolution",
        "levels-1-duration": "0m",
        "levels-1-notify_service_managers": "on",
    }
    response = client.post("/escalations/paths/new/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    path = EscalationPath.objects.get(name="Infra path")
    assert [lv.name for lv in path.levels.all()] == ["Half time", "Breach"] and list(path.resolver_groups.all()) == [
        group
    ]
    # a level without an action is refused, with the reason on the form
    data["name"] = "Broken"
    data["levels-1-notify_service_managers"] = ""
    page = client.post("/escalations/paths/new/", data).content.decode()
    assert "Level 2: choose at least one action." in page
    assert not EscalationPath.objects.filter(name="Broken").exists()


def test_the_ticket_page_shows_the_level_to_agents_only(client, hierarchy, desk, customer, service):
    ticket = escalated_ticket(customer, desk, service)
    client.force_login(desk)
    page = client.get(f"/tickets/{ticket.number}/").content.decode()
    assert 'id="escalation"' in page and "Level 2: Service Manager" in page and "Escalate to a group" in page
    assert "escalated to level 2 (Service Manager): Resolution breached" in page  # the history line
    client.force_login(customer)
    page = client.get(f"/tickets/{ticket.number}/").content.decode()
    assert 'id="escalation"' not in page and "Level 2" not in page


def test_agents_escalate_by_hand_from_the_ticket_page(client, desk, customer, service, vendor, mailbox, network):
    ticket = TicketFactory(requester=customer, actor=desk, service=service)
    client.force_login(desk)
    url = f"/escalations/tickets/{ticket.number}/"
    client.post(url + "functional/", {"esc-group": network.pk, "esc-mode": "add", "esc-reason": ""})
    assert not Escalation.objects.exists()  # refused: a reason is required
    client.post(url + "functional/", {"esc-group": network.pk, "esc-mode": "add", "esc-reason": "Firewall check"})
    client.post(url + "vendor-case/", {"vc-vendor": vendor.pk, "vc-summary": "Please check the VPN concentrator"})
    client.post(url + "major/", {"mi-summary": "All VPN users are cut off"})
    assert sorted(k for e in Escalation.objects.filter(ticket=ticket) for k in e.kinds) == [
        "functional",
        "hierarchical",
        "major_incident",
        "vendor",
    ]
    assert VendorCase.objects.filter(ticket=ticket).exists()
    page = client.get(f"/tickets/{ticket.number}/").content.decode()
    assert "Major incident" in page and "Network Operations" in page and "Northwind Networks" in page
    client.force_login(customer)
    assert client.post(url + "major/", {"mi-summary": "x"}).status_code == 302
    assert Escalation.objects.filter(ticket=ticket).count() == 3  # a customer escalates nothing


def test_notifications_show_in_the_top_bar_and_are_marked_read(client, hierarchy, desk, customer, service, manager):
    ticket = escalated_ticket(customer, desk, service)
    client.force_login(manager)
    page = client.get("/tickets/").content.decode()
    assert 'class="count" aria-label="1 unread"' in page
    listing = client.get("/escalations/notifications/").content.decode()
    assert "Escalated to level 2 (Service Manager)" in listing
    note = Notification.objects.get(user=manager)
    response = client.post("/escalations/notifications/read/", {"id": note.pk})
    assert response.status_code == 302 and response["Location"] == f"/tickets/{ticket.number}/"
    note.refresh_from_db()
    assert note.read_at is not None
    assert 'aria-label="1 unread"' not in client.get("/tickets/").content.decode()


def test_the_api_lists_and_makes_escalations_for_agents_only(hierarchy, desk, customer, service, network):
    ticket = escalated_ticket(customer, desk, service)
    api = APIClient()
    api.force_authenticate(desk)
    listed = api.get(f"/api/v1/tickets/{ticket.number}/escalations/").json()
    assert [e["level_number"] for e in listed] == [1, 2] and listed[0]["active"] is True
    bad = api.post(f"/api/v1/tickets/{ticket.number}/escalations/", {"group": network.pk, "mode": "move", "reason": ""})
    assert bad.status_code == 400
    made = api.post(
        f"/api/v1/tickets/{ticket.number}/escalations/", {"group": network.pk, "mode": "move", "reason": "BGP"}
    )
    assert made.status_code == 201 and made.json()["label"] == "By hand: functional"
    stale = api.post(
        f"/api/v1/tickets/{ticket.number}/escalations/",
        {"group": network.pk, "mode": "add", "reason": "x", "version": 1},
    )
    assert stale.status_code == 409
    api.force_authenticate(customer)
    assert api.get(f"/api/v1/tickets/{ticket.number}/escalations/").status_code == 404


@pytest.mark.smoke
def test_the_scan_runs_on_the_embedded_database_too(hierarchy, desk, customer, service):
    ticket = TicketFactory(requester=customer, actor=desk, service=service, now=MONDAY_9)
    assert escalation_scan_due(now=rome(2026, 3, 3, 10)) == 3
    assert escalation_scan_due(now=rome(2026, 3, 3, 10)) == 0
    assert Escalation.objects.filter(ticket=ticket).count() == 3


def test_the_ticket_page_query_count_does_not_grow_with_its_escalations(
    client, hierarchy, desk, customer, service, network, vendor, mailbox
):
    from escalations.choices import FunctionalMode
    from escalations.services import escalation_functional
    from escalations.vendors import vendor_case_open, vendor_case_update

    ticket = escalated_ticket(customer, desk, service)
    client.force_login(desk)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(f"/tickets/{ticket.number}/").status_code == 200
        return len(ctx.captured_queries)

    escalation_functional(ticket=ticket, actor=desk, group=network, mode=FunctionalMode.ADD, reason="first")
    case = vendor_case_open(ticket=ticket, vendor=vendor, actor=desk, summary="one")
    small = count()
    vendor_case_update(case=case, actor=desk, status="closed")
    for i in range(4):
        c = vendor_case_open(ticket=ticket, vendor=vendor, actor=desk, summary=f"again {i}")
        vendor_case_update(case=c, actor=desk, status="closed")
        escalation_functional(ticket=ticket, actor=desk, group=network, mode=FunctionalMode.MOVE, reason=f"m{i}")
        escalation_functional(ticket=ticket, actor=desk, group=service.default_resolver_group, mode="move", reason="b")
    assert Escalation.objects.filter(ticket=ticket).count() > 10
    assert count() == small


def test_vendors_are_set_up_in_the_admin_with_a_checked_pattern(admin_client, roles, victor, office):
    from escalations.models import Vendor

    form = {
        "name": "Fabrikam",
        "slug": "fabrikam",
        "support_email": "support@fabrikam.example",
        "email_domains": "fabrikam.example, Fabrikam.example",
        "reference_pattern": "CASE(",
        "contacts": [victor.pk],
        "is_active": "on",
        "contracts-TOTAL_FORMS": "1",
        "contracts-INITIAL_FORMS": "0",
        "contracts-MIN_NUM_FORMS": "0",
        "contracts-MAX_NUM_FORMS": "1000",
        "contracts-0-name": "Silver",
        "contracts-0-calendar": office.pk,
        "contracts-0-response_target": "04:00:00",
        "contracts-0-resolution_target": "1 00:00:00",
        "contracts-0-is_active": "on",
    }
    page = admin_client.post("/admin/escalations/vendor/add/", form)
    assert page.status_code == 200 and "not a valid regular expression" in page.content.decode()
    form["reference_pattern"] = r"CASE-\d+"
    assert admin_client.post("/admin/escalations/vendor/add/", form).status_code == 302
    vendor = Vendor.objects.get(slug="fabrikam")
    assert vendor.email_domains == ["fabrikam.example"] and list(vendor.contacts.all()) == [victor]
    assert vendor.contracts.get().response_target == timedelta(hours=4)
