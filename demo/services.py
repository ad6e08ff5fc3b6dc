"""Demo data: the five resolver groups, a small catalogue with categories, two customer organizations, one
login per role, classification rules, business calendars and SLA policies, and about 200 tickets across types
and statuses, all made through the real services (so every ticket has a genuine audit trail and SLA clocks).
Idempotent: running it again creates only what is missing."""

import random
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from accounts.models import Organization, User
from accounts.roles import Role, roles_sync
from catalog.models import ResolverGroup, ResolverGroupMembership, Service
from classification.models import Category, ClassificationRule
from classification.services import category_save, rule_save
from communications.models import OutboundEmail
from communications.services import outbound_email_deliver, outbox_enqueue_suspended
from sla.models import BusinessCalendar, SlaPolicy
from sla.services import calendar_save, policy_save, sla_scan_due
from tickets import services as ts
from tickets.choices import Channel, PendingReason, ResolutionCode, TicketStatus, TicketType
from tickets.models import Ticket

GROUPS = [
    ("Infrastructure", "infrastructure", "Servers, storage, virtualisation, backups.", "least_loaded"),
    ("Application Support", "application-support", "Business applications: ERP, email, collaboration.", "round_robin"),
    ("Network Operations", "network-operations", "LAN, WAN, VPN, Wi-Fi, firewalls.", "best_skill"),
    ("Security", "security", "Identity, access, security incidents.", "none"),
    ("Service Delivery", "service-delivery", "Workplace, devices, standard requests.", "least_loaded"),
    ("Service Desk", "service-desk", "First line: intake, triage, first-contact resolution.", "none"),
]
FALLBACK_GROUP = "service-desk"

# (name, order, keywords, ticket types, target group slug, required skills)
ROUTING_RULES = [
    ("VPN keywords", 10, "vpn, anyconnect, tunnel", [], "network-operations", ["vpn"]),
    ("Wi-Fi and network", 20, "wi-fi, wifi, network port, switch", [], "network-operations", ["lan"]),
    ("Access requests", 30, "", ["access_request"], "security", []),
    ("Backups and disks", 40, "backup, disk, storage", [], "infrastructure", ["storage"]),
]

SERVICES = [
    ("Email and Calendar", "email", 2, "application-support"),
    ("ERP", "erp", 1, "application-support"),
    ("VPN", "vpn", 2, "network-operations"),
    ("Office Network", "office-network", 2, "network-operations"),
    ("Hosting and Servers", "hosting", 1, "infrastructure"),
    ("Identity and Access", "identity", 2, "security"),
    ("Workplace and Laptops", "workplace", 3, "service-delivery"),
    ("Printing", "printing", 4, "service-delivery"),
]

ORGS = [
    ("Acme Corporation", "acme", ["acme.example"], True),
    ("Globex Ltd", "globex", ["globex.example"], False),
]


@dataclass(frozen=True)
class DemoUser:
    role_label: str
    username: str
    first: str
    last: str
    email: str
    roles: tuple[str, ...]
    org: str | None = None
    staff: bool = False
    superuser: bool = False
    groups: tuple[str, ...] = ()
    language: str = "en"


