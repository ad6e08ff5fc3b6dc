"""Every choice of the escalation domain: the one place they live."""

from django.db import models


class ThresholdKind(models.TextChoices):
    """What makes a level of an escalation path fire. Every duration is business time of the ticket's SLA
    calendar (escalations/thresholds.py)."""

    CLOCK_PERCENT = "clock_percent", "Percent of an SLA clock used"
    BEFORE_TARGET = "before_target", "Business time before an SLA target"
    AFTER_TARGET = "after_target", "Business time after an SLA target (breach)"
    NO_UPDATE = "no_update", "Status update overdue for a time"
    REOPENED = "reopened", "Reopened N times"


CLOCK_KINDS = frozenset({ThresholdKind.CLOCK_PERCENT, ThresholdKind.BEFORE_TARGET, ThresholdKind.AFTER_TARGET})


class FunctionalMode(models.TextChoices):
    """Functional escalation: the ticket moves to a more specialised group (its owner changes), or that group
    is added as a collaborating group (it sees and works the ticket; the owner stays)."""

    MOVE = "move", "Move the ticket to the group"
    ADD = "add", "Add the group as collaborating"


class EscalationKind(models.TextChoices):
    HIERARCHICAL = "hierarchical", "Hierarchical"
    FUNCTIONAL = "functional", "Functional"
    VENDOR = "vendor", "Vendor"
    MAJOR_INCIDENT = "major_incident", "Major incident"


class VendorCaseStatus(models.TextChoices):
    OPEN = "open", "Open: waiting for the vendor"
    RESPONDED = "responded", "Vendor working on it"
    RESOLVED = "resolved", "Resolved by the vendor"
    CLOSED = "closed", "Closed"


# A case in one of these is still the vendor's to work; a ticket has at most one such case per vendor.
VENDOR_CASE_ACTIVE = (VendorCaseStatus.OPEN, VendorCaseStatus.RESPONDED)
VENDOR_CASE_OPEN = (VendorCaseStatus.OPEN, VendorCaseStatus.RESPONDED, VendorCaseStatus.RESOLVED)


class VendorClockState(models.TextChoices):
    RUNNING = "running", "Running"
    MET = "met", "Met"
    BREACHED = "breached", "Breached"
    STOPPED = "stopped", "Stopped (case closed first)"


class MessageDirection(models.TextChoices):
    OUT = "out", "To the vendor"
    IN = "in", "From the vendor"


class NotificationKind(models.TextChoices):
    ESCALATION = "escalation", "Escalation"
    FUNCTIONAL = "functional", "Functional escalation"
    VENDOR = "vendor", "Vendor case"
    MAJOR_INCIDENT = "major_incident", "Major incident"


# How de-escalations read on the ticket and in the overview.
DEESCALATION_REASONS = {
    "resolved": "the ticket was resolved",
    "closed": "the ticket was closed",
    "cancelled": "the ticket was cancelled",
    "clock_met": "the SLA clock was met",
    "new_cycle": "an update was given (a new next-update cycle)",
    "update_sent": "a status update was sent",
    "clock_gone": "the SLA clock no longer applies",
    "manual": "closed by hand",
}
