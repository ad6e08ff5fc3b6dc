"""Reads of classification: the rules in order, categories, the priority tables and why a ticket has its
priority."""

import threading
from dataclasses import dataclass

from django.db import connection
from django.db.models import Count, F, QuerySet
from django.db.models.functions import Coalesce

from classification.models import Category, ClassificationRule, CriticalityAdjustment, PriorityMatrixCell
from classification.priority import PriorityExplanation, PriorityTables, compute_priority


def rule_list(*, active_only: bool = False) -> QuerySet[ClassificationRule]:
    qs = ClassificationRule.objects.select_related(
        "organization", "set_service", "set_resolver_group", "set_category__parent"
    ).order_by("position", "id")
    return qs.filter(is_active=True) if active_only else qs


def rule_list_with_counts() -> QuerySet[ClassificationRule]:
    """The rules in order with how many tickets each classified (the configuration page)."""
    return rule_list().annotate(ticket_count=Count("tickets"))


def category_list(*, service=None, active_only: bool = True) -> QuerySet[Category]:
    """Per service, each category followed by its subcategories."""
    qs = Category.objects.select_related("service", "parent").order_by(
        "service__name", Coalesce("parent__name", "name"), F("parent").asc(nulls_first=True), "name"
    )
    if service is not None:
        qs = qs.filter(service=service)
    return qs.filter(is_active=True) if active_only else qs


def priority_tables() -> PriorityTables:
    """Both tables as stored (cells missing from the database take the defaults of priority.py)."""
    matrix = {(i, u): p for i, u, p in PriorityMatrixCell.objects.values_list("impact", "urgency", "priority")}
    shifts = dict(CriticalityAdjustment.objects.values_list("criticality", "shift"))
    return PriorityTables.build(matrix, shifts)


_intake_cache: dict = {}
_intake_lock = threading.Lock()


def _intake_stamp() -> tuple:
    """Changes whenever a rule, a matrix cell or a criticality adjustment is added, edited or deleted (each
    row's updated_at moves on save). One query."""
    parts = []
    for model in (ClassificationRule, PriorityMatrixCell, CriticalityAdjustment):
        t = model._meta.db_table
        parts.append(f"(SELECT COUNT(*) FROM {t}), (SELECT SUM(id) FROM {t}), (SELECT MAX(updated_at) FROM {t})")
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(parts))
        return tuple(cursor.fetchone())


def intake_configuration() -> tuple[tuple[ClassificationRule, ...], PriorityTables]:
    """What classifying a new ticket reads: the active rules in order (their own rows only: what a rule sets
    is read fresh by its id) and the priority tables. Kept in this process until any of them changes, so a
    ticket costs one small query instead of a load of the rules and both tables."""
    stamp = _intake_stamp()
    cached = _intake_cache.get("config")
    if cached is not None and cached[0] == stamp:
        return cached[1]
    rules = tuple(ClassificationRule.objects.filter(is_active=True).order_by("position", "id"))
    result = (rules, priority_tables())
    with _intake_lock:
        _intake_cache["config"] = (stamp, result)
    return result


def priority_explain(*, impact: int, urgency: int, service=None, tables: PriorityTables | None = None):
    return compute_priority(
        tables or priority_tables(),
        impact=impact,
        urgency=urgency,
        criticality=service.criticality if service is not None else None,
    )


@dataclass(frozen=True)
class TicketPriorityView:
    """Everything the ticket page shows beside the priority so an agent sees why."""

    priority: str
    explanation: PriorityExplanation
    overridden: bool
    override_reason: str
    tables: PriorityTables


def ticket_priority_view(ticket) -> TicketPriorityView:
    tables = priority_tables()
    explanation = priority_explain(impact=ticket.impact, urgency=ticket.urgency, service=ticket.service, tables=tables)
    return TicketPriorityView(
        priority=ticket.priority,
        explanation=explanation,
        overridden=bool(ticket.priority_override_reason),
        override_reason=ticket.priority_override_reason,
        tables=tables,
    )
