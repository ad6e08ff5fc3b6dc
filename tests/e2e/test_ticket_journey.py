"""A customer asks for help on the portal; an agent logs in, works and resolves it; the customer accepts."""

import re

import pytest
from playwright.sync_api import expect

from tests.factories import PASSWORD
from tickets.models import Ticket

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def login(page, live_server, username):
    page.goto(f"{live_server.url}/")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def logout(page):
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()


def test_request_worked_resolved_and_accepted(page, live_server, roles, desk, customer, service, shot, settings):
    settings.ITSM_ACCEPTANCE_WINDOW = settings.ITSM_ACCEPTANCE_WINDOW  # unchanged; explicit for the reader
    login(page, live_server, customer.username)
    page.get_by_role("link", name="New request").first.click()
    page.get_by_label("Title").fill("Laptop does not boot")
    page.get_by_label("Description").fill("Black screen since this morning.")
    page.get_by_label("Service").select_option(label=service.name)
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_text(re.compile(r"Ticket INC-\d{6} created"))).to_be_visible()
    ticket = Ticket.objects.get(title="Laptop does not boot")
    shot(page, "customer-ticket")
    logout(page)

    login(page, live_server, desk.username)
    expect(page.get_by_role("link", name=ticket.number)).to_be_visible()
    shot(page, "agent-list")
    page.get_by_role("link", name=ticket.number).click()
    page.get_by_label("Reply or note").fill("Please hold the power button for 30 seconds.")
    page.get_by_label("Public reply (the customer sees it)").check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Reply added.")).to_be_visible()
    page.get_by_label("Move to").select_option(label="Resolved")
    page.get_by_label("Resolution code").select_option(label="Solved (permanently)")
    page.get_by_label("Resolution notes").fill("Power reset fixed it.")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_text(f"{ticket.number} is now Resolved.")).to_be_visible()
    shot(page, "agent-resolved")
    logout(page)

    login(page, live_server, customer.username)
    page.goto(f"{live_server.url}/tickets/{ticket.number}/")
    expect(page.get_by_text("Please hold the power button for 30 seconds.")).to_be_visible()
    page.get_by_role("button", name="Accept resolution").click()
    expect(page.get_by_text("the resolution is accepted")).to_be_visible()
    ticket.refresh_from_db()
    assert ticket.status == "closed"
    shot(page, "customer-closed")
