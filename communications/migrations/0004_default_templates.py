"""The templates, status-update cadences and information requirements a new installation starts with."""

from django.db import migrations


def seed(apps, schema_editor):
    from communications.defaults import DEFAULT_CADENCES, DEFAULT_REQUIREMENTS, DEFAULT_TEMPLATES

    MessageTemplate = apps.get_model("communications", "MessageTemplate")
    for (kind, language), (subject, body) in DEFAULT_TEMPLATES.items():
        MessageTemplate.objects.get_or_create(kind=kind, language=language, defaults={"subject": subject, "body": body})
    Cadence = apps.get_model("communications", "StatusUpdateCadence")
    for priority, minutes in DEFAULT_CADENCES.items():
        Cadence.objects.get_or_create(priority=priority, defaults={"every_minutes": minutes})
    Requirement = apps.get_model("communications", "InformationRequirement")
    for ticket_type, items in DEFAULT_REQUIREMENTS.items():
        Requirement.objects.get_or_create(ticket_type=ticket_type, defaults={"items": items})


class Migration(migrations.Migration):
    dependencies = [("communications", "0003_ticketcommunication_mailbox_and_more")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
