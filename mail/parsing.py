"""Parsing an RFC 822 message into what intake needs, with the standard library's `email` package
(`policy.default`). Real mail is often broken: every step falls back instead of raising, and what could not
be read is recorded in `defects`. The only error is ParseError, for bytes that are not a message at all.

The result keeps the text body, the raw HTML body (sanitized later by mail/sanitize.py), every attachment
with its decoded name (RFC 2047 and RFC 2231), inline `cid:` images, nested messages as `.eml` attachments,
and the parts of a delivery status report that bounce handling needs."""

import base64
import binascii
import hashlib
import quopri
import re
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime

from mail.charsets import decode_bytes, fix_surrogates

MBOX_FROM = re.compile(rb"^From [^\r\n]*\r?\n")
ENCODED_WORD = re.compile(r"=\?([^?\s]+?)(?:\*[^?\s]*)?\?([bBqQ])\?([^?]*?)\?=")
_WS_BETWEEN_WORDS = re.compile(r"(\?=)[ \t\r\n]+(?==\?)")
_ADDRESS_OK = re.compile(r"^[^@\s<>()\[\],;:\"]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$")
UUENCODE_BEGIN = re.compile(r"^begin [0-7]{3,4} (.+)$", re.M)


class ParseError(Exception):
    """The bytes are not an email message."""


@dataclass
class ParsedAttachment:
    filename: str
    content_type: str
    payload: bytes
    content_id: str = ""
    inline: bool = False

    @property
    def size(self) -> int:
        return len(self.payload)


@dataclass
class DeliveryReport:
    """What a bounce (multipart/report; report-type=delivery-status) says about the mail it returns."""

    action: str = ""  # failed, delayed, delivered, relayed, expanded
    status: str = ""  # e.g. 5.1.1
    recipients: list[str] = field(default_factory=list)
    diagnostic: str = ""
    original_message_id: str = ""


@dataclass
class ParsedMessage:
    message_id: str
    subject: str
    from_name: str
    from_address: str
    to: list[tuple[str, str]]
    cc: list[tuple[str, str]]
    reply_to: list[tuple[str, str]]
    date: datetime | None
    in_reply_to: list[str]
    references: list[str]
    headers: dict[str, str]  # lower-cased name -> decoded value (first occurrence)
    text: str
    html: str
    attachments: list[ParsedAttachment]
    content_type: str
    report: DeliveryReport | None = None
    defects: list[str] = field(default_factory=list)
    message_id_derived: bool = False

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")

    @property
    def recipient_addresses(self) -> list[str]:
        return [a for _, a in self.to + self.cc if a]


# --- headers ----------------------------------------------------------------------------------------


def _decode_word(charset: str, encoding: str, text: str) -> bytes:
    if encoding.lower() == "b":
        text = re.sub(r"[^A-Za-z0-9+/=]", "", text)
        text += "=" * (-len(text) % 4)
        try:
            return base64.b64decode(text)
        except (binascii.Error, ValueError):
            return text.encode("ascii", "replace")
    return quopri.decodestring(text.replace("_", " ").encode("ascii", "replace"), header=True)


def decode_header_value(raw: str, *fallback_charsets: str | None) -> str:
    """A header's text: raw 8-bit bytes decoded (UTF-8, then the message's charsets), folding removed,
    RFC 2047 encoded-words decoded (adjacent words of one charset joined before decoding, so a character
    split across two words survives). Never raises."""
    if raw is None:
        return ""
    text = fix_surrogates(str(raw), *fallback_charsets)
    text = re.sub(r"\r?\n[ \t]", " ", text).replace("\r", "").replace("\n", " ")
    if "=?" not in text:
        return text.strip()
    text = _WS_BETWEEN_WORDS.sub(r"\1", text)
    out: list[str] = []
    pos = 0
    pending: tuple[str, bytes] | None = None
    for m in ENCODED_WORD.finditer(text):
        if m.start() > pos:
            if pending:
                out.append(decode_bytes(pending[1], pending[0], *fallback_charsets))
                pending = None
            out.append(text[pos : m.start()])
        charset, encoding, payload = m.group(1), m.group(2), m.group(3)
        data = _decode_word(charset, encoding, payload)
        if pending and pending[0].lower() == charset.lower():
            pending = (charset, pending[1] + data)
        else:
            if pending:
                out.append(decode_bytes(pending[1], pending[0], *fallback_charsets))
            pending = (charset, data)
        pos = m.end()
    if pending:
        out.append(decode_bytes(pending[1], pending[0], *fallback_charsets))
    out.append(text[pos:])
    return "".join(out).strip()


