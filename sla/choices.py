"""Every choice of the SLA domain, and the defaults of a new policy."""

from django.db import models

from tickets.choices import PendingReason


class SlaMetric(models.TextChoices):
    """What a clock measures. Each policy has a target for the first two, and optionally for the third."""

    FIRST_RESPONSE = "first_response", "First response"
    RESOLUTION = "resolution", "Resolution"
    NEXT_UPDATE = "next_update", "Next update"


class ClockState(models.TextChoices):
    RUNNING = "running", "Running"
    PAUSED = "paused", "Paused"
    MET = "met", "Met"
    BREACHED = "breached", "Breached"
    CANCELLED = "cancelled", "Cancelled"  # the ticket was cancelled before the target was reached


class RecomputeStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


# By default: awaiting the customer pauses the resolution and next-update clocks; awaiting a vendor pauses
# nothing (the vendor has its own clock, the customer's keeps running); the first response never pauses.
DEFAULT_PAUSE_ON: dict[str, list[str]] = {
    SlaMetric.FIRST_RESPONSE: [],
    SlaMetric.RESOLUTION: [PendingReason.AWAITING_CUSTOMER],
    SlaMetric.NEXT_UPDATE: [PendingReason.AWAITING_CUSTOMER],
}

DEFAULT_WARNING_THRESHOLDS: list[int] = [50, 75, 90]

# The breach is threshold 100 (percent of the target) in the SlaClockEvent table.
BREACH = 100

STATE_COLOUR: dict[str, str] = {
    ClockState.RUNNING: "teal",
    ClockState.PAUSED: "amber",
    ClockState.MET: "green",
    ClockState.BREACHED: "red",
    ClockState.CANCELLED: "grey",
}


def default_pause_on() -> dict[str, list[str]]:
    return {k: list(v) for k, v in DEFAULT_PAUSE_ON.items()}


def default_thresholds() -> list[int]:
    return list(DEFAULT_WARNING_THRESHOLDS)
