"""Rendering customer mail from MessageTemplate rows, sandboxed.

A template is plain text with `{{ name }}` placeholders from PLACEHOLDERS, filled in one pass: a value
(a title or a reply typed by a customer or an agent) is inserted as text and never read again, so nothing a
customer types is ever evaluated as a template. No tags, filters, attribute lookups or includes exist; a
template naming an unknown placeholder is refused when it is saved."""

import re

PLACEHOLDERS: dict[str, str] = {
    "ticket_number": "The ticket number, e.g. INC-000042",
    "ticket_title": "The ticket's title",
    "ticket_status": "Its status",
    "ticket_priority": "Its priority (or a dash)",
    "ticket_type": "Its type",
    "ticket_url": "Link to the ticket",
    "requester_name": "The requester's name",
    "organization_name": "The requester's organization",
    "assignee_name": "The assignee (or 'our team')",
    "resolution_code": "The resolution code",
    "resolution_notes": "The resolution notes",
    "accept_url": "Link that accepts the resolution (resolution notice)",
    "reject_url": "Link that rejects it and reopens the ticket (resolution notice)",
    "acceptance_days": "Days the customer has to reject the resolution",
    "missing_information": "The list of information still missing (request for information)",
    "message": "The text the agent wrote (replies, status updates, requests for information)",
    "service_desk_name": "The name that signs the mail",
}

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


class TemplateError(ValueError):
    pass


ANY_TAG = re.compile(r"\{\{(.*?)\}\}|\{%(.*?)%\}", re.S)


def template_check(text: str) -> None:
    """Refuse anything between {{ }} that is not an allowed placeholder, and any {% %} tag."""
    unknown = set()
    for m in ANY_TAG.finditer(text or ""):
        name = (m.group(1) or "").strip()
        if m.group(2) is not None or name not in PLACEHOLDERS:
            unknown.add(m.group(0))
    unknown = sorted(unknown)
    if unknown:
        raise TemplateError(
            f"Unknown placeholder(s): {', '.join(unknown)}. Allowed: {', '.join(sorted(PLACEHOLDERS))}."
        )


def render(text: str, context: dict[str, object]) -> str:
    """Fill the placeholders in one pass; an unknown one is left as written."""

    def value(m: re.Match) -> str:
        name = m.group(1)
        if name not in PLACEHOLDERS:
            return m.group(0)
        v = context.get(name, "")
        if callable(v):  # a value that costs a query is computed only when the template asks for it
            v = v()
        return "" if v is None else str(v)

    return PLACEHOLDER.sub(value, text or "")


def render_subject(text: str, context: dict[str, object]) -> str:
    return " ".join(render(text, context).split())[:255]
