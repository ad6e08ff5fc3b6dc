"""The priority: impact x urgency from a matrix a Service Manager edits, adjusted by service criticality;
a manual override needs a reason, is audited, and is not silently undone by later changes."""

import pytest

from classification.priority import (
    DEFAULT_MATRIX,
    PriorityTables,
    compute_priority,
    decide_priority,
    shift_priority,
)
from classification.selectors import priority_tables
from classification.services import priority_tables_update
from itsm.lib.errors import DomainError, PermissionDenied
from tests.factories import ServiceFactory, TicketFactory
from tickets.services import ticket_update

DEFAULTS = PriorityTables.build()


@pytest.mark.smoke
@pytest.mark.parametrize(
    ("impact", "urgency", "criticality", "base", "computed"),
    [
        (1, 1, None, "P1", "P1"),
        (3, 2, None, "P3", "P3"),
        (3, 2, 1, "P3", "P2"),  # a critical service raises it one level
        (3, 2, 3, "P3", "P3"),
        (1, 1, 1, "P1", "P1"),  # cannot go above P1
        (4, 4, 1, "P4", "P3"),
    ],
)
def test_matrix_and_criticality_adjustment(impact, urgency, criticality, base, computed):
    result = compute_priority(DEFAULTS, impact=impact, urgency=urgency, criticality=criticality)
    assert (result.base, result.computed) == (base, computed)


@pytest.mark.smoke
def test_shifts_clamp_and_lower():
    assert shift_priority("P3", 2) == "P1" and shift_priority("P2", -5) == "P4" and shift_priority("P3", 0) == "P3"
    tables = PriorityTables.build(shifts={4: -1})
    assert compute_priority(tables, impact=3, urgency=3, criticality=4).computed == "P4"
    with pytest.raises(ValueError):
        PriorityTables.build(matrix={(1, 1): "P9"})


@pytest.mark.smoke
def test_override_decisions():
    computed = compute_priority(DEFAULTS, impact=4, urgency=3, criticality=None)  # P4
    assert decide_priority(computed=computed).priority == "P4"
    with pytest.raises(DomainError, match="needs a reason"):
        decide_priority(computed=computed, requested="P1")
    manual = decide_priority(computed=computed, requested="P1", reason="CEO")
    assert (manual.priority, manual.override_reason) == ("P1", "CEO")
    kept = decide_priority(computed=computed, current_priority="P1", current_reason="CEO")
    assert (kept.priority, kept.overridden) == ("P1", True)
    back = decide_priority(computed=computed, current_priority="P1", current_reason="CEO", requested="")
    assert (back.priority, back.overridden) == ("P4", False)


def test_ticket_priority_comes_from_the_matrix_and_the_service(db, desk, customer):
    critical = ServiceFactory(slug="erp", name="ERP", criticality=1)
    assert TicketFactory(requester=customer, actor=desk, impact=3, urgency=2).priority == "P3"
    ticket = TicketFactory(requester=customer, actor=desk, impact=3, urgency=2, service=critical)
    assert ticket.priority == "P2" and not ticket.priority_override_reason
    created = ticket.events.get(event_type="created").data["priority_computed"]
    assert created == {"impact": 3, "urgency": 2, "base": "P3", "criticality": 1, "shift": 1, "computed": "P2"}
    ticket_update(ticket=ticket, actor=desk, data={"urgency": 1})
    ticket.refresh_from_db()
    assert ticket.priority == "P1"  # not overridden: it follows the matrix


def test_manual_override_needs_a_reason_is_audited_and_survives_impact_changes(db, desk, customer):
    ticket = TicketFactory(requester=customer, actor=desk, impact=4, urgency=3)
    assert ticket.priority == "P4"
    with pytest.raises(DomainError, match="needs a reason"):
        ticket_update(ticket=ticket, actor=desk, data={"priority": "P2"})
    ticket_update(ticket=ticket, actor=desk, data={"priority": "P2", "priority_override_reason": "Board meeting"})
    ticket.refresh_from_db()
    assert (ticket.priority, ticket.priority_override_reason) == ("P2", "Board meeting")
    changes = ticket.events.last().data["changes"]
    assert changes["priority"] == {"from": "P4", "to": "P2"}
    assert changes["priority_override_reason"] == {"from": "", "to": "Board meeting"}
    ticket_update(ticket=ticket, actor=desk, data={"impact": 1, "urgency": 1})
    ticket.refresh_from_db()
    assert ticket.priority == "P2"  # the override stays...
    event = ticket.events.last().data
    assert event["priority_kept"] == {
        "priority": "P2",
        "computed": {"from": "P4", "to": "P1"},
        "reason": "Board meeting",
    }
    ticket_update(ticket=ticket, actor=desk, data={"priority": ""})  # ...until someone returns to the matrix
    ticket.refresh_from_db()
    assert (ticket.priority, ticket.priority_override_reason) == ("P1", "")


def test_service_manager_edits_both_tables_and_new_priorities_use_them(db, manager, desk, customer):
    changed = priority_tables_update(actor=manager, matrix={(4, 3): "P3"}, shifts={4: -1})
    assert changed == 2
    tables = priority_tables()
    assert tables.matrix[(4, 3)] == "P3" and tables.shifts[4] == -1
    low = ServiceFactory(slug="printing", name="Printing", criticality=4)
    assert TicketFactory(requester=customer, actor=desk, impact=4, urgency=3).priority == "P3"
    assert TicketFactory(requester=customer, actor=desk, impact=4, urgency=3, service=low).priority == "P4"
    with pytest.raises(PermissionDenied):
        priority_tables_update(actor=desk, matrix={(1, 1): "P4"})
    with pytest.raises(DomainError):
        priority_tables_update(actor=manager, matrix={(5, 1): "P1"})
    with pytest.raises(DomainError):
        priority_tables_update(actor=manager, shifts={1: 7})


def test_tables_fall_back_to_the_defaults_when_rows_are_missing(db):
    from classification.models import PriorityMatrixCell

    PriorityMatrixCell.objects.all().delete()
    assert dict(priority_tables().matrix) == DEFAULT_MATRIX
