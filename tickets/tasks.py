"""Celery entry points of the ticket domain: thin wrappers over tickets.services."""

from celery import shared_task


@shared_task
def tickets_autoclose_due() -> int:
    from tickets.services import tickets_autoclose_due as autoclose

    return autoclose()