USERS = [
    DemoUser("admin", "admin", "Ada", "Admin", "admin@itsm.localhost", (), staff=True, superuser=True),
    DemoUser(
        "service desk", "dana", "Dana", "Desk", "dana@itsm.localhost", (Role.SERVICE_DESK,), groups=("service-desk",)
    ),
    DemoUser(
        "resolver",
        "rick",
        "Rick",
        "Resolver",
        "rick@itsm.localhost",
        (Role.RESOLVER,),
        groups=("infrastructure", "network-operations"),
    ),
    DemoUser(
        "resolver",
        "nina",
        "Nina",
        "Nguyen",
        "nina@itsm.localhost",
        (Role.RESOLVER,),
        groups=("application-support", "security", "service-delivery"),
    ),
    DemoUser(
        "resolver",
        "sara",
        "Sara",
        "Sorensen",
        "sara@itsm.localhost",
        (Role.RESOLVER,),
        groups=("network-operations", "infrastructure"),
    ),
    DemoUser(
        "resolver",
        "omar",
        "Omar",
        "Ortiz",
        "omar@itsm.localhost",
        (Role.RESOLVER,),
        groups=("application-support", "service-delivery"),
    ),
    DemoUser(
        "resolver",
        "lena",
        "Lena",
        "Larsen",
        "lena@itsm.localhost",
        (Role.RESOLVER,),
        groups=("security", "infrastructure"),
    ),
    DemoUser("service manager", "maria", "Maria", "Manager", "maria@itsm.localhost", (Role.SERVICE_MANAGER,)),
    DemoUser("customer", "alice", "Alice", "Andersen", "alice@acme.example", (Role.CUSTOMER,), org="acme"),
    DemoUser("customer", "bob", "Bob", "Bianchi", "bob@globex.example", (Role.CUSTOMER,), org="globex", language="it"),
    DemoUser("customer", "carol", "Carol", "Chen", "carol@acme.example", (Role.CUSTOMER,), org="acme"),
    DemoUser("vendor", "victor", "Victor", "Vendor", "victor@vendor.example", (Role.VENDOR,)),
    DemoUser("head of IT", "helen", "Helen", "Hughes", "helen@itsm.localhost", (Role.SERVICE_MANAGER,)),
]

# Logins printed for `make run`: one per role, and one customer per organization.
PRINTED = ["admin", "dana", "rick", "maria", "alice", "bob", "victor"]

TITLES = {
    "email": ["Outlook keeps asking for my password", "Shared mailbox not visible", "Calendar invites not delivered"],
    "erp": ["ERP invoice run fails with error 500", "Cannot post goods receipt in ERP", "ERP report is empty"],
    "vpn": ["VPN disconnects every few minutes", "Cannot connect to VPN from hotel", "VPN client certificate expired"],
    "office-network": ["Wi-Fi on 3rd floor is down", "Network port in room 12 dead", "Slow network in Milan office"],
    "hosting": ["Disk almost full on app server", "Backup job failed last night", "VM does not start after patching"],
    "identity": ["Need access to the finance share", "Account locked out", "Please remove access for a leaver"],
    "workplace": ["New laptop for new hire", "Laptop screen flickers", "Install Visio on my laptop"],
    "printing": ["Printer on 2nd floor jams", "Cannot print in colour", "Add printer for new office"],
}

TYPE_FOR = {
    "identity": [TicketType.ACCESS_REQUEST, TicketType.INCIDENT],
    "workplace": [TicketType.SERVICE_REQUEST, TicketType.INCIDENT],
    "printing": [TicketType.INCIDENT, TicketType.SERVICE_REQUEST],
}

STATUS_MIX = [
    (TicketStatus.NEW, 14),
    (TicketStatus.ASSIGNED, 16),
    (TicketStatus.IN_PROGRESS, 22),
    (TicketStatus.PENDING, 12),
    (TicketStatus.RESOLVED, 14),
    (TicketStatus.CLOSED, 17),
    (TicketStatus.CANCELLED, 5),
]

TARGET_TICKETS = 200

# Categories per service: {service slug: {category: [subcategories]}}.
CATEGORIES = {
    "email": {"Mailbox": ["Quota", "Shared mailbox"], "Calendar": ["Invitations"]},
    "erp": {"Invoicing": [], "Reports": [], "Warehouse": ["Goods receipt"]},
    "vpn": {"Connection": ["Drops", "Cannot connect"], "Certificates": []},
    "identity": {"Access": ["New access", "Removal"], "Account": ["Locked out"]},
    "printing": {"Hardware": ["Paper jam"], "Setup": []},
}

