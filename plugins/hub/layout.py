"""Where the hub checkout and the kickoff worktrees live, and careful reading of their files.

Agent ids arrive from users (URLs, request bodies) and from file names on a branch that any
agent can push to. They are only ever *compared* with directory entries, never joined into a
path or passed to git; :func:`is_valid_agent_id` is the one syntax every plugin accepts.
"""

from __future__ import annotations

import json
import logging
import re
import stat
from pathlib import Path
from typing import Any

log = logging.getLogger("crosslink.hub")

HUB_BRANCH = "crosslink/hub"
HUB_DIR_NAME = ".hub-cache"
WORKTREES_DIR_NAME = ".worktrees"

#: Agent ids the server accepts: what the CLI generates (``worker-1``, ``driver--slug``,
#: ``repo-agent-slug``) plus ``.`` and ``:``; 1 to 128 characters.
AGENT_ID_PATTERN = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
#: The same rule as JSON Schema keywords (for ``/openapi.json``): 1-128 of those characters,
#: at least one of them not a dot.
AGENT_ID_SCHEMA = {
    "pattern": r"^[A-Za-z0-9._:-]*[A-Za-z0-9_:-][A-Za-z0-9._:-]*$",
    "minLength": 1,
    "maxLength": 128,
}

#: Files larger than this are not parsed (a heartbeat or lock file is a few hundred bytes).
MAX_JSON_BYTES = 1024 * 1024

_LOCAL_ISSUE = re.compile(r"^[Ll](\d{1,18})$")
_ISSUE = re.compile(r"^#?(-?\d{1,18})$")


def hub_dir(crosslink_dir: Path) -> Path:
    """The hub checkout: ``<repo>/.crosslink/.hub-cache``."""
    return crosslink_dir / HUB_DIR_NAME


def worktrees_dir(repo_root: Path) -> Path:
    """Where kickoff puts agent worktrees: ``<repo>/.worktrees``."""
    return repo_root / WORKTREES_DIR_NAME


def is_valid_agent_id(agent_id: object) -> bool:
    """True for a string of 1-128 of ``A-Z a-z 0-9 . _ : -`` that is not only dots."""
    return (
        isinstance(agent_id, str)
        and AGENT_ID_PATTERN.fullmatch(agent_id) is not None  # match() would allow a final newline
        and agent_id.strip(".") != ""
    )


def parse_issue_id(value: object) -> int | None:
    """An issue id from a lock key or field: ``42``, ``"42"``, ``"#42"``, or ``"L3"`` (= -3)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if not isinstance(value, str):
        return None
    text = value.strip()
    local = _LOCAL_ISSUE.match(text)
    if local:
        return -int(local.group(1))
    plain = _ISSUE.match(text)
    return int(plain.group(1)) if plain else None


def is_regular_file(path: Path) -> bool:
    """A regular file that is not a symlink (a hub file must not point elsewhere)."""
    try:
        mode = path.lstat().st_mode
    except OSError:
        return False
    return stat.S_ISREG(mode)


def is_plain_dir(path: Path) -> bool:
    """A directory that is not a symlink."""
    try:
        mode = path.lstat().st_mode
    except OSError:
        return False
    return stat.S_ISDIR(mode)


def read_json(path: Path, max_bytes: int = MAX_JSON_BYTES) -> Any | None:
    """The JSON value in ``path``, or ``None`` when it is missing, a symlink, too large or
    not JSON. Broken files are logged and skipped, as the CLI skips them."""
    if not is_regular_file(path):
        return None
    try:
        if path.stat().st_size > max_bytes:
            log.warning("hub file %s is larger than %d bytes; ignored", path, max_bytes)
            return None
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        log.warning("hub file %s cannot be read as JSON (%s); ignored", path, exc)
        return None


def read_text(path: Path, max_bytes: int = 64 * 1024) -> str | None:
    """A small text file's content, or ``None`` (missing, symlink, too large, not UTF-8)."""
    if not is_regular_file(path):
        return None
    try:
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError:
        return None
    if len(data) > max_bytes:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def sorted_entries(directory: Path) -> list[Path]:
    """The entries of ``directory`` sorted by name; empty when it is missing or unreadable."""
    try:
        return sorted(directory.iterdir(), key=lambda p: p.name)
    except OSError:
        return []