def _raw_headers(msg: Message) -> list[tuple[str, str]]:
    try:
        return [(k, v if isinstance(v, str) else str(v)) for k, v in msg.raw_items()]
    except Exception:  # noqa: BLE001 - a damaged header block must not stop intake
        return []


def parse_addresses(value: str) -> list[tuple[str, str]]:
    """(display name, address) pairs; an address that is not one is kept as a name with no address."""
    if not value:
        return []
    try:
        pairs = getaddresses([value])
    except Exception:  # noqa: BLE001
        pairs = []
    result = []
    for name, addr in pairs:
        addr = (addr or "").strip().strip("<>").strip()
        name = (name or "").strip().strip('"').strip()
        if addr and not _ADDRESS_OK.match(addr):
            # an address with spaces in it is not an address: never guess a part of it
            found = (
                None if re.search(r"\s", addr) else re.search(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}", addr)
            )
            addr = found.group(0) if found else ""
        if not addr and not name:
            continue
        result.append((name, addr.lower() if addr else ""))
    if not result:
        found = re.search(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}", value)
        if found:
            result.append(("", found.group(0).lower()))
    return result


def _message_ids(value: str) -> list[str]:
    ids = re.findall(r"<([^<>\s]+)>", value or "")
    if not ids and value and value.strip():
        ids = [v for v in re.split(r"[\s,]+", value.strip()) if "@" in v]
    return [normalize_message_id(i) for i in ids if i.strip()]


def normalize_message_id(value: str) -> str:
    """`<abc@host>` and `abc@host` are the same id; longer than 255 characters, it is replaced by a digest."""
    value = (value or "").strip().strip("<>").strip()
    if len(value) > 250:
        value = "sha256-" + hashlib.sha256(value.encode("utf-8", "surrogateescape")).hexdigest() + "@long.invalid"
    return value


def derived_message_id(raw: bytes) -> str:
    """The id of a message that has none: from its content, so a second delivery gets the same id."""
    return f"sha256-{hashlib.sha256(raw).hexdigest()}@itsm.invalid"


# --- bodies -----------------------------------------------------------------------------------------


def _part_charsets(part: Message) -> list[str]:
    charsets = []
    try:
        cs = part.get_content_charset()
        if cs:
            charsets.append(cs)
    except Exception:  # noqa: BLE001
        pass
    return charsets


def _payload_bytes(part: Message, defects: list[str]) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception as exc:  # noqa: BLE001
        defects.append(f"undecodable part: {exc}")
        data = None
    if data is None:
        payload = part.get_payload()
        if isinstance(payload, str):
            data = payload.encode("utf-8", "surrogateescape")
        else:
            data = b""
    return data


def _part_text(part: Message, defects: list[str], fallback: list[str]) -> str:
    data = _payload_bytes(part, defects)
    return decode_bytes(data, *_part_charsets(part), *fallback).replace("\r\n", "\n")


def _raw_param(part: Message, param: str, header: str):
    """A header parameter read from the raw header (policy.default would already have replaced raw 8-bit
    bytes by U+FFFD): a compat32 Message parses the parameters and keeps the bytes as surrogate escapes."""
    from email import utils as email_utils
    from email.message import _parseparam

    raw = _first_raw(part, header)
    if not raw:
        return None
    raw = re.sub(r"\r?\n[ \t]", " ", raw)
    try:
        pairs = []
        for item in _parseparam(raw):
            name, _, value = item.partition("=")
            pairs.append((name.strip(), value.strip()))
        for name, value in email_utils.decode_params(pairs)[1:]:
            if name.lower() == param:
                if isinstance(value, tuple):
                    return (value[0], value[1], email_utils.unquote(value[2]))
                return email_utils.unquote(value)
    except Exception:  # noqa: BLE001
        return None
    return None


def _filename(part: Message, fallback_charsets: list[str]) -> str:
    """RFC 2231 (`filename*=`, continuations) first, then `filename=`, then `name=`, each possibly an
    RFC 2047 encoded-word or raw 8-bit text."""
    for param, header in (("filename", "content-disposition"), ("name", "content-type")):
        value = _raw_param(part, param, header)
        if value is None:
            continue
        if isinstance(value, tuple):  # RFC 2231: (charset, language, value)
            charset, _lang, text = value
            text = str(text)
            try:
                raw = text.encode("latin-1", "surrogateescape")
            except UnicodeEncodeError:
                raw = text.encode("utf-8", "surrogateescape")
            value = decode_bytes(raw, charset or "utf-8", "utf-8", *fallback_charsets)
        value = decode_header_value(str(value), *fallback_charsets)
        value = value.strip().strip('"').strip()
        if value:
            return value
    return ""


