"""The ITSM project package: settings, the Celery app, URLs and shared helpers (itsm.lib)."""

from .celery import app as celery_app

__all__ = ("celery_app",)
