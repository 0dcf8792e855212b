"""Fixtures for the sync suite: a bare remote on disk and two clones of it acting as two machines.

* Machine **B** is the ``repo`` fixture (its server runs in-process with ``app_factory``, on the
  selected backend), with ``origin`` pointing at the bare remote.
* Machine **A** is another clone (``machine_a``); its server, when a test needs one, is a real
  ``crosslink serve`` subprocess on its own SQLite file.
* :class:`CliHub` writes to a machine's hub checkout exactly as the crosslink CLI writes
  (heartbeats and locks in the V1 and V2 layouts, the CLI's commit messages): the helpers are
  the agents suite's hub builder, pointed at an existing checkout.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from kernel.storage.database import sqlite_url
from tests.plugins.agents.conftest import clock  # noqa: F401  (fixture re-exported)
from tests.plugins.agents.hubbuilder import Hub
from tests.support import git

HUB_BRANCH = "crosslink/hub"


def hub_path(repo: Path) -> Path:
    return repo / ".crosslink" / ".hub-cache"


def git_out(cwd: Path, *args: str) -> str:
    return git(cwd, *args).strip()


class CliHub(Hub):
    """A machine's existing hub checkout, written to as the CLI writes (see :class:`Hub`)."""

    def __init__(self, repo: Path) -> None:  # attaches to the checkout instead of creating one
        self.repo = repo
        self.path = hub_path(repo)
        assert self.path.is_dir(), f"{self.path} has no hub checkout"

    def push(self) -> None:
        """``git push origin crosslink/hub`` from the checkout, as the CLI's writer pushes."""
        git(self.path, "push", "-q", "origin", HUB_BRANCH)


def configure_identity(repo: Path, name: str) -> None:
    git(repo, "config", "user.email", f"{name}@example.com")
    git(repo, "config", "user.name", name)


@dataclass
class Remote:
    """The bare repository both machines push to and fetch from."""

    path: Path

    def branch_head(self, branch: str = HUB_BRANCH) -> str | None:
        result = subprocess.run(["git", "rev-parse", "--verify", "-q", f"refs/heads/{branch}"], cwd=self.path,
                                capture_output=True, text=True, check=False)
        return result.stdout.strip() or None

    def log(self, branch: str = HUB_BRANCH) -> list[str]:
        return git_out(self.path, "log", "--format=%s", f"refs/heads/{branch}").splitlines()

    def show(self, path: str, branch: str = HUB_BRANCH) -> str:
        return git(self.path, "show", f"refs/heads/{branch}:{path}")


@pytest.fixture
def remote(tmp_path: Path, repo: Path) -> Remote:
    """A bare remote on disk holding ``repo``'s ``main``; ``repo`` (machine B) has it as ``origin``."""
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    git(repo, "remote", "add", "origin", str(bare))
    git(repo, "push", "-q", "origin", "main")
    return Remote(bare)


@pytest.fixture
def machine_a(tmp_path: Path, remote: Remote) -> Path:
    """A second clone of the remote: another machine."""
    path = tmp_path / "machine-a"
    git(tmp_path, "clone", "-q", str(remote.path), str(path))
    configure_identity(path, "machine-a")
    return path


@pytest.fixture
def server_a_factory(live_server_factory, machine_a: Path):
    """``crosslink serve`` on machine A (its own SQLite file, whatever the backend)."""

    def start(*args: str, env: dict[str, str] | None = None):
        db = sqlite_url(machine_a / ".crosslink" / "issues.db")
        return live_server_factory(*args, "--db", db, env=env, repo_path=machine_a)

    return start


def write_hook_config(repo: Path, **values) -> None:
    path = repo / ".crosslink" / "hook-config.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    current = json.loads(path.read_text()) if path.exists() else {}
    current.update(values)
    path.write_text(json.dumps(current))


def write_server_toml(repo: Path, text: str) -> None:
    path = repo / ".crosslink" / "server.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def git_dir_of(checkout: Path) -> Path:
    """A linked worktree's own git directory."""
    pointer = (checkout / ".git").read_text().strip()
    target = Path(pointer.split(":", 1)[1].strip())
    return target if target.is_absolute() else (checkout / target).resolve()


def dead_pid() -> int:
    """The PID of a process that has exited (and been reaped)."""
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def live_process() -> subprocess.Popen:
    """A process that stays alive until the test kills it."""
    return subprocess.Popen(["sleep", "600"], start_new_session=True)


def attach_hub(machine: Path) -> Path:
    """Check the remote's hub out on ``machine`` as the CLI's ``init_cache`` does when the remote
    has the branch (``fetch``, then ``worktree add -b crosslink/hub <cache> origin/crosslink/hub``)."""
    git(machine, "fetch", "-q", "origin", HUB_BRANCH)
    path = hub_path(machine)
    path.parent.mkdir(parents=True, exist_ok=True)
    git(machine, "worktree", "add", "-q", "-b", HUB_BRANCH, str(path), f"origin/{HUB_BRANCH}")
    return path
