"""Page files: YAML front matter and Markdown body, as the crosslink CLI reads and writes them.

Reading. The front matter is found exactly where the CLI finds it: after optional leading
whitespace the file starts with ``---``, and the block ends at the next ``\\n---``. The block is
parsed with PyYAML's ``BaseLoader``, which keeps every scalar a string, so dates stay text like
``"2026-03-05"`` and a title ``123`` or ``yes`` stays that text. The block is parsed one
top-level entry at a time, so one broken entry cannot hide the others. Older CLI versions wrote
values unquoted, and some of those are not valid YAML (``title: Rust: tips``) or mean something
else in YAML (``title: #1 tip`` is a comment); such an entry is read the way the CLI reads it:
its values are quoted and the entry is parsed again. A file without front matter reads with
the slug as title and empty fields; the body (``content``) is the file after the closing
``---``, with the newlines that follow it removed.

Writing. :func:`render_page` produces the shape the original server wrote (anchor-semantics
4.2): every value double-quoted, with backslash, quote, line breaks and other control
characters escaped, so no value can break out of the front matter. Top-level keys this plugin
does not manage are kept verbatim.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field, replace
from typing import Any

import yaml

try:  # the C parser when PyYAML was built with libyaml
    _Loader: Any = yaml.CBaseLoader
except AttributeError:  # pragma: no cover - pure-Python PyYAML
    _Loader = yaml.BaseLoader

SCALAR_KEYS = ("title", "created", "updated")
LIST_KEYS = ("tags", "contributors")
MANAGED_KEYS = frozenset((*SCALAR_KEYS, *LIST_KEYS, "sources"))


@dataclass(frozen=True)
class Source:
    """One entry of ``sources``: where a page's knowledge came from."""

    url: str
    title: str = ""
    accessed_at: str | None = None

    def as_dict(self) -> dict[str, str]:
        data = {"url": self.url, "title": self.title}
        if self.accessed_at is not None:
            data["accessed_at"] = self.accessed_at
        return data


@dataclass(frozen=True)
class FrontMatter:
    """The fields of a page's front matter; ``extra`` holds unmanaged entries verbatim."""

    title: str = ""
    tags: tuple[str, ...] = ()
    sources: tuple[Source, ...] = ()
    contributors: tuple[str, ...] = ()
    created: str = ""
    updated: str = ""
    extra: tuple[str, ...] = field(default=(), compare=False)

    def changed(self, **fields: Any) -> FrontMatter:
        return replace(self, **fields)


@dataclass(frozen=True)
class PageText:
    """A page file split into its front matter (``None`` when it has none) and its body."""

    front_matter: FrontMatter | None
    body: str


def blob_version(data: bytes) -> str:
    """The page's version token: the git blob id of the file's bytes (``git hash-object``)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


# --- reading -----------------------------------------------------------------------------------


def split_page(text: str) -> tuple[str | None, str]:
    """``(front matter block, body)``; the block is ``None`` when the file has no front matter."""
    normalized = text.replace("\r\n", "\n").lstrip()
    if not normalized.startswith("---"):
        return None, text
    after = normalized[3:].lstrip("\r\n")
    end = after.find("\n---")
    if end < 0:
        return None, text
    block = after[:end]
    raw = text.lstrip()
    rest = raw[3:].lstrip("\r\n")
    body = rest[rest.find("\n---") + 4 :].lstrip("\r\n")
    return block, body


def parse_page(text: str) -> PageText:
    block, body = split_page(text)
    return PageText(None if block is None else parse_front_matter(block), body)


def parse_front_matter(block: str) -> FrontMatter:
    """Read the managed fields of a front matter block; unknown entries are kept verbatim."""
    values: dict[str, Any] = {}
    extra: list[str] = []
    for entry in _entries(block):
        key, raw_value = _key_of(entry)
        if key not in MANAGED_KEYS:
            extra.append(entry)
            continue
        value = _load_entry(entry, key)
        if key in SCALAR_KEYS:
            values[key] = _scalar(value, raw_value)
        elif key in LIST_KEYS:
            values[key] = _string_list(value)
        else:
            values[key] = _sources(value)
    return FrontMatter(**values, extra=tuple(extra))


def _entries(block: str) -> list[str]:
    """The block cut into top-level entries: a line at column 0 and the lines that follow it.

    Lines starting with ``-`` stay with the entry above them (``tags:`` followed by ``- a``
    at column 0 is a YAML list), as do indented, blank and comment lines.
    """
    entries: list[list[str]] = []
    for line in block.split("\n"):
        starts_entry = bool(line) and line[0] not in " \t-#"
        if starts_entry or not entries:
            entries.append([line])
        else:
            entries[-1].append(line)
    result = []
    for lines in entries:
        while lines and not lines[-1].strip():
            lines.pop()
        if lines:
            result.append("\n".join(lines))
    return result


_KEY_LINE = re.compile(r"(?P<key>[^\s:#][^:]*?)[ \t]*:(?:[ \t]+(?P<value>.*))?$")


def _key_of(entry: str) -> tuple[str | None, str]:
    """The entry's key and the raw text after ``key:`` on its first line (as the CLI splits)."""
    match = _KEY_LINE.match(entry.split("\n", 1)[0])
    if match is None:
        return None, ""
    key = match.group("key").strip()
    if len(key) >= 2 and key[0] == key[-1] and key[0] in "\"'":
        key = key[1:-1]
    return key, (match.group("value") or "").strip()


