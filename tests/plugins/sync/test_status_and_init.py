"""``GET /sync/status`` through each step (the remote's state as of the last try, commits ahead
and behind, ``last_fetch_at`` kept across a restart), lock counts from the locks service, and
``POST /sync/init`` with and without a hub branch on the remote."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest

from tests.plugins.agents.conftest import T0
from tests.plugins.sync.conftest import CliHub, attach_hub, git_out, hub_path
from tests.support import BACKENDS, git, open_ws, receive_json

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


async def post(client, path: str, body: dict | None = None):
    response = await client.post(f"/api/v1{path}", json=body or {})
    return response.status_code, await response.get_json()


async def status(client) -> dict:
    response = await client.get("/api/v1/sync/status")
    assert response.status_code == 200
    return await response.get_json()


@pytest.mark.slow
async def test_status_reflects_each_step(app_factory, repo, remote, machine_a, live_server_factory):
    server = await app_factory(plugins="sync")
    state = await status(server.client)
    assert {k: state[k] for k in ("hub_initialized", "hub_branch", "remote", "last_fetch_at", "active_lock_count",
                                  "stale_lock_count")} == {
        "hub_initialized": False, "hub_branch": "crosslink/hub", "remote": "origin", "last_fetch_at": None,
        "active_lock_count": 0, "stale_lock_count": 0,
    }
    assert (state["remote_configured"], state["remote_reachable"], state["ahead"], state["head"]) == (True, None, None, None)
    assert state["remote_url"] == str(remote.path)

    assert (await post(server.client, "/sync/init"))[0] == 201
    state = await status(server.client)
    assert (state["hub_initialized"], state["hub_in_use"], state["layout_version"]) == (True, True, 2)
    assert (state["remote_reachable"], state["remote_has_hub"], state["ahead"]) == (True, False, None)
    assert state["head"] == git_out(hub_path(repo), "rev-parse", "HEAD")

    assert (await post(server.client, "/sync/push"))[0] == 200
    state = await status(server.client)
    assert (state["ahead"], state["behind"], state["remote_has_hub"]) == (0, 0, True)
    assert state["last_push_at"] is not None and state["last_fetch_at"] is not None
    assert state["last_result"]["operation"] == "push" and state["last_result"]["success"] is True
    first_fetch = state["last_fetch_at"]

    CliHub(repo).heartbeat_v1("local-agent", T0)
    (hub_path(repo) / "heartbeats" / "uncommitted.json").write_text("{}")
    state = await status(server.client)
    assert (state["ahead"], state["behind"], state["uncommitted_changes"]) == (1, 0, 1)

    attach_hub(machine_a)
    cli_a = CliHub(machine_a)
    cli_a.heartbeat_v1("remote-agent", T0)
    cli_a.push()
    code, body = await post(server.client, "/sync/fetch")
    assert code == 200, body
    assert body["committed_local_changes"] is True
    state = await status(server.client)
    assert (state["ahead"], state["behind"], state["uncommitted_changes"]) == (2, 0, 0)
    assert state["last_fetch_at"] > first_fetch
    fetched_at = state["last_fetch_at"]

    # another process on the same database (a restart, or another instance) sees the same
    live = live_server_factory("--plugins", "sync", repo_path=repo)
    async with httpx.AsyncClient(base_url=live.url, timeout=30) as other:
        again = (await other.get("/api/v1/sync/status")).json()
    assert again["last_fetch_at"] == fetched_at
    assert again["last_result"] == state["last_result"]


async def test_lock_counts_come_from_the_locks_service(app_factory, repo, remote, clock):
    server = await app_factory(plugins="issues,locks,sync", clock=clock)
    assert (await post(server.client, "/sync/init"))[0] == 201
    cli = CliHub(repo)
    cli.lock_v1(101, "gone-quiet", T0 - timedelta(hours=2))  # no heartbeat, old claim: stale
    cli.lock_v2(102, "busy", T0)
    issue = (await post(server.client, "/issues", {"title": "t"}))[1]["id"]
    assert (await post(server.client, f"/locks/{issue}/claim", {"agent_id": "api-agent"}))[0] == 201
    state = await status(server.client)
    assert (state["active_lock_count"], state["stale_lock_count"]) == (3, 1)


async def test_without_the_locks_plugin_the_counts_are_zero(app_factory, repo, remote):
    server = await app_factory(plugins="sync")
    assert (await post(server.client, "/sync/init"))[0] == 201
    CliHub(repo).lock_v1(1, "cli", T0)
    state = await status(server.client)
    assert (state["active_lock_count"], state["stale_lock_count"]) == (0, 0)


async def test_init_without_a_remote_hub_lays_out_a_new_hub_as_the_cli(app_factory, repo, remote):
    server = await app_factory(plugins="sync")
    code, body = await post(server.client, "/sync/init")
    assert (code, body["created"], body["source"]) == (201, True, "new")
    assert body["message"] == ("Created a new crosslink/hub branch (layout version 2); POST /api/v1/sync/push "
                               "publishes it to origin")
    hub = hub_path(repo)
    assert git_out(hub, "symbolic-ref", "HEAD") == "refs/heads/crosslink/hub"
    assert git_out(hub, "log", "--format=%s") == "Initialize crosslink/hub branch"
    assert git_out(hub, "ls-files").splitlines() == [".gitignore", "locks.json", "meta/bootstrap.json",
                                                     "meta/version.json"]
    assert (hub / ".gitignore").read_text() == ".hub-write-lock\n"
    assert (hub / "locks.json").read_text() == (
        '{\n  "version": 1,\n  "locks": {},\n  "settings": {\n    "stale_lock_timeout_minutes": 60\n  }\n}'
    )
    assert json.loads((hub / "meta" / "version.json").read_text()) == {"layout_version": 2}
    assert (hub / "meta" / "bootstrap.json").read_text() == '{\n  "status": "pending"\n}'
    for directory in ("heartbeats", "trust", "issues", "meta/milestones", "locks"):
        assert (hub / directory).is_dir()
    assert remote.branch_head() is None  # nothing pushed
    assert git_out(repo, "rev-parse", "main") == git_out(repo, "rev-parse", "origin/main")  # main untouched

    code, body = await post(server.client, "/sync/init")
    assert (code, body["created"], body["source"]) == (200, False, "existing")


async def test_init_attaches_to_the_remotes_hub(app_factory, repo, remote, machine_a, server_a_factory, clock):
    server_a = server_a_factory("--plugins", "sync")
    async with httpx.AsyncClient(base_url=server_a.url, timeout=60) as a:
        assert (await a.post("/api/v1/sync/init")).status_code == 201
        CliHub(machine_a).heartbeat_v2("shared-agent", T0)
        assert (await a.post("/api/v1/sync/push")).status_code == 200
    server = await app_factory(plugins="agents,sync", clock=clock)
    ws, conn = await open_ws(server.client, channels=["agents"])
    try:
        code, body = await post(server.client, "/sync/init")
        assert (code, body["source"], body["head"]) == (201, "remote", remote.branch_head())
        assert body["message"] == "Attached to origin/crosslink/hub"
        event = await receive_json(conn, 20)
        assert (event["type"], event["agent_id"]) == ("heartbeat", "shared-agent")
    finally:
        await ws.__aexit__(None, None, None)
    hub = hub_path(repo)
    assert git_out(hub, "rev-parse", "--abbrev-ref", "crosslink/hub@{upstream}") == "origin/crosslink/hub"
    assert [a["agent_id"] for a in await (await server.client.get("/api/v1/agents")).get_json()] == ["shared-agent"]
    state = await status(server.client)
    assert (state["ahead"], state["behind"], state["remote_has_hub"]) == (0, 0, True)
    assert state["last_fetch_at"] is not None


async def test_init_refuses_to_start_a_new_hub_when_the_remote_is_unreachable(app_factory, repo, remote, tmp_path):
    git(repo, "remote", "set-url", "origin", str(tmp_path / "nowhere.git"))
    server = await app_factory(plugins="sync")
    code, body = await post(server.client, "/sync/init")
    assert (code, body["error"]) == (503, "remote unreachable")
    assert not hub_path(repo).exists()
    assert (await status(server.client))["hub_initialized"] is False


async def test_init_checks_out_an_existing_local_branch(app_factory, repo, remote):
    server = await app_factory(plugins="sync")
    assert (await post(server.client, "/sync/init"))[0] == 201
    CliHub(repo).heartbeat_v1("kept", T0)
    head = git_out(hub_path(repo), "rev-parse", "HEAD")
    git(repo, "worktree", "remove", "--force", str(hub_path(repo)))
    code, body = await post(server.client, "/sync/init")
    assert (code, body["source"], body["head"]) == (201, "local-branch", head)
