"""HTML from mail, made safe to show (nh3, an allowlist): no script, style, event handler, form, frame or
`javascript:` link survives; remote images are neither fetched nor shown (their `src` is dropped, the alt
text stays); `cid:` images stay as references and are pointed at the permission-checked attachment view when
the page is rendered. Quoted reply history is folded into a <details> element: hidden, not removed."""

import html as html_lib
import re

import nh3

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "col", "colgroup", "dd", "del", "details", "div",
    "dl", "dt", "em", "font", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "ol",
    "p", "pre", "q", "s", "samp", "small", "span", "strike", "strong", "sub", "summary", "sup", "table", "tbody",
    "td", "tfoot", "th", "thead", "tr", "tt", "u", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
    "ol": {"start"},
    "details": {"class"},
    "blockquote": {"type"},
    "div": {"class"},
}
URL_SCHEMES = {"http", "https", "mailto", "cid"}
FOLD_CLASS = "quoted-history"


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    if tag == "img" and attribute == "src":
        # only images carried in the message itself; a remote image would tell the sender we read it
        return value if value.lower().startswith("cid:") else None
    if tag == "a" and attribute == "href" and value.lower().startswith("cid:"):
        return None
    if attribute == "class":
        keep = [c for c in value.split() if c in (FOLD_CLASS, "gmail_quote", "moz-cite-prefix")]
        return " ".join(keep) or None
    return value


def sanitize_html(html: str) -> str:
    """The allowlisted subset of an HTML body. Content of script, style, head, title and template elements
    is dropped with them; comments are dropped."""
    if not html or not html.strip():
        return ""
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        clean_content_tags={"script", "style", "head", "title", "template", "noscript", "xml", "iframe", "object"},
        attributes=ALLOWED_ATTRIBUTES,
        attribute_filter=_attribute_filter,
        url_schemes=URL_SCHEMES,
        strip_comments=True,
        link_rel="noopener noreferrer nofollow",
    )


# --- quoted history ---------------------------------------------------------------------------------

# Lines that start the quoted history in plain-text replies, in the languages our customers write.
_TEXT_QUOTE_HEADERS = re.compile(
    r"^(?:"
    r"-{2,}\s*(?:Original Message|Messaggio originale|Ursprüngliche Nachricht|Message d'origine|Mensaje original)"
    r"\s*-{2,}"
    r"|_{10,}"
    r"|On .{4,200}wrote:"
    r"|Il giorno .{4,200}ha scritto:"
    r"|Am .{4,200}schrieb .{0,200}:"
    r"|Le .{4,200}a écrit ?:"
    r"|El .{4,200}escribió:"
    r"|From: .{3,200}\n(?:Sent|Date|Gesendet|Inviato|Envoyé): "
    r"|Da: .{3,200}\n(?:Inviato|Data): "
    r"|Von: .{3,200}\n(?:Gesendet|Datum): "
    r")",
    re.M | re.I,
)


def split_quoted_text(text: str) -> tuple[str, str]:
    """(new text, quoted history) of a plain-text reply. The history starts at the first reply header or at
    the first run of `>` lines that continues to the end (or to a signature)."""
    if not text:
        return "", ""
    m = _TEXT_QUOTE_HEADERS.search(text)
    cut = m.start() if m else None
    lines = text.splitlines(keepends=True)
    offset = 0
    for i, line in enumerate(lines):
        if cut is not None and offset >= cut:
            break
        if line.startswith(">"):
            rest = [x for x in lines[i:] if x.strip()]
            quoted = sum(1 for x in rest if x.startswith(">"))
            if quoted and quoted >= len(rest) * 0.6:
                cut = offset
                break
        offset += len(line)
    if cut is None or not text[:cut].strip():
        return text, ""
    return text[:cut].rstrip(), text[cut:]


_HTML_QUOTE_START = re.compile(
    r"<(?:div|blockquote)[^>]*class=\"[^\"]*(?:gmail_quote|moz-cite-prefix)[^\"]*\"[^>]*>"
    r"|<blockquote[^>]*>"
    r"|<div[^>]*>\s*<hr[^>]*>\s*(?:<div[^>]*>)?\s*(?:<b>|<strong>)?\s*(?:From|Da|Von|De):"
    r"|(?:<p[^>]*>|<div[^>]*>)?\s*(?:<b>|<strong>)?\s*(?:From|Da|Von|De):\s*(?:</b>|</strong>)?[^<]{0,200}<",
    re.I,
)


def fold_quoted_html(safe_html: str) -> str:
    """Wrap the quoted history of sanitized HTML in <details>, then sanitize again so that the structure is
    well formed whatever element the history started in."""
    m = _HTML_QUOTE_START.search(safe_html or "")
    if not m or not safe_html[: m.start()].strip() or not re.sub(r"<[^>]+>", "", safe_html[: m.start()]).strip():
        return safe_html
    folded = (
        safe_html[: m.start()]
        + f'<details class="{FOLD_CLASS}"><summary>Quoted history</summary>'
        + safe_html[m.start() :]
        + "</details>"
    )
    return sanitize_html(folded)


def text_to_html(text: str) -> str:
    """Plain text as safe HTML, with its quoted history folded."""
    new, quoted = split_quoted_text(text or "")
    out = f"<p>{html_lib.escape(new).replace(chr(10), '<br>')}</p>"
    if quoted:
        out += (
            f'<details class="{FOLD_CLASS}"><summary>Quoted history</summary>'
            f"<p>{html_lib.escape(quoted).replace(chr(10), '<br>')}</p></details>"
        )
    return out


def html_to_text(html: str) -> str:
    """A plain-text rendering of an HTML-only message, for the ticket's description and search."""
    if not html:
        return ""
    text = re.sub(r"(?is)<(script|style|head|title)[^>]*>.*?</\1>", " ", html)
    text = re.sub(r"(?i)<br\s*/?>", "\n", text)
    text = re.sub(r"(?i)</(p|div|tr|li|h[1-6]|pre|blockquote|table)>", "\n", text)
    text = re.sub(r"(?s)<[^>]+>", "", text)
    text = html_lib.unescape(text).replace("\xa0", " ")
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()