H = timedelta(hours=1)
CALENDARS = [
    # name, zone, hours [(weekdays, start, end)], country, region
    (
        "Office hours Italy",
        "Europe/Rome",
        [(range(5), time(8, 30), time(13)), (range(5), time(14), time(18))],
        "IT",
        "",
    ),
    (
        "Extended hours New York",
        "America/New_York",
        [(range(5), time(7), time(19)), ([5], time(9), time(13))],
        "US",
        "NY",
    ),
    (
        "Network operations shifts",
        "Europe/Rome",
        [(range(7), time(6), time(14)), (range(7), time(22), time(6))],
        "",
        "",
    ),
]
POLICIES = [
    # name, position, conditions, calendar, first response, resolution, next update
    ("Critical (P1)", 10, {"priorities": ["P1"]}, "24x7", 15 * timedelta(minutes=1), 4 * H, 1 * H),
    ("Network and VPN", 20, {"services": ["vpn", "office-network"]}, "Network operations shifts", 1 * H, 8 * H, None),
    ("High (P2)", 30, {"priorities": ["P2"]}, "Office hours Italy", 30 * timedelta(minutes=1), 8 * H, 2 * H),
    ("Globex contract", 50, {"organizations": ["globex"]}, "Extended hours New York", 2 * H, 20 * H, None),
    ("Standard", 100, {}, "Office hours Italy", 2 * H, 24 * H, 8 * H),
]
RULES = [
    # name, position, conditions, outcome
    (
        "Security mailbox",
        10,
        {"mailbox_key": "security@itsm.localhost"},
        {"service": "identity", "type": "access_request"},
    ),
    ("VPN problems", 20, {"keywords": ["vpn", "tunnel"]}, {"service": "vpn", "category": ("vpn", "Connection")}),
    ("Printers", 30, {"keywords": ["printer", "print", "toner"]}, {"service": "printing"}),
    (
        "Access requests",
        40,
        {"subject_regex": r"\b(need|request)\b.*\baccess\b"},
        {"type": "access_request", "service": "identity"},
    ),
    ("Invoices", 50, {"keywords": ["invoice", "invoicing"]}, {"service": "erp", "category": ("erp", "Invoicing")}),
]


def _user(spec: DemoUser, orgs: dict[str, Organization], password: str) -> User:
    user, _ = User.objects.get_or_create(username=spec.username, defaults={"email": spec.email})
    user.first_name, user.last_name, user.email = spec.first, spec.last, spec.email
    user.organization = orgs.get(spec.org) if spec.org else None
    user.is_staff, user.is_superuser, user.is_active = spec.staff, spec.superuser, True
    user.language = spec.language
    user.set_password(password)
    user.save()
    user.groups.set(Group.objects.filter(name__in=spec.roles))
    return user


@transaction.atomic
def demo_seed_reference_data() -> dict:
    roles_sync()
    groups = {}
    for name, slug, description, strategy in GROUPS:
        groups[slug], _ = ResolverGroup.objects.update_or_create(
            slug=slug,
            defaults={
                "name": name,
                "description": description,
                "assignment_strategy": strategy,
                "is_fallback": slug == FALLBACK_GROUP,
            },
        )
    for name, slug, criticality, group_slug in SERVICES:
        Service.objects.update_or_create(
            slug=slug,
            defaults={"name": name, "criticality": criticality, "default_resolver_group": groups[group_slug]},
        )
    orgs = {}
    for name, slug, domains, share in ORGS:
        orgs[slug], _ = Organization.objects.update_or_create(
            slug=slug, defaults={"name": name, "email_domains": domains, "share_tickets": share}
        )
    password = settings.ITSM_DEMO_PASSWORD
    users = {spec.username: _user(spec, orgs, password) for spec in USERS}
    for spec in USERS:
        for slug in spec.groups:
            ResolverGroupMembership.objects.get_or_create(group=groups[slug], user=users[spec.username])
    for slug, username in [
        ("infrastructure", "rick"),
        ("application-support", "nina"),
        ("security", "nina"),
        ("service-desk", "dana"),
        ("network-operations", "sara"),
    ]:
        ResolverGroup.objects.filter(slug=slug).update(manager=users[username], escalation_contact=users["maria"])
    _seed_assignment(groups, users)
    from mail.models import Mailbox

    # the address customers write to; mail arrives by `manage.py ingest_email - --mailbox support` (an MTA
    # pipe) until an IMAP or POP3 URL is set in the admin
    Mailbox.objects.get_or_create(
        slug="support",
        defaults={"name": "Support", "url": "pipe:", "from_address": "servicedesk@itsm.localhost",
                  "from_name": "Service Desk", "default_resolver_group": groups[FALLBACK_GROUP]},
    )  # fmt: skip
    demo_seed_classification(users["admin"])
    demo_seed_sla(users["admin"], orgs)
    # operational hours of the groups (assignment): the office teams work office hours, the rest 24x7
    office = BusinessCalendar.objects.filter(name="Office hours Italy").first()
    ResolverGroup.objects.filter(
        slug__in=["application-support", "service-delivery", "security"], operational_calendar=None
    ).update(operational_calendar=office)
    return {"groups": groups, "orgs": orgs, "users": users}


