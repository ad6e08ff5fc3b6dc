"""Forms of the SLA configuration pages: input parsing only; sla.services validates and saves."""

import re
from datetime import timedelta
from zoneinfo import available_timezones

import holidays as holidays_package
from django import forms

from accounts.models import Organization
from catalog.models import Service
from itsm.lib.errors import DomainError
from sla.choices import SlaMetric
from sla.models import BusinessCalendar, BusinessHours
from sla.services import parse_holidays, parse_hours
from tickets.choices import PendingReason, Priority, TicketType

_DURATION = re.compile(r"^\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m(?:in)?)?\s*$", re.IGNORECASE)


def format_duration(value: timedelta | None) -> str:
    if not value:
        return ""
    hours, minutes = divmod(int(value.total_seconds() // 60), 60)
    return " ".join(f"{n}{u}" for n, u in ((hours, "h"), (minutes, "m")) if n) or "0m"


class BusinessDurationField(forms.CharField):
    """Business time as "30m", "4h", "1h 30m" or "01:30" (hours and minutes, never days: a day of business
    time would read as a working day)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", "Business time, e.g. 30m, 4h, 1h 30m.")
        super().__init__(**kwargs)

    def prepare_value(self, value):
        return format_duration(value) if isinstance(value, timedelta) else value

    def to_python(self, value):
        value = (value or "").strip()
        if not value:
            return None
        if re.fullmatch(r"\d{1,3}:\d{2}", value):
            h, m = value.split(":")
            return timedelta(hours=int(h), minutes=int(m))
        match = _DURATION.match(value)
        if not match or not any(match.groups()):
            raise forms.ValidationError("Write a duration in business hours and minutes, like 30m, 4h or 26h 30m.")
        h, m = (int(x or 0) for x in match.groups())
        return timedelta(hours=h, minutes=m)


def _country_choices() -> list[tuple[str, str]]:
    """The countries of the holidays package, by code, with their English name."""
    from holidays import registry

    names = {}
    for key, (_class_name, code, *_rest) in registry.COUNTRIES.items():
        names[code] = key.replace("_", " ").title()
    codes = sorted(c for c in holidays_package.list_supported_countries() if len(c) == 2)
    return [("", "No public holidays")] + [(c, f"{c} - {names.get(c, c)}") for c in codes]


WEEKDAYS = [(w.value, w.label) for w in BusinessHours.Weekday]


class CalendarForm(forms.Form):
    name = forms.CharField(max_length=120)
    time_zone = forms.ChoiceField(choices=[], initial="Europe/Rome", help_text="IANA time zone (DST handled).")
    is_24x7 = forms.BooleanField(label="24x7 (always open: no hours, no holidays)", required=False)
    holiday_country = forms.ChoiceField(choices=[], required=False, label="Public holidays of")
    holiday_subdivision = forms.CharField(max_length=16, required=False, label="Region", help_text="e.g. NY, BY.")
    holidays = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        label="Other holidays",
        help_text="One per line: 2026-12-24 Christmas Eve.",
    )
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = [(z, z) for z in sorted(available_timezones()) if "/" in z or z == "UTC"]
        self.fields["holiday_country"].choices = _country_choices()
        for value, label in WEEKDAYS:
            self.fields[f"day_{value}"] = forms.CharField(
                label=label,
                required=False,
                help_text="e.g. 08:00-12:00, 13:00-17:00; 22:00-06:00 ends the next morning." if value == 0 else "",
            )

    def clean(self):
        data = super().clean()
        hours = []
        try:
            for value, _ in WEEKDAYS:
                hours += [(value, s, e) for s, e in parse_hours(data.get(f"day_{value}", ""))]
            data["hours_parsed"] = hours
            data["holidays_parsed"] = parse_holidays(data.get("holidays", ""))
        except DomainError as exc:
            raise forms.ValidationError(exc.message) from exc
        return data

    @classmethod
    def initial_for(cls, calendar: BusinessCalendar) -> dict:
        initial = {
            "name": calendar.name,
            "time_zone": calendar.time_zone,
            "is_24x7": calendar.is_24x7,
            "holiday_country": calendar.holiday_country,
            "holiday_subdivision": calendar.holiday_subdivision,
            "holidays": "\n".join(f"{h.date.isoformat()} {h.name}".strip() for h in calendar.holidays.all()),
            "description": calendar.description,
        }
        for value, _ in WEEKDAYS:
            initial[f"day_{value}"] = ", ".join(
                f"{h.start:%H:%M}-{h.end:%H:%M}" for h in calendar.hours.all() if h.weekday == value
            )
        return initial


class PolicyForm(forms.Form):
    name = forms.CharField(max_length=120)
    position = forms.IntegerField(min_value=0, initial=100, help_text="Policies are tried in this order.")
    is_active = forms.BooleanField(required=False, initial=True, label="Active")
    ticket_types = forms.MultipleChoiceField(
        choices=TicketType.choices, required=False, widget=forms.CheckboxSelectMultiple, label="Types (none: any)"
    )
    priorities = forms.MultipleChoiceField(
        choices=Priority.choices, required=False, widget=forms.CheckboxSelectMultiple, label="Priorities (none: any)"
    )
    services = forms.ModelMultipleChoiceField(
        queryset=Service.objects.filter(is_active=True), required=False, label="Services (none: any)"
    )
    organizations = forms.ModelMultipleChoiceField(
        queryset=Organization.objects.filter(is_active=True), required=False, label="Organizations (none: any)"
    )
    calendar = forms.ModelChoiceField(queryset=BusinessCalendar.objects.all())
    first_response_target = BusinessDurationField(label="First response target")
    resolution_target = BusinessDurationField(label="Resolution target")
    next_update_target = BusinessDurationField(label="Next update target", required=False, help_text="Optional.")
    warning_thresholds = forms.CharField(initial="50, 75, 90", help_text="Percentages of a target, comma separated.")
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for metric in SlaMetric:
            self.fields[f"pause_{metric.value}"] = forms.MultipleChoiceField(
                choices=PendingReason.choices,
                required=False,
                widget=forms.CheckboxSelectMultiple,
                label=f"{metric.label}: paused while",
            )

    def clean_warning_thresholds(self):
        raw = self.cleaned_data["warning_thresholds"]
        try:
            return [int(x) for x in re.split(r"[,\s]+", raw.strip()) if x]
        except ValueError as exc:
            raise forms.ValidationError("Write percentages separated by commas, e.g. 50, 75, 90.") from exc

    def service_data(self) -> dict:
        d = self.cleaned_data
        return {
            "name": d["name"],
            "position": d["position"],
            "is_active": d["is_active"],
            "description": d["description"],
            "ticket_types": d["ticket_types"],
            "priorities": d["priorities"],
            "calendar": d["calendar"],
            "first_response_target": d["first_response_target"],
            "resolution_target": d["resolution_target"],
            "next_update_target": d["next_update_target"],
            "warning_thresholds": d["warning_thresholds"],
            "pause_on": {m.value: d.get(f"pause_{m.value}", []) for m in SlaMetric},
        }

    @classmethod
    def initial_for(cls, p) -> dict:
        initial = {
            "name": p.name,
            "position": p.position,
            "is_active": p.is_active,
            "description": p.description,
            "ticket_types": p.ticket_types,
            "priorities": p.priorities,
            "services": list(p.services.all()),
            "organizations": list(p.organizations.all()),
            "calendar": p.calendar_id,
            "first_response_target": p.first_response_target,
            "resolution_target": p.resolution_target,
            "next_update_target": p.next_update_target,
            "warning_thresholds": ", ".join(str(x) for x in p.warning_thresholds),
        }
        for metric in SlaMetric:
            initial[f"pause_{metric.value}"] = (p.pause_on or {}).get(metric.value, [])
        return initial
