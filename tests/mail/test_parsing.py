"""Parsing and sanitizing, without a database: charsets (also wrongly declared), encoded words,
multipart/alternative, inline cid images, RFC 2231 names, nested messages, TNEF, damaged headers."""

import pytest

from mail.parsing import ParseError, decode_header_value, derived_message_id, parse_message
from mail.sanitize import fold_quoted_html, sanitize_html, split_quoted_text

pytestmark = pytest.mark.smoke


def raw(headers: str, body: bytes | str = b"hello\r\n") -> bytes:
    body = body.encode() if isinstance(body, str) else body
    return headers.replace("\n", "\r\n").encode("latin-1") + b"\r\n" + body


def test_encoded_words_in_several_charsets_and_a_character_split_across_two_words():
    value = "=?UTF-8?B?5L2/?= =?UTF-8?B?44Gj44Gm?= / =?ISO-8859-1?Q?Priorit=E4t?= / =?windows-1251?B?0eXw4+Xp?="
    assert decode_header_value(value) == "使って / Priorität / Сергей"


def test_an_unknown_charset_falls_back_instead_of_failing():
    msg = parse_message(raw("From: a@b.example\nSubject: x\nContent-Type: text/plain; charset=x-klingon\n", b"caf\xe9"))
    assert msg.text == "café"


def test_a_wrongly_declared_charset_is_read_with_a_fitting_one():
    body = "ツール".encode("cp932")
    msg = parse_message(raw("From: a@b.example\nSubject: x\nContent-Type: text/plain; charset=iso-2022-jp\n", body))
    assert msg.text == "ツール"


def test_raw_utf8_in_headers_and_an_address_with_a_display_name():
    msg = parse_message("From: Rémi Ünal <remi@b.example>\r\nSubject: élégibilité\r\n\r\nx".encode())
    assert (msg.from_name, msg.from_address, msg.subject) == ("Rémi Ünal", "remi@b.example", "élégibilité")


MULTIPART = b"""From: a@b.example\r
Subject: alt\r
Message-ID: <m1@b.example>\r
MIME-Version: 1.0\r
Content-Type: multipart/mixed; boundary="M"\r
\r
--M\r
Content-Type: multipart/related; boundary="R"\r
\r
--R\r
Content-Type: multipart/alternative; boundary="A"\r
\r
--A\r
Content-Type: text/plain; charset=utf-8\r
\r
Plain text\r
--A\r
Content-Type: text/html; charset=utf-8\r
\r
<p>HTML <img src="cid:img1@x"></p>\r
--A--\r
--R\r
Content-Type: image/png\r
Content-ID: <img1@x>\r
Content-Transfer-Encoding: base64\r
\r
iVBORw0KGgo=\r
--R--\r
--M\r
Content-Type: application/pdf\r
Content-Disposition: attachment; filename*=utf-8''Erkl%C3%A4rung%20%E2%82%AC.pdf\r
Content-Transfer-Encoding: base64\r
\r
JVBERi0=\r
--M\r
Content-Type: application/ms-tnef; name="winmail.dat"\r
Content-Disposition: attachment; filename="winmail.dat"\r
Content-Transfer-Encoding: base64\r
\r
eJ8+IgAA\r
--M\r
Content-Type: message/rfc822\r
\r
From: c@d.example\r
Subject: =?utf-8?q?Inner_=C3=BC?=\r
\r
inner body\r
--M--\r
"""


def test_alternative_parts_inline_images_rfc2231_names_tnef_and_nested_messages():
    msg = parse_message(MULTIPART)
    assert msg.text == "Plain text" and 'src="cid:img1@x"' in msg.html
    names = {a.filename: a for a in msg.attachments}
    assert set(names) == {"image.png", "Erklärung €.pdf", "winmail.dat", "Inner ü.eml"}
    assert names["image.png"].inline and names["image.png"].content_id == "img1@x"
    assert names["winmail.dat"].payload.startswith(b"x\x9f>")  # kept as it is, not decoded
    assert names["Inner ü.eml"].content_type == "message/rfc822" and b"inner body" in names["Inner ü.eml"].payload


def test_a_message_id_is_derived_from_the_content_when_missing():
    data = raw("From: a@b.example\nSubject: x\n")
    msg = parse_message(data)
    assert msg.message_id_derived and msg.message_id == derived_message_id(data)


def test_a_damaged_header_block_is_repaired():
    data = raw(
        "---- Original message ----\nFrom: a@b.example\nX-Long: abc\ndef-continuation-without-space\nSubject: ok\n"
    )
    msg = parse_message(data)
    assert msg.from_address == "a@b.example" and msg.subject == "ok"


def test_an_empty_message_is_refused():
    with pytest.raises(ParseError):
        parse_message(b"   ")


def test_addresses_with_spaces_are_not_guessed():
    msg = parse_message(raw('From: "x" <power quadrant system@example.com>\nSubject: s\n'))
    assert msg.from_address == ""


def test_sanitizing_keeps_the_allowlist_only():
    html = (
        '<div style="color:red" onmouseover="x()"><script>a()</script><a href="JaVaScRiPt:alert(1)">a</a>'
        '<a href="vbscript:x">b</a><img src="data:image/png;base64,xx"><img src=x onerror=alert(1)>'
        "<svg><use href='#x'/></svg><math><mi>x</mi></math><object data=x></object><embed src=x>"
        '<meta http-equiv="refresh" content="0;url=https://evil.example"><base href="https://evil.example/">'
        '<link rel="stylesheet" href="https://evil.example/x.css"><table><tr><td colspan="2">ok</td></tr></table></div>'
    )
    out = sanitize_html(html)
    for bad in ("style=", "onmouseover", "<script", "javascript", "vbscript", "data:", "onerror", "<svg", "<math",
                "<object", "<embed", "<meta", "<base", "<link", "evil.example"):  # fmt: skip
        assert bad not in out.lower(), bad
    assert '<td colspan="2">ok</td>' in out


def test_quoted_history_is_split_off_in_text_and_folded_in_html():
    new, quoted = split_quoted_text("Thanks!\n\nIl giorno lun 1 gen 2026, Desk ha scritto:\n> old\n")
    assert new == "Thanks!" and quoted.startswith("Il giorno")
    new, quoted = split_quoted_text("Answer\n\n-----Original Message-----\nFrom: x\n")
    assert new == "Answer" and "Original Message" in quoted
    folded = fold_quoted_html(sanitize_html("<p>Top</p><blockquote><p>Earlier</p></blockquote>"))
    assert folded.startswith("<p>Top</p><details") and "Earlier" in folded