def _seed_assignment(groups: dict, users: dict) -> None:
    from assignment.models import AgentSkill, OnCallRotation, RoutingRule

    for name, order, keywords, types, slug, skills in ROUTING_RULES:
        RoutingRule.objects.update_or_create(
            name=name,
            defaults={
                "order": order,
                "keywords": keywords,
                "ticket_types": types,
                "target_group": groups[slug],
                "required_skills": skills,
            },
        )
    for username, tag, level in [
        ("rick", "vpn", 3),
        ("rick", "storage", 5),
        ("sara", "vpn", 5),
        ("sara", "lan", 4),
        ("rick", "lan", 2),
        ("omar", "erp", 4),
        ("nina", "erp", 3),
    ]:
        AgentSkill.objects.update_or_create(user=users[username], tag=tag, defaults={"level": level})
    for slug, members in [("network-operations", ["sara", "rick"]), ("infrastructure", ["rick", "lena"])]:
        rotation, _ = OnCallRotation.objects.get_or_create(
            group=groups[slug],
            name="Weekly on call",
            defaults={
                "period": "weekly",
                "time_zone": "Europe/Rome",
                "handoff_time": "09:00",
                "handoff_weekday": 0,
                "starts_on": "2026-01-05",
            },
        )
        for position, username in enumerate(members):
            rotation.members.update_or_create(position=position, defaults={"user": users[username]})


def demo_seed_classification(actor: User) -> None:
    """Categories and a few intake rules (only those missing; an edited rule is left as it is)."""
    services = {s.slug: s for s in Service.objects.all()}
    for slug, tree in CATEGORIES.items():
        for name, subs in tree.items():
            top = Category.objects.filter(service=services[slug], parent=None, name=name).first()
            top = top or category_save(actor=actor, service=services[slug], name=name)
            for sub in subs:
                if not Category.objects.filter(parent=top, name=sub).exists():
                    category_save(actor=actor, service=services[slug], name=sub, parent=top)
    for name, position, conditions, outcome in RULES:
        if ClassificationRule.objects.filter(name=name).exists():
            continue
        data = {"name": name, "position": position, **conditions}
        if "service" in outcome:
            data["set_service"] = services[outcome["service"]]
        if "type" in outcome:
            data["set_ticket_type"] = outcome["type"]
        if "category" in outcome:
            slug, category = outcome["category"]
            data["set_category"] = Category.objects.get(service=services[slug], parent=None, name=category)
        rule_save(actor=actor, data=data)


def demo_seed_sla(actor: User, orgs: dict[str, Organization]) -> None:
    """Business calendars and SLA policies (only those missing)."""
    calendars = {c.name: c for c in BusinessCalendar.objects.all()}
    if "24x7" not in calendars:
        calendars["24x7"] = calendar_save(actor=actor, name="24x7", time_zone="UTC", is_24x7=True)
    for name, zone, ranges, country, region in CALENDARS:
        if name not in calendars:
            hours = [(d, start, end) for days, start, end in ranges for d in days]
            calendars[name] = calendar_save(
                actor=actor, name=name, time_zone=zone, hours=hours, holiday_country=country, holiday_subdivision=region
            )
    services = {s.slug: s for s in Service.objects.all()}
    for name, position, conditions, calendar, first, resolution, update in POLICIES:
        if SlaPolicy.objects.filter(name=name).exists():
            continue
        policy_save(
            actor=actor,
            data={
                "name": name,
                "position": position,
                "priorities": conditions.get("priorities", []),
                "calendar": calendars[calendar],
                "first_response_target": first,
                "resolution_target": resolution,
                "next_update_target": update,
            },
            services=[services[s] for s in conditions.get("services", [])],
            organizations=[orgs[o] for o in conditions.get("organizations", [])],
        )


