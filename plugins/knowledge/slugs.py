"""Page slugs: which names are pages, and the one way to turn a slug into a file path.

A slug is lower-case letters, digits, ``-``, ``_`` and ``.``, starts with a letter or digit and
is at most 100 characters long (the API spec). Two narrowings keep every page usable by the
crosslink CLI: a slug never contains ``..`` and is never a Windows device name (``con``,
``nul``, ``com1``...), because the CLI refuses both. ``search`` is reserved because
``GET /knowledge/search`` is the search route.

Every path the plugin builds for a page comes from :func:`page_path`, which validates first and
then checks that the resolved file sits directly in the pages directory.
"""

from __future__ import annotations

import re
from pathlib import Path

MAX_SLUG_LENGTH = 100
PAGE_SUFFIX = ".md"
SLUG_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]*")
RESERVED_SLUGS = frozenset({"search"})
_WINDOWS_DEVICES = frozenset(
    {"con", "prn", "aux", "nul"} | {f"com{n}" for n in range(1, 10)} | {f"lpt{n}" for n in range(1, 10)}
)
SLUG_RULE = (
    "lower-case letters, digits, '-', '_' and '.', starting with a letter or digit, "
    f"at most {MAX_SLUG_LENGTH} characters"
)


#: The slug rule as JSON Schema keywords (for ``/openapi.json``): the pattern lets a dot be
#: followed only by another allowed character (so never ``..``), a trailing dot aside.
SLUG_SCHEMA = {
    "pattern": r"^[a-z0-9](?:[a-z0-9_-]|\.[a-z0-9_-])*\.?$",
    "minLength": 1,
    "maxLength": MAX_SLUG_LENGTH,
    "not": {
        "anyOf": [
            {"pattern": "^(?:" + "|".join(sorted(_WINDOWS_DEVICES)) + r")(?:\.|$)"},
            {"enum": sorted(RESERVED_SLUGS)},
        ]
    },
}


class InvalidSlug(ValueError):
    """The text is not a page slug; the message says why."""


def slug_problem(slug: str) -> str | None:
    """Why ``slug`` is not a valid page slug, or ``None`` when it is one."""
    if not slug:
        return "Page slug cannot be empty"
    shown = slug if len(slug) <= 40 else slug[:40] + "..."
    if len(slug) > MAX_SLUG_LENGTH:
        return f"Invalid page slug '{shown}': longer than {MAX_SLUG_LENGTH} characters"
    if not SLUG_PATTERN.fullmatch(slug):
        return f"Invalid page slug {shown!r}: use {SLUG_RULE}"
    if ".." in slug:
        return f"Invalid page slug '{shown}': must not contain '..'"
    if slug.split(".", 1)[0] in _WINDOWS_DEVICES:
        return f"Invalid page slug '{shown}': '{slug.split('.', 1)[0]}' is a reserved file name"
    if slug in RESERVED_SLUGS:
        return f"Invalid page slug '{shown}': reserved for the search route"
    return None


def validate_slug(slug: str) -> str:
    """Return ``slug`` unchanged, or raise :class:`InvalidSlug`."""
    problem = slug_problem(slug)
    if problem is not None:
        raise InvalidSlug(problem)
    return slug


def is_slug(slug: str) -> bool:
    return slug_problem(slug) is None


def page_path(pages_dir: Path, slug: str) -> Path:
    """The file of page ``slug``: validated, and resolved to a file directly in ``pages_dir``."""
    validate_slug(slug)
    path = pages_dir / f"{slug}{PAGE_SUFFIX}"
    if path.resolve().parent != pages_dir.resolve():
        raise InvalidSlug(f"Invalid page slug '{slug}': resolves outside the knowledge pages")
    return path


def slug_of(path: Path) -> str | None:
    """The slug of a page file name, or ``None`` when the file is not a page."""
    name = path.name
    if not name.endswith(PAGE_SUFFIX):
        return None
    slug = name[: -len(PAGE_SUFFIX)]
    return slug if is_slug(slug) else None
