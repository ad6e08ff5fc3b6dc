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
