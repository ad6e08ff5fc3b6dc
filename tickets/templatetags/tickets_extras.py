"""Presentation helpers for ticket pages."""

from django import template

from tickets.choices import LINK_INVERSE_LABEL, LinkKind, TicketEventType, TicketStatus

register = template.Library()


def _name(value) -> str:
    if isinstance(value, dict):
        return str(value.get("name", value.get("id", "")))
    if value in (None, ""):
        return "—"
    return str(value)


def _hours(seconds) -> str:
    if not isinstance(seconds, int):
        return "?"
    hours, rest = divmod(seconds, 3600)
    return f"{hours}h {rest // 60}m" if rest else f"{hours}h"


def _status(value: str) -> str:
    return TicketStatus(value).label if value in TicketStatus.values else str(value)


@register.filter
def event_summary(event) -> str:
    """One line of plain text describing an audit event (escaped by the template)."""
    d = event.data or {}
    t = event.event_type
    if t == TicketEventType.CREATED:
        return f"created the ticket ({d.get('channel', '')})"
    if t == TicketEventType.STATUS_CHANGED:
        text = f"changed status {_status(d.get('from'))} → {_status(d.get('to'))}"
        if d.get("pending_reason"):
            text += f" ({d['pending_reason'].replace('_', ' ')})"
        if d.get("reason"):
            text += f": {d['reason']}"
        return text
    if t == TicketEventType.UPDATED:
        parts = []
        for field, change in (d.get("changes") or {}).items():
            if "from" in change:
                parts.append(f"{field.replace('_', ' ')} {_name(change['from'])} → {_name(change['to'])}")
            else:
                parts.append(f"{field.replace('_', ' ')} edited")
        kept = d.get("priority_kept")
        if kept:  # a manual priority is never undone silently
            parts.append(
                f"priority stays {kept['priority']} (set by hand); the matrix now gives {kept['computed']['to']}"
            )
        return "changed " + "; ".join(parts)
    if t == TicketEventType.ASSIGNED:
        parts = []
        for field in ("resolver_group", "assignee"):
            if field in d:
                parts.append(f"{field.replace('_', ' ')} {_name(d[field]['from'])} → {_name(d[field]['to'])}")
        text = "assigned: " + "; ".join(parts)
        return text + (f" ({d['reason']})" if d.get("reason") else "")
    if t == TicketEventType.COMMENT_ADDED:
        return "added a public reply" if d.get("public") else "added an internal note"
    if t == TicketEventType.ATTACHMENT_ADDED:
        return f"attached {d.get('filename')} ({d.get('size')} bytes)"
    if t in (TicketEventType.LINK_ADDED, TicketEventType.LINK_REMOVED):
        kind = d.get("kind", "")
        label = LinkKind(kind).label if d.get("direction") == "out" else LINK_INVERSE_LABEL.get(kind, kind)
        verb = "linked" if t == TicketEventType.LINK_ADDED else "unlinked"
        return f"{verb}: {label.lower()} {d.get('other')}"
    if t in (TicketEventType.WATCHER_ADDED, TicketEventType.WATCHER_REMOVED):
        verb = "added" if t == TicketEventType.WATCHER_ADDED else "removed"
        return f"{verb} watcher {_name(d.get('user'))}"
    if t == TicketEventType.NOTIFICATION_QUEUED:
        return f"queued {d.get('kind', '').replace('_', ' ')} to {', '.join(d.get('to', []))}"
    if t == TicketEventType.NOTIFICATION_SENT:
        return f"sent {d.get('kind', '').replace('_', ' ')} to {', '.join(d.get('to', []))}"
    if t == TicketEventType.NOTIFICATION_FAILED:
        return f"could not send {d.get('kind', '').replace('_', ' ')}: {d.get('error', '')}"
    if t == TicketEventType.RESOLUTION_ACCEPTED:
        return "accepted the resolution"
    if t == TicketEventType.RESOLUTION_REJECTED:
        return f"rejected the resolution: {d.get('reason', '')}"
    if t in (TicketEventType.SLA_WARNING, TicketEventType.SLA_BREACHED):
        target = _hours(d.get("target_seconds"))
        if t == TicketEventType.SLA_BREACHED:
            return f"SLA breached: {d.get('label', '')} (target {target})"
        return f"SLA warning: {d.get('label', '')} at {d.get('threshold')}% of its {target} target"
    if t == TicketEventType.SLA_POLICY_APPLIED:
        old, new = (d.get("from") or {}).get("name"), (d.get("to") or {}).get("name")
        text = f"SLA policy {old or 'none'} → {new or 'none'}"
        return text + (f"; {d['note']}" if new and d.get("note") else "")
    if t in _ESCALATION_SUMMARIES:
        return _ESCALATION_SUMMARIES[t](d)
    return TicketEventType(t).label if t in TicketEventType.values else t


def _escalated(d) -> str:
    if d.get("level"):
        return f"escalated to level {d['level']} ({d.get('level_name', '')}): {d.get('threshold', '')}"
    if d.get("functional"):
        f = d["functional"]
        verb = "moved to" if f.get("mode") == "move" else "added"
        return f"escalated by hand: {verb} {_name(f.get('group'))} ({d.get('reason', '')})"
    if d.get("vendor"):
        return f"escalated to the vendor {_name(d['vendor'])}"
    return "escalated"


def _deescalated(d) -> str:
    from escalations.choices import DEESCALATION_REASONS

    items = d.get("escalations") or []
    reasons = sorted({DEESCALATION_REASONS.get(i.get("reason") or d.get("reason"), "") for i in items} - {""})
    labels = ", ".join(i.get("label") or f"level {i.get('level')}" for i in items)
    return f"de-escalated {labels}" + (f": {'; '.join(reasons)}" if reasons else "")


def _vendor_case(verb: str):
    def summary(d) -> str:
        ref = f" {d['reference']}" if d.get("reference") else ""
        return f"vendor case {verb} with {_name(d.get('vendor'))}{ref}"

    return summary


_ESCALATION_SUMMARIES = {
    TicketEventType.ESCALATED: _escalated,
    TicketEventType.DEESCALATED: _deescalated,
    TicketEventType.COLLABORATION_ADDED: lambda d: f"added {_name(d.get('group'))} as collaborating: {d.get('reason')}",
    TicketEventType.COLLABORATION_ENDED: lambda d: f"ended the collaboration of {_name(d.get('group'))}",
    TicketEventType.VENDOR_CASE_OPENED: _vendor_case("opened"),
    TicketEventType.VENDOR_CASE_UPDATED: _vendor_case("updated"),
    TicketEventType.VENDOR_CASE_BREACHED: lambda d: f"{_name(d.get('vendor'))} missed its {d.get('target')} target",
    TicketEventType.MAJOR_INCIDENT_DECLARED: lambda d: f"declared a major incident: {d.get('summary', '')}",
    TicketEventType.MAJOR_INCIDENT_BROADCAST: lambda d: (
        f"status update sent to the requesters of the child incidents ({d.get('mails', 0)} mails)"
    ),
}
