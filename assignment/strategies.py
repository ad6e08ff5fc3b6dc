"""How a group picks one of its available members: pure functions over candidates already loaded."""

from dataclasses import dataclass

from catalog.choices import AssignmentStrategy


@dataclass(frozen=True)
class Candidate:
    user_id: int
    load: int  # open tickets weighted by priority (assignment.choices.PRIORITY_WEIGHT)
    skill_score: int = 0  # sum of the member's levels in the required skills


def choose(
    strategy: str, candidates: list[Candidate], *, last_assigned_id: int | None = None
) -> tuple[int | None, str]:
    """The chosen user id (None: leave it in the group queue) and why, in words."""
    if strategy == AssignmentStrategy.NONE or not candidates:
        return None, "group queue" if strategy == AssignmentStrategy.NONE else "no available member"
    ordered = sorted(candidates, key=lambda c: c.user_id)
    if strategy == AssignmentStrategy.ROUND_ROBIN:
        after = [c for c in ordered if last_assigned_id is not None and c.user_id > last_assigned_id]
        pick = (after or ordered)[0]
        return pick.user_id, "round-robin"
    if strategy == AssignmentStrategy.BEST_SKILL:
        best = max(c.skill_score for c in ordered)
        ordered = [c for c in ordered if c.skill_score == best]
        pick = min(ordered, key=lambda c: (c.load, c.user_id))
        return pick.user_id, f"best skill match (score {best}), then least loaded (load {pick.load})"
    pick = min(ordered, key=lambda c: (c.load, c.user_id))
    return pick.user_id, f"least loaded (load {pick.load})"
