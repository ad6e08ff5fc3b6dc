"""Celery entry points of the outbox: thin wrappers that call communications.services."""

from celery import shared_task


@shared_task(bind=True, acks_late=True, max_retries=0)
def outbound_email_deliver(self, outbound_id: int) -> str:
    from communications.services import outbound_email_deliver as deliver

    return deliver(outbound_id=outbound_id)


@shared_task
def outbox_deliver_due() -> int:
    from communications.services import outbox_deliver_due as deliver_due

    return deliver_due()


@shared_task
def status_updates_due() -> int:
    from communications.services import status_updates_due as updates_due

    return updates_due()
