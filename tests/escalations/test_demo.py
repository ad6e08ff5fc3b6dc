"""The demo data shows the escalation pages: paths, a vendor with its contract and an open case (victor is its
contact), a major incident with children reached by a status update, and the escalations its history reached."""

from datetime import UTC, datetime

from escalations.models import Escalation, EscalationPath, MajorIncident, Vendor, VendorCase
from tickets.choices import LinkKind, TicketEventType
from tickets.selectors import ticket_visible_qs


def test_the_demo_seeds_escalations_once(db):
    from catalog.models import ResolverGroup
    from demo.services import demo_seed, demo_seed_escalations

    now = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)
    result = demo_seed(now=now, target=12)
    assert set(EscalationPath.objects.values_list("name", flat=True)) == {"Critical incidents", "Standard escalation"}
    vendor = Vendor.objects.get(slug="northwind")
    victor = vendor.contacts.get()
    assert victor.username == "victor" and vendor.contracts.filter(is_active=True).exists()
    case = VendorCase.objects.get(vendor=vendor)
    assert case.vendor_reference == "INC0042137" and case.responded_at is not None
    assert list(ticket_visible_qs(user=victor)) == [case.ticket]
    major = MajorIncident.objects.get()
    assert major.ticket.links_out.filter(kind=LinkKind.PARENT_OF).count() == 4 and major.broadcasts == 1
    assert major.ticket.events.filter(event_type=TicketEventType.MAJOR_INCIDENT_BROADCAST).get().data["mails"] == 3
    fired = Escalation.objects.count()
    assert fired > 3
    ref = {"users": result["users"], "groups": {g.slug: g for g in ResolverGroup.objects.all()}}
    demo_seed_escalations(ref, now)  # idempotent
    assert Escalation.objects.count() == fired and VendorCase.objects.count() == 1
    assert MajorIncident.objects.count() == 1 and EscalationPath.objects.count() == 2
