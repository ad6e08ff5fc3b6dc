"""Writes of classification, and `classify`, the entry point every intake path uses.

Intake (mail, portal, API, agent form) hands the facts of a request to `classify` - or passes an
`IntakeContext` to tickets.services.ticket_create, which calls it - and gets back the type, service,
resolver group and category chosen by the first matching rule, with the rule itself:

    from classification.services import classify
    result = classify(channel="email", mailbox_key="support", mailbox_address="support@acme.example",
                      sender_email="ann@acme.example", organization=org, subject=subject, body=text)
    result.ticket_type, result.service, result.resolver_group, result.category, result.rule  # each may be None

In ticket_create, values the caller gives explicitly win over the rule's, and the rule's win over the intake
defaults (IntakeContext.default_*: e.g. a mailbox's default type, service and group). The ticket records the
rule that matched (Ticket.classification_rule) and its CREATED event lists which fields the rule decided and
which came from the intake defaults.
"""

import re
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from accounts.models import Organization, User
from catalog.models import ResolverGroup, Service
from classification.models import Category, ClassificationRule, CriticalityAdjustment, PriorityMatrixCell
from classification.priority import CRITICALITIES, IMPACTS, MAX_SHIFT, PRIORITIES, URGENCIES, PriorityTables
from classification.rules import RequestFacts, compile_pattern, first_match
from classification.selectors import intake_configuration, priority_tables
from itsm.lib.config_audit import config_change_log, describe_changes
from itsm.lib.errors import DomainError, PermissionDenied
from tickets.choices import Channel, TicketType

CONFIG_PERMISSION = "tickets.manage_configuration"


@dataclass(frozen=True)
class IntakeContext:
    """How a request arrived (ticket_create's `intake`): facts the rules look at that the ticket does not hold,
    and the defaults of the channel that apply where neither the caller nor a rule decided."""

    mailbox_key: str = ""  # the mailbox's slug
    mailbox_address: str = ""  # the address customers wrote to
    sender_email: str = ""
    form: str = ""  # the portal form's key
    default_ticket_type: str = ""
    default_service: Service | None = None
    default_resolver_group: ResolverGroup | None = None


@dataclass(frozen=True)
class Classification:
    """What the first matching rule decided (None where it decided nothing, or no rule matched)."""

    ticket_type: str | None = None
    service: Service | None = None
    resolver_group: ResolverGroup | None = None
    category: Category | None = None
    rule: ClassificationRule | None = None
    decided: tuple[str, ...] = field(default=())
    tables: PriorityTables | None = None  # the priority tables read with the rules


def classify(
    *,
    channel: str,
    mailbox_key: str | None = None,
    mailbox_address: str = "",
    sender_email: str = "",
    organization: Organization | None = None,
    subject: str = "",
    body: str = "",
    form: str = "",
) -> Classification:
    """Run the active rules in order; the first that matches decides. One small query while the rules and
    the priority tables are unchanged (selectors.intake_configuration)."""
    facts = RequestFacts(
        channel=channel,
        mailbox_key=mailbox_key or "",
        mailbox_address=mailbox_address or "",
        sender_email=sender_email or "",
        organization_id=organization.pk if organization is not None else None,
        subject=subject or "",
        body=body or "",
        form=form or "",
    )
    rules, tables = intake_configuration()
    rule = first_match(rules, facts)
    if rule is None:
        return Classification(tables=tables)
    decided = tuple(
        name
        for name, value in (
            ("ticket_type", rule.set_ticket_type),
            ("service", rule.set_service_id),
            ("resolver_group", rule.set_resolver_group_id),
            ("category", rule.set_category_id),
        )
        if value
    )

    def fresh(model, pk):  # the rule row is shared by this process: its related rows are read, not cached
        return model.objects.filter(pk=pk).first() if pk else None

    return Classification(
        ticket_type=rule.set_ticket_type or None,
        service=fresh(Service, rule.set_service_id),
        resolver_group=fresh(ResolverGroup, rule.set_resolver_group_id),
        category=fresh(Category, rule.set_category_id),
        rule=rule,
        decided=decided,
        tables=tables,
    )


