"""Seeded data for the dashboard's tests, written the way it arrives in real use: over the API,
and in the hub checkout as the crosslink CLI writes it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from tests.plugins.agents.hubbuilder import Hub, add_kickoff_worktree


def seed_hub(repo: Path) -> None:
    """Before the server starts: a CLI agent whose heartbeat stopped two hours ago and still
    holds a V2 lock on issue 4 (stale), and a kickoff worktree with a status."""
    now = datetime.now(UTC)
    hub = Hub(repo)
    hub.heartbeat_v1("gone-agent", now - timedelta(hours=2), active_issue_id=4)
    hub.lock_v2(4, "gone-agent", now - timedelta(hours=3), branch="feature/old")
    add_kickoff_worktree(repo, "worker-1", kickoff_status="In progress: step 3/5", branch="feature/auth")


@dataclass
class Seeded:
    """Ids of what :func:`seed_api` made."""

    issues: dict[str, int] = field(default_factory=dict)
    milestone: int = 0


def seed_api(base_url: str) -> Seeded:
    """Issues with labels, comments of several kinds, a blocker, subissues and a milestone;
    agents with heartbeats; a server lock; sessions with handoff notes; knowledge pages."""
    seeded = Seeded()
    with httpx.Client(base_url=base_url + "/api/v1", timeout=30) as api:
        def ok(response, status=(200, 201)):
            assert response.status_code in status, response.text
            return response.json()

        for key, title, priority in [
            ("auth", "Fix auth timeout", "high"),
            ("dark", "Add dark mode", "medium"),
            ("docs", "Write the user guide", "low"),
            ("crash", "Crash on start", "critical"),
        ]:
            seeded.issues[key] = ok(api.post("/issues", json={
                "title": title, "priority": priority, "description": f"Details of **{title}**.\n\n- first\n- second",
            }))["id"]
        auth, dark, docs = seeded.issues["auth"], seeded.issues["dark"], seeded.issues["docs"]
        ok(api.post(f"/issues/{auth}/labels", json={"label": "bug"}))
        ok(api.post(f"/issues/{auth}/labels", json={"label": "backend"}))
        ok(api.post(f"/issues/{auth}/comments", json={"content": "Root cause is the pool.", "kind": "observation"}))
        ok(api.post(f"/issues/{auth}/comments", json={"content": "We raise the timeout to 120 s.", "kind": "decision"}))
        ok(api.post(f"/issues/{dark}/block", json={"blocker_id": auth}))
        child = ok(api.post(f"/issues/{auth}/subissue", json={"title": "Research pool options"}))["id"]
        seeded.issues["child"] = child
        seeded.issues["grandchild"] = ok(api.post(f"/issues/{child}/subissue", json={"title": "Benchmark pools"}))["id"]
        seeded.milestone = ok(api.post("/milestones", json={"name": "v1.0", "description": "First release"}))["id"]
        for issue in (auth, dark, docs):
            ok(api.post(f"/milestones/{seeded.milestone}/assign", json={"issue_id": issue}))
        ok(api.post(f"/issues/{docs}/close"))
        ok(api.post("/agents/worker-1/heartbeat", json={"machine_id": "build-box", "description": "Feature agent",
                                                       "active_issue_id": auth}))
        ok(api.post("/agents/worker-2/heartbeat", json={"description": "Docs agent"}))
        ok(api.post(f"/locks/{auth}/claim", json={"agent_id": "worker-1", "branch": "feature/auth"}))
        ok(api.post("/sessions/start", json={"agent_id": "worker-1"}))
        ok(api.post(f"/sessions/work/{auth}", json={"agent_id": "worker-1"}))
        ok(api.post("/sessions/start", json={"agent_id": "worker-2"}))
        ok(api.post("/sessions/end", json={"agent_id": "worker-2", "notes": "Handoff: **guide drafted**, review next."}))
        ok(api.post("/knowledge", json={
            "slug": "pool-tips", "title": "Connection pool tips", "tags": ["db", "perf"], "agent_id": "worker-1",
            "content": "# Pools\n\nUse a *bounded* pool.\n\n| size | latency |\n|---|---|\n| 8 | 12 ms |\n\nThe timeout matters.",
            "sources": [{"url": "https://example.org/pools", "title": "Pool article"}],
        }))
        ok(api.post("/knowledge", json={"slug": "release-steps", "title": "Release steps", "tags": ["process"],
                                        "content": "1. Tag\n2. Build\n3. Announce the timeout change"}))
    return seeded
