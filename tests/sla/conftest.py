"""Calendars and policies for the SLA tests, made through the services (as a Service Manager would)."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from sla.services import calendar_save, policy_save

ROME = ZoneInfo("Europe/Rome")
OFFICE_HOURS = [(d, time(8), time(17)) for d in range(5)]


def rome(*args) -> datetime:
    return datetime(*args, tzinfo=ROME)


@pytest.fixture
def office(db):
    """Mon-Fri 08:00-17:00 Europe/Rome, Italian public holidays."""
    return calendar_save(actor=None, name="Office", time_zone="Europe/Rome", hours=OFFICE_HOURS, holiday_country="IT")


@pytest.fixture
def always(db):
    return calendar_save(actor=None, name="Always", time_zone="UTC", is_24x7=True)


@pytest.fixture
def standard(office):
    """Catch-all: first response 1h, resolution 8h, next update 4h of office time."""
    return policy_save(
        actor=None,
        data={
            "name": "Standard",
            "position": 100,
            "calendar": office,
            "first_response_target": timedelta(hours=1),
            "resolution_target": timedelta(hours=8),
            "next_update_target": timedelta(hours=4),
        },
    )


@pytest.fixture
def urgent(always):
    """P1 tickets: 15 minutes / 2 hours, around the clock."""
    return policy_save(
        actor=None,
        data={
            "name": "Urgent",
            "position": 10,
            "priorities": ["P1"],
            "calendar": always,
            "first_response_target": timedelta(minutes=15),
            "resolution_target": timedelta(hours=2),
        },
    )