def _deliver_pending_mail(now: datetime) -> None:
    for pk in OutboundEmail.objects.filter(status=OutboundEmail.Status.QUEUED).values_list("pk", flat=True):
        outbound_email_deliver(outbound_id=pk, now=now)


def _make_ticket(rng: random.Random, ref: dict, target: str, now: datetime) -> Ticket:
    users = ref["users"]
    service = rng.choice(list(Service.objects.filter(is_active=True)))
    requester = users[rng.choice(["alice", "bob", "carol"])]
    desk = users["dana"]
    if target == TicketStatus.RESOLVED:  # recent, so the acceptance window is still open
        created = now - timedelta(hours=rng.uniform(30, 60))
    elif target == TicketStatus.CLOSED:
        created = now - timedelta(days=rng.uniform(2, 45))
    else:
        created = now - timedelta(days=rng.uniform(0.2, 30), minutes=rng.randint(0, 600))
    ticket_type = rng.choice(
        TYPE_FOR.get(
            service.slug,
            [TicketType.INCIDENT, TicketType.INCIDENT, TicketType.SERVICE_REQUEST, TicketType.INFORMATION_REQUEST],
        )
    )
    channel = rng.choice([Channel.EMAIL, Channel.EMAIL, Channel.PORTAL, Channel.PHONE, Channel.API])
    title = rng.choice(TITLES[service.slug])
    t = created
    actor = requester if channel == Channel.PORTAL else desk
    ticket = ts.ticket_create(
        actor=actor,
        requester=requester,
        title=title,
        description=f"{title}.\n\nReported by {requester.display_name}. Started this morning; "
        "it affects my daily work.",
        ticket_type=ticket_type,
        channel=channel,
        impact=rng.choice([2, 3, 4, 4, 4]),
        urgency=rng.choice([1, 2, 3, 3, 4]),
        service=service if target != TicketStatus.NEW else None,  # new ones: the classification rules decide
        now=t,
    )
    if rng.random() < 0.05 and ticket.priority != "P1":
        ts.ticket_update(
            ticket=ticket,
            actor=desk,
            data={"priority": "P1", "priority_override_reason": "The customer's payroll run is blocked today."},
            now=t + timedelta(minutes=5),
        )
    if target == TicketStatus.NEW:
        return ticket
    group = ticket.resolver_group
    members = list(group.members.all()) if group else []
    step = lambda hours: t + timedelta(hours=hours)  # noqa: E731
    if target == TicketStatus.CANCELLED:
        ts.ticket_transition(
            ticket=ticket, actor=desk, to_status=target, reason="Raised twice by mistake.", now=step(0.5)
        )
        return ticket
    if target == TicketStatus.ASSIGNED:
        return ticket
    assignee = ticket.assignee or (rng.choice(members) if members else None)
    if assignee and assignee != ticket.assignee:
        ts.ticket_assign(ticket=ticket, actor=desk, assignee=assignee, reason="taken from the queue", now=step(0.2))
    ts.comment_add(ticket=ticket, author=assignee or desk, body="Looking into it now.", is_public=True, now=step(0.5))
    ts.ticket_transition(ticket=ticket, actor=assignee or desk, to_status=TicketStatus.IN_PROGRESS, now=step(0.6))
    ts.comment_add(
        ticket=ticket,
        author=assignee or desk,
        body="Checked the logs; see the server side error.",
        is_public=False,
        now=step(1),
    )
    if target == TicketStatus.IN_PROGRESS:
        return ticket
    if target == TicketStatus.PENDING:
        reason = rng.choice([PendingReason.AWAITING_CUSTOMER, PendingReason.AWAITING_VENDOR])
        ts.ticket_transition(
            ticket=ticket,
            actor=assignee or desk,
            to_status=target,
            pending_reason=reason,
            reason="Waiting for details.",
            now=step(1.5),
        )
        return ticket
    resolved_at = step(rng.uniform(2, 24))
    ts.ticket_transition(
        ticket=ticket,
        actor=assignee or desk,
        to_status=TicketStatus.RESOLVED,
        resolution_code=rng.choice([ResolutionCode.SOLVED, ResolutionCode.WORKAROUND, ResolutionCode.FULFILLED]),
        resolution_notes="Applied the fix and verified with the customer's test case.",
        now=resolved_at,
    )
    _deliver_pending_mail(resolved_at + timedelta(minutes=1))
    if target == TicketStatus.CLOSED:
        ticket.refresh_from_db()
        ts.resolution_accept(ticket=ticket, actor=requester, now=resolved_at + timedelta(hours=2))
    return ticket


