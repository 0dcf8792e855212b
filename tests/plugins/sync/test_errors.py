"""Clear errors: a hub that is not initialised, a missing remote, an unreachable remote, hostile
remote names (refused before git runs), and a server started with git variables pointing
elsewhere (never inherited)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.plugins.sync.conftest import CliHub, git_out, hub_path, write_hook_config
from tests.support import BACKENDS, git, open_ws, receive_until

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


async def post(client, path: str, body=None):
    response = await client.post(f"/api/v1{path}", json=body if body is not None else {})
    return response.status_code, await response.get_json()


async def status(client) -> dict:
    response = await client.get("/api/v1/sync/status")
    assert response.status_code == 200
    return await response.get_json()


@pytest.mark.parametrize("operation", ["fetch", "push"])
async def test_a_missing_hub_is_a_409_pointing_to_init(app_factory, repo, remote, operation):
    server = await app_factory(plugins="sync")
    code, body = await post(server.client, f"/sync/{operation}")
    assert code == 409
    assert body["error"] == "hub not initialized"
    assert "POST /api/v1/sync/init" in body["detail"]
    assert not hub_path(repo).exists()  # nothing was created


async def test_a_missing_remote_says_so_and_what_to_do(app_factory, repo):
    server = await app_factory(plugins="sync")
    assert (await post(server.client, "/sync/init"))[0] == 201  # no remote: a new local hub
    for operation in ("fetch", "push"):
        code, body = await post(server.client, f"/sync/{operation}")
        assert code == 409, body
        assert body["error"] == "remote missing" and body["remote"] == "origin"
        assert "git remote add origin" in body["detail"] and "tracker_remote" in body["detail"]
    state = await status(server.client)
    assert state["remote_configured"] is False
    assert state["remote_reachable"] is False
    assert state["last_error"]["operation"] == "push" and "no git remote named 'origin'" in state["last_error"]["detail"]
    assert state["last_fetch_at"] is None


async def test_an_unreachable_remote_is_a_503_and_the_local_commits_stay(app_factory, repo, remote, tmp_path):
    server = await app_factory(plugins="sync")
    assert (await post(server.client, "/sync/init"))[0] == 201
    assert (await post(server.client, "/sync/push"))[0] == 200
    fetched_at = (await status(server.client))["last_fetch_at"]
    CliHub(repo).heartbeat_v1("offline-agent", datetime(2026, 3, 10, tzinfo=UTC))
    git(repo, "remote", "set-url", "origin", str(tmp_path / "gone" / "remote.git"))
    ws, conn = await open_ws(server.client, channels=["sync"])
    try:
        for operation in ("fetch", "push"):
            code, body = await post(server.client, f"/sync/{operation}")
            assert code == 503, body
            assert body["error"] == "remote unreachable"
            assert "Cannot reach the remote 'origin'" in body["detail"] and "does not appear to be a git repository" in body["detail"]
            failed = await receive_until(conn, "sync_failed")
            assert (failed["operation"], failed["status"], failed["error"]) == (operation, 503, "remote unreachable")
    finally:
        await ws.__aexit__(None, None, None)
    state = await status(server.client)
    assert state["remote_reachable"] is False and state["remote_configured"] is True
    assert state["last_fetch_at"] == fetched_at  # the last *successful* fetch
    assert state["last_result"]["success"] is False
    assert state["ahead"] == 1  # the local commit is kept for the next push
    assert git_out(hub_path(repo), "log", "-1", "--format=%s").startswith("heartbeat: offline-agent at")


HOSTILE = ["--upload-pack=touch {marker}", "-", "origin;touch {marker}", "../origin", "a..b", "origin/", "/tmp/x",
           "origin name", "ori\ngin", ".hidden", "origin.lock", "$(touch {marker})", "x" * 101]


@pytest.mark.parametrize("name", HOSTILE)
async def test_a_hostile_remote_name_in_a_request_is_refused_before_git_runs(app_factory, repo, remote, tmp_path, name):
    server = await app_factory(plugins="sync")
    assert (await post(server.client, "/sync/init"))[0] == 201
    marker = tmp_path / "pwned"
    hostile = name.format(marker=marker)
    for operation in ("fetch", "push", "init"):
        code, body = await post(server.client, f"/sync/{operation}", {"remote": hostile})
        assert code == 400, (operation, body)
        assert body["fields"][0]["field"] == "remote"
        assert "not a usable git remote name" in body["detail"]
    assert not marker.exists()


async def test_a_hostile_tracker_remote_in_hook_config_is_refused(app_factory, repo, remote, tmp_path):
    server = await app_factory(plugins="sync")
    assert (await post(server.client, "/sync/init"))[0] == 201
    marker = tmp_path / "pwned"
    write_hook_config(repo, tracker_remote=f"--upload-pack=touch {marker}")
    code, body = await post(server.client, "/sync/fetch")
    assert code == 400
    assert body["fields"][0]["field"] == "tracker_remote"
    assert not marker.exists()
    state = await status(server.client)
    assert state["remote"] == f"--upload-pack=touch {marker}"
    assert "not a usable git remote name" in state["remote_problem"]


async def test_another_configured_remote_can_be_named(app_factory, repo, remote):
    git(repo, "remote", "rename", "origin", "team/upstream")
    server = await app_factory(plugins="sync")
    assert (await post(server.client, "/sync/init"))[0] == 201
    assert (await post(server.client, "/sync/fetch"))[1]["error"] == "remote missing"
    code, body = await post(server.client, "/sync/push", {"remote": "team/upstream"})
    assert code == 200, body
    assert remote.branch_head() == git_out(hub_path(repo), "rev-parse", "HEAD")


async def test_git_variables_of_the_servers_environment_are_not_inherited(app_factory, repo, remote, tmp_path,
                                                                            monkeypatch):
    decoy = tmp_path / "decoy"
    git(tmp_path, "init", "-q", "-b", "main", str(decoy))
    decoy_head = (decoy / ".git" / "HEAD").read_text()
    monkeypatch.setenv("GIT_DIR", str(decoy / ".git"))
    monkeypatch.setenv("GIT_WORK_TREE", str(decoy))
    monkeypatch.setenv("GIT_INDEX_FILE", str(decoy / ".git" / "index"))
    monkeypatch.setenv("GIT_CONFIG_PARAMETERS", "'core.hooksPath'='/nonexistent'")
    server = await app_factory(plugins="sync")
    assert (await post(server.client, "/sync/init"))[0] == 201
    code, body = await post(server.client, "/sync/push")
    assert code == 200, body
    for variable in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_CONFIG_PARAMETERS"):
        monkeypatch.delenv(variable)
    assert remote.branch_head() == git_out(hub_path(repo), "rev-parse", "HEAD")
    assert (decoy / ".git" / "HEAD").read_text() == decoy_head
    assert not any((decoy / ".git" / "refs" / "heads").iterdir())  # no branch was made there
    assert not Path(decoy / ".git" / "index").exists()
