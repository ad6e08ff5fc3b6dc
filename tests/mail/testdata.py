"""The shared real-world mail samples (ITSM_MAIL_TESTDATA): never copied into the repository."""

import os
import re
from pathlib import Path

import yaml

from mail.sanitize import html_to_text


class _RubyTolerantLoader(yaml.SafeLoader):
    """Loads Zammad's Ruby-tagged YAML: `!ruby/...` and `!binary` tags are read as plain values."""


def _construct_any(loader, suffix, node):
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)


_RubyTolerantLoader.add_multi_constructor("!ruby/", _construct_any)
_RubyTolerantLoader.add_multi_constructor("!binary", lambda loader, suffix, node: loader.construct_scalar(node))


def mail_testdata_folder() -> Path | None:
    value = os.environ.get("ITSM_MAIL_TESTDATA", "")
    if not value or not Path(value).is_dir():
        return None
    return Path(value)


def samples(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.box"))


def expected(box: Path) -> dict:
    return yaml.load(box.with_suffix(".yml").read_text(encoding="utf-8"), Loader=_RubyTolerantLoader) or {}


def norm(text: str) -> str:
    return " ".join((text or "").split())


def expected_attachment_names(data: dict) -> list[str]:
    return sorted(a["filename"] for a in data.get("attachments") or [] if a.get("filename") != "message.html")


def loose_body(text: str) -> str:
    """A body reduced to its words: tags, quoting and whitespace do not count."""
    text = html_to_text(text) if re.search(r"<[a-zA-Z/][^>]*>", text or "") else (text or "")
    return re.sub(r"[\W_]+", "", text.replace(">", " ")).lower()
