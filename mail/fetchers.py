"""Fetching mail from IMAP, POP3 and Maildir mailboxes. The rule of every fetcher: a message is taken in
(stored and committed by `ingest`) before it is flagged, moved or deleted at the source, so a crash in
between leaves it in the mailbox, and the next poll's duplicate check takes it in once. A message over the
size limit is recorded from its header alone and left in the mailbox, untouched.

IMAP: `imap://user:pass@host:143/INBOX` (add `?starttls=1` to upgrade), `imaps://...:993/INBOX`. Taken
messages get the keyword ITSMImported (and \\Seen), or are moved to the mailbox's processed folder.
POP3: `pop3://user:pass@host:110` (`?starttls=1`), `pop3s://...:995`. Taken messages are deleted.
Maildir: `maildir:///path/to/Maildir`. Taken messages move to cur/ with the S flag.
TLS certificates are verified; `?tls_verify=0` accepts a self-signed one (test servers only)."""

import imaplib
import os
import poplib
import re
import ssl
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from django.conf import settings

from mail.choices import Scheme

IMPORTED_KEYWORD = "ITSMImported"
Ingest = Callable[..., object]


class FetchError(Exception):
    pass


def _options(url: str) -> tuple:
    parts = urlsplit(url)
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    return parts, query


def _tls_context(query: dict) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if query.get("tls_verify", "1").lower() in ("0", "false", "no"):
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _truthy(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true", "yes", "on")


class IMAPFetcher:
    def __init__(self, url: str, *, processed_folder: str = "", max_bytes: int | None = None) -> None:
        self.parts, self.query = _options(url)
        self.tls = self.parts.scheme.lower() == Scheme.IMAPS
        self.folder = unquote(self.parts.path.lstrip("/")) or "INBOX"
        self.processed_folder = processed_folder
        self.max_bytes = max_bytes or settings.ITSM_MAIL_MAX_MESSAGE_BYTES

    def connect(self) -> imaplib.IMAP4:
        host, timeout = self.parts.hostname or "localhost", settings.ITSM_MAIL_TIMEOUT
        if self.tls:
            conn = imaplib.IMAP4_SSL(
                host, self.parts.port or 993, ssl_context=_tls_context(self.query), timeout=timeout
            )
        else:
            conn = imaplib.IMAP4(host, self.parts.port or 143, timeout=timeout)
            if _truthy(self.query.get("starttls")):
                conn.starttls(ssl_context=_tls_context(self.query))
        conn.login(unquote(self.parts.username or ""), unquote(self.parts.password or ""))
        return conn

    @staticmethod
    def _check(typ: str, data, what: str):
        if typ != "OK":
            raise FetchError(f"IMAP {what} failed: {data!r}")
        return data

    def run(self, ingest: Ingest) -> int:
        conn = self.connect()
        try:
            self._check(*conn.select(_quote(self.folder)), f"SELECT {self.folder}")
            data = self._check(*conn.uid("SEARCH", None, "UNKEYWORD", IMPORTED_KEYWORD, "UNDELETED"), "SEARCH")
            uids = data[0].split() if data and data[0] else []
            move = bool(self.processed_folder) and b"MOVE" in b" ".join(
                c.encode() if isinstance(c, str) else c for c in conn.capabilities
            )
            sizes = self._sizes(conn, [u.decode() for u in uids])
            whole: list[tuple[str, int | None]] = []
            for uid in uids:
                uid = uid.decode()
                size = sizes[uid] if uid in sizes else self._size(conn, uid)
                if size is not None and size > self.max_bytes:
                    head = self._fetch(conn, uid, "BODY.PEEK[HEADER]")
                    ingest(head, f"imap {self.folder} uid {uid} (header only)", size=size)
                    # only flagged, never moved: the whole message stays where it is for a person
                    conn.uid("STORE", uid, "+FLAGS", f"({IMPORTED_KEYWORD})")
                else:
                    whole.append((uid, size))
            for batch in _batches(whole, count=FETCH_BATCH, size=FETCH_BATCH_BYTES):
                raws = self._fetch_many(conn, batch, "BODY.PEEK[]")
                taken: list[str] = []
                try:
                    for uid in batch:
                        raw = raws.get(uid)
                        if raw is None:  # not in the batch's answer: ask for it alone
                            raw = self._fetch(conn, uid, "BODY.PEEK[]")
                        ingest(raw, f"imap {self.folder} uid {uid}")  # committed when it returns
                        taken.append(uid)
                except BaseException:
                    try:  # what was committed before the failure is marked all the same
                        self._mark(conn, taken, move)
                    except Exception:  # noqa: BLE001 - left unmarked: the next poll finds them duplicates
                        pass
                    raise
                self._mark(conn, taken, move)
            if self.processed_folder and not move:
                conn.expunge()
            return len(uids)
        finally:
            try:
                conn.logout()
            except Exception:  # noqa: BLE001
                pass

    def _mark(self, conn: imaplib.IMAP4, uids: list[str], move: bool) -> None:
        """Flag or move messages already taken in (one command for a batch)."""
        if not uids:
            return
        uid_set = ",".join(uids)
        if self.processed_folder:
            if move:
                self._check(*conn.uid("MOVE", uid_set, _quote(self.processed_folder)), "MOVE")
            else:
                self._check(*conn.uid("COPY", uid_set, _quote(self.processed_folder)), "COPY")
                conn.uid("STORE", uid_set, "+FLAGS", f"(\\Deleted {IMPORTED_KEYWORD})")
        else:
            self._check(*conn.uid("STORE", uid_set, "+FLAGS", f"(\\Seen {IMPORTED_KEYWORD})"), "STORE")

    def _fetch_many(self, conn: imaplib.IMAP4, uids: list[str], item: str) -> dict[str, bytes]:
        """Several messages in one round trip, by UID (a server may name the UID before or after the literal)."""
        data = self._check(*conn.uid("FETCH", ",".join(uids), f"({item})"), f"FETCH {item}")
        found: dict[str, bytes] = {}
        for i, part in enumerate(data):
            if not (isinstance(part, tuple) and len(part) >= 2):
                continue
            uid = re.search(rb"UID (\d+)", part[0] or b"")
            if uid is None and i + 1 < len(data) and isinstance(data[i + 1], bytes):
                uid = re.search(rb"UID (\d+)", data[i + 1])
            if uid is not None:
                found[uid.group(1).decode()] = part[1]
        return found

    def _sizes(self, conn: imaplib.IMAP4, uids: list[str]) -> dict[str, int]:
        """The sizes of many messages, a FETCH per 500 (not a round trip per message)."""
        sizes: dict[str, int] = {}
        for i in range(0, len(uids), 500):
            data = self._check(*conn.uid("FETCH", ",".join(uids[i : i + 500]), "(RFC822.SIZE)"), "FETCH sizes")
            for item in data:
                text = item if isinstance(item, bytes) else (item[0] if isinstance(item, tuple) else b"")
                uid, size = re.search(rb"UID (\d+)", text or b""), re.search(rb"RFC822\.SIZE (\d+)", text or b"")
                if uid and size:
                    sizes[uid.group(1).decode()] = int(size.group(1))
        return sizes

    def _size(self, conn: imaplib.IMAP4, uid: str) -> int | None:
        data = self._check(*conn.uid("FETCH", uid, "(RFC822.SIZE)"), "FETCH size")
        for item in data:
            text = item if isinstance(item, bytes) else (item[0] if isinstance(item, tuple) else b"")
            m = re.search(rb"RFC822\.SIZE (\d+)", text or b"")
            if m:
                return int(m.group(1))
        return None

    def _fetch(self, conn: imaplib.IMAP4, uid: str, item: str) -> bytes:
        data = self._check(*conn.uid("FETCH", uid, f"({item})"), f"FETCH {item}")
        for part in data:
            if isinstance(part, tuple) and len(part) >= 2:
                return part[1]
        raise FetchError(f"IMAP FETCH {item} of UID {uid} returned no message")


FETCH_BATCH = 50  # messages fetched in one IMAP round trip ...
FETCH_BATCH_BYTES = 8 * 1024 * 1024  # ... and at most this many bytes of them held in memory at once


def _batches(items: list[tuple[str, int | None]], *, count: int, size: int) -> list[list[str]]:
    """UIDs in order, cut into batches of at most `count` messages and `size` bytes (a message of unknown
    size counts as the size limit of a batch: alone)."""
    batches: list[list[str]] = []
    current: list[str] = []
    held = 0
    for uid, n in items:
        n = size if n is None else n
        if current and (len(current) >= count or held + n > size):
            batches.append(current)
            current, held = [], 0
        current.append(uid)
        held += n
    if current:
        batches.append(current)
    return batches


def _quote(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


class POP3Fetcher:
    def __init__(self, url: str, *, max_bytes: int | None = None) -> None:
        self.parts, self.query = _options(url)
        self.tls = self.parts.scheme.lower() == Scheme.POP3S
        self.max_bytes = max_bytes or settings.ITSM_MAIL_MAX_MESSAGE_BYTES

    def connect(self) -> poplib.POP3:
        host, timeout = self.parts.hostname or "localhost", settings.ITSM_MAIL_TIMEOUT
        if self.tls:
            conn = poplib.POP3_SSL(host, self.parts.port or 995, context=_tls_context(self.query), timeout=timeout)
        else:
            conn = poplib.POP3(host, self.parts.port or 110, timeout=timeout)
            if _truthy(self.query.get("starttls")):
                conn.stls(context=_tls_context(self.query))
        conn.user(unquote(self.parts.username or ""))
        conn.pass_(unquote(self.parts.password or ""))
        return conn

    def run(self, ingest: Ingest) -> int:
        conn = self.connect()
        count = 0
        try:
            _, listing, _ = conn.uidl()
            sizes = {}
            _, size_lines, _ = conn.list()
            for line in size_lines:
                num, _, size = line.decode().partition(" ")
                sizes[num] = int(size or 0)
            for line in listing:
                num, _, uid = line.decode().partition(" ")
                if sizes.get(num, 0) > self.max_bytes:
                    _, lines, _ = conn.top(num, 0)
                    ingest(b"\r\n".join(lines) + b"\r\n", f"pop3 {uid} (header only)", size=sizes[num])
                    continue  # left on the server
                _, lines, _ = conn.retr(num)
                ingest(b"\r\n".join(lines) + b"\r\n", f"pop3 {uid}")  # committed when it returns
                conn.dele(num)
                count += 1
            conn.quit()  # the deletions take effect only now, after every message was stored
        except Exception:
            try:
                conn.rset()
                conn.quit()
            except Exception:  # noqa: BLE001
                pass
            raise
        return count


class MaildirFetcher:
    """A Maildir folder. With `mark`, taken messages move to cur/ with the S flag and are not read again;
    without it (manage.py ingest_email PATH), the folder is left as it is."""

    def __init__(self, path: str | Path, *, mark: bool = True) -> None:
        self.path = Path(path)
        self.mark = mark

    def messages(self) -> list[Path]:
        if not (self.path / "cur").is_dir() and not (self.path / "new").is_dir():
            raise FetchError(f"{self.path} is not a Maildir folder (no cur/ or new/)")
        found = []
        for sub in ("new", "cur"):
            folder = self.path / sub
            if not folder.is_dir():
                continue
            for name in sorted(os.listdir(folder)):
                if name.startswith("."):
                    continue
                if self.mark and sub == "cur" and "S" in _maildir_flags(name):
                    continue
                found.append(folder / name)
        return found

    def run(self, ingest: Ingest) -> int:
        count = 0
        for path in self.messages():
            ingest(path.read_bytes(), f"maildir {path.parent.name}/{path.name}")
            count += 1
            if self.mark:
                base = path.name.split(":2,", 1)[0]
                flags = "".join(sorted(set(_maildir_flags(path.name)) | {"S"}))
                os.replace(path, self.path / "cur" / f"{base}:2,{flags}")
        return count


def _maildir_flags(name: str) -> str:
    return name.split(":2,", 1)[1] if ":2," in name else ""


def fetcher_for(mailbox):
    scheme = mailbox.scheme
    if scheme in (Scheme.IMAP, Scheme.IMAPS):
        return IMAPFetcher(mailbox.url, processed_folder=mailbox.processed_folder)
    if scheme in (Scheme.POP3, Scheme.POP3S):
        return POP3Fetcher(mailbox.url)
    if scheme == Scheme.MAILDIR:
        return MaildirFetcher(unquote(urlsplit(mailbox.url).path))
    raise FetchError(f"{mailbox.safe_url}: mailboxes of scheme {scheme!r} are not polled")