def _require_manager(actor: User | None) -> None:
    if actor is not None and not actor.has_perm(CONFIG_PERMISSION):
        raise PermissionDenied("Only a Service Manager may change the classification and priority configuration.")


def _clean_list(values: Any, *, lower: bool = False) -> list[str]:
    if isinstance(values, str):
        values = re.split(r"[,\n]", values)
    out: list[str] = []
    for v in values or []:
        v = str(v).strip()
        if lower:
            v = v.lower().lstrip("@")
        if v and v not in out:
            out.append(v)
    return out


RULE_FIELDS = (
    "name",
    "position",
    "is_active",
    "description",
    "channels",
    "mailbox_key",
    "sender_domains",
    "organization",
    "keywords",
    "subject_regex",
    "body_regex",
    "form",
    "set_ticket_type",
    "set_service",
    "set_resolver_group",
    "set_category",
)


def _rule_snapshot(rule: ClassificationRule) -> dict[str, Any]:
    out = {}
    for name in RULE_FIELDS:
        value = getattr(rule, name)
        out[name] = str(value) if hasattr(value, "pk") else value
    return out


@transaction.atomic
def rule_save(
    *, actor: User | None, data: dict[str, Any], rule: ClassificationRule | None = None
) -> ClassificationRule:
    """Create or change a rule. Refused with the reason: an invalid regular expression, an unknown channel or
    type, a category of another service, or a rule that sets nothing."""
    _require_manager(actor)
    unknown = set(data) - set(RULE_FIELDS)
    if unknown:
        raise DomainError(f"Unknown rule fields: {', '.join(sorted(unknown))}.")
    creating = rule is None
    rule = rule or ClassificationRule()
    before = {} if creating else _rule_snapshot(rule)
    for name, value in data.items():
        if name in ("channels",):
            value = _clean_list(value)
        elif name == "sender_domains":
            value = _clean_list(value, lower=True)
        elif name == "keywords":
            value = _clean_list(value)
        elif isinstance(value, str):
            value = value.strip()
        setattr(rule, name, value)
    errors: dict[str, list[str]] = {}
    if not rule.name:
        errors["name"] = ["A rule needs a name."]
    bad_channels = [c for c in rule.channels if c not in Channel.values]
    if bad_channels:
        errors["channels"] = [f"Unknown channel(s): {', '.join(bad_channels)}."]
    if rule.set_ticket_type and rule.set_ticket_type not in TicketType.values:
        errors["set_ticket_type"] = [f"Unknown ticket type {rule.set_ticket_type!r}."]
    for name in ("subject_regex", "body_regex"):
        pattern = getattr(rule, name)
        if pattern:
            try:
                compile_pattern(pattern)
            except re.error as exc:
                errors[name] = [f"Not a valid regular expression: {exc}."]
    if rule.set_category_id:
        category = rule.set_category
        if rule.set_service_id is None:
            rule.set_service = category.service
        elif category.service_id != rule.set_service_id:
            errors["set_category"] = [f"{category} is a category of {category.service}, not of {rule.set_service}."]
    if not (rule.set_ticket_type or rule.set_service_id or rule.set_resolver_group_id or rule.set_category_id):
        errors["set_ticket_type"] = ["The rule must set at least one of type, service, resolver group, category."]
    if errors:
        raise DomainError(
            "The rule cannot be saved: " + " ".join(m for msgs in errors.values() for m in msgs), details=errors
        )
    rule.full_clean()
    rule.save()
    after = _rule_snapshot(rule)
    config_change_log(
        actor=actor,
        obj=rule,
        action="added" if creating else "changed",
        message=("Created rule: " if creating else "Changed rule: ") + describe_changes(before, after),
    )
    return rule


@transaction.atomic
def rule_delete(*, actor: User | None, rule: ClassificationRule) -> None:
    """Delete a rule. Tickets it classified keep its name in their CREATED event; their link to it is cleared."""
    _require_manager(actor)
    config_change_log(actor=actor, obj=rule, action="deleted", message=f"Deleted rule: {_rule_snapshot(rule)}")
    rule.delete()


