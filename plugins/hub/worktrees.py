"""Kickoff worktrees: ``<repo>/.worktrees/<slug>/``, their branch and ``.kickoff-status``.

Which worktree belongs to an agent is a heuristic, as in the CLI: agent ids and worktree names
are compared, never combined into a path. The best match wins, deterministically:

1. the name equals the agent id;
2. the agent id is a kickoff id ``<parent>--<name>``;
3. one contains the other at word boundaries (``-``, ``_``, ``.``, or the ends), the longest
   name first, then by name. ``auth`` therefore does not match ``oauth-fix``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .layout import is_plain_dir, is_regular_file, read_text, sorted_entries, worktrees_dir

KICKOFF_STATUS_FILE = ".kickoff-status"
_BOUNDARY = "-_."


@dataclass(frozen=True)
class Worktree:
    """A kickoff worktree: its directory name, path, checked-out branch and kickoff status."""

    name: str
    path: Path
    branch: str | None
    kickoff_status: str | None


def list_worktrees(repo_root: Path) -> list[Path]:
    """The worktree directories under ``<repo>/.worktrees``, sorted by name."""
    return [p for p in sorted_entries(worktrees_dir(repo_root)) if is_plain_dir(p)]


def _contains_at_boundary(haystack: str, needle: str) -> bool:
    start = haystack.find(needle)
    while start != -1:
        end = start + len(needle)
        left_ok = start == 0 or haystack[start - 1] in _BOUNDARY
        right_ok = end == len(haystack) or haystack[end] in _BOUNDARY
        if left_ok and right_ok:
            return True
        start = haystack.find(needle, start + 1)
    return False


def match_rank(agent_id: str, name: str) -> tuple[int, int, str] | None:
    """How well worktree ``name`` matches ``agent_id`` (smaller is better), or ``None``."""
    if not name or not agent_id:
        return None
    if name == agent_id:
        return (0, 0, name)
    if agent_id.endswith("--" + name):
        return (1, 0, name)
    if _contains_at_boundary(agent_id, name) or _contains_at_boundary(name, agent_id):
        return (2, -len(name), name)
    return None


def find_worktree(repo_root: Path, agent_id: str, candidates: list[Path] | None = None) -> Worktree | None:
    """The worktree that best matches ``agent_id``, or ``None``.

    :param candidates: the result of :func:`list_worktrees`, to list the directory once when
        matching many agents.
    """
    paths = list_worktrees(repo_root) if candidates is None else candidates
    ranked = [(rank, path) for path in paths if (rank := match_rank(agent_id, path.name)) is not None]
    if not ranked:
        return None
    _, best = min(ranked, key=lambda pair: pair[0])
    return Worktree(
        name=best.name,
        path=best,
        branch=read_branch(best),
        kickoff_status=read_kickoff_status(best),
    )


def read_kickoff_status(worktree: Path) -> str | None:
    """The trimmed content of ``.kickoff-status`` (raw, not normalised), or ``None``."""
    text = read_text(worktree / KICKOFF_STATUS_FILE)
    return None if text is None else text.strip()


def read_branch(worktree: Path) -> str | None:
    """The branch checked out in ``worktree``; ``None`` for a detached HEAD or no git data.

    A linked worktree has a ``.git`` *file* ``gitdir: <path>``; its ``HEAD`` is read there. A
    ``.git`` directory's ``HEAD`` is read directly.
    """
    dot_git = worktree / ".git"
    if is_plain_dir(dot_git):
        git_dir = dot_git
    elif is_regular_file(dot_git):
        pointer = read_text(dot_git, 4096) or ""
        if not pointer.startswith("gitdir:"):
            return None
        target = Path(pointer[len("gitdir:"):].strip())
        git_dir = target if target.is_absolute() else worktree / target
    else:
        return None
    head = (read_text(git_dir / "HEAD", 4096) or "").strip()
    prefix = "ref: refs/heads/"
    if head.startswith(prefix) and len(head) > len(prefix):
        return head[len(prefix):]
    return None
