from django.db import migrations


def create_counter(apps, schema_editor):
    Counter = apps.get_model("tickets", "TicketNumberCounter")
    Counter.objects.get_or_create(name="ticket", defaults={"value": 0})


class Migration(migrations.Migration):
    dependencies = [("tickets", "0001_initial")]
    operations = [migrations.RunPython(create_counter, migrations.RunPython.noop)]
