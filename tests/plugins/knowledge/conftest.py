"""Fixtures for the knowledge plugin: the knowledge branch made the way the crosslink CLI makes
it, a bare remote on disk that already has the branch, and a server with only this plugin."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kernel.timeutil import Clock
from tests.support import git

BRANCH = "crosslink/knowledge"
TODAY = "2026-03-10"
FIXED_NOW = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)

#: ``index.md`` exactly as the CLI's ``init_cache`` writes it.
CLI_INDEX = (
    "---\ntitle: Knowledge Index\ntags: [index]\nsources: []\ncontributors: []\n"
    "created: 2026-03-01\nupdated: 2026-03-01\n---\n\n# Knowledge Index\n\n"
    "This is the shared knowledge repository for the project.\n"
)


def cache_dir(repo: Path) -> Path:
    return repo / ".crosslink" / ".knowledge-cache"


def git_out(cwd: Path, *args: str) -> str:
    return git(cwd, *args).strip()


def make_cli_knowledge_branch(repo: Path, pages: dict[str, str] | None = None) -> Path:
    """Create the branch and worktree as the CLI does on git < 2.42, then commit ``pages``.

    The CLI's fallback for ``git worktree add --orphan``: a detached worktree, ``checkout
    --orphan``, ``rm -rf .``, then ``index.md`` and the first commit.
    """
    cache = cache_dir(repo)
    cache.parent.mkdir(parents=True, exist_ok=True)
    git(repo, "worktree", "add", "--detach", str(cache))
    git(cache, "checkout", "--orphan", BRANCH)
    git(cache, "rm", "-rf", "-q", ".")
    (cache / "index.md").write_text(CLI_INDEX)
    git(cache, "add", "index.md")
    git(cache, "commit", "-q", "-m", "Initialize crosslink/knowledge branch")
    if pages:
        write_cli_pages(cache, pages)
    return cache


def write_cli_pages(cache: Path, pages: dict[str, str], message: str = "knowledge: add pages") -> None:
    """Write files (``name -> text``, names relative to the worktree) and commit them."""
    for name, text in pages.items():
        path = cache / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode())
    git(cache, "add", "-A")
    git(cache, "commit", "-q", "-m", message)


@pytest.fixture
def cli_knowledge(repo: Path) -> Callable[..., Path]:
    """``cli_knowledge(pages)`` -> the worktree, made as the CLI makes it, with ``pages``."""
    return lambda pages=None: make_cli_knowledge_branch(repo, pages)


@pytest.fixture
def bare_remote(tmp_path: Path, repo: Path) -> Callable[..., Path]:
    """``bare_remote(pages)``: a bare repository whose ``crosslink/knowledge`` holds ``pages``.

    It is added to ``repo`` as ``origin``; ``pages=None`` gives a remote without the branch.
    """

    def make(pages: dict[str, str] | None = None) -> Path:
        bare = tmp_path / "remote.git"
        git(tmp_path, "init", "-q", "--bare", str(bare))
        if pages is not None:
            other = tmp_path / "other-clone"
            git(tmp_path, "init", "-q", "-b", BRANCH, str(other))
            git(other, "config", "user.email", "other@example.com")
            git(other, "config", "user.name", "Other Agent")
            for name, text in {"index.md": CLI_INDEX, **pages}.items():
                (other / name).write_text(text)
            git(other, "add", "-A")
            git(other, "commit", "-q", "-m", "Initialize crosslink/knowledge branch")
            git(other, "push", "-q", str(bare), f"{BRANCH}:{BRANCH}")
        git(repo, "remote", "add", "origin", str(bare))
        return bare

    return make


@pytest.fixture
async def knowledge(app_factory):
    """A server with only the knowledge plugin whose clock says 2026-03-10."""
    return await app_factory(plugins="knowledge", clock=Clock(lambda: FIXED_NOW))


@pytest.fixture
def no_git_identity(repo: Path, tmp_path: Path, monkeypatch) -> None:
    """No git identity anywhere: an empty global config, no system config, none in the repo."""
    empty = tmp_path / "empty-gitconfig"
    empty.write_text("")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(empty))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    git(repo, "config", "--unset", "user.name")
    git(repo, "config", "--unset", "user.email")


def commits(repo: Path, ref: str = BRANCH) -> list[str]:
    """Commit subjects of ``ref``, newest first."""
    return git_out(repo, "log", "--format=%s", ref).splitlines()


def head_files(repo: Path, ref: str = BRANCH) -> list[str]:
    return sorted(git_out(repo, "ls-tree", "--name-only", ref).splitlines())


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), cwd=cwd, capture_output=True, text=True, check=False)
