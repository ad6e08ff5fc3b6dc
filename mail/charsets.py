"""Turning bytes from mail into text without ever failing: declared charsets are tried first (with the
aliases mail clients really use), then UTF-8, then a single-byte fallback that cannot fail."""

import codecs

# Names seen in real mail that Python does not know, or knows as a narrower charset than the sender used.
ALIASES = {
    "iso-gb2312": "gb18030",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cn-gb": "gb18030",
    "unicode-1-1-utf-7": "utf-7",
    "utf7": "utf-7",
    "ks_c_5601-1987": "cp949",
    "ks_c_5601": "cp949",
    "euc-kr": "cp949",
    "iso-2022-jp": "iso2022_jp_ext",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "windows-874": "cp874",
    "x-mac-roman": "mac_roman",
    "macintosh": "mac_roman",
    "ansi_x3.4-1968": "ascii",
    "us-ascii": "ascii",
    "iso-8859-8-i": "iso-8859-8",
    "latin1": "latin-1",
    "iso-8859-1": "cp1252",  # what Windows clients mean when they say ISO-8859-1
    "utf8": "utf-8",
    "unknown-8bit": "",
    "x-unknown": "",
    "default": "",
}


def codec_for(charset: str | None) -> str | None:
    """A Python codec name for a declared charset, or None when it is unknown or empty."""
    if not charset:
        return None
    name = str(charset).strip().strip("\"'").lower()
    name = ALIASES.get(name, name)
    if not name:
        return None
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


# Charsets that are often declared for text written in a neighbour.
SIBLINGS = {
    "iso2022_jp_ext": ("cp932", "euc_jp"),
    "iso2022_jp": ("cp932", "euc_jp"),
    "euc_jp": ("cp932",),
    "gb18030": ("big5",),
    "big5": ("gb18030",),
}


def decode_bytes(data: bytes, *charsets: str | None) -> str:
    """Decode with the first charset that fits; a declared charset that does not fit is skipped (a body
    declared ISO-2022-JP but written in Shift-JIS, say). Never raises."""
    if not data:
        return ""
    tried: list[str] = []
    for charset in charsets:
        codec = codec_for(charset)
        if not codec:
            continue
        for candidate in (codec, *SIBLINGS.get(codec, ())):
            if candidate in tried:
                continue
            tried.append(candidate)
            try:
                return data.decode(candidate)
            except (UnicodeDecodeError, LookupError):
                continue
    for codec in ("utf-8", "gb18030", "cp932"):
        if codec in tried:
            continue
        if codec != "utf-8" and not _mostly_non_ascii(data):
            continue
        try:
            return data.decode(codec)
        except UnicodeDecodeError:
            continue
    # Windows-1252 decodes most Western mail; latin-1 cannot fail.
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _mostly_non_ascii(data: bytes) -> bool:
    high = sum(1 for b in data[:4000] if b > 0x7F)
    return high > 0 and high * 4 > min(len(data), 4000)


def fix_surrogates(text: str, *charsets: str | None) -> str:
    """A header parsed from raw 8-bit bytes carries them as surrogate escapes: decode them properly."""
    if not any("\udc80" <= ch <= "\udcff" for ch in text):
        return text
    # a single-byte charset decodes anything: try the message's multi-byte charsets first
    ordered = sorted(charsets, key=lambda c: (codec_for(c) or "") not in MULTIBYTE)
    return decode_bytes(text.encode("utf-8", "surrogateescape"), "utf-8", *ordered)


MULTIBYTE = frozenset({"gb18030", "big5", "cp932", "euc_jp", "cp949", "iso2022_jp_ext", "iso2022_jp", "utf-8"})
