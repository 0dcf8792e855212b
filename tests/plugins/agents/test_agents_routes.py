"""GET /agents, /agents/:id, /agents/:id/status against real hub checkouts (V1 and V2)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.plugins.agents.conftest import T0
from tests.plugins.agents.hubbuilder import add_kickoff_worktree
from tests.support import BACKENDS, git

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)

SUMMARY_KEYS = {
    "agent_id", "machine_id", "description", "status", "last_heartbeat",
    "active_issue_id", "branch", "worktree_path", "locks",
}


async def get_json(server, path: str, status: int = 200):
    response = await server.client.get(f"/api/v1{path}")
    assert response.status_code == status, await response.get_data()
    return await response.get_json()


async def test_no_hub_means_no_agents(app_factory, clock):
    server = await app_factory(plugins="agents", clock=clock)
    assert await get_json(server, "/agents") == []
    body = await get_json(server, "/agents/worker-1", 404)
    assert body["error"] == "not found" and "worker-1" in body["detail"]
    await get_json(server, "/agents/worker-1/status", 404)


async def test_v1_heartbeat_is_listed_with_every_key(app_factory, hub, clock):
    hub.heartbeat_v1("worker-1", T0 - timedelta(seconds=90), active_issue_id=42, machine_id="my-host")
    server = await app_factory(plugins="agents", clock=clock)
    agents = await get_json(server, "/agents")
    assert agents == [{
        "agent_id": "worker-1",
        "machine_id": "my-host",
        "description": None,
        "status": "active",
        "last_heartbeat": "2026-03-10T03:13:30Z",
        "active_issue_id": 42,
        "branch": None,
        "worktree_path": None,
        "locks": [],
    }]


async def test_v2_heartbeat_has_no_machine_id(app_factory, hub, clock):
    hub.set_layout(2)
    hub.heartbeat_v2("worker-2", T0 - timedelta(minutes=10))
    server = await app_factory(plugins="agents", clock=clock)
    [agent] = await get_json(server, "/agents")
    assert set(agent) == SUMMARY_KEYS
    assert agent["agent_id"] == "worker-2"
    assert agent["machine_id"] is None
    assert agent["status"] == "idle"
    assert agent["last_heartbeat"] == "2026-03-10T03:05:00Z"
    assert agent["active_issue_id"] is None


@pytest.mark.parametrize("v2_newer", [True, False])
async def test_v1_and_v2_are_merged_and_the_newest_wins(app_factory, hub, clock, v2_newer):
    # No meta/version.json: the V2 file must be read anyway (and V1 with a V2 layout below).
    older, newer = T0 - timedelta(minutes=40), T0 - timedelta(minutes=2)
    hub.heartbeat_v1("worker-1", older if v2_newer else newer, active_issue_id=7, machine_id="box")
    hub.heartbeat_v2("worker-1", newer if v2_newer else older)
    server = await app_factory(plugins="agents", clock=clock)
    [agent] = await get_json(server, "/agents")
    assert agent["last_heartbeat"] == "2026-03-10T03:13:00Z"
    assert agent["status"] == "active"
    assert agent["machine_id"] == "box"  # filled from the V1 file even when V2 is newer
    assert agent["active_issue_id"] == (None if v2_newer else 7)


async def test_v1_files_are_read_in_a_v2_layout(app_factory, hub, clock):
    hub.set_layout(2)
    hub.heartbeat_v1("legacy", T0 - timedelta(minutes=1))
    hub.heartbeat_v2("modern", T0 - timedelta(minutes=1))
    server = await app_factory(plugins="agents", clock=clock)
    assert [a["agent_id"] for a in await get_json(server, "/agents")] == ["legacy", "modern"]


@pytest.mark.parametrize(
    ("age", "status"),
    [
        (timedelta(0), "active"),
        (timedelta(seconds=299), "active"),
        (timedelta(minutes=5), "idle"),
        (timedelta(seconds=1799), "idle"),
        (timedelta(minutes=30), "stale"),
        (timedelta(hours=5), "stale"),
        (-timedelta(minutes=3), "active"),  # a clock-skewed future heartbeat counts as age 0
    ],
)
async def test_status_thresholds(app_factory, hub, clock, age, status):
    hub.heartbeat_v1("w", T0 - age)
    server = await app_factory(plugins="agents", clock=clock)
    [agent] = await get_json(server, "/agents")
    assert agent["status"] == status


async def test_status_follows_the_clock(app_factory, hub, clock):
    hub.heartbeat_v1("w", T0)
    server = await app_factory(plugins="agents", clock=clock)
    statuses = []
    for minutes in (4, 1, 24, 1):
        statuses.append((await get_json(server, "/agents/w"))["status"])
        clock.advance(minutes=minutes)
    statuses.append((await get_json(server, "/agents/w"))["status"])
    assert statuses == ["active", "active", "idle", "idle", "stale"]


async def test_unparsable_and_broken_files_are_skipped(app_factory, hub, clock):
    hub.write("heartbeats/bad-time.json", {"agent_id": "bad-time", "last_heartbeat": "yesterday", "machine_id": "x"})
    hub.write("heartbeats/not-json.json", "{nope")
    hub.write("agents/no-time/heartbeat.json", {"agent_id": "no-time", "status": "active"})
    hub.write("heartbeats/bad id.json", {"last_heartbeat": "2026-03-10T03:00:00Z", "machine_id": "x"})
    hub.heartbeat_v1("good", T0)
    server = await app_factory(plugins="agents", clock=clock)
    assert [a["agent_id"] for a in await get_json(server, "/agents")] == ["good"]
    # a V2 heartbeat without a timestamp is no heartbeat (the original showed it as active forever)
    await get_json(server, "/agents/no-time", 404)


async def test_locks_from_both_layouts_belong_to_their_holders(app_factory, hub, clock):
    hub.heartbeat_v1("worker-1", T0)
    hub.lock_v1(42, "worker-1", T0 - timedelta(minutes=5), branch="feature/x")
    hub.lock_v2(7, "worker-1", T0 - timedelta(minutes=1))
    hub.lock_v2(8, "lock-only", T0 - timedelta(minutes=1), branch="feature/y")
    server = await app_factory(plugins="agents", clock=clock)
    agents = {a["agent_id"]: a for a in await get_json(server, "/agents")}
    assert agents["worker-1"]["locks"] == [7, 42]
    assert agents["worker-1"]["branch"] == "feature/x"  # no worktree: the newest lock's branch
    lock_only = agents["lock-only"]
    assert lock_only["status"] == "unknown"
    assert lock_only["last_heartbeat"] is None and lock_only["machine_id"] is None
    assert lock_only["locks"] == [8]
    detail = await get_json(server, "/agents/lock-only")
    assert detail["heartbeat_history"] == [] and detail["kickoff_status"] is None


async def test_worktree_branch_and_kickoff_status(app_factory, repo, hub, clock):
    worktree = add_kickoff_worktree(repo, "auth-fix", kickoff_status="DONE\n")
    add_kickoff_worktree(repo, "auth", kickoff_status="running")  # a shorter, weaker match
    hub.heartbeat_v1("driver--auth-fix", T0)
    server = await app_factory(plugins="agents", clock=clock)
    [agent] = await get_json(server, "/agents")
    assert agent["worktree_path"] == str(worktree.resolve())
    assert agent["branch"] == "feature/auth-fix"
    detail = await get_json(server, "/agents/driver--auth-fix")
    assert detail["kickoff_status"] == "DONE"
    assert await get_json(server, "/agents/driver--auth-fix/status") == {"status": "DONE"}


async def test_worktree_matching_respects_word_boundaries(app_factory, repo, clock):
    add_kickoff_worktree(repo, "auth-fix", kickoff_status="CI_FAILED")
    server = await app_factory(plugins="agents", clock=clock)
    await get_json(server, "/agents/oauth-fixer", 404)
    await get_json(server, "/agents/oauth-fixer/status", 404)
    # an agent known only by its worktree
    detail = await get_json(server, "/agents/repo-agent-auth-fix")
    assert detail["status"] == "unknown"
    assert detail["kickoff_status"] == "CI_FAILED"
    assert detail["branch"] == "feature/auth-fix"
    assert await get_json(server, "/agents/auth-fix/status") == {"status": "CI_FAILED"}


async def test_status_is_404_without_a_kickoff_status_file(app_factory, repo, hub, clock):
    add_kickoff_worktree(repo, "no-file")
    hub.heartbeat_v1("worker-1", T0)
    server = await app_factory(plugins="agents", clock=clock)
    body = await get_json(server, "/agents/no-file/status", 404)
    assert ".kickoff-status" in body["detail"]
    body = await get_json(server, "/agents/worker-1/status", 404)  # known, but no worktree
    assert ".kickoff-status" in body["detail"]
    assert (await get_json(server, "/agents/no-file"))["kickoff_status"] is None


async def test_detached_worktree_has_no_branch(app_factory, repo, clock):
    path = add_kickoff_worktree(repo, "detached", kickoff_status="DONE")
    git(path, "checkout", "-q", "--detach")
    server = await app_factory(plugins="agents", clock=clock)
    detail = await get_json(server, "/agents/detached")
    assert detail["branch"] is None and detail["worktree_path"] == str(path.resolve())


async def test_heartbeat_history_comes_from_the_hub_log(app_factory, hub, clock):
    for minutes in (30, 20, 10):
        hub.heartbeat_v1("worker-1", T0 - timedelta(minutes=minutes))
    hub.heartbeat_v1("other", T0)
    server = await app_factory(plugins="agents", clock=clock)
    detail = await get_json(server, "/agents/worker-1")
    assert detail["heartbeat_history"] == [
        "2026-03-10T03:05:00Z", "2026-03-10T02:55:00Z", "2026-03-10T02:45:00Z",
    ]
    assert detail["last_heartbeat"] == "2026-03-10T03:05:00Z"


@pytest.mark.parametrize("bad", ["a b", "x" * 129, "..", "semi;colon"])
async def test_invalid_agent_ids_are_rejected(app_factory, clock, bad):
    server = await app_factory(plugins="agents", clock=clock)
    from urllib.parse import quote

    for path in (f"/agents/{quote(bad)}", f"/agents/{quote(bad)}/status"):
        body = await get_json(server, path, 400)
        assert "agent id" in body["detail"]


async def test_agents_plugin_alone_reads_hub_locks(app_factory, hub, clock):
    """``--plugins agents`` (no issues, no locks) still shows the hub's locks."""
    hub.lock_v1(3, "solo", T0)
    server = await app_factory(plugins="agents", clock=clock)
    assert [(a["agent_id"], a["locks"]) for a in await get_json(server, "/agents")] == [("solo", [3])]


