"""Fill the priority matrix and the criticality adjustments with the defaults of classification/priority.py
(a Service Manager edits them afterwards on the Priority page)."""

from django.db import migrations

from classification.priority import DEFAULT_MATRIX, DEFAULT_SHIFTS


def seed(apps, schema_editor):
    Cell = apps.get_model("classification", "PriorityMatrixCell")
    Adjustment = apps.get_model("classification", "CriticalityAdjustment")
    for (impact, urgency), priority in DEFAULT_MATRIX.items():
        Cell.objects.get_or_create(impact=impact, urgency=urgency, defaults={"priority": priority})
    for criticality, shift in DEFAULT_SHIFTS.items():
        Adjustment.objects.get_or_create(criticality=criticality, defaults={"shift": shift})


class Migration(migrations.Migration):
    dependencies = [("classification", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
