"""Classification at intake: ordered rules on channel, mailbox, sender domain, organization, keywords,
regular expressions and portal form; the first match wins and the ticket records it; explicit values win."""

import pytest

from classification.models import Category
from classification.services import IntakeContext, category_save, classify, rule_save
from itsm.lib.errors import DomainError, PermissionDenied
from tests.factories import ResolverGroupFactory, ServiceFactory, TicketFactory
from tickets.choices import Channel, TicketType
from tickets.services import ticket_create, ticket_update


@pytest.fixture
def catalogue(db):
    network = ResolverGroupFactory(name="Network", slug="network")
    security = ResolverGroupFactory(name="Security", slug="security")
    vpn = ServiceFactory(name="VPN", slug="vpn", criticality=2, default_resolver_group=network)
    identity = ServiceFactory(name="Identity", slug="identity", criticality=2, default_resolver_group=security)
    return {"network": network, "security": security, "vpn": vpn, "identity": identity}


@pytest.fixture
def rules(catalogue, org_a, manager):
    cert = category_save(actor=manager, service=catalogue["vpn"], name="Certificates")
    expired = category_save(actor=manager, service=catalogue["vpn"], name="Expired", parent=cert)
    return [
        rule_save(
            actor=manager,
            data={
                "name": "Security mailbox",
                "position": 10,
                "mailbox_key": "security@itsm.example",
                "set_service": catalogue["identity"],
                "set_ticket_type": TicketType.ACCESS_REQUEST,
            },
        ),
        rule_save(
            actor=manager,
            data={
                "name": "VPN words",
                "position": 20,
                "keywords": "vpn, tunnel",
                "set_service": catalogue["vpn"],
                "set_category": cert,
            },
        ),
        rule_save(
            actor=manager,
            data={
                "name": "Certificate expiry",
                "position": 15,
                "subject_regex": r"cert(ificate)?\s+expir",
                "set_category": expired,
                "set_resolver_group": catalogue["security"],
            },
        ),
        rule_save(
            actor=manager,
            data={
                "name": "Acme by mail",
                "position": 30,
                "channels": [Channel.EMAIL],
                "organization": org_a,
                "set_ticket_type": TicketType.SERVICE_REQUEST,
            },
        ),
        rule_save(
            actor=manager,
            data={
                "name": "Globex domain",
                "position": 40,
                "sender_domains": ["globex.example"],
                "set_ticket_type": TicketType.INFORMATION_REQUEST,
            },
        ),
        rule_save(
            actor=manager,
            data={
                "name": "Access form",
                "position": 50,
                "form": "access",
                "set_ticket_type": TicketType.ACCESS_REQUEST,
            },
        ),
    ]


def test_first_matching_rule_in_order_wins(rules, catalogue):
    result = classify(channel=Channel.EMAIL, subject="VPN certificate expired again", body="")
    assert result.rule.name == "Certificate expiry"  # position 15 comes before "VPN words" (20)
    assert result.category.name == "Expired" and result.service == catalogue["vpn"]  # the category's service
    assert result.resolver_group == catalogue["security"]
    assert classify(channel=Channel.PORTAL, subject="my tunnel drops").rule.name == "VPN words"
    assert classify(channel=Channel.PORTAL, subject="tunnels everywhere").rule is None  # whole words only


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        ({"channel": Channel.EMAIL, "mailbox_key": "Security@ITSM.example", "subject": "hi"}, "Security mailbox"),
        ({"channel": Channel.EMAIL, "sender_email": "ann@mail.globex.example", "subject": "hi"}, "Globex domain"),
        ({"channel": Channel.EMAIL, "sender_email": "ann@notglobex.example", "subject": "hi"}, None),
        ({"channel": Channel.PORTAL, "form": "access", "subject": "hi"}, "Access form"),
        ({"channel": Channel.EMAIL, "body": "The VPN is down", "subject": "help"}, "VPN words"),
    ],
)
def test_each_condition(rules, facts, expected):
    result = classify(**facts)
    assert (result.rule.name if result.rule else None) == expected


def test_organization_and_channel_must_both_hold(rules, org_a, org_b):
    assert classify(channel=Channel.EMAIL, organization=org_a, subject="x").rule.name == "Acme by mail"
    assert classify(channel=Channel.PORTAL, organization=org_a, subject="x").rule is None
    assert classify(channel=Channel.EMAIL, organization=org_b, subject="x").rule is None