_MISSING = object()


def _load_entry(entry: str, key: str) -> Any:
    """The YAML value of a one-key entry; re-read with quoted values when YAML rejects it."""
    for text in (entry, _quote_values(entry)):
        try:
            loaded = yaml.load(text, Loader=_Loader)  # noqa: S506 - BaseLoader builds only str/list/dict
        except yaml.YAMLError:
            continue
        if isinstance(loaded, dict) and key in loaded:
            return loaded[key]
    return _MISSING


def _scalar(value: Any, raw_value: str) -> str:
    if isinstance(value, str) and (value or raw_value in ("", '""', "''")):
        return value
    if raw_value in ("|", ">") or raw_value.startswith(("|-", "|+", ">-", ">+")):
        return value if isinstance(value, str) else ""
    return unquote(raw_value)  # YAML saw a comment, a list or an error where the CLI sees text


def _string_list(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,) if value else ()
    if isinstance(value, list):
        return tuple(item for item in value if isinstance(item, str))
    return ()


def _sources(value: Any) -> tuple[Source, ...]:
    if not isinstance(value, list):
        return ()
    sources = []
    for item in value:
        if isinstance(item, str):
            item = {"url": item}
        if not isinstance(item, dict):
            continue
        url, title, accessed = (item.get(key) for key in ("url", "title", "accessed_at"))
        url = url if isinstance(url, str) else ""
        title = title if isinstance(title, str) else ""
        if not url and not title:
            continue  # the CLI drops such entries too
        sources.append(Source(url, title, accessed if isinstance(accessed, str) else None))
    return tuple(sources)


def unquote(text: str) -> str:
    """Remove surrounding quotes the way the crosslink CLI does."""
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return text[1:-1]
    return text


_VALUE_LINE = re.compile(r"(?P<lead>[ \t]*(?:-[ \t]+)?(?:[^\s:#\-\"'][^:]*?[ \t]*:[ \t]+)?)(?P<value>\S.*?)[ \t]*$")


def _quote_values(entry: str) -> str:
    """The entry with each plain value quoted, so YAML reads it as the CLI's line parser does."""
    lines = []
    for line in entry.split("\n"):
        match = _VALUE_LINE.fullmatch(line)
        lead = match.group("lead") if match else ""
        if match is None or not lead.strip():
            lines.append(line)  # neither "key: value" nor "- item": keep
            continue
        value = match.group("value")
        if value.startswith("[") and value.endswith("]"):
            items = [unquote(item) for item in split_inline_items(value[1:-1])] if value[1:-1].strip() else []
            value = "[" + ", ".join(quote(item) for item in items) + "]"
        else:
            value = quote(unquote(value))
        lines.append(lead + value)
    return "\n".join(lines)


def split_inline_items(inner: str) -> list[str]:
    """Split an inline list body on commas outside double quotes (the CLI's rule)."""
    items, start, in_quotes, escaped = [], 0, False, False
    for index, char in enumerate(inner):
        if escaped:
            escaped = False
        elif char == "\\" and in_quotes:
            escaped = True
        elif char == '"':
            in_quotes = not in_quotes
        elif char == "," and not in_quotes:
            items.append(inner[start:index])
            start = index + 1
    items.append(inner[start:])
    return items


# --- writing -----------------------------------------------------------------------------------

_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t", "\0": "\\0"}


def _needs_escape(char: str) -> bool:
    code = ord(char)
    return (
        code < 0x20
        or 0x7F <= code <= 0x9F
        or code in (0x2028, 0x2029, 0xFEFF, 0xFFFE, 0xFFFF)
        or 0xD800 <= code <= 0xDFFF
    )


def quote(value: str) -> str:
    """``value`` as a YAML double-quoted scalar that the CLI's reader also understands."""
    out = []
    for char in value:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif _needs_escape(char):
            code = ord(char)
            out.append(f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _inline_list(values: tuple[str, ...]) -> str:
    return "[" + ", ".join(quote(value) for value in values) + "]"


def render_front_matter(fm: FrontMatter) -> str:
    """The front matter block including both ``---`` lines, in the original server's shape."""
    lines = ["---", f"title: {quote(fm.title)}", f"tags: {_inline_list(fm.tags)}"]
    if fm.sources:
        lines.append("sources: ")
        for source in fm.sources:
            lines.append(f"  - url: {quote(source.url)}")
            lines.append(f"    title: {quote(source.title)}")
            if source.accessed_at is not None:
                lines.append(f"    accessed_at: {quote(source.accessed_at)}")
    else:
        lines.append("sources: []")
    lines.append(f"contributors: {_inline_list(fm.contributors)}")
    lines.append(f"created: {quote(fm.created)}")
    lines.append(f"updated: {quote(fm.updated)}")
    lines.extend(fm.extra)
    lines.append("---")
    return "\n".join(lines) + "\n"


def render_page(fm: FrontMatter, body: str) -> str:
    """A whole page file: front matter, one blank line, then the body as given."""
    return render_front_matter(fm) + "\n" + body
