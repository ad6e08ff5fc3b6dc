"""Choices of the assignment domain."""

from django.db import models

from catalog.choices import AssignmentStrategy as Strategy  # noqa: F401  (a group's attribute, kept in catalog)


class RotationPeriod(models.TextChoices):
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly"


class AbsenceKind(models.TextChoices):
    HOLIDAY = "holiday", "Holiday"
    SICK = "sick", "Sick"
    OUT_OF_OFFICE = "out_of_office", "Out of office"
    TRAINING = "training", "Training"


# Open-ticket weight per priority in the "least loaded" workload (a P1 counts as much as eight P4s).
PRIORITY_WEIGHT: dict[str, int] = {"P1": 8, "P2": 4, "P3": 2, "P4": 1, "": 1}

# Outside the group's operational hours, tickets of these priorities go to whoever is on call; the others
# wait in the group queue for the next business hours.
ON_CALL_PRIORITIES: frozenset[str] = frozenset({"P1", "P2"})
