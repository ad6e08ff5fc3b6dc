"""In the browser: a Service Manager follows the escalated tickets on the overview (by level, group and vendor,
with the time at each level) and is notified in the top bar; an agent escalates by hand from the ticket page;
the vendor sees its case on the portal and answers there."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from escalations.services import escalation_scan_due
from escalations.vendors import vendor_case_open
from tests.e2e.test_ticket_journey import login, logout
from tests.factories import TicketFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_manager_overview_agent_escalates_vendor_answers(
    page, live_server, roles, hierarchy, group_manager, manager, desk, customer, service, vendor, victor, network, shot
):
    # three tickets opened two business days ago: levels 1 and 2 fired (75% and the breach), one vendor case
    start = timezone.now() - timedelta(days=14)
    tickets = [
        TicketFactory(requester=customer, actor=desk, service=service, title=title, now=start)
        for title in ("Disk array degraded", "Backup job failed", "VM will not start")
    ]
    vendor_case_open(ticket=tickets[0], vendor=vendor, actor=desk, summary="Controller B reports errors.", now=start)
    assert escalation_scan_due() >= 6

    login(page, live_server, manager.username)
    expect(page.locator(".bell .count")).to_be_visible()  # the Service Manager was notified
    page.get_by_role("link", name="Escalations").click()
    expect(page.get_by_role("heading", name="Escalations")).to_be_visible()
    table = page.locator("#escalated table")
    for t in tickets:
        expect(table.get_by_role("link", name=t.number)).to_be_visible()
    expect(table.get_by_text("Level 3: Head of IT").first).to_be_visible()
    expect(page.get_by_role("heading", name="By vendor open vendor cases")).to_be_visible()
    expect(page.locator(".report-grid").get_by_role("link", name="Northwind Networks")).to_be_visible()
    shot(page, "escalation-overview")
    page.locator(".report-grid").get_by_role("link", name="Northwind Networks").click()
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(table.get_by_role("link", name=tickets[0].number)).to_be_visible()
    logout(page)

    # an agent adds Network Operations as a collaborating group, with a reason
    login(page, live_server, desk.username)
    page.goto(f"{live_server.url}/tickets/{tickets[1].number}/")
    panel = page.locator("#escalation")
    expect(panel.locator(".esc-current").get_by_text("Level 3: Head of IT")).to_be_visible()
    panel.get_by_text("Escalate to a group").click()
    panel.get_by_label("Group", exact=True).select_option(label="Network Operations")
    panel.get_by_label("How", exact=True).select_option("add")
    panel.get_by_label("Reason", exact=True).fill("The backup network link flaps")
    panel.get_by_role("button", name="Escalate").click()
    expect(page.get_by_text("Escalated to Network Operations.")).to_be_visible()
    expect(page.locator("#escalation").get_by_text("Collaborating groups")).to_be_visible()
    shot(page, "ticket-escalation-panel")
    logout(page)

    # the vendor sees its case (and only it) and answers on the portal
    login(page, live_server, victor.username)
    page.get_by_role("link", name="My cases").click()
    expect(page.get_by_role("link", name="Northwind Networks #")).to_be_visible()
    page.get_by_role("link", name="Northwind Networks #").click()
    expect(page.get_by_text("Controller B reports errors.", exact=True)).to_be_visible()
    page.get_by_label("Your answer").fill("Replacement controller shipped.")
    page.get_by_label("Your reference").fill("INC0042137")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_text("Thank you: your answer was recorded.")).to_be_visible()
    expect(page.get_by_role("heading", name="Northwind Networks case INC0042137")).to_be_visible()
    shot(page, "vendor-case-portal")
