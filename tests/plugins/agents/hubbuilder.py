"""Real hub checkouts for tests: a ``crosslink/hub`` orphan branch checked out as a git
worktree at ``.crosslink/.hub-cache``, with files written in the CLI's formats (V1 and V2)
and committed the way the CLI commits them; and kickoff worktrees under ``.worktrees/``.

Shared by the agents and locks test suites.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from tests.support import git

HUB_BRANCH = "crosslink/hub"


def v1_time(moment: datetime) -> str:
    """chrono's RFC 3339 with milliseconds and ``Z`` (what V1 writers produce)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def v2_time(moment: datetime) -> str:
    """RFC 3339 with ``+00:00`` (what V2 writers produce)."""
    return moment.astimezone(UTC).isoformat()


class Hub:
    """A hub checkout in ``repo``; every write method stages, ``commit`` records."""

    def __init__(self, repo: Path) -> None:
        self.repo = repo
        self.path = repo / ".crosslink" / ".hub-cache"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        git(repo, "worktree", "add", "-q", "--detach", str(self.path))
        git(self.path, "checkout", "-q", "--orphan", HUB_BRANCH)
        git(self.path, "rm", "-rfq", ".")
        self.write("meta/counters.json", {"next_display_id": 1})
        self.commit("init hub")

    # --- files ---------------------------------------------------------------------------

    def write(self, relative: str, data) -> Path:
        target = self.path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        text = data if isinstance(data, str) else json.dumps(data, indent=2)
        target.write_text(text, encoding="utf-8")
        return target

    def remove(self, relative: str) -> None:
        (self.path / relative).unlink()

    def commit(self, message: str) -> None:
        git(self.path, "add", "-A")
        git(self.path, "commit", "-q", "--allow-empty", "-m", message)

    def set_layout(self, version: int) -> None:
        self.write("meta/version.json", {"layout_version": version})

    # --- heartbeats ------------------------------------------------------------------------

    def heartbeat_v1(self, agent_id: str, when: datetime, *, active_issue_id=None,
                     machine_id: str = "host-1", commit: bool = True) -> None:
        data = {"agent_id": agent_id, "last_heartbeat": v1_time(when), "machine_id": machine_id}
        if active_issue_id is not None:
            data["active_issue_id"] = active_issue_id
        self.write(f"heartbeats/{agent_id}.json", data)
        if commit:
            self.commit(f"heartbeat: {agent_id} at {when.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}")

    def heartbeat_v2(self, agent_id: str, when: datetime, *, commit: bool = True, **extra) -> None:
        data = {"agent_id": agent_id, "timestamp": v2_time(when), "status": "active", **extra}
        self.write(f"agents/{agent_id}/heartbeat.json", data)
        if commit:
            self.commit(f"agent {agent_id}: heartbeat")

    # --- locks -----------------------------------------------------------------------------

    def _locks_v1(self) -> dict:
        target = self.path / "locks.json"
        if target.exists():
            return json.loads(target.read_text())
        return {"version": 1, "locks": {}, "settings": {"stale_lock_timeout_minutes": 60}}

    def lock_v1(self, issue_id: int, agent_id: str, when: datetime, *, branch=None,
                signed_by: str | None = None, commit: bool = True) -> None:
        data = self._locks_v1()
        data["locks"][str(issue_id)] = {
            "agent_id": agent_id,
            "branch": branch,
            "claimed_at": v1_time(when),
            "signed_by": signed_by or agent_id,
        }
        self.write("locks.json", data)
        if commit:
            self.commit(f"{agent_id}: claim lock on #{issue_id}")

    def unlock_v1(self, issue_id: int, *, commit: bool = True) -> None:
        data = self._locks_v1()
        agent = data["locks"].pop(str(issue_id))["agent_id"]
        self.write("locks.json", data)
        if commit:
            self.commit(f"{agent}: release lock on #{issue_id}")

    def lock_v2(self, issue_id: int, agent_id: str, when: datetime, *, branch=None, commit: bool = True) -> None:
        self.write(f"locks/{issue_id}.json", {
            "issue_id": issue_id, "agent_id": agent_id, "branch": branch, "claimed_at": v2_time(when),
        })
        if commit:
            self.commit(f"compact: lock #{issue_id} by {agent_id}")

    def unlock_v2(self, issue_id: int, *, commit: bool = True) -> None:
        self.remove(f"locks/{issue_id}.json")
        if commit:
            self.commit(f"compact: unlock #{issue_id}")


def add_kickoff_worktree(repo: Path, slug: str, *, kickoff_status: str | None = None,
                         branch: str | None = None) -> Path:
    """A real linked worktree ``.worktrees/<slug>`` on ``feature/<slug>`` (as kickoff makes)."""
    path = repo / ".worktrees" / slug
    path.parent.mkdir(exist_ok=True)
    git(repo, "worktree", "add", "-q", "-b", branch or f"feature/{slug}", str(path))
    if kickoff_status is not None:
        (path / ".kickoff-status").write_text(kickoff_status)
    return path
