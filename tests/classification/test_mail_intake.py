"""Mail intake goes through the classification rules: a rule on the mailbox (by slug or address), the sender
or the words of the mail decides; what no rule decides comes from the mailbox's defaults."""

import pytest

from classification.services import rule_save
from mail.services import inbound_ingest
from tests.factories import ResolverGroupFactory, ServiceFactory
from tests.mail.conftest import mailbox, make_message  # noqa: F401  (the mailbox fixture)
from tickets.choices import TicketType


@pytest.fixture
def identity(db):
    security = ResolverGroupFactory(name="Security", slug="security")
    return ServiceFactory(name="Identity", slug="identity", criticality=2, default_resolver_group=security)


def test_without_a_matching_rule_the_mailbox_defaults_apply(mailbox, customer, manager, identity):  # noqa: F811
    rule_save(actor=manager, data={"name": "Passwords", "keywords": ["password"], "set_service": identity})
    ticket = inbound_ingest(mailbox=mailbox, raw=make_message(subject="Printer broken"), source="test").message.ticket
    assert ticket.classification_rule is None
    assert ticket.service == mailbox.default_service and ticket.resolver_group == mailbox.default_resolver_group
    created = ticket.events.get(event_type="created").data["classification"]
    assert created["defaults"] == ["ticket_type", "service", "resolver_group"] and created["mailbox"] == "support"


def test_a_rule_on_the_words_beats_the_mailbox_defaults(mailbox, customer, manager, identity):  # noqa: F811
    rule_save(actor=manager, data={"name": "Passwords", "keywords": ["password"], "set_service": identity})
    raw = make_message(subject="Locked out", body="I forgot my password again.")
    ticket = inbound_ingest(mailbox=mailbox, raw=raw, source="test").message.ticket
    assert ticket.classification_rule.name == "Passwords"
    assert ticket.service == identity and ticket.resolver_group.slug == "security"  # the service's own group
    assert ticket.ticket_type == mailbox.default_ticket_type  # the rule set no type: the mailbox's


@pytest.mark.parametrize("key", ["support", "SUPPORT@itsm.example"])
def test_a_rule_on_the_mailbox_by_slug_or_address(mailbox, customer, manager, identity, key):  # noqa: F811
    rule_save(
        actor=manager,
        data={"name": "Support mailbox", "mailbox_key": key, "set_ticket_type": TicketType.SERVICE_REQUEST},
    )
    ticket = inbound_ingest(mailbox=mailbox, raw=make_message(subject="Hello"), source="test").message.ticket
    assert ticket.classification_rule.name == "Support mailbox" and ticket.number.startswith("REQ-")
