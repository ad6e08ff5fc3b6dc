from django.apps import AppConfig


class SlaConfig(AppConfig):
    """Business calendars, SLA policies and the clocks of every ticket (first response, resolution, next
    update), their warnings and breaches."""

    name = "sla"
    verbose_name = "Service level agreements"
