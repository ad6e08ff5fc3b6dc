from django.apps import AppConfig


class ReportingConfig(AppConfig):
    """KPIs for the Service Manager. Reads only: aggregations live in reporting/selectors.py."""

    name = "reporting"
    verbose_name = "Reporting"