def _content_id(part: Message) -> str:
    value = part.get("Content-ID", "") or ""
    return str(value).strip().strip("<>").strip()


def _is_attachment(part: Message) -> bool:
    disposition = (part.get("Content-Disposition", "") or "").split(";")[0].strip().lower()
    return disposition == "attachment"


_EXTENSIONS = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/jpg": ".jpg",
    "image/gif": ".gif",
    "application/pdf": ".pdf",
    "text/plain": ".txt",
    "text/html": ".html",
    "text/calendar": ".ics",
}


class _Walker:
    def __init__(self, fallback_charsets: list[str]) -> None:
        self.fallback = fallback_charsets
        self.texts: list[str] = []
        self.htmls: list[str] = []
        self.attachments: list[ParsedAttachment] = []
        self.defects: list[str] = []
        self.report: DeliveryReport | None = None

    def attach(self, part: Message, name: str, payload: bytes, *, inline: bool = False) -> None:
        ctype = part.get_content_type()
        cid = _content_id(part)
        if not name and ctype in ("message/delivery-status", "text/rfc822-headers"):
            desc = decode_header_value(_first_raw(part, "content-description"), *self.fallback)
            name = (desc[:80] + ".txt") if desc else ctype.split("/")[1] + ".txt"
        if not name:
            base = ctype.split("/")[-1] if ctype.startswith("image/") else "file"
            name = (
                (("image" if ctype.startswith("image/") else "file") + _EXTENSIONS.get(ctype, "")) if base else "file"
            )
        self.attachments.append(ParsedAttachment(name, ctype, payload, content_id=cid, inline=inline and bool(cid)))

    def walk(self, part: Message, *, in_alternative: bool = False, in_related: bool = False) -> None:
        ctype = part.get_content_type()
        for defect in getattr(part, "defects", []) or []:
            self.defects.append(type(defect).__name__)
        if ctype == "message/rfc822":
            self._nested(part)
            return
        if ctype == "message/delivery-status":
            payload = self._delivery_status_bytes(part)
            self.attach(part, _filename(part, self.fallback), payload)
            return
        if part.is_multipart():
            subtype = ctype.split("/", 1)[1] if "/" in ctype else ""
            children = part.get_payload() or []
            if not isinstance(children, list):
                children = []
            if subtype == "alternative":
                self._alternative(children, in_related=in_related)
                return
            if subtype == "report":
                self._report(part)
            for child in children:
                if isinstance(child, Message):
                    self.walk(child, in_related=in_related or subtype == "related")
            return
        if ctype == "message/rfc822":
            self._nested(part)
            return
        if ctype == "message/delivery-status":
            payload = self._delivery_status_bytes(part)
            self.attach(part, _filename(part, self.fallback), payload)
            return
        if ctype in ("text/rfc822-headers",):
            payload = _payload_bytes(part, self.defects)
            self._original_headers(payload)
            self.attach(part, _filename(part, self.fallback), payload)
            return
        name = _filename(part, self.fallback)
        if ctype in ("text/plain", "text/html") and not name and not _is_attachment(part):
            text = _part_text(part, self.defects, self.fallback)
            (self.texts if ctype == "text/plain" else self.htmls).append(text)
            return
        payload = _payload_bytes(part, self.defects)
        inline = ctype.startswith("image/") and bool(_content_id(part)) and not _is_attachment(part)
        self.attach(part, name, payload, inline=inline or (in_related and ctype.startswith("image/")))

    def _alternative(self, children: list, *, in_related: bool) -> None:
        before_text, before_html = len(self.texts), len(self.htmls)
        for child in children:
            if isinstance(child, Message):
                self.walk(child, in_alternative=True, in_related=in_related)
        # keep only the last of each kind inside one alternative (the richest rendering)
        if len(self.texts) - before_text > 1:
            self.texts[before_text:] = [t for t in self.texts[before_text:] if t.strip()][-1:]
        if len(self.htmls) - before_html > 1:
            self.htmls[before_html:] = self.htmls[-1:]

    def _nested(self, part: Message) -> None:
        payload = part.get_payload()
        inner = payload[0] if isinstance(payload, list) and payload else None
        raw = b""
        subject = ""
        if isinstance(inner, Message):
            try:
                raw = inner.as_bytes(policy=policy.default.clone(linesep="\r\n"))
            except Exception:  # noqa: BLE001
                try:
                    raw = inner.as_bytes()
                except Exception:  # noqa: BLE001
                    raw = b""
            subject = decode_header_value(_first_raw(inner, "subject"), *self.fallback)
            mid = _message_ids(_first_raw(inner, "message-id"))
            if mid and self.report is not None and not self.report.original_message_id:
                self.report.original_message_id = mid[0]
        if not raw:
            raw = _payload_bytes(part, self.defects)
        name = _filename(part, self.fallback)
        if not name:
            desc = decode_header_value(_first_raw(part, "content-description"), *self.fallback)
            name = subject or desc or "message"
            name = name[:120] + ".eml"
        self.attachments.append(ParsedAttachment(name, "message/rfc822", raw))

    def _delivery_status_bytes(self, part: Message) -> bytes:
        payload = part.get_payload()
        if isinstance(payload, list):  # the parser splits it into header blocks
            chunks = []
            for block in payload:
                if isinstance(block, Message):
                    chunks.append("".join(f"{k}: {v}\n" for k, v in _raw_headers(block)))
            data = "\n".join(chunks).encode("utf-8", "surrogateescape")
        else:
            data = _payload_bytes(part, self.defects)
        self._parse_status(data.decode("utf-8", "replace"))
        return data

    def _report(self, part: Message) -> None:
        if (part.get_param("report-type") or "").lower() == "delivery-status" and self.report is None:
            self.report = DeliveryReport()

    def _parse_status(self, text: str) -> None:
        if self.report is None:
            self.report = DeliveryReport()
        for line in re.sub(r"\r?\n[ \t]+", " ", text).splitlines():
            name, _, value = line.partition(":")
            name, value = name.strip().lower(), value.strip()
            if name == "action" and not self.report.action:
                self.report.action = value.lower()
            elif name == "status" and not self.report.status:
                self.report.status = value.split()[0] if value else ""
            elif name in ("final-recipient", "original-recipient"):
                addr = value.split(";", 1)[-1].strip()
                if addr and addr not in self.report.recipients:
                    self.report.recipients.append(addr)
            elif name == "diagnostic-code" and not self.report.diagnostic:
                self.report.diagnostic = value[:500]

    def _original_headers(self, data: bytes) -> None:
        if self.report is None:
            self.report = DeliveryReport()
        m = re.search(rb"(?im)^message-id:\s*(<[^>\r\n]+>|\S+)", data)
        if m and not self.report.original_message_id:
            ids = _message_ids(m.group(1).decode("ascii", "replace"))
            if ids:
                self.report.original_message_id = ids[0]


