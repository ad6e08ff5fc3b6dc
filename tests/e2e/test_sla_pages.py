"""In the browser: an agent sees the ticket's SLA clocks and why it has its priority; a Service Manager edits
the priority matrix."""

from datetime import time, timedelta

import pytest
from playwright.sync_api import expect

from sla.services import calendar_save, policy_save
from tests.e2e.test_ticket_journey import login
from tests.factories import TicketFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_agent_sees_clocks_and_priority_tables_manager_edits_the_matrix(
    page, live_server, roles, desk, manager, customer, service, shot
):
    office = calendar_save(
        actor=None, name="Office", time_zone="Europe/Rome", hours=[(d, time(0), time(0)) for d in range(7)]
    )
    policy_save(
        actor=None,
        data={
            "name": "Standard",
            "calendar": office,
            "first_response_target": timedelta(hours=1),
            "resolution_target": timedelta(hours=8),
            "next_update_target": timedelta(hours=4),
        },
    )
    ticket = TicketFactory(requester=customer, actor=desk, impact=3, urgency=2, service=service, title="Disk full")
    login(page, live_server, desk.username)
    page.goto(f"{live_server.url}/tickets/{ticket.number}/")
    sla = page.locator("#sla")
    expect(sla.get_by_role("heading", name="Service level Standard")).to_be_visible()
    expect(sla.get_by_text("First response", exact=True)).to_be_visible()
    expect(sla.get_by_text("Running").first).to_be_visible()
    expect(page.locator("#priority")).to_contain_text("Impact 3 × urgency 2 gives P3")
    expect(page.locator("#priority td.prio-cell.current")).to_have_text("P3")  # its cell of the matrix
    expect(page.locator("#priority")).to_contain_text("criticality 1 shifts it +1: P2")  # a critical service
    shot(page, "agent-ticket-sla")
    page.goto(f"{live_server.url}/tickets/?ordering=time_to_breach")
    expect(
        page.get_by_text("First response: 59m left").or_(page.get_by_text("First response: 1h 0m left"))
    ).to_be_visible()

    page.get_by_role("button", name="Log out").click()
    login(page, live_server, manager.username)
    page.get_by_role("link", name="Classification").click()
    page.get_by_role("link", name="Priority matrix").click()
    page.locator("select[name=cell_3_2]").select_option("P2")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("1 value changed.")).to_be_visible()
    shot(page, "manager-priority-matrix")
