from celery import shared_task


@shared_task
def assignment_assign_waiting() -> int:
    from assignment.services import assignment_assign_waiting as assign_waiting

    return assign_waiting()
