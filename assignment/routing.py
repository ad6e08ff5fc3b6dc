"""Which resolver group a ticket goes to: ordered routing rules, then the service's default group, then the
fallback group (the Service Desk). Pure matching over rules already loaded (no queries here)."""

import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RuleSpec:
    """A routing rule as plain data (assignment.selectors.routing_rules_active builds these)."""

    id: int
    name: str
    target_group_id: int
    ticket_types: frozenset[str] = frozenset()
    priorities: frozenset[str] = frozenset()
    service_ids: frozenset[int] = frozenset()
    organization_ids: frozenset[int] = frozenset()
    categories: frozenset[str] = frozenset()
    keywords: tuple[str, ...] = ()
    required_skills: tuple[str, ...] = ()


@dataclass(frozen=True)
class TicketFacts:
    ticket_type: str
    priority: str
    service_id: int | None
    organization_id: int | None
    category: str
    text: str


@dataclass(frozen=True)
class RoutingDecision:
    group_id: int | None
    rule: RuleSpec | None
    source: str  # "rule", "service default", "fallback", "none"
    explanation: str
    required_skills: tuple[str, ...] = field(default=())


def _keyword_match(keywords: tuple[str, ...], text: str) -> bool:
    return any(re.search(rf"(?<!\w){re.escape(k)}(?!\w)", text, re.IGNORECASE) for k in keywords)


def rule_matches(rule: RuleSpec, facts: TicketFacts) -> bool:
    if rule.ticket_types and facts.ticket_type not in rule.ticket_types:
        return False
    if rule.priorities and facts.priority not in rule.priorities:
        return False
    if rule.service_ids and facts.service_id not in rule.service_ids:
        return False
    if rule.organization_ids and facts.organization_id not in rule.organization_ids:
        return False
    if rule.categories and facts.category not in rule.categories:
        return False
    if rule.keywords and not _keyword_match(rule.keywords, facts.text):
        return False
    return True


def route(
    facts: TicketFacts,
    rules: list[RuleSpec],
    *,
    service_default: tuple[int, str] | None,
    fallback: tuple[int, str] | None,
    group_names: dict[int, str],
) -> RoutingDecision:
    for rule in rules:
        if rule_matches(rule, facts):
            name = group_names.get(rule.target_group_id, str(rule.target_group_id))
            return RoutingDecision(
                rule.target_group_id, rule, "rule", f"routed to {name} by rule '{rule.name}'", rule.required_skills
            )
    if service_default is not None:
        return RoutingDecision(
            service_default[0], None, "service default", f"routed to {service_default[1]}, the service's default group"
        )
    if fallback is not None:
        return RoutingDecision(fallback[0], None, "fallback", f"routed to {fallback[1]}, the fallback group")
    return RoutingDecision(None, None, "none", "no rule, service default or fallback group applies")
