"""Every choice of the ticket domain, and the lifecycle's transition table: the one place they live."""

from django.db import models


class TicketType(models.TextChoices):
    INCIDENT = "incident", "Incident"
    SERVICE_REQUEST = "service_request", "Service Request"
    ACCESS_REQUEST = "access_request", "Access Request"
    INFORMATION_REQUEST = "information_request", "Information Request"
    CHANGE_INQUIRY = "change_inquiry", "Change Inquiry"
    OTHER = "other", "Other"


# The prefix of a ticket number, by the type the ticket had when it was created. The numeric part comes
# from one sequence shared by all types, so "INC-000042" and "REQ-000042" can never both exist.
NUMBER_PREFIX: dict[str, str] = {
    TicketType.INCIDENT: "INC",
    TicketType.SERVICE_REQUEST: "REQ",
    TicketType.ACCESS_REQUEST: "ACC",
    TicketType.INFORMATION_REQUEST: "INF",
    TicketType.CHANGE_INQUIRY: "CHG",
    TicketType.OTHER: "TKT",
}


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    PORTAL = "portal", "Portal"
    API = "api", "API"
    AGENT = "agent", "Agent"
    PHONE = "phone", "Phone"


class Impact(models.IntegerChoices):
    ENTERPRISE = 1, "1 - Enterprise"
    DEPARTMENT = 2, "2 - Department"
    MULTIPLE_USERS = 3, "3 - Multiple users"
    SINGLE_USER = 4, "4 - Single user"


class Urgency(models.IntegerChoices):
    CRITICAL = 1, "1 - Critical"
    HIGH = 2, "2 - High"
    MEDIUM = 3, "3 - Medium"
    LOW = 4, "4 - Low"


class Priority(models.TextChoices):
    P1 = "P1", "P1 - Critical"
    P2 = "P2", "P2 - High"
    P3 = "P3", "P3 - Medium"
    P4 = "P4", "P4 - Low"


class TicketStatus(models.TextChoices):
    NEW = "new", "New"
    ASSIGNED = "assigned", "Assigned"
    IN_PROGRESS = "in_progress", "In Progress"
    PENDING = "pending", "Pending"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"
    CANCELLED = "cancelled", "Cancelled"


class PendingReason(models.TextChoices):
    AWAITING_CUSTOMER = "awaiting_customer", "Awaiting customer"
    AWAITING_VENDOR = "awaiting_vendor", "Awaiting vendor"
    AWAITING_OTHER = "awaiting_other", "Awaiting other"


class ResolutionCode(models.TextChoices):
    SOLVED = "solved", "Solved (permanently)"
    WORKAROUND = "workaround", "Solved (workaround)"
    FULFILLED = "fulfilled", "Request fulfilled"
    INFORMATION_GIVEN = "information_given", "Information given"
    NO_FAULT_FOUND = "no_fault_found", "No fault found"
    USER_ERROR = "user_error", "User error / training"
    DUPLICATE = "duplicate", "Duplicate"
    NOT_REPRODUCIBLE = "not_reproducible", "Not reproducible"


class LinkKind(models.TextChoices):
    """How `source` relates to `target`. Each kind reads differently from the other side."""

    PARENT_OF = "parent_of", "Parent of"
    DUPLICATE_OF = "duplicate_of", "Duplicate of"
    RELATED_TO = "related_to", "Related to"
    CAUSED_BY = "caused_by", "Caused by"


# What a link reads like from the target's side.
LINK_INVERSE_LABEL: dict[str, str] = {
    LinkKind.PARENT_OF: "Child of",
    LinkKind.DUPLICATE_OF: "Duplicated by",
    LinkKind.RELATED_TO: "Related to",
    LinkKind.CAUSED_BY: "Causes",
}


S = TicketStatus

# The lifecycle. A status not listed as a key has no way out. Closing additionally passes the closure
# gate (tickets/closure.py); every other precondition of a transition is checked in ticket_transition.
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    S.NEW: frozenset({S.ASSIGNED, S.IN_PROGRESS, S.PENDING, S.RESOLVED, S.CANCELLED}),
    S.ASSIGNED: frozenset({S.IN_PROGRESS, S.PENDING, S.RESOLVED, S.CANCELLED}),
    S.IN_PROGRESS: frozenset({S.ASSIGNED, S.PENDING, S.RESOLVED, S.CANCELLED}),
    S.PENDING: frozenset({S.ASSIGNED, S.IN_PROGRESS, S.RESOLVED, S.CANCELLED}),
    S.RESOLVED: frozenset({S.IN_PROGRESS, S.CLOSED}),  # back to In Progress is a reopen
    S.CLOSED: frozenset(),
    S.CANCELLED: frozenset(),
}

