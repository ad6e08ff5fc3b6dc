"""Which vendor case a vendor's mail answers (called by the mail intake, mail/services.py, before ordinary
threading: a vendor's answer is not the customer's).

A message is a vendor's when its sender is an active contact of an active vendor (a user with the Vendor
role) or writes from one of the vendor's mail domains. Its case is found, in this order:
1. by its headers: In-Reply-To/References name a message of the case's thread (our mail to the vendor);
2. by our ticket tag in the subject (`[INC-000042]`, after any Re:/AW:/Fwd:...): the vendor's open case on
   that ticket;
3. by the vendor's reference pattern (e.g. `INC\\d{7}`) in the subject, then in the first lines of the text:
   the vendor's case with that reference.
A reference found in the subject is kept on a case that had none. A message of nobody's vendor, or of a vendor
but about no case of it, goes on through the ordinary intake."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from escalations.choices import VENDOR_CASE_OPEN
from escalations.models import Vendor, VendorCase, VendorCaseMessage
from mail.threading import strip_reply_prefixes, ticket_numbers_in_subject

BODY_SCAN_CHARS = 4000  # the reference is looked for in the first lines only (quoted history comes later)


@dataclass(frozen=True)
class VendorMatch:
    case: VendorCase
    how: str  # "headers", "our ticket tag", "reference pattern"
    reference: str  # the vendor's reference seen in the message ("" if none)
    author_name: str


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern | None:
    try:
        return re.compile(pattern)
    except re.error:
        return None


def reference_in(pattern: str, text: str) -> str:
    """The first vendor reference in `text` (a group of the pattern, if it has one, else the whole match)."""
    compiled = _compiled(pattern) if pattern else None
    if compiled is None or not text:
        return ""
    m = compiled.search(text)
    if m is None:
        return ""
    return (m.group(1) if compiled.groups else m.group(0)).strip()[:100]


def _body_reference(vendor: Vendor, text: str) -> str:
    return reference_in(vendor.reference_pattern, (text or "")[:BODY_SCAN_CHARS])


_UNKNOWN = object()


def vendor_for_sender(address: str, *, user=_UNKNOWN) -> tuple[Vendor | None, str]:
    """(vendor, sender's name) of a mail address: a contact of an active vendor, or one of its domains.
    `user`: the contact of that address when the caller looked it up already (None: there is none)."""
    from accounts.roles import Role, user_role_names
    from accounts.selectors import contact_find_by_email

    address = (address or "").strip().lower()
    if not address:
        return None, ""
    if user is _UNKNOWN:
        user = contact_find_by_email(email=address)
    if user is not None and user.is_active and Role.VENDOR in user_role_names(user):
        vendor = user.vendors.filter(is_active=True).order_by("pk").first()
        if vendor is not None:
            return vendor, user.display_name
    domain = address.rpartition("@")[2]
    for vendor in Vendor.objects.filter(is_active=True).only("id", "name", "email_domains", "reference_pattern"):
        if domain in {d.lower() for d in vendor.email_domains or []}:
            return vendor, address
    return None, ""


def vendor_case_for_message(
    *, from_address: str, from_name: str, subject: str, text: str, message_ids: list[str], sender=_UNKNOWN
) -> VendorMatch | None:
    """The case a vendor's message answers, or None (see the module's docstring). `sender`: the contact of
    `from_address` when the caller knows it already."""
    vendor, name = vendor_for_sender(from_address, user=sender)
    if vendor is None:
        return None
    name = from_name or name or from_address
    vendor = Vendor.objects.get(pk=vendor.pk)
    clean_subject = strip_reply_prefixes(subject)
    reference = reference_in(vendor.reference_pattern, clean_subject)
    ids = [i.strip("<>") for i in message_ids if i][-50:]
    if ids:
        msg = (
            VendorCaseMessage.objects.filter(case__vendor=vendor, message_id__in=ids)
            .select_related("case")
            .order_by("-at", "-id")
            .first()
        )
        if msg is not None:
            return VendorMatch(msg.case, "headers", reference or _body_reference(vendor, text), name)
    numbers = ticket_numbers_in_subject(subject)
    if numbers:
        case = (
            VendorCase.objects.filter(vendor=vendor, ticket__number__in=numbers, status__in=VENDOR_CASE_OPEN)
            .order_by("-opened_at", "-id")
            .first()
        )
        if case is not None:
            return VendorMatch(case, "our ticket tag", reference or _body_reference(vendor, text), name)
    reference = reference or _body_reference(vendor, text)
    if reference:
        case = VendorCase.objects.filter(vendor=vendor, vendor_reference=reference).first()
        if case is not None:
            return VendorMatch(case, "reference pattern", reference, name)
    return None
