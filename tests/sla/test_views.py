"""Where people see it: the ticket page (clocks, the priority tables), the queue sorted by time to breach,
the API's `sla` list; the configuration pages of a Service Manager."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from classification.models import ClassificationRule
from sla.models import BusinessCalendar, SlaPolicy, SlaRecomputeJob
from tests.factories import TicketFactory
from tests.sla.conftest import rome
from tickets.choices import PendingReason, TicketStatus
from tickets.services import ticket_transition


@pytest.fixture
def api(desk):
    client = APIClient()
    client.force_authenticate(desk)
    return client


def test_ticket_page_shows_each_clock_and_why_the_priority(client, standard, desk, customer, service):
    ticket = TicketFactory(requester=customer, actor=desk, impact=3, urgency=2, service=service)
    client.force_login(desk)
    page = client.get(f"/tickets/{ticket.number}/").content.decode()
    assert "Service level" in page and "First response" in page and "Resolution" in page and "Next update" in page
    assert "Targets count from the ticket's creation" in page
    assert 'id="priority"' in page and "Impact 3 × urgency 2 gives <strong>P3</strong>" in page
    assert "criticality 1 shifts it +1: <strong>P2</strong>" in page
    assert 'class="prio-cell P3 current"' in page  # the ticket's cell of the matrix is marked


def test_customer_sees_the_clocks_but_not_the_priority_tables(client, standard, desk, customer):
    ticket = TicketFactory(requester=customer, actor=desk)
    client.force_login(customer)
    page = client.get(f"/tickets/{ticket.number}/").content.decode()
    assert "Service level" in page and 'id="priority"' not in page


def test_ticket_json_has_an_sla_list(api, standard, desk, customer):
    ticket = TicketFactory(requester=customer, actor=desk)
    ticket_transition(
        ticket=ticket, actor=desk, to_status=TicketStatus.PENDING, pending_reason=PendingReason.AWAITING_CUSTOMER
    )
    body = api.get(f"/api/v1/tickets/{ticket.number}/").json()
    sla = {c["metric"]: c for c in body["sla"]}
    assert set(sla) == {"first_response", "resolution", "next_update"}
    for clock in sla.values():
        assert {"metric", "target_at", "state", "remaining_business_seconds", "percent_used"} <= set(clock)
    assert sla["resolution"]["state"] == "paused" and sla["resolution"]["paused"] is True
    assert sla["resolution"]["target_at"] is None
    assert sla["resolution"]["remaining_business_seconds"] <= 8 * 3600
    assert sla["first_response"]["state"] in ("running", "breached")


def test_api_list_sorts_by_time_to_breach(api, standard, urgent, desk, customer):
    calm = TicketFactory(requester=customer, actor=desk, title="calm")  # Standard: 1h first response
    hot = TicketFactory(requester=customer, actor=desk, title="hot", impact=1, urgency=1)  # P1: 15 minutes
    older = TicketFactory(requester=customer, actor=desk, title="older", now=timezone.now() - timedelta(days=30))
    none = TicketFactory(requester=customer, actor=desk, title="cancelled")
    ticket_transition(ticket=none, actor=desk, to_status=TicketStatus.CANCELLED, reason="x")
    numbers = [t["number"] for t in api.get("/api/v1/tickets/?ordering=time_to_breach").json()["results"]]
    assert numbers == [older.number, hot.number, calm.number, none.number]
    assert api.get("/api/v1/tickets/?ordering=-time_to_breach").json()["results"][-1]["number"] == none.number


def test_queue_page_shows_the_next_deadline_and_sorts_by_it(client, standard, urgent, desk, customer):
    calm = TicketFactory(requester=customer, actor=desk, title="calm")
    hot = TicketFactory(requester=customer, actor=desk, title="hot", impact=1, urgency=1)
    client.force_login(desk)
    page = client.get("/tickets/?ordering=time_to_breach").content.decode()
    assert page.index(hot.number) < page.index(calm.number)
    assert "First response:" in page and "left" in page
    assert 'value="time_to_breach" selected' in page


@pytest.mark.parametrize("url", ["/tickets/?status=new&status=assigned", "/api/v1/tickets/"])
def test_list_query_count_does_not_grow_with_tickets_that_have_clocks(client, standard, desk, customer, url):
    def count():
        get = APIClient() if url.startswith("/api/") else client
        if isinstance(get, APIClient):
            get.force_authenticate(type(desk).objects.get(pk=desk.pk))
        else:
            get.force_login(desk)
        with CaptureQueriesContext(connection) as ctx:
            assert get.get(url).status_code == 200
        return len(ctx.captured_queries)

    for _ in range(5):
        TicketFactory(requester=customer, actor=desk)
    small = count()
    for _ in range(45):
        TicketFactory(requester=customer, actor=desk)
    assert count() == small


def test_configuration_pages_are_for_service_managers(client, desk, manager, standard):
    client.force_login(desk)
    for url in ("/sla/", "/classification/", "/classification/priority/", "/sla/policies/new/"):
        assert client.get(url).status_code == 403
    client.force_login(manager)
    page = client.get("/sla/").content.decode()
    assert "Standard" in page and "Office" in page and "Recomputations" in page
    assert client.get(f"/sla/calendars/{standard.calendar_id}/").status_code == 200
    assert client.get(f"/sla/policies/{standard.pk}/").status_code == 200
    assert client.get("/classification/").status_code == 200
    assert b"Enterprise" in client.get("/classification/priority/").content


def test_manager_edits_a_calendar_and_a_policy_through_the_forms(client, manager, standard, office):
    client.force_login(manager)
    response = client.post(
        f"/sla/calendars/{office.pk}/",
        {
            "name": "Office",
            "time_zone": "Europe/Rome",
            "holiday_country": "IT",
            "day_0": "08:00-12:00, 13:00-17:00",
            "day_1": "08:00-17:00",
            "day_4": "22:00-06:00",
            "holidays": "2026-08-14 Bridge day",
        },
        follow=True,
    )
    assert b"Calendar Office saved (version 2)" in response.content
    office.refresh_from_db()
    assert [str(h) for h in office.hours.all()] == [
        "Monday 08:00-12:00",
        "Monday 13:00-17:00",
        "Tuesday 08:00-17:00",
        "Friday 22:00-06:00",
    ]
    assert office.holidays.get().name == "Bridge day"
    bad = client.post(f"/sla/calendars/{office.pk}/", {"name": "Office", "time_zone": "Europe/Rome", "day_0": "8-5"})
    assert b"is not a range like 08:00-17:00" in bad.content
    response = client.post(
        f"/sla/policies/{standard.pk}/",
        {
            "name": "Standard",
            "position": 100,
            "is_active": "on",
            "calendar": office.pk,
            "first_response_target": "30m",
            "resolution_target": "26h",
            "next_update_target": "",
            "warning_thresholds": "60, 80",
            "pause_resolution": [PendingReason.AWAITING_CUSTOMER, PendingReason.AWAITING_VENDOR],
        },
        follow=True,
    )
    assert b"Policy Standard saved (version 2)" in response.content
    standard.refresh_from_db()
    assert standard.first_response_target == timedelta(minutes=30) and standard.resolution_target == timedelta(hours=26)
    assert standard.next_update_target is None and standard.warning_thresholds == [60, 80]
    assert standard.pause_on["resolution"] == [PendingReason.AWAITING_CUSTOMER, PendingReason.AWAITING_VENDOR]
    assert SlaRecomputeJob.objects.filter(policy=standard).exists()


def test_manager_creates_calendar_policy_rule_and_edits_the_matrix(client, manager, service):
    client.force_login(manager)
    client.post("/sla/calendars/new/", {"name": "Always", "time_zone": "UTC", "is_24x7": "on"})
    cal = BusinessCalendar.objects.get(name="Always")
    client.post(
        "/sla/policies/new/",
        {
            "name": "P1",
            "position": 1,
            "is_active": "on",
            "priorities": ["P1"],
            "calendar": cal.pk,
            "first_response_target": "15m",
            "resolution_target": "4h",
            "warning_thresholds": "50",
        },
    )
    assert SlaPolicy.objects.get(name="P1").priorities == ["P1"]
    client.post(
        "/classification/rules/new/",
        {
            "name": "Hosting words",
            "position": 5,
            "is_active": "on",
            "keywords": "server, disk",
            "set_service": service.pk,
        },
    )
    assert ClassificationRule.objects.get().keywords == ["server", "disk"]
    data = {f"cell_{i}_{u}": "P4" for i in range(1, 5) for u in range(1, 5)}
    data.update({f"shift_{c}": 0 for c in range(1, 5)})
    data["cell_1_1"] = "P1"
    response = client.post("/classification/priority/", data, follow=True)
    assert b"15 values changed" in response.content or b"values changed" in response.content
    assert TicketFactory(requester=manager, actor=manager, impact=2, urgency=1, service=service).priority == "P4"


def test_ticket_edit_form_sets_and_clears_a_manual_priority(client, desk, customer):
    ticket = TicketFactory(requester=customer, actor=desk, impact=4, urgency=3)
    client.force_login(desk)
    base = {"version": ticket.version, "title": ticket.title, "ticket_type": "incident", "impact": 4, "urgency": 3}
    refused = client.post(f"/tickets/{ticket.number}/edit/", {**base, "priority": "P1"}, follow=True)
    assert b"needs a reason" in refused.content
    client.post(f"/tickets/{ticket.number}/edit/", {**base, "priority": "P1", "priority_override_reason": "VIP"})
    ticket.refresh_from_db()
    assert (ticket.priority, ticket.priority_override_reason) == ("P1", "VIP")
    page = client.get(f"/tickets/{ticket.number}/").content.decode()
    assert "Set by hand to <strong>P1</strong> (the matrix gives P4): VIP" in page
    assert '<option value="P1" selected>' in page  # the form shows the override, not "automatic"
    client.post(f"/tickets/{ticket.number}/edit/", {**base, "version": ticket.version, "priority": ""})
    ticket.refresh_from_db()
    assert (ticket.priority, ticket.priority_override_reason) == ("P4", "")


def test_now_relative_views_do_not_need_a_fixed_clock(standard, desk, customer):
    ticket = TicketFactory(requester=customer, actor=desk, now=rome(2026, 3, 2, 9))
    assert ticket.sla_clocks.count() == 3


def test_history_explains_sla_events_and_kept_overrides(client, standard, urgent, desk, customer):
    from sla.services import sla_scan_due
    from tickets.services import ticket_update

    ticket = TicketFactory(requester=customer, actor=desk, now=rome(2026, 3, 2, 9))
    sla_scan_due(now=rome(2026, 3, 2, 10))
    ticket_update(ticket=ticket, actor=desk, data={"priority": "P2", "priority_override_reason": "VIP"})
    ticket_update(ticket=ticket, actor=desk, data={"impact": 1, "urgency": 1})
    ticket_update(ticket=ticket, actor=desk, data={"priority": "P1", "priority_override_reason": "Outage"})
    client.force_login(desk)
    page = client.get(f"/tickets/{ticket.number}/").content.decode()
    assert "SLA warning: First response at 50% of its 1h target" in page
    assert "SLA breached: First response (target 1h)" in page
    assert "priority stays P2 (set by hand); the matrix now gives P1" in page
    assert "SLA policy Standard → Urgent; Targets count from the ticket&#x27;s creation" in page


def test_api_schema_documents_the_sla_list(client, desk):
    client.force_login(desk)
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"remaining_business_seconds" in schema.content and b"SlaClockOutput" in schema.content


def test_duration_field_and_display():
    from sla.forms import BusinessDurationField, format_duration
    from sla.templatetags.sla_extras import business_duration

    field = BusinessDurationField()
    assert field.clean("1h 30m") == timedelta(minutes=90) and field.clean("45m") == timedelta(minutes=45)
    assert field.clean("26h") == timedelta(hours=26) and field.clean("01:30") == timedelta(minutes=90)
    with pytest.raises(Exception, match="business hours and minutes"):
        field.clean("2 days")
    assert format_duration(timedelta(hours=26, minutes=5)) == "26h 5m"
    assert business_duration(timedelta(hours=-1, minutes=-5)) == "-1h 5m" and business_duration(timedelta(0)) == "0m"
