"""Mail that must never be answered: auto-replies, bounces, mailing lists and bulk mail, and mail from our
own addresses. Answering any of them is how two robots end up mailing each other forever."""

import re
from dataclasses import asdict, dataclass

from mail.parsing import ParsedMessage

# Subjects of out-of-office and other automatic replies, in the languages seen at the desk.
AUTO_REPLY_SUBJECT = re.compile(
    r"^\s*(?:auto(?:matic)?[ -]?(?:reply|response|antwort)|automatische antwort|out of (?:the )?office|"
    r"abwesenheitsnotiz|risposta automatica|fuori sede|fuori ufficio|r[ée]ponse automatique|absence|"
    r"respuesta autom[áa]tica|automatisch antwoord|ooo\b|autoreply)",
    re.I,
)
BOUNCE_SENDER = re.compile(r"^(?:mailer-daemon|postmaster|mail-daemon|mailer)(?:@|$)", re.I)
BOUNCE_SUBJECT = re.compile(
    r"(?:undeliver(?:ed|able)|delivery (?:status notification|failure|has failed)|returned mail|"
    r"failure notice|mail delivery failed|non[- ]remis|unzustellbar|nicht zugestellt|"
    r"mancato recapito|impossibile recapitare)",
    re.I,
)


@dataclass(frozen=True)
class NoiseFlags:
    auto_reply: bool = False
    bounce: bool = False
    bulk: bool = False  # Precedence bulk/junk, newsletters
    mailing_list: bool = False
    own_address: bool = False
    reason: str = ""

    @property
    def answerable(self) -> bool:
        """May we send an acknowledgement to it?"""
        return not (self.auto_reply or self.bounce or self.bulk or self.mailing_list or self.own_address)

    def as_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v}


def classify(parsed: ParsedMessage, *, own_addresses: set[str]) -> NoiseFlags:
    reasons = []
    h = parsed.header
    auto_submitted = h("auto-submitted").strip().lower()
    precedence = h("precedence").strip().lower()
    auto_reply = False
    if auto_submitted and not auto_submitted.startswith("no"):
        auto_reply = True
        reasons.append(f"Auto-Submitted: {auto_submitted}")
    for name in ("x-autoreply", "x-autorespond", "x-autoresponder"):
        if h(name):
            auto_reply = True
            reasons.append(name)
    if h("x-auto-response-suppress").lower() in ("all", "oof", "autoreply"):
        # Exchange marks its own automatic mail so
        if h("x-ms-exchange-generated-message-source") or h("x-ms-exchange-inbox-rules-loop"):
            auto_reply = True
            reasons.append("Exchange automatic message")
    if AUTO_REPLY_SUBJECT.search(parsed.subject or ""):
        auto_reply = True
        reasons.append("out-of-office subject")
    bulk = precedence in ("bulk", "junk", "list")
    if bulk:
        reasons.append(f"Precedence: {precedence}")
    mailing_list = bool(h("list-id") or h("list-unsubscribe") or precedence == "list")
    if mailing_list and "List-Id" not in reasons:
        reasons.append("mailing list")
    bounce = (
        parsed.report is not None
        or parsed.content_type == "multipart/report"
        or (
            BOUNCE_SENDER.match(parsed.from_address or parsed.from_name or "")
            and bool(BOUNCE_SUBJECT.search(parsed.subject or ""))
        )
        or (h("return-path").strip() in ("<>", "") and bool(BOUNCE_SUBJECT.search(parsed.subject or "")))
    )
    if bounce:
        reasons.append("delivery report")
    own = bool(parsed.from_address) and parsed.from_address.lower() in own_addresses
    if own:
        reasons.append("sent from one of our own addresses")
    return NoiseFlags(
        auto_reply=auto_reply,
        bounce=bounce,
        bulk=bulk,
        mailing_list=mailing_list,
        own_address=own,
        reason="; ".join(reasons),
    )


_OWN_CACHE: dict[str, tuple[float, frozenset[str]]] = {}
OWN_CACHE_SECONDS = 30.0


def own_addresses() -> frozenset[str]:
    """Every address we send from or receive at (cached for a few seconds in the process; a mailbox's save
    clears the cache)."""
    import time
    from email.utils import parseaddr

    from django.conf import settings

    from mail.models import Mailbox

    cached = _OWN_CACHE.get(settings.DEFAULT_FROM_EMAIL)
    if cached and time.monotonic() - cached[0] < OWN_CACHE_SECONDS:
        return cached[1]
    addresses = {parseaddr(settings.DEFAULT_FROM_EMAIL)[1].lower()}
    for a, b in Mailbox.objects.values_list("from_address", "reply_to"):
        addresses |= {x.lower() for x in (a, b) if x}
    result = frozenset(a for a in addresses if a)
    _OWN_CACHE[settings.DEFAULT_FROM_EMAIL] = (time.monotonic(), result)
    return result


def own_addresses_forget() -> None:
    _OWN_CACHE.clear()