def _first_raw(msg: Message, name: str) -> str:
    for k, v in _raw_headers(msg):
        if k.lower() == name:
            return v
    return ""


def _uudecode_inline(text: str, attachments: list[ParsedAttachment], defects: list[str]) -> str:
    """Old mailers put files in the text as `begin 644 name` ... `end`: take them out as attachments."""
    import binascii as _b

    while True:
        m = UUENCODE_BEGIN.search(text)
        if not m:
            return text
        end = text.find("\nend", m.end())
        if end < 0:
            return text
        block = text[m.end() : end].strip("\n").splitlines()
        data = bytearray()
        for line in block:
            if not line.strip():
                continue
            try:
                data += _b.a2b_uu(line)
            except _b.Error:
                try:
                    nbytes = (((ord(line[0]) - 32) & 63) * 4 + 5) // 3
                    data += _b.a2b_uu(line[:nbytes])
                except Exception:  # noqa: BLE001
                    defects.append("broken uuencoded line")
        attachments.append(ParsedAttachment(m.group(1).strip(), "application/octet-stream", bytes(data)))
        text = text[: m.start()] + text[end + 4 :]


HEADER_LINE = re.compile(rb"^[\x21-\x39\x3b-\x7e]+[ \t]*:")


def _parse(body: bytes) -> EmailMessage:
    try:
        return BytesParser(policy=policy.default).parsebytes(body)
    except Exception as exc:  # noqa: BLE001
        raise ParseError(f"the message cannot be parsed: {exc}") from exc


