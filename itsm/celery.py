"""The Celery app and the one place where every periodic schedule is defined.

Every periodic task is idempotent (safe with two beat processes or a retried run): the services it calls
take row locks or rely on unique constraints, never on running once.
"""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "itsm.settings")

app = Celery("itsm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    # every minute: send outbound mail whose first attempt failed or whose retry is due
    # (https://crontab.guru/#*_*_*_*_*)
    "communications-outbox-deliver-due": {
        "task": "communications.tasks.outbox_deliver_due",
        "schedule": crontab(minute="*"),
    },
    # every minute: emit the SLA warnings and breaches that are due, each exactly once (reads only due clocks)
    # (https://crontab.guru/#*_*_*_*_*)
    "sla-scan-due": {
        "task": "sla.tasks.sla_scan_due",
        "schedule": crontab(minute="*"),
    },
    # every minute: run SLA recompute jobs that are queued or were interrupted (normally they start at once)
    # (https://crontab.guru/#*_*_*_*_*)
    "sla-recompute-resume": {
        "task": "sla.tasks.sla_recompute_resume",
        "schedule": crontab(minute="*"),
    },
    # every 10 minutes: close resolved tickets whose acceptance window passed without a rejection
    # (https://crontab.guru/#*/10_*_*_*_*)
    "tickets-autoclose-due": {
        "task": "tickets.tasks.tickets_autoclose_due",
        "schedule": crontab(minute="*/10"),
    },
    # every minute: poll each active mailbox whose poll interval has passed (each in its own task, so one
    # failing mailbox does not stop the others) (https://crontab.guru/#*_*_*_*_*)
    "mail-mailboxes-poll-due": {
        "task": "mail.tasks.mailboxes_poll_due",
        "schedule": crontab(minute="*"),
    },
    # every minute: process stored messages whose processing task was lost (a worker killed, a broker restarted)
    # (https://crontab.guru/#*_*_*_*_*)
    "mail-inbound-process-waiting": {
        "task": "mail.tasks.inbound_process_waiting",
        "schedule": crontab(minute="*"),
    },
    # every 5 minutes: flag tickets whose status update is due (per-priority cadence) and remind the assignee
    # (https://crontab.guru/#*/5_*_*_*_*)
    "communications-status-updates-due": {
        "task": "communications.tasks.status_updates_due",
        "schedule": crontab(minute="*/5"),
    },
    # every minute: fire the escalation levels that are due (each once per ticket, level and clock cycle; reads only
    # the tickets due) and record the vendor targets missed (https://crontab.guru/#*_*_*_*_*)
    "escalations-scan-due": {
        "task": "escalations.tasks.escalation_scan_due",
        "schedule": crontab(minute="*"),
    },
    # every 5 minutes: give tickets that waited in a group queue (outside hours, nobody free) to a member
    # (https://crontab.guru/#*/5_*_*_*_*)
    "assignment-assign-waiting": {
        "task": "assignment.tasks.assignment_assign_waiting",
        "schedule": crontab(minute="*/5"),
    },
}
