"""Celery entry points of the SLA domain: thin wrappers over sla.services."""

from celery import shared_task


@shared_task
def sla_scan_due() -> int:
    from sla.services import sla_scan_due as scan

    return scan()


@shared_task
def sla_recompute_run(job_id: int) -> None:
    from sla.services import recompute_job_run

    recompute_job_run(job_id=job_id)


@shared_task
def sla_recompute_resume() -> int:
    from sla.services import recompute_jobs_resume

    return recompute_jobs_resume()