OPEN_STATUSES: frozenset[str] = frozenset({S.NEW, S.ASSIGNED, S.IN_PROGRESS, S.PENDING})
DONE_STATUSES: frozenset[str] = frozenset({S.RESOLVED, S.CLOSED})
FINAL_STATUSES: frozenset[str] = frozenset({S.CLOSED, S.CANCELLED})
# A linked child or duplicate in one of these no longer holds its parent open (closure gate). A cancelled one
# counts: Cancelled is final, so counting it as open would keep the parent from ever closing but by unlinking.
SETTLED_STATUSES: frozenset[str] = DONE_STATUSES | {S.CANCELLED}

# The transitions a customer may ask for on a ticket they can see (withdrawing their own request).
CUSTOMER_TRANSITIONS: frozenset[tuple[str, str]] = frozenset(
    {(s, S.CANCELLED) for s in (S.NEW, S.ASSIGNED, S.IN_PROGRESS, S.PENDING)}
)

STATUS_COLOUR: dict[str, str] = {
    S.NEW: "blue",
    S.ASSIGNED: "indigo",
    S.IN_PROGRESS: "teal",
    S.PENDING: "amber",
    S.RESOLVED: "green",
    S.CLOSED: "grey",
    S.CANCELLED: "grey",
}


class TicketEventType(models.TextChoices):
    """Kinds of entries in the append-only audit trail. Other apps add their kinds here."""

    CREATED = "created", "Created"
    UPDATED = "updated", "Fields changed"
    STATUS_CHANGED = "status_changed", "Status changed"
    ASSIGNED = "assigned", "Assignment changed"
    COMMENT_ADDED = "comment_added", "Comment added"
    ATTACHMENT_ADDED = "attachment_added", "Attachment added"
    LINK_ADDED = "link_added", "Link added"
    LINK_REMOVED = "link_removed", "Link removed"
    WATCHER_ADDED = "watcher_added", "Watcher added"
    WATCHER_REMOVED = "watcher_removed", "Watcher removed"
    NOTIFICATION_QUEUED = "notification_queued", "Notification queued"
    NOTIFICATION_SENT = "notification_sent", "Notification sent"
    NOTIFICATION_FAILED = "notification_failed", "Notification failed"
    RESOLUTION_ACCEPTED = "resolution_accepted", "Resolution accepted"
    RESOLUTION_REJECTED = "resolution_rejected", "Resolution rejected"
    NOTIFICATION_SUPPRESSED = "notification_suppressed", "Notification not sent"
    STATUS_UPDATE_DUE = "status_update_due", "Status update due"
    MAIL_RECEIVED = "mail_received", "Mail received"
    # SLA (sla app): a clock crossed a warning threshold / its target; the policy applying to the ticket changed.
    # Warnings and breaches are emitted once per clock, target and threshold (escalations consume them).
    SLA_WARNING = "sla_warning", "SLA warning"
    SLA_BREACHED = "sla_breached", "SLA breached"
    SLA_POLICY_APPLIED = "sla_policy_applied", "SLA policy applied"
    # Escalations (escalations app): a level of the ticket's path fired, or an escalation by hand (functional,
    # vendor); de-escalation; collaborating groups; vendor cases and their clock; major incidents.
    ESCALATED = "escalated", "Escalated"
    DEESCALATED = "deescalated", "De-escalated"
    COLLABORATION_ADDED = "collaboration_added", "Collaborating group added"
    COLLABORATION_ENDED = "collaboration_ended", "Collaborating group removed"
    VENDOR_CASE_OPENED = "vendor_case_opened", "Vendor case opened"
    VENDOR_CASE_UPDATED = "vendor_case_updated", "Vendor case updated"
    VENDOR_CASE_BREACHED = "vendor_case_breached", "Vendor target missed"
    MAJOR_INCIDENT_DECLARED = "major_incident_declared", "Major incident declared"
    MAJOR_INCIDENT_BROADCAST = "major_incident_broadcast", "Major incident update sent to the affected"


# Event kinds a customer sees on their ticket's history (a comment event only when the comment is public;
# that is decided when the event is written, in tickets/events.py).
CUSTOMER_VISIBLE_EVENTS: frozenset[str] = frozenset(
    {
        TicketEventType.CREATED,
        TicketEventType.STATUS_CHANGED,
        TicketEventType.COMMENT_ADDED,
        TicketEventType.ATTACHMENT_ADDED,
        TicketEventType.NOTIFICATION_SENT,
        TicketEventType.RESOLUTION_ACCEPTED,
        TicketEventType.RESOLUTION_REJECTED,
    }
)
