"""Celery entry points of mail intake: thin wrappers that call mail.services."""

from celery import shared_task


@shared_task
def mailboxes_poll_due() -> list[int]:
    from mail.services import mailboxes_poll_due as poll_due

    return poll_due()


@shared_task(acks_late=True)
def mailbox_poll(mailbox_id: int) -> dict:
    from mail.services import mailbox_poll as poll

    result = poll(mailbox_id=mailbox_id)
    return {"taken": result.taken, "duplicates": result.duplicates, "error": result.error, "skipped": result.skipped}


@shared_task(acks_late=True)
def inbound_process(pending: list) -> int:
    """Process stored messages, [(id, conversation key), ...] in order (queued by a mailbox poll)."""
    from mail.services import inbound_process_many

    return inbound_process_many([(pk, key) for pk, key in pending])


@shared_task
def inbound_process_waiting() -> int:
    from mail.services import inbound_process_waiting as process_waiting

    return process_waiting()