def demo_seed_escalations(ref: dict, now: datetime) -> None:
    """Escalation paths, a vendor with its contract and an open case, a major incident with child incidents (only
    what is missing), then the escalations the demo history has reached by now."""
    from escalations.choices import FunctionalMode, ThresholdKind
    from escalations.models import EscalationPath, MajorIncident, Vendor, VendorCase
    from escalations.services import (
        LevelInput,
        escalation_scan_due,
        escalation_schedules_rebuild,
        major_incident_declare,
        major_incident_link_child,
        path_save,
    )
    from escalations.vendors import contract_save, vendor_case_open, vendor_reply_record, vendor_save

    users, groups = ref["users"], ref["groups"]
    admin, desk = users["admin"], users["dana"]
    res = "resolution"
    if not EscalationPath.objects.filter(name="Critical incidents").exists():
        path_save(
            actor=admin,
            name="Critical incidents",
            position=10,
            priorities=["P1"],
            description="P1: the group manager at once when the first response is late, the Service Managers when "
            "the customer waits for an update, Infrastructure joins at half the resolution time.",
            levels=[
                LevelInput(1, "Group manager", ThresholdKind.AFTER_TARGET, "first_response", duration=timedelta(0),
                           notify_assignee=True, notify_group_manager=True),
                LevelInput(2, "Service Manager", ThresholdKind.NO_UPDATE, duration=timedelta(minutes=30),
                           notify_service_managers=True),
                LevelInput(3, "Infrastructure joins", ThresholdKind.CLOCK_PERCENT, res, percent=50,
                           functional_group=groups["infrastructure"], functional_mode=FunctionalMode.ADD,
                           notify_group_manager=True),
                LevelInput(4, "Head of IT", ThresholdKind.CLOCK_PERCENT, res, percent=90, contact=users["helen"]),
            ],
        )  # fmt: skip
    if not EscalationPath.objects.filter(name="Standard escalation").exists():
        path_save(
            actor=admin,
            name="Standard escalation",
            position=100,
            description="Every other ticket: the group manager at 75% of the resolution time, the Service Managers "
            "at the breach, the head of IT a working day after it; a ticket reopened twice goes to the manager.",
            levels=[
                LevelInput(1, "Group manager", ThresholdKind.CLOCK_PERCENT, res, percent=75,
                           notify_assignee=True, notify_group_manager=True),
                LevelInput(2, "Service Manager", ThresholdKind.AFTER_TARGET, res, duration=timedelta(0),
                           notify_service_managers=True),
                LevelInput(3, "Head of IT", ThresholdKind.AFTER_TARGET, res, duration=timedelta(hours=8),
                           contact=users["helen"]),
                LevelInput(4, "Reopened twice", ThresholdKind.REOPENED, count=2, notify_group_manager=True),
            ],
        )  # fmt: skip
    vendor = Vendor.objects.filter(slug="northwind").first()
    if vendor is None:
        vendor = vendor_save(
            actor=admin,
            name="Northwind Networks",
            slug="northwind",
            support_email="support@vendor.example",
            email_domains=["vendor.example"],
            reference_pattern=r"INC\d{7}",
            contacts=[users["victor"]],
            notes="VPN concentrators and the WAN routers, under the Gold support contract.",
        )
        contract_save(
            actor=admin,
            vendor=vendor,
            name="Gold support",
            reference="NW-2026-017",
            calendar=BusinessCalendar.objects.get(name="Office hours Italy"),
            response_target=2 * H,
            resolution_target=16 * H,
        )
    if not VendorCase.objects.filter(vendor=vendor).exists():
        ticket = ts.ticket_create(
            actor=desk,
            requester=users["alice"],
            title="VPN concentrator drops every tunnel at the hour",
            description="Since the firmware update every VPN user is disconnected at :00.",
            service=Service.objects.get(slug="vpn"),
            impact=2,
            urgency=2,
            now=now - timedelta(hours=30),
        )
        case = vendor_case_open(
            ticket=ticket,
            vendor=vendor,
            actor=users["sara"],
            summary="Your concentrator (serial NW-88231) drops all tunnels every hour since firmware 9.2. Logs "
            "attached on request; please investigate with priority.",
            now=now - timedelta(hours=29),
        )
        vendor_reply_record(
            case=case,
            body="We opened INC0042137 and reproduced it in our lab; a hotfix is being built.",
            author_name="Victor Vendor",
            reference="INC0042137",
            how="mail, matched by our ticket tag",
            now=now - timedelta(hours=27),
        )
    if not MajorIncident.objects.exists():
        email = Service.objects.get(slug="email")
        outage = ts.ticket_create(
            actor=desk,
            requester=desk,
            title="Email service down for all users",
            description="No mail can be sent or received since 08:40; Outlook shows disconnected.",
            service=email,
            impact=1,
            urgency=1,
            now=now - timedelta(hours=2),
        )
        major = major_incident_declare(
            ticket=outage, actor=desk, summary="No mail for the whole company.", now=now - timedelta(hours=2)
        )
        for minutes, who, title in [
            (100, "alice", "Cannot send mail"),
            (95, "bob", "Posta non funziona"),
            (90, "carol", "Outlook says disconnected"),
            (80, "alice", "Shared mailbox empty"),
        ]:
            child = ts.ticket_create(
                actor=desk, requester=users[who], title=title, service=email, now=now - timedelta(minutes=minutes)
            )
            major_incident_link_child(major=major, child=child, actor=desk, now=now - timedelta(minutes=minutes - 1))
        from communications.services import status_update_send

        # a status update on the major incident: mailed to its requester and to the requesters of its children
        status_update_send(
            ticket=outage,
            actor=desk,
            message="The mail storage failed over; we are restoring the service. Next update within the hour.",
            now=now - timedelta(minutes=60),
        )
    escalation_schedules_rebuild(now=now)  # tickets made before the paths existed
    # the beat over the demo history, every 6 hours, so that each level fired when its threshold was crossed
    at = now - timedelta(days=31)
    while at < now:
        escalation_scan_due(now=at)
        at += timedelta(hours=6)
    escalation_scan_due(now=now)