async def test_a_server_started_in_a_linked_worktree_reads_the_main_hub(repo, hub, clock, database_url, tmp_path):
    """``.crosslink/`` is tracked, so a kickoff worktree has one too; the hub checkout and the
    kickoff worktrees still live in the main working tree, as the CLI keeps them there."""
    from kernel.app import create_app
    from kernel.settings import Settings

    (repo / ".crosslink" / "hook-config.json").write_text("{}\n")
    git(repo, "add", ".crosslink/hook-config.json")
    git(repo, "commit", "-q", "-m", "track crosslink config")
    linked = tmp_path / "linked-checkout"
    git(repo, "worktree", "add", "-q", "-b", "feature/elsewhere", str(linked))
    assert (linked / ".crosslink").is_dir()
    add_kickoff_worktree(repo, "auth-fix", kickoff_status="DONE")
    hub.heartbeat_v1("driver--auth-fix", T0)

    app = create_app(Settings.for_repo(linked, plugins="agents", autoload=False, db_url=database_url, clock=clock))
    async with app.test_app() as running:
        client = running.test_client()
        [agent] = await (await client.get("/api/v1/agents")).get_json()
        assert agent["agent_id"] == "driver--auth-fix"
        assert agent["worktree_path"] == str((repo / ".worktrees" / "auth-fix").resolve())
