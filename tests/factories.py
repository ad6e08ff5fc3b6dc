"""factory_boy factories. Tickets are made through tickets.services.ticket_create, so every factory ticket
has a real number and audit trail."""

import factory
from django.contrib.auth.models import Group
from factory.django import DjangoModelFactory

from accounts.models import Organization, User
from catalog.models import ResolverGroup, Service
from tickets.choices import Channel, TicketType
from tickets.models import Ticket

PASSWORD = "correct-horse-battery-staple"


class OrganizationFactory(DjangoModelFactory):
    class Meta:
        model = Organization
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Organization {n}")
    slug = factory.Sequence(lambda n: f"org-{n}")


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.test")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.django.Password(PASSWORD)

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if create and extracted:
            self.groups.add(*Group.objects.filter(name__in=list(extracted)))


class ResolverGroupFactory(DjangoModelFactory):
    class Meta:
        model = ResolverGroup
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Group {n}")
    slug = factory.Sequence(lambda n: f"group-{n}")


class ServiceFactory(DjangoModelFactory):
    class Meta:
        model = Service
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Service {n}")
    slug = factory.Sequence(lambda n: f"service-{n}")
    criticality = 3


class TicketFactory(DjangoModelFactory):
    class Meta:
        model = Ticket

    title = factory.Faker("sentence", nb_words=5)
    description = factory.Faker("paragraph")
    ticket_type = TicketType.INCIDENT
    channel = Channel.AGENT
    requester = factory.SubFactory(UserFactory)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        from tickets.services import ticket_create

        return ticket_create(actor=kwargs.pop("actor", None), **kwargs)


def ticket_in_status(status: str, **kwargs) -> Ticket:
    """Test setup: a ticket put straight into `status` (bypassing the lifecycle), with the fields that
    status implies. Only for arranging a test; the services are what the tests exercise."""
    from tickets.choices import PendingReason, ResolutionCode, TicketStatus

    ticket = TicketFactory(**kwargs)
    fields = {"status": status, "pending_reason": ""}
    if status == TicketStatus.PENDING:
        fields["pending_reason"] = PendingReason.AWAITING_CUSTOMER
    if status == TicketStatus.ASSIGNED and ticket.resolver_group_id is None:
        fields["resolver_group"] = ResolverGroupFactory()
    if status == TicketStatus.RESOLVED:
        fields.update(resolution_code=ResolutionCode.SOLVED, resolution_notes="Fixed it.")
    Ticket.objects.filter(pk=ticket.pk).update(**fields)
    ticket.refresh_from_db()
    return ticket
