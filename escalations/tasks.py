"""Celery entry points of escalations: thin wrappers that call escalations.services."""

from datetime import datetime

from celery import shared_task


@shared_task
def escalation_scan_due() -> int:
    """Beat, every minute: fire the levels that are due and record the vendor targets missed."""
    from escalations.services import escalation_scan_due as scan_due

    return scan_due()


@shared_task(acks_late=True)
def escalation_check(ticket_id: int, at: str) -> int:
    """Right after an SLA warning or breach, an overdue update or a reopen made a level due: fire it as of the
    event's time (`at`, ISO 8601), without waiting for the beat."""
    from escalations.services import escalation_check as check

    return check(ticket_id=ticket_id, now=datetime.fromisoformat(at))


@shared_task(acks_late=True)
def escalation_schedules_rebuild(reason: str = "") -> int:
    """After a path edit: recompute the schedule of every open ticket."""
    from escalations.services import escalation_schedules_rebuild as rebuild

    return rebuild()