@transaction.atomic
def category_save(
    *,
    actor: User | None,
    service: Service,
    name: str,
    parent: Category | None = None,
    is_active: bool = True,
    category: Category | None = None,
) -> Category:
    """Create or rename a category (a parent makes it a subcategory; two levels, same service)."""
    _require_manager(actor)
    name = (name or "").strip()
    if not name:
        raise DomainError("A category needs a name.", details={"name": ["required"]})
    if parent is not None:
        if parent.parent_id is not None:
            raise DomainError("Subcategories cannot have subcategories (two levels: category / subcategory).")
        if parent.service_id != service.pk:
            raise DomainError(f"{parent} belongs to {parent.service}, not to {service}.")
        if category is not None and parent.pk == category.pk:
            raise DomainError("A category cannot be its own parent.")
    creating = category is None
    category = category or Category()
    before = {} if creating else {"name": category.name, "parent": str(category.parent), "active": category.is_active}
    if not creating and category.service_id != service.pk and category.subcategories.exists():
        raise DomainError("Move the subcategories first: a category keeps its subcategories' service.")
    category.service, category.parent, category.name, category.is_active = service, parent, name, is_active
    if Category.objects.filter(service=service, parent=parent, name__iexact=name).exclude(pk=category.pk or 0).exists():
        raise DomainError(f"{service} already has a category named {name}.", details={"name": ["duplicate"]})
    category.save()
    after = {"name": category.name, "parent": str(category.parent), "active": category.is_active}
    config_change_log(
        actor=actor, obj=category, action="added" if creating else "changed", message=describe_changes(before, after)
    )
    return category


@transaction.atomic
def priority_tables_update(
    *,
    actor: User | None,
    matrix: dict[tuple[int, int], str] | None = None,
    shifts: dict[int, int] | None = None,
) -> int:
    """Change cells of the priority matrix and/or the criticality adjustments; returns how many changed.

    The new tables apply from the next time a ticket's priority is computed (creation, or a change of impact,
    urgency or service); existing tickets keep the priority they have, so a table edit never re-prioritizes
    the queue behind the agents' backs."""
    _require_manager(actor)
    current = priority_tables()
    changed = 0
    for (impact, urgency), priority in (matrix or {}).items():
        if impact not in IMPACTS or urgency not in URGENCIES:
            raise DomainError(f"There is no matrix cell impact {impact} x urgency {urgency}.")
        if priority not in PRIORITIES:
            raise DomainError(f"{priority!r} is not a priority ({', '.join(PRIORITIES)}).")
        old = current.matrix[(impact, urgency)]
        cell, _ = PriorityMatrixCell.objects.update_or_create(
            impact=impact, urgency=urgency, defaults={"priority": priority}
        )
        if old != priority:
            changed += 1
            config_change_log(
                actor=actor,
                obj=cell,
                action="changed",
                message=f"Priority matrix impact {impact} x urgency {urgency}: {old} → {priority}",
            )
    for criticality, shift in (shifts or {}).items():
        if criticality not in CRITICALITIES:
            raise DomainError(f"There is no service criticality {criticality} (1-4).")
        try:
            shift = int(shift)
        except (TypeError, ValueError) as exc:
            raise DomainError(f"The adjustment for criticality {criticality} must be a whole number.") from exc
        if not -MAX_SHIFT <= shift <= MAX_SHIFT:
            raise DomainError(f"An adjustment goes from -{MAX_SHIFT} to +{MAX_SHIFT} levels (got {shift}).")
        old_shift = current.shifts[criticality]
        row, _ = CriticalityAdjustment.objects.update_or_create(criticality=criticality, defaults={"shift": shift})
        if old_shift != shift:
            changed += 1
            config_change_log(
                actor=actor,
                obj=row,
                action="changed",
                message=f"Criticality {criticality} adjustment: {old_shift:+d} → {shift:+d}",
            )
    return changed
