"""`manage.py seed_demo`: the demo data, its printed logins, and that a second run creates nothing new."""

import re
from io import StringIO

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management import call_command, load_command_class
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.models import Organization, User
from accounts.roles import Role
from catalog.models import ResolverGroup, Service
from demo import services as demo
from tickets.models import Ticket, TicketEvent

SMALL = 6  # demo tickets for the fast tests; the full default size runs once below
LOGIN_LINE = re.compile(r"^(?P<role>[a-z ]+): (?P<username>\S+) / (?P<password>\S+)$")
EXPECTED_ROLES = ["admin", "service desk", "resolver", "service manager", "customer", "customer", "vendor"]


def _seed(tickets: int | None = SMALL) -> str:
    out = StringIO()
    args = [] if tickets is None else [f"--tickets={tickets}"]
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def _logins(output: str) -> list[dict]:
    return [m.groupdict() for line in output.splitlines() if (m := LOGIN_LINE.match(line))]


def _counts() -> dict[str, int]:
    return {
        "users": User.objects.count(),
        "organizations": Organization.objects.count(),
        "groups": Group.objects.count(),
        "resolver groups": ResolverGroup.objects.count(),
        "services": Service.objects.count(),
        "tickets": Ticket.objects.count(),
    }


def test_default_target_is_about_200_tickets():
    assert demo.TARGET_TICKETS == 200
    parser = load_command_class("demo", "seed_demo").create_parser("manage.py", "seed_demo")
    assert parser.get_default("tickets") == demo.TARGET_TICKETS


@pytest.mark.django_db
def test_prints_one_login_per_role_on_its_own_line():
    output = _seed()
    logins = _logins(output)
    assert [login["role"] for login in logins] == EXPECTED_ROLES, output
    password = settings.ITSM_DEMO_PASSWORD
    assert all(login["password"] == password for login in logins)
    for login in logins:  # each on a line of its own, exactly as documented
        assert f"\n{login['role']}: {login['username']} / {password}\n" in f"\n{output}"
    customers = User.objects.filter(username__in=[x["username"] for x in logins if x["role"] == "customer"])
    assert customers.count() == 2
    assert customers.values("organization").distinct().count() == 2, "one customer login per organization"
    assert User.objects.get(username=logins[0]["username"]).is_superuser


@pytest.mark.django_db
def test_reference_data_groups_and_organizations():
    _seed()
    names = set(ResolverGroup.objects.values_list("name", flat=True))
    assert {"Infrastructure", "Application Support", "Network Operations", "Security", "Service Delivery"} <= names
    orgs = Organization.objects.filter(slug__in=["acme", "globex"])
    assert orgs.count() == 2
    assert (
        User.objects.filter(organization__in=orgs, groups__name=Role.CUSTOMER).values("organization").distinct().count()
        == 2
    )
    assert set(Group.objects.values_list("name", flat=True)) >= set(Role.values)
    assert Ticket.objects.filter(requester__username__in=["alice", "bob", "carol"]).count() >= SMALL


@pytest.mark.django_db
def test_running_twice_is_idempotent():
    first_output = _seed()
    first = _counts()
    assert first["tickets"] >= SMALL
    second_output = _seed()
    assert _counts() == first
    assert "(0 new)" in second_output
    assert _logins(second_output) == _logins(first_output)


@pytest.mark.django_db
def test_second_run_records_no_overdue_sla_events():
    """Everything already due when the first run finished must be on the audit trail after the first run
    (the escalation scenario's tickets, created after the history's scan, are scanned too)."""
    started = timezone.now()
    _seed()
    before = set(TicketEvent.objects.values_list("pk", flat=True))
    _seed()
    late = [
        (e.ticket.number, e.event_type, e.data.get("metric"), e.data.get("threshold"))
        for e in TicketEvent.objects.exclude(pk__in=before).select_related("ticket").order_by("pk")
        if e.event_type in ("sla_warning", "sla_breached") and parse_datetime(e.data["crossed_at"]) < started
    ]
    assert late == [], (
        f"seed_demo is not idempotent: the second run recorded {len(late)} SLA events that were already due "
        f"during the first run (sla_scan_due runs before demo_seed_escalations creates its tickets): {late}"
    )


@pytest.mark.smoke
@pytest.mark.django_db
def test_every_printed_login_works(client):
    logins = _logins(_seed())
    assert len(logins) == len(EXPECTED_ROLES)
    for login in logins:
        assert client.login(username=login["username"], password=login["password"]), login
        response = client.get("/", follow=True)
        assert response.status_code == 200, (login, response.redirect_chain)
        assert response.redirect_chain, "the home page redirects to the user's start page"
        # a real page for this user, not the login form again
        assert response.wsgi_request.user.username == login["username"]
        assert "/accounts/login" not in response.wsgi_request.path and "login" not in response.redirect_chain[-1][0]
        client.logout()


@pytest.mark.django_db
def test_full_default_seed_then_rerun():
    """The default size once (about 200 tickets), then a second run that adds nothing."""
    output = _seed(tickets=None)
    customers = ["alice", "bob", "carol"]
    assert Ticket.objects.filter(requester__username__in=customers).count() >= demo.TARGET_TICKETS
    assert len(_logins(output)) == len(EXPECTED_ROLES)
    first = _counts()
    assert "(0 new)" in _seed(tickets=None)
    assert _counts() == first


@pytest.mark.django_db(transaction=True)
def test_the_demo_delivers_its_mail_itself_and_leaves_no_task_backlog(monkeypatch):
    """A first `make run` must not start with a worker queue of a thousand delivery tasks (the filesystem
    broker takes them slowly) ahead of the first real acknowledgement."""
    from communications import tasks
    from communications.models import OutboundEmail

    queued_tasks = []
    monkeypatch.setattr(tasks.outbound_email_deliver, "delay", lambda *a, **k: queued_tasks.append(a))
    _seed()
    assert OutboundEmail.objects.exists()
    assert not OutboundEmail.objects.filter(status=OutboundEmail.Status.QUEUED).exists()
    assert queued_tasks == []
