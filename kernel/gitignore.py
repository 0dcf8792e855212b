"""Keeping the server's machine-local files out of ``git status``.

A server serving a repository writes files under ``.crosslink/`` that belong to this machine
only: the SQLite database and its WAL, lock files, checkouts, logs of stage runs. The crosslink
CLI keeps its own out of git with ``.gitignore`` files written at ``crosslink init``; a
repository the CLI never initialised, and the server's own files, would otherwise show up as
untracked. The kernel therefore keeps a block of patterns, between markers, in the repository's
``info/exclude`` (the git directory's local ignore file: never committed, never a change in the
working tree), and rewrites only that block. Plugins add their files with
``kernel.keep_out_of_git(...)`` during startup.
"""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Iterable
from pathlib import Path

from .gitenv import git_environment

log = logging.getLogger("crosslink.gitignore")

START = "# >>> crosslink-server: machine-local files (managed; edits between the markers are lost)"
END = "# <<< crosslink-server"


def _git_path(cwd: Path, *args: str) -> Path | None:
    try:
        result = subprocess.run(["git", "rev-parse", "--path-format=absolute", *args], cwd=cwd,
                                capture_output=True, text=True, timeout=10, check=False, env=git_environment())
    except (OSError, subprocess.TimeoutExpired):
        return None
    return Path(result.stdout.strip()) if result.returncode == 0 and result.stdout.strip() else None


def managed_block(patterns: Iterable[str]) -> str:
    lines = sorted(set(patterns))
    return "\n".join([START, *lines, END]) + "\n"


def replace_block(existing: str, block: str) -> str:
    """``existing`` with its managed block replaced by ``block`` (appended when there is none)."""
    start, end = existing.find(START), existing.find(END)
    if start != -1 and end > start:
        after = existing[end + len(END):]
        return existing[:start] + block + after.lstrip("\n")
    if not existing:
        return block
    return existing + ("\n" if existing.endswith("\n") else "\n\n") + block


def keep_out_of_git(crosslink_dir: Path, relative: Iterable[str]) -> Path | None:
    """Exclude ``relative`` paths (inside ``crosslink_dir``; a trailing ``/`` for directories)
    in the repository's ``info/exclude``; the file changed, or ``None`` (no git repository,
    nothing to change)."""
    crosslink_dir = crosslink_dir.resolve()
    top = _git_path(crosslink_dir.parent, "--show-toplevel")
    common = _git_path(crosslink_dir.parent, "--git-common-dir")
    if top is None or common is None:
        return None
    try:
        base = crosslink_dir.relative_to(top)
    except ValueError:  # .crosslink outside the working tree: nothing of git's to keep clean
        return None
    block = managed_block(f"/{base.as_posix()}/{path}" for path in relative)
    exclude = common / "info" / "exclude"
    try:
        existing = exclude.read_text(encoding="utf-8") if exclude.exists() else ""
        updated = replace_block(existing, block)
        if updated == existing:
            return None
        exclude.parent.mkdir(parents=True, exist_ok=True)
        exclude.write_text(updated, encoding="utf-8")
    except OSError as exc:
        log.warning("cannot keep the server's files out of git (%s): add them to .gitignore", exc)
        return None
    return exclude