def repair_header_block(body: bytes) -> bytes:
    """Damaged header blocks seen in real mail: a forwarder's banner line before the headers, or a folded
    line whose continuation lost its leading space. Banner lines are dropped; a line in the header block
    that is neither a header nor a continuation becomes a continuation."""
    head, sep, rest = body.partition(b"\r\n\r\n") if b"\r\n\r\n" in body[:65536] else body.partition(b"\n\n")
    if not sep:
        return body
    lines = head.splitlines(keepends=True)
    while lines and not HEADER_LINE.match(lines[0]):
        lines.pop(0)
    fixed = [line if HEADER_LINE.match(line) or line[:1] in (b" ", b"\t") else b" " + line for line in lines]
    return b"".join(fixed) + sep + rest


def parse_message(raw: bytes) -> ParsedMessage:
    if not isinstance(raw, bytes | bytearray) or not raw.strip():
        raise ParseError("the message is empty")
    raw = bytes(raw)
    body = MBOX_FROM.sub(b"", raw, count=1) if raw.startswith(b"From ") else raw
    msg = _parse(body)
    repaired = False
    if not _raw_headers(msg) or any(type(d).__name__ == "MissingHeaderBodySeparatorDefect" for d in msg.defects):
        fixed = repair_header_block(body)
        if fixed != body:
            candidate = _parse(fixed)
            if len(_raw_headers(candidate)) > len(_raw_headers(msg)):
                msg, body, repaired = candidate, fixed, True
    raw_headers = _raw_headers(msg)
    if not raw_headers:
        raise ParseError("the message has no header")

    charsets = []
    for part in msg.walk():
        charsets += _part_charsets(part)
    fallback = [c for c in dict.fromkeys(charsets)]

    headers: dict[str, str] = {}
    for name, value in raw_headers:
        key = name.strip().lower()
        if key and key not in headers:
            headers[key] = decode_header_value(value, *fallback)

    walker = _Walker(fallback)
    if repaired:
        walker.defects.append("HeaderBlockRepaired")
    for defect in msg.defects:
        walker.defects.append(type(defect).__name__)
    try:
        walker.walk(msg)
    except Exception as exc:  # noqa: BLE001 - a structure we do not understand: keep what we got
        walker.defects.append(f"structure: {type(exc).__name__}: {exc}")
        if not walker.texts and not walker.htmls:
            walker.texts.append(decode_bytes(body.split(b"\n\n", 1)[-1], *fallback))

    text = "\n\n".join(t.strip("\n") for t in walker.texts if t.strip())
    if "begin " in text:
        text = _uudecode_inline(text, walker.attachments, walker.defects)
    html = "\n".join(h for h in walker.htmls if h.strip())

    from_pairs: list[tuple[str, str]] = []
    for name, value in raw_headers:  # a message may carry several From lines; the first usable one counts
        if name.strip().lower() == "from":
            pairs = parse_addresses(decode_header_value(value, *fallback))
            from_pairs = from_pairs or pairs
            if any(a for _, a in pairs):
                from_pairs = pairs
                break
    sender_pairs = [p for p in from_pairs if p[1]]
    if not sender_pairs:  # no usable From: fall back to Sender, Reply-To, Return-Path
        for alt in ("sender", "reply-to", "return-path"):
            sender_pairs = [p for p in parse_addresses(headers.get(alt, "")) if p[1]]
            if sender_pairs:
                break
    from_name, from_address = sender_pairs[0] if sender_pairs else (from_pairs[0][0] if from_pairs else "", "")

    date = None
    if headers.get("date"):
        try:
            date = parsedate_to_datetime(headers["date"])
            if date is not None and date.tzinfo is None:
                from datetime import UTC

                date = date.replace(tzinfo=UTC)
        except Exception:  # noqa: BLE001
            date = None

    ids = _message_ids(headers.get("message-id", ""))
    message_id = ids[0] if ids else ""
    derived = not message_id
    if derived:
        message_id = derived_message_id(raw)
    subject = headers.get("subject", "").replace("\t", " ")
    subject = re.sub(r"\s+", " ", subject).strip()

    return ParsedMessage(
        message_id=message_id,
        subject=subject,
        from_name=from_name,
        from_address=from_address,
        to=parse_addresses(headers.get("to", "")),
        cc=parse_addresses(headers.get("cc", "")),
        reply_to=parse_addresses(headers.get("reply-to", "")),
        date=date,
        in_reply_to=_message_ids(headers.get("in-reply-to", "")),
        references=_message_ids(headers.get("references", "")),
        headers=headers,
        text=text,
        html=html,
        attachments=walker.attachments,
        content_type=msg.get_content_type(),
        report=walker.report,
        defects=walker.defects,
        message_id_derived=derived,
    )
