"""The priority rule, as a pure computation (no database): impact x urgency gives a base priority from the
matrix; the service's criticality then shifts it through the adjustment table.

    base     = matrix[impact, urgency]                       e.g. impact 3, urgency 2 -> P3
    shift    = adjustment[service criticality] (0 without a service)   criticality 1 -> +1
    computed = base raised by `shift` levels, clamped to P1..P4          P3 raised by 1 -> P2

A positive shift raises the priority (towards P1), a negative one lowers it. The tables live in the database
(classification.models.PriorityMatrixCell, CriticalityAdjustment) and are edited by a Service Manager; a cell
missing there falls back to DEFAULT_MATRIX / DEFAULT_SHIFTS below, so the rule always gives an answer.
"""

from collections.abc import Mapping
from dataclasses import dataclass

from itsm.lib.errors import DomainError

PRIORITIES: tuple[str, ...] = ("P1", "P2", "P3", "P4")
IMPACTS: tuple[int, ...] = (1, 2, 3, 4)  # 1 enterprise, 2 department, 3 multiple users, 4 single user
URGENCIES: tuple[int, ...] = (1, 2, 3, 4)  # 1 critical, 2 high, 3 medium, 4 low
CRITICALITIES: tuple[int, ...] = (1, 2, 3, 4)  # catalog.Service.criticality: 1 critical ... 4 low
MAX_SHIFT = len(PRIORITIES) - 1

# The usual ITIL matrix: rows are impact, columns urgency.
DEFAULT_MATRIX: dict[tuple[int, int], str] = {
    (1, 1): "P1", (1, 2): "P1", (1, 3): "P2", (1, 4): "P3",
    (2, 1): "P1", (2, 2): "P2", (2, 3): "P3", (2, 4): "P3",
    (3, 1): "P2", (3, 2): "P3", (3, 3): "P3", (3, 4): "P4",
    (4, 1): "P3", (4, 2): "P3", (4, 3): "P4", (4, 4): "P4",
}  # fmt: skip

# A critical service raises the priority by one level; the others leave it as it is.
DEFAULT_SHIFTS: dict[int, int] = {1: 1, 2: 0, 3: 0, 4: 0}


@dataclass(frozen=True)
class PriorityTables:
    """Both tables, complete (16 cells, 4 shifts)."""

    matrix: Mapping[tuple[int, int], str]
    shifts: Mapping[int, int]

    @classmethod
    def build(cls, matrix: Mapping[tuple[int, int], str] = {}, shifts: Mapping[int, int] = {}) -> "PriorityTables":  # noqa: B006
        full_matrix = {**DEFAULT_MATRIX, **{k: v for k, v in matrix.items() if k in DEFAULT_MATRIX}}
        full_shifts = {**DEFAULT_SHIFTS, **{k: v for k, v in shifts.items() if k in DEFAULT_SHIFTS}}
        for key, value in full_matrix.items():
            if value not in PRIORITIES:
                raise ValueError(f"Matrix cell {key} holds {value!r}, not one of {', '.join(PRIORITIES)}.")
        for key, value in full_shifts.items():
            if not -MAX_SHIFT <= int(value) <= MAX_SHIFT:
                raise ValueError(f"Criticality {key} shifts by {value}; allowed: -{MAX_SHIFT}..{MAX_SHIFT}.")
        return cls(matrix=full_matrix, shifts=full_shifts)

    def rows(self) -> list[tuple[int, list[str]]]:
        """The matrix for display: one row per impact, one cell per urgency."""
        return [(i, [self.matrix[(i, u)] for u in URGENCIES]) for i in IMPACTS]


@dataclass(frozen=True)
class PriorityExplanation:
    """How a priority was reached, for the UI ("why is this P2?") and the audit trail."""

    impact: int
    urgency: int
    base: str
    criticality: int | None
    shift: int
    computed: str

    def as_dict(self) -> dict:
        return {
            "impact": self.impact,
            "urgency": self.urgency,
            "base": self.base,
            "criticality": self.criticality,
            "shift": self.shift,
            "computed": self.computed,
        }


def shift_priority(priority: str, shift: int) -> str:
    """Raise (shift > 0) or lower (shift < 0) a priority by `shift` levels, staying within P1..P4."""
    index = PRIORITIES.index(priority) - int(shift)
    return PRIORITIES[min(max(index, 0), len(PRIORITIES) - 1)]


def compute_priority(
    tables: PriorityTables, *, impact: int, urgency: int, criticality: int | None
) -> PriorityExplanation:
    if impact not in IMPACTS or urgency not in URGENCIES:
        raise ValueError(f"Impact and urgency go from 1 to 4 (got impact {impact}, urgency {urgency}).")
    base = tables.matrix[(impact, urgency)]
    shift = tables.shifts.get(criticality, 0) if criticality is not None else 0
    return PriorityExplanation(
        impact=impact,
        urgency=urgency,
        base=base,
        criticality=criticality,
        shift=shift,
        computed=shift_priority(base, shift),
    )


class OverrideReasonRequired(DomainError):
    code = "priority_reason_required"

    def __init__(self, requested: str, computed: str) -> None:
        super().__init__(
            f"Setting the priority to {requested} by hand (the matrix gives {computed}) needs a reason.",
            details={"priority_override_reason": ["required for a manual priority"]},
        )


@dataclass(frozen=True)
class PriorityDecision:
    priority: str
    override_reason: str  # empty: the priority is the computed one and follows impact, urgency and service

    @property
    def overridden(self) -> bool:
        return bool(self.override_reason)


def decide_priority(
    *,
    computed: PriorityExplanation,
    current_priority: str = "",
    current_reason: str = "",
    requested: str | None = None,
    reason: str | None = None,
) -> PriorityDecision:
    """The ticket's priority after a change. `requested` None means the caller did not ask for a priority;
    "" asks for the computed one (ends a manual override).

    - Not overridden: the priority follows the computation (impact, urgency, service criticality).
    - A manual priority needs a reason; it then stays when impact, urgency or service change later (the
      audit trail notes what the matrix would give instead), until someone sets the priority back to "".
    - Asking for the computed value without a reason is simply the automatic priority."""
    reason = (reason or "").strip()
    current_reason = (current_reason or "").strip()
    if requested is None:
        if current_reason:
            return PriorityDecision(current_priority, reason or current_reason)
        return PriorityDecision(computed.computed, "")
    if requested == "":
        return PriorityDecision(computed.computed, "")
    if requested not in PRIORITIES:
        raise DomainError(
            f"Unknown priority {requested!r}; use one of {', '.join(PRIORITIES)}.", details={"priority": ["invalid"]}
        )
    if requested == current_priority and current_reason:
        return PriorityDecision(requested, reason or current_reason)
    if reason:
        return PriorityDecision(requested, reason)
    if requested == computed.computed:
        return PriorityDecision(requested, "")
    raise OverrideReasonRequired(requested, computed.computed)
