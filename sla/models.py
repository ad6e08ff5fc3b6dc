"""Business calendars, SLA policies, the clocks of each ticket, their emitted thresholds, recompute jobs.

Configuration rows (calendars, hours, holidays, policies) are written by sla/services.py, which versions each
edit, logs it and schedules the recompute of the open tickets it affects. Clock rows are derived data: they are
rewritten from the ticket's event log (sla/replay.py) and never edited by hand."""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from itsm.lib.models import TimeStampedModel
from sla.choices import ClockState, RecomputeStatus, SlaMetric, default_pause_on, default_thresholds


class BusinessCalendar(TimeStampedModel):
    """When the clocks run: weekly wall-clock hours in an IANA time zone, minus holidays; or 24x7.
    The arithmetic is in sla/calendar.py; `version` goes up with every edit (clocks remember the version
    they were computed with)."""

    name = models.CharField(max_length=120, unique=True)
    time_zone = models.CharField(max_length=64, default="UTC", help_text="IANA name, e.g. Europe/Rome.")
    is_24x7 = models.BooleanField("24x7", default=False, help_text="Open at every instant; no hours, no holidays.")
    holiday_country = models.CharField(
        max_length=8, blank=True, help_text="ISO country code whose public holidays apply (holidays package), e.g. IT."
    )
    holiday_subdivision = models.CharField(max_length=16, blank=True, help_text="Region of that country, e.g. NY.")
    description = models.TextField(blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("sla:calendar-edit", args=[self.pk])


class BusinessHours(models.Model):
    """One range of working hours on a weekday, in the calendar's wall-clock time. Several per day are allowed;
    an end at or before the start crosses midnight (Mon 22:00-06:00 ends Tuesday 06:00)."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, "Monday"
        TUESDAY = 1, "Tuesday"
        WEDNESDAY = 2, "Wednesday"
        THURSDAY = 3, "Thursday"
        FRIDAY = 4, "Friday"
        SATURDAY = 5, "Saturday"
        SUNDAY = 6, "Sunday"

    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="hours")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start = models.TimeField()
    end = models.TimeField()

    class Meta:
        ordering = ["calendar", "weekday", "start"]
        verbose_name_plural = "business hours"
        constraints = [
            models.CheckConstraint(condition=models.Q(weekday__gte=0, weekday__lte=6), name="businesshours_weekday")
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start:%H:%M}-{self.end:%H:%M}"


class Holiday(models.Model):
    """A date (in the calendar's zone) with no business time at all."""

    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="holidays")
    date = models.DateField()
    name = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["calendar", "date"]
        constraints = [models.UniqueConstraint(fields=["calendar", "date"], name="holiday_calendar_date_unique")]

    def __str__(self) -> str:
        return f"{self.date} {self.name}".strip()


class SlaPolicy(TimeStampedModel):
    """Targets for a class of tickets. Policies are tried by `position`; the first whose conditions all hold
    (type, priority, service, organization; an empty condition matches anything) applies to the ticket.

    When a ticket's type, priority, service or organization changes, the policy is chosen again and every clock
    is recomputed from the ticket's history with the new targets, which count from the ticket's creation; the
    pauses in the history stay pauses."""

    name = models.CharField(max_length=120, unique=True)
    position = models.PositiveIntegerField(default=100, help_text="Lower is tried first.")
    is_active = models.BooleanField(default=True)
    description = models.TextField(blank=True)

    ticket_types = models.JSONField(default=list, blank=True, help_text="Any of these types (empty: any).")
    priorities = models.JSONField(default=list, blank=True, help_text="Any of these priorities (empty: any).")
    services = models.ManyToManyField("catalog.Service", blank=True, related_name="+")
    organizations = models.ManyToManyField("accounts.Organization", blank=True, related_name="+")

    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.PROTECT, related_name="policies")
    first_response_target = models.DurationField(help_text="Business time to the first public reply.")
    resolution_target = models.DurationField(help_text="Business time to resolution.")
    next_update_target = models.DurationField(
        null=True, blank=True, help_text="Business time allowed between public updates (optional)."
    )
    pause_on = models.JSONField(
        default=default_pause_on, help_text="Per metric, the pending reasons that pause its clock."
    )
    warning_thresholds = models.JSONField(default=default_thresholds, help_text="Percentages of a target, e.g. 50.")
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = "SLA policy"
        verbose_name_plural = "SLA policies"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(first_response_target__gt=timedelta(0), resolution_target__gt=timedelta(0)),
                name="slapolicy_targets_positive",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("sla:policy-edit", args=[self.pk])

    def target_for(self, metric: str):
        return {
            SlaMetric.FIRST_RESPONSE: self.first_response_target,
            SlaMetric.RESOLUTION: self.resolution_target,
            SlaMetric.NEXT_UPDATE: self.next_update_target,
        }[metric]


