"""Does a classification rule match a request? Pure: a rule row and the facts of the request, no queries.

A rule matches when every condition it sets holds (conditions left empty match anything):
- channel: the request came in through one of the rule's channels;
- mailbox: the rule's mailbox is the one the mail came in through, named by its slug or its address
  (case-insensitive);
- sender domain: the sender's mail domain is one of the rule's domains or a subdomain of one;
- organization: the requester's organization is the rule's;
- keywords: any keyword appears as a whole word (case-insensitive) in the subject or the body;
- subject / body regular expression: found (case-insensitive) in the subject / the body;
- form: the portal form's key equals the rule's.
Only the first MAX_BODY_CHARS characters of a body are searched, so a huge mail cannot make intake slow.
"""

import re
from dataclasses import dataclass
from functools import lru_cache

MAX_BODY_CHARS = 20_000


@dataclass(frozen=True)
class RequestFacts:
    """What the rules can look at."""

    channel: str
    mailbox_key: str = ""
    mailbox_address: str = ""
    sender_email: str = ""
    organization_id: int | None = None
    subject: str = ""
    body: str = ""
    form: str = ""

    @property
    def sender_domain(self) -> str:
        return self.sender_email.rpartition("@")[2].strip().lower().rstrip(".") if "@" in self.sender_email else ""


@lru_cache(maxsize=1024)
def compile_pattern(pattern: str) -> re.Pattern:
    """Raises re.error for an invalid pattern (the service validates rules with it before saving)."""
    return re.compile(pattern, re.IGNORECASE)


@lru_cache(maxsize=1024)
def _keywords_pattern(keywords: tuple[str, ...]) -> re.Pattern:
    """One pattern for all of a rule's keywords: the text is scanned once, not once per keyword."""
    words = "|".join(re.escape(k.strip()) for k in sorted(keywords, key=len, reverse=True))
    return re.compile(r"(?<!\w)(?:" + words + r")(?!\w)", re.IGNORECASE)


def domain_matches(domain: str, wanted: str) -> bool:
    wanted = wanted.strip().lower().lstrip("@").rstrip(".")
    return bool(wanted) and (domain == wanted or domain.endswith("." + wanted))


def rule_matches(rule, facts: RequestFacts) -> bool:
    if rule.channels and facts.channel not in rule.channels:
        return False
    if rule.mailbox_key:
        names = {(facts.mailbox_key or "").strip().lower(), (facts.mailbox_address or "").strip().lower()} - {""}
        if rule.mailbox_key.strip().lower() not in names:
            return False
    if rule.sender_domains:
        domain = facts.sender_domain
        if not domain or not any(domain_matches(domain, d) for d in rule.sender_domains):
            return False
    if rule.organization_id and rule.organization_id != facts.organization_id:
        return False
    if rule.form and rule.form.strip().lower() != (facts.form or "").strip().lower():
        return False
    body = (facts.body or "")[:MAX_BODY_CHARS]
    subject = facts.subject or ""
    keywords = tuple(k for k in rule.keywords if k and k.strip())
    if keywords:
        pattern = _keywords_pattern(keywords)
        if not (pattern.search(subject) or pattern.search(body)):
            return False
    if rule.subject_regex and not compile_pattern(rule.subject_regex).search(subject):
        return False
    if rule.body_regex and not compile_pattern(rule.body_regex).search(body):
        return False
    return True


def first_match(rules, facts: RequestFacts):
    """The first rule (in the given order) that matches, or None."""
    for rule in rules:
        if rule_matches(rule, facts):
            return rule
    return None
