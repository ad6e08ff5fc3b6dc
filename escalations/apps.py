from django.apps import AppConfig


class EscalationsConfig(AppConfig):
    """Escalation paths and their levels: functional, hierarchical and vendor (the escalation issue)."""

    name = "escalations"
    verbose_name = "Escalations"
