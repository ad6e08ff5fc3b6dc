"""The Django admin: every registered model's changelist and add page open for a superuser, and the audit
trail cannot be changed through it."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse

from demo.services import demo_seed
from tests.factories import (
    OrganizationFactory,
    ResolverGroupFactory,
    ServiceFactory,
    TicketFactory,
    UserFactory,
)
from tickets.choices import LinkKind
from tickets.models import Ticket, TicketEvent
from tickets.services import comment_add, ticket_link

REGISTRY = sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)
MODELS = [model for model, _ in REGISTRY]


def _url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def superuser(roles):
    return UserFactory(username="root", is_staff=True, is_superuser=True)


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


@pytest.fixture
def data(roles, superuser):
    """A little of everything, so that the changelists render real rows and not only the empty state."""
    org = OrganizationFactory(name="Acme", slug="acme", email_domains=["acme.example"])
    group = ResolverGroupFactory(name="Infrastructure", slug="infrastructure")
    service = ServiceFactory(name="Hosting", slug="hosting", default_resolver_group=group, criticality=1)
    desk = UserFactory(username="desk", roles=["Service Desk"])
    customer = UserFactory(username="alice", email="alice@acme.example", organization=org, roles=["Customer"])
    ticket = TicketFactory(actor=desk, requester=customer, service=service, title="Disk almost full")
    other = TicketFactory(actor=desk, requester=customer, service=service, title="Backup failed")
    comment_add(ticket=ticket, author=desk, body="Looking into it.", is_public=True)
    ticket_link(source=ticket, target=other, kind=LinkKind.RELATED_TO, actor=desk)
    return {"ticket": ticket, "other": other}


def test_registry_is_not_empty():
    labels = {model._meta.label for model in MODELS}
    assert {"tickets.Ticket", "tickets.TicketEvent", "accounts.User", "sla.SlaPolicy"} <= labels


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m._meta.label)
def test_changelist_opens(admin_client, data, model):
    response = admin_client.get(_url(model, "changelist"))
    assert response.status_code == 200, f"{model._meta.label} changelist answered {response.status_code}"
    assert response.context["cl"].result_count == model._default_manager.count()


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m._meta.label)
def test_add_page_opens_or_is_refused_by_design(admin_client, superuser, data, model):
    request = RequestFactory().get("/admin/")
    request.user = superuser
    may_add = admin.site._registry[model].has_add_permission(request)
    response = admin_client.get(_url(model, "add"))
    if may_add:
        assert response.status_code == 200, f"{model._meta.label} add page answered {response.status_code}"
    else:
        assert response.status_code == 403, f"{model._meta.label} refuses add but answered {response.status_code}"


KEY_MODELS = [
    "tickets.Ticket",
    "tickets.TicketEvent",
    "tickets.Comment",
    "tickets.TicketLink",
    "accounts.User",
    "accounts.Organization",
    "catalog.Service",
    "catalog.ResolverGroup",
    "assignment.TicketRouting",
    "communications.TicketCommunication",
    "communications.OutboundEmail",
]


@pytest.mark.parametrize("label", KEY_MODELS)
def test_change_page_of_an_existing_object_opens(admin_client, data, label):
    model = apps.get_model(label)
    obj = model._default_manager.order_by("pk").first()
    assert obj is not None, f"the fixture data should hold a {label}"
    response = admin_client.get(_url(model, "change", obj.pk))
    assert response.status_code == 200, f"{label} change page answered {response.status_code}"


@pytest.mark.django_db
def test_every_admin_page_with_the_demo_rows(admin_client):
    """The same pages over the demo data (escalations, vendor cases, SLA clocks, rules, mailboxes ...), so that
    every list_display column and change form renders with real rows and not only the empty list."""
    demo_seed(target=4)
    with_rows = []
    for model in MODELS:
        response = admin_client.get(_url(model, "changelist"))
        assert response.status_code == 200, f"{model._meta.label} changelist answered {response.status_code}"
        obj = model._default_manager.order_by("pk").first()
        if obj is not None:
            with_rows.append(model._meta.label)
            response = admin_client.get(_url(model, "change", obj.pk))
            assert response.status_code == 200, f"{model._meta.label} change page answered {response.status_code}"
    empty = {model._meta.label for model in MODELS} - set(with_rows)
    assert empty <= {"assignment.Absence", "authtoken.TokenProxy", "mail.InboundMessage", "tickets.Attachment"}


def test_ticket_change_page_is_read_only(admin_client, data):
    ticket = data["ticket"]
    response = admin_client.get(_url(Ticket, "change", ticket.pk))
    assert response.status_code == 200
    assert ticket.number in response.content.decode()
    before = Ticket.objects.values().get(pk=ticket.pk)
    response = admin_client.post(
        _url(Ticket, "change", ticket.pk), {"title": "Changed in the admin", "status": "closed", "priority": "P1"}
    )
    assert response.status_code in (200, 302)
    assert Ticket.objects.values().get(pk=ticket.pk) == before, "the admin changed a ticket behind the services"


def test_ticket_event_change_page_is_read_only(admin_client, data):
    event = TicketEvent.objects.filter(ticket=data["ticket"]).order_by("seq").first()
    assert event is not None
    count = TicketEvent.objects.count()
    before = TicketEvent.objects.values().get(pk=event.pk)

    response = admin_client.get(_url(TicketEvent, "change", event.pk))
    assert response.status_code == 200
    assert response.context["has_change_permission"] is False
    assert b'name="_save"' not in response.content, "the audit trail must offer no save button"

    response = admin_client.post(
        _url(TicketEvent, "change", event.pk),
        {"event_type": "comment_added", "actor_name": "Mallory", "data": "{}", "hash": "0" * 64},
    )
    assert response.status_code == 403
    assert TicketEvent.objects.values().get(pk=event.pk) == before
    assert TicketEvent.objects.count() == count

    response = admin_client.post(_url(TicketEvent, "delete", event.pk), {"post": "yes"})
    assert response.status_code == 403
    assert TicketEvent.objects.filter(pk=event.pk).exists()
