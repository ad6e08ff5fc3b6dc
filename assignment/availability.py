"""Who may be given a ticket now: inside the group's operational hours and not absent; outside hours, P1
and P2 go to whoever is on call while lower priorities wait in the group queue for the next business hours."""

from datetime import datetime

from assignment.choices import ON_CALL_PRIORITIES
from assignment.selectors import group_candidates, group_on_call, user_is_absent
from assignment.strategies import choose
from catalog.choices import AssignmentStrategy
from catalog.models import ResolverGroup


def group_in_hours(group: ResolverGroup, at: datetime) -> bool:
    """Inside the group's operational hours (a business calendar); a group without a calendar works 24x7."""
    if group.operational_calendar_id is None:
        return True
    from sla.calendar import is_business_time
    from sla.selectors import calendar_compile

    return is_business_time(calendar_compile(group.operational_calendar), at)


def choose_member(
    *,
    group: ResolverGroup,
    priority: str,
    at: datetime,
    required_skills: tuple[str, ...] = (),
    last_assigned_id: int | None = None,
) -> tuple[int | None, str]:
    """The member who gets the ticket (None: it stays in the group queue), and why in words.

    A group that assigns by hand (strategy none) still has its P1 and P2 given to the on-call member outside
    its hours: nobody works the queue then, and an urgent ticket must reach a person."""
    in_hours = group_in_hours(group, at)
    if group.assignment_strategy == AssignmentStrategy.NONE and in_hours:
        return None, f"left in the {group.name} queue (the group assigns by hand)"
    if in_hours:
        candidates = group_candidates(group=group, at=at, required_skills=required_skills)
        user_id, why = choose(group.assignment_strategy, candidates, last_assigned_id=last_assigned_id)
        if user_id is None:
            return None, f"left in the {group.name} queue: no member is available"
        return user_id, why
    if priority in ON_CALL_PRIORITIES:
        user_id = group_on_call(group=group, at=at)
        if user_id is not None and not user_is_absent(user_id=user_id, at=at):
            return user_id, f"outside operational hours, {priority}: given to the on-call member"
        return None, f"outside operational hours, {priority}, and nobody is on call: left in the queue"
    return None, "outside operational hours: waits in the group queue for the next business hours"