class SlaClock(models.Model):
    """The clock of one target of one ticket. Every column except `next_check_at` is the output of
    sla.replay.replay_clocks over the ticket's event log (plus the policy and calendar it names), so the stored
    row can always be checked against a replay. Times are UTC; durations are business time.

    - `elapsed` is the business time used up to `as_of` (the last change of the clock: start, pause, resume,
      stop); while the clock runs, what is used by now is elapsed + business time from as_of to now.
    - `target_at` (running clocks) is the instant the target is used up: a breach when the clock is still
      running after it. `thresholds` maps each warning percentage and 100 to the instant it was or will be
      crossed (null when the clock stopped or paused before it).
    - `next_check_at` is when the beat scan must look at this clock next (the earliest threshold not emitted
      yet); it is null when there is nothing left to emit, so the scan reads only due clocks (indexed)."""

    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="sla_clocks")
    metric = models.CharField(max_length=20, choices=SlaMetric.choices)
    policy = models.ForeignKey(
        SlaPolicy, null=True, blank=True, on_delete=models.SET_NULL, related_name="clocks", db_index=False
    )
    policy_name = models.CharField(max_length=120)
    policy_version = models.PositiveIntegerField(default=1)
    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.PROTECT, related_name="clocks", db_index=False)
    calendar_version = models.PositiveIntegerField(default=1)

    target = models.DurationField()
    cycle = models.PositiveIntegerField(default=1, help_text="Next update: 1 + the public updates so far.")
    started_at = models.DateTimeField()
    state = models.CharField(max_length=12, choices=ClockState.choices, default=ClockState.RUNNING)
    is_paused = models.BooleanField(default=False)
    pauses = models.JSONField(default=list, blank=True, help_text='[{"from", "to", "reason"}], "to" null if open.')
    elapsed = models.DurationField()
    as_of = models.DateTimeField()
    target_at = models.DateTimeField(null=True, blank=True)
    breached_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    thresholds = models.JSONField(default=dict, blank=True)

    next_check_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["ticket", "metric"]
        constraints = [models.UniqueConstraint(fields=["ticket", "metric"], name="slaclock_ticket_metric_unique")]
        indexes = [
            # The beat scan: only clocks with something left to emit are in this index.
            models.Index(
                fields=["next_check_at"],
                name="slaclock_next_check_idx",
                condition=models.Q(next_check_at__isnull=False),
            ),
            # The queue's "time to breach" order: running clocks by deadline.
            models.Index(
                fields=["ticket", "target_at"],
                name="slaclock_running_target_idx",
                condition=models.Q(stopped_at__isnull=True, is_paused=False),
            ),
            # Recompute jobs: the tickets on a calendar / a policy, in ticket order.
            models.Index(fields=["calendar", "ticket"], name="slaclock_calendar_ticket_idx"),
            models.Index(fields=["policy", "ticket"], name="slaclock_policy_ticket_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.metric} {self.state}"


class SlaClockEvent(models.Model):
    """A warning (threshold 50, 75, 90...) or a breach (threshold 100) emitted for a clock. The unique constraint
    is what makes each one happen once: two beat processes, or a retried task, cannot both insert it, and only
    the one that inserted it writes the ticket event (SLA_WARNING / SLA_BREACHED) that escalations consume.

    `target` is part of the key: when a re-prioritization gives the clock another target, that target's
    thresholds are new facts; going back to a target already warned about does not repeat its warnings."""

    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="sla_clock_events")
    metric = models.CharField(max_length=20, choices=SlaMetric.choices)
    cycle = models.PositiveIntegerField(default=1)
    threshold = models.PositiveSmallIntegerField(help_text="Percent of the target; 100 is the breach.")
    target = models.DurationField()
    crossed_at = models.DateTimeField()
    emitted_at = models.DateTimeField(default=timezone.now)
    event = models.ForeignKey("tickets.TicketEvent", null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["ticket", "emitted_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "metric", "cycle", "threshold", "target"], name="slaclockevent_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.metric}#{self.cycle} {self.threshold}%"


class SlaRecomputeJob(models.Model):
    """Recomputing the clocks of the open tickets a calendar or policy edit affects, in batches, in the
    background. `done`/`total` is the progress shown on the SLA page; `last_ticket_id` is where the next batch
    starts, so a job interrupted by a crash continues where it stopped."""

    reason = models.CharField(max_length=255)
    calendar = models.ForeignKey(BusinessCalendar, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    policy = models.ForeignKey(SlaPolicy, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=10, choices=RecomputeStatus.choices, default=RecomputeStatus.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    changed = models.PositiveIntegerField(default=0, help_text="Tickets whose clocks changed.")
    last_ticket_id = models.BigIntegerField(default=0)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status"], name="slarecompute_status_idx")]

    def __str__(self) -> str:
        return f"{self.reason} ({self.done}/{self.total})"

    @property
    def percent(self) -> int:
        if not self.total:
            return 100 if self.status == RecomputeStatus.DONE else 0
        return min(100, round(100 * self.done / self.total))