def demo_seed(*, now: datetime | None = None, target: int = TARGET_TICKETS) -> dict:
    """The demo data, only what is missing. The mail it causes is delivered here (to the mail folder in the
    embedded mode), not queued as a worker task per message: a first `make run` would otherwise start with
    a backlog of a thousand tasks ahead of the first real one."""
    with outbox_enqueue_suspended():
        return _demo_seed(now=now, target=target)


def _demo_seed(*, now: datetime | None, target: int) -> dict:
    now = now or timezone.now()
    ref = demo_seed_reference_data()
    customers = [ref["users"][u] for u in ("alice", "bob", "carol")]
    existing = Ticket.objects.filter(requester__in=customers).count()
    rng = random.Random(2026 + existing)
    statuses = [s for s, weight in STATUS_MIX for _ in range(weight)]
    created = 0
    for _ in range(max(0, target - existing)):
        with transaction.atomic():
            _make_ticket(rng, ref, rng.choice(statuses), now)
        created += 1
    _deliver_pending_mail(now)
    sla_scan_due(now=now)  # the warnings and breaches of the demo history (the beat keeps it up to date)
    demo_seed_escalations(ref, now)
    # and those of the escalation scenario's own tickets (a vendor case, a major incident), so a second run
    # finds nothing left over that was already due
    from escalations.services import escalation_scan_due

    sla_scan_due(now=now)
    escalation_scan_due(now=now)
    _deliver_pending_mail(now)
    return {"created": created, "existing": existing, "users": ref["users"]}


def demo_login_lines() -> list[str]:
    password = settings.ITSM_DEMO_PASSWORD
    by_name = {spec.username: spec for spec in USERS}
    return [f"{by_name[u].role_label}: {u} / {password}" for u in PRINTED]