def test_ticket_create_applies_the_rule_and_records_it(rules, catalogue, customer, desk):
    ticket = ticket_create(
        actor=None,
        requester=customer,
        title="Please check",
        description="our vpn drops every hour",
        channel=Channel.EMAIL,
        intake=IntakeContext(mailbox_key="support@itsm.example", sender_email=customer.email),
    )
    assert ticket.classification_rule.name == "VPN words"
    assert ticket.service == catalogue["vpn"] and ticket.category.name == "Certificates"
    assert ticket.resolver_group == catalogue["network"]  # the service's default group (the rule set none)
    assert ticket.ticket_type == TicketType.INCIDENT
    created = ticket.events.get(event_type="created").data
    assert created["classification"]["rule"]["name"] == "VPN words"
    assert created["classification"]["decided"] == ["service", "category"]
    assert created["classification"]["mailbox"] == "support@itsm.example"
    # the intake mailbox decides for the security one
    sec = ticket_create(
        actor=None,
        requester=customer,
        title="x",
        channel=Channel.EMAIL,
        intake=IntakeContext(mailbox_key="security@itsm.example"),
    )
    assert sec.number.startswith("ACC-") and sec.service == catalogue["identity"]


def test_explicit_values_win_over_the_rule(rules, catalogue, customer, desk):
    ticket = ticket_create(
        actor=desk,
        requester=customer,
        title="VPN question",
        ticket_type=TicketType.INFORMATION_REQUEST,
        service=catalogue["identity"],
    )
    assert ticket.ticket_type == TicketType.INFORMATION_REQUEST and ticket.service == catalogue["identity"]
    assert ticket.category is None  # the rule's category belongs to another service: not applied
    assert ticket.classification_rule.name == "VPN words"
    assert ticket.events.get(event_type="created").data["classification"]["decided"] == []


def test_agents_change_the_type_and_the_change_is_audited(rules, customer, desk):
    ticket = TicketFactory(requester=customer, actor=desk, ticket_type=TicketType.INCIDENT)
    ticket_update(ticket=ticket, actor=desk, data={"ticket_type": TicketType.SERVICE_REQUEST})
    change = ticket.events.filter(event_type="updated").last().data["changes"]["ticket_type"]
    assert change == {"from": "incident", "to": "service_request"}


def test_category_must_belong_to_the_ticket_service_and_follows_a_service_change(rules, catalogue, customer, desk):
    vpn_cat = Category.objects.get(name="Certificates")
    ticket = TicketFactory(requester=customer, actor=desk, service=catalogue["identity"])
    with pytest.raises(DomainError, match="not a category of Identity"):
        ticket_update(ticket=ticket, actor=desk, data={"category": vpn_cat})
    ticket_update(ticket=ticket, actor=desk, data={"service": catalogue["vpn"], "category": vpn_cat})
    ticket_update(ticket=ticket, actor=desk, data={"service": catalogue["identity"]})
    ticket.refresh_from_db()
    assert ticket.category is None
    assert ticket.events.last().data["changes"]["category"] == {
        "from": {"id": vpn_cat.pk, "name": "Certificates"},
        "to": None,
    }


def test_bad_rules_are_refused_with_the_reason(catalogue, manager, desk):
    with pytest.raises(DomainError, match="regular expression"):
        rule_save(actor=manager, data={"name": "x", "subject_regex": "(unclosed", "set_ticket_type": "incident"})
    with pytest.raises(DomainError, match="at least one"):
        rule_save(actor=manager, data={"name": "x", "keywords": ["a"]})
    with pytest.raises(DomainError, match="Unknown channel"):
        rule_save(actor=manager, data={"name": "x", "channels": ["pigeon"], "set_ticket_type": "incident"})
    other = category_save(actor=manager, service=catalogue["identity"], name="Accounts")
    with pytest.raises(DomainError, match="is a category of Identity"):
        rule_save(actor=manager, data={"name": "x", "set_service": catalogue["vpn"], "set_category": other})
    with pytest.raises(PermissionDenied):
        rule_save(actor=desk, data={"name": "x", "set_ticket_type": "incident"})
    with pytest.raises(DomainError, match="two levels"):
        sub = category_save(actor=manager, service=catalogue["identity"], name="Sub", parent=other)
        category_save(actor=manager, service=catalogue["identity"], name="Deeper", parent=sub)


def test_a_huge_body_is_searched_only_up_to_the_limit(rules):
    body = "x " * 20_000 + "vpn"
    assert classify(channel=Channel.EMAIL, subject="", body=body).rule is None


def test_classifying_costs_one_small_query_while_the_configuration_is_unchanged_and_sees_an_edit_at_once(
    rules, catalogue, manager, django_assert_num_queries
):
    classify(channel=Channel.PORTAL, subject="my tunnel drops")  # loads the rules and the priority tables
    with django_assert_num_queries(1):
        result = classify(channel=Channel.PORTAL, subject="tunnels everywhere")
    assert result.rule is None and result.tables is not None
    rule_save(
        actor=manager,
        rule=rules[1],
        data={"name": "VPN words", "position": 20, "keywords": "vpn, tunnel, tunnels", "set_service": catalogue["vpn"]},
    )
    assert classify(channel=Channel.PORTAL, subject="tunnels everywhere").rule.name == "VPN words"
