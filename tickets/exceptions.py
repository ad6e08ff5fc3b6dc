"""Errors of the ticket domain (all DomainErrors: the API answers them as 4xx with their message)."""

from itsm.lib.errors import Conflict, DomainError


class InvalidTransition(DomainError):
    code = "invalid_transition"

    def __init__(self, current: str, requested: str, reason: str = "") -> None:
        from tickets.choices import TicketStatus

        cur = TicketStatus(current).label if current in TicketStatus.values else current
        req = TicketStatus(requested).label if requested in TicketStatus.values else requested
        message = f"Cannot move a ticket from {cur} ({current}) to {req} ({requested})"
        message += f": {reason}" if reason else "."
        super().__init__(message, details={"current": current, "requested": requested})
        self.current = current
        self.requested = requested


class ClosureBlocked(DomainError):
    """Close was asked but criteria of the closure gate are not met; every unmet criterion is named."""

    code = "closure_blocked"

    def __init__(self, unmet: list[str]) -> None:
        super().__init__("The ticket cannot be closed: " + "; ".join(unmet), details={"unmet": unmet})
        self.unmet = unmet


class StaleVersion(Conflict):
    code = "stale_version"

    def __init__(self, number: str, expected: int, current: int) -> None:
        super().__init__(
            f"Ticket {number} was changed by someone else (you edited version {expected}, it is now at "
            f"version {current}). Reload it and apply your change again.",
            details={"expected_version": expected, "current_version": current},
        )


class InvalidLink(DomainError):
    code = "invalid_link"


class AttachmentRejected(DomainError):
    code = "attachment_rejected"
