"""Replay equals stored state: random ticket histories are played through the real services (status changes,
pauses for each reason, replies, notes, reopenings, cancellations, priority overrides, service changes that
select another policy, across the DST change), and after every step the stored clocks must equal a replay of
the event log."""

import os
from datetime import UTC, datetime, time, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from itsm.lib.errors import DomainError
from sla.models import SlaPolicy
from sla.services import calendar_save, policy_save
from tests.factories import ServiceFactory, TicketFactory
from tests.sla.test_clocks import assert_replay_matches
from tickets.choices import PendingReason, TicketStatus
from tickets.services import comment_add, ticket_transition, ticket_update

ACTIONS = [
    "pending_customer",
    "pending_vendor",
    "pending_other",
    "in_progress",
    "resolve",
    "reopen",
    "cancel",
    "agent_reply",
    "agent_note",
    "customer_reply",
    "priority_p1",
    "priority_auto",
    "impact_up",
    "service_nights",
    "service_none",
]

history = st.lists(st.tuples(st.integers(0, 36 * 60), st.sampled_from(ACTIONS)), min_size=1, max_size=12)
starts = st.integers(0, 20 * 24 * 60).map(lambda m: datetime(2026, 3, 16, tzinfo=UTC) + timedelta(minutes=m))


def _apply(action: str, ticket, desk, customer, nights, at: datetime) -> None:
    ticket.refresh_from_db()
    pending = {
        "pending_customer": PendingReason.AWAITING_CUSTOMER,
        "pending_vendor": PendingReason.AWAITING_VENDOR,
        "pending_other": PendingReason.AWAITING_OTHER,
    }
    if action in pending:
        ticket_transition(
            ticket=ticket, actor=desk, to_status=TicketStatus.PENDING, pending_reason=pending[action], now=at
        )
    elif action in ("in_progress", "reopen"):
        ticket_transition(ticket=ticket, actor=desk, to_status=TicketStatus.IN_PROGRESS, now=at)
    elif action == "resolve":
        ticket_transition(
            ticket=ticket,
            actor=desk,
            to_status=TicketStatus.RESOLVED,
            resolution_code="solved",
            resolution_notes="Fixed.",
            now=at,
        )
    elif action == "cancel":
        ticket_transition(ticket=ticket, actor=desk, to_status=TicketStatus.CANCELLED, reason="not needed", now=at)
    elif action in ("agent_reply", "agent_note"):
        comment_add(ticket=ticket, author=desk, body="update", is_public=action == "agent_reply", now=at)
    elif action == "customer_reply":
        comment_add(ticket=ticket, author=customer, body="me again", is_public=True, now=at)
    elif action == "priority_p1":
        ticket_update(ticket=ticket, actor=desk, data={"priority": "P1", "priority_override_reason": "VIP"}, now=at)
    elif action == "priority_auto":
        ticket_update(ticket=ticket, actor=desk, data={"priority": ""}, now=at)
    elif action == "impact_up":
        ticket_update(ticket=ticket, actor=desk, data={"impact": max(1, ticket.impact - 1)}, now=at)
    elif action == "service_nights":
        ticket_update(ticket=ticket, actor=desk, data={"service": nights}, now=at)
    elif action == "service_none":
        ticket_update(ticket=ticket, actor=desk, data={"service": None}, now=at)


@settings(
    max_examples=int(os.environ.get("ITSM_HYPOTHESIS_EXAMPLES", 25)),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(start=starts, steps=history)
def test_stored_clocks_equal_the_replay_of_any_history(standard, urgent, desk, customer, start, steps):
    nights = ServiceFactory(slug="nightly-batch", name="Nightly batch", criticality=3)
    if not SlaPolicy.objects.filter(name="Nightly batch").exists():  # once: the examples share the database
        shifts = calendar_save(
            actor=None,
            name="Night shifts NY",
            time_zone="America/New_York",
            hours=[(d, time(22), time(6)) for d in range(7)] + [(d, time(12), time(14)) for d in (0, 2, 4)],
            holiday_country="US",
            holiday_subdivision="NY",
        )
        policy = policy_save(
            actor=None,
            data={
                "name": "Nightly batch",
                "position": 50,
                "calendar": shifts,
                "first_response_target": timedelta(hours=2),
                "resolution_target": timedelta(hours=12),
                "next_update_target": timedelta(hours=3),
                "pause_on": {"resolution": [PendingReason.AWAITING_CUSTOMER, PendingReason.AWAITING_VENDOR]},
            },
            services=[nights],
        )
        assert policy.services.get() == nights
    ticket = TicketFactory(requester=customer, actor=desk, now=start)
    assert_replay_matches(ticket)
    at = start
    for minutes, action in steps:
        at += timedelta(minutes=minutes)
        try:
            _apply(action, ticket, desk, customer, nights, at)
        except DomainError:
            continue  # not allowed from the current status: the history simply does not have that step
        assert_replay_matches(ticket)
