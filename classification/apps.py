from django.apps import AppConfig


class ClassificationConfig(AppConfig):
    """Step 2 of the process: classification rules (type, service, group, category at intake), categories per
    service, and the priority matrix (impact x urgency, adjusted by service criticality)."""

    name = "classification"
    verbose_name = "Classification and priority"
