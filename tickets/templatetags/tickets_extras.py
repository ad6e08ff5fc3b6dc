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
    return TicketEventType(t).label if t in TicketEventType.values else t
