"""What a crash leaves in the hub checkout is repaired before the next operation (a stale
``index.lock``, a half-done rebase, a detached HEAD), and the server takes the CLI's write lock
the CLI's way: it waits for a live holder and takes a dead holder's lock over."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from datetime import timedelta

import pytest

from tests.plugins.agents.conftest import T0
from tests.plugins.sync.conftest import (
    CliHub,
    attach_hub,
    dead_pid,
    git_dir_of,
    git_out,
    hub_path,
    live_process,
)
from tests.support import BACKENDS, git, open_ws, receive_until

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


async def post(client, path: str):
    response = await client.post(f"/api/v1{path}", json={})
    return response.status_code, await response.get_json()


@pytest.fixture
async def synced(app_factory, repo, remote, machine_a):
    """Machine B's server with a hub pushed to the remote, and machine A's checkout of it."""
    server = await app_factory(plugins="sync")
    assert (await post(server.client, "/sync/init"))[0] == 201
    assert (await post(server.client, "/sync/push"))[0] == 200
    attach_hub(machine_a)
    return server


async def test_a_stale_index_lock_is_removed(synced, repo):
    lock = git_dir_of(hub_path(repo)) / "index.lock"
    lock.write_text("")
    (hub_path(repo) / "heartbeats").mkdir(exist_ok=True)
    (hub_path(repo) / "heartbeats" / "left-behind.json").write_text('{"agent_id": "left-behind"}')
    ws, conn = await open_ws(synced.client, channels=["sync"])
    try:
        code, body = await post(synced.client, "/sync/push")
        assert code == 200, body
        assert body["repaired"] == ["removed a stale index.lock"]
        recovered = await receive_until(conn, "sync_progress")
        while recovered["step"] != "recovered":
            recovered = await receive_until(conn, "sync_progress")
        assert recovered["detail"] == "removed a stale index.lock"
    finally:
        await ws.__aexit__(None, None, None)
    assert not lock.exists()
    assert git_out(hub_path(repo), "log", "-1", "--format=%s") == "sync: auto-stage dirty hub state (recovery)"
    assert body["pushed_commits"] == 1


async def test_a_half_done_rebase_is_aborted_and_the_fetch_goes_on(synced, repo, machine_a):
    cli_a = CliHub(machine_a)
    cli_a.heartbeat_v1("agent-a", T0)
    cli_a.push()
    CliHub(repo).heartbeat_v1("agent-b", T0 + timedelta(seconds=1))  # local, not pushed
    hub = hub_path(repo)
    git(hub, "fetch", "-q", "origin")
    # an interactive rebase that stopped (as a crash would leave it): HEAD detached, rebase-merge/
    env = {**os.environ, "GIT_SEQUENCE_EDITOR": "sed -i '1i break'"}
    subprocess.run(["git", "rebase", "-i", "origin/crosslink/hub"], cwd=hub, env=env, check=True, capture_output=True)
    assert (git_dir_of(hub) / "rebase-merge").exists()

    code, body = await post(synced.client, "/sync/fetch")
    assert code == 200, body
    assert body["repaired"] == ["aborted an interrupted rebase"]
    assert body["message"] == "Fetched 1 new heartbeat, 0 lock changes, 0 knowledge pages; 1 local commit rebased on top"
    assert not (git_dir_of(hub) / "rebase-merge").exists()
    assert git_out(hub, "symbolic-ref", "HEAD") == "refs/heads/crosslink/hub"
    subjects = git_out(hub, "log", "--format=%s", "-3").splitlines()
    assert subjects[0].startswith("heartbeat: agent-b at") and subjects[1].startswith("heartbeat: agent-a at")


async def test_a_detached_head_is_reattached_keeping_its_commits(synced, repo):
    hub = hub_path(repo)
    git(hub, "checkout", "-q", "--detach")
    CliHub(repo).heartbeat_v1("while-detached", T0)
    code, body = await post(synced.client, "/sync/push")
    assert code == 200, body
    assert body["repaired"] == ["re-attached HEAD to crosslink/hub"]
    assert body["pushed_commits"] == 1
    assert git_out(hub, "symbolic-ref", "HEAD") == "refs/heads/crosslink/hub"
    assert git_out(hub, "log", "-1", "--format=%s").startswith("heartbeat: while-detached at")


async def test_the_cli_write_lock_held_by_a_live_process_makes_the_server_wait(synced, repo):
    holder = live_process()
    lock_file = hub_path(repo) / ".hub-write-lock"
    try:
        lock_file.write_text(f"{holder.pid}\n")
        ws, conn = await open_ws(synced.client, channels=["sync"])
        try:
            fetching = asyncio.ensure_future(post(synced.client, "/sync/fetch"))
            waiting = await receive_until(conn, "sync_progress", timeout=10)
            assert waiting["step"] == "waiting-for-cli-lock"
            assert waiting["detail"] == f"the hub write lock is held by PID {holder.pid}"
            assert not fetching.done()
            assert lock_file.read_text() == f"{holder.pid}\n"  # still the CLI's
            lock_file.unlink()  # the CLI is done
            code, body = await asyncio.wait_for(fetching, 30)
            assert code == 200, body
        finally:
            await ws.__aexit__(None, None, None)
    finally:
        os.killpg(holder.pid, signal.SIGKILL)
        holder.wait()
    assert not lock_file.exists()


async def test_the_cli_write_lock_of_a_dead_process_is_taken_over(synced, repo):
    lock_file = hub_path(repo) / ".hub-write-lock"
    lock_file.write_text(f"{dead_pid()}\n")
    code, body = await post(synced.client, "/sync/push")
    assert code == 200, body
    assert not lock_file.exists()
    assert ".hub-write-lock" not in git_out(hub_path(repo), "ls-files")
    assert git_out(hub_path(repo), "status", "--porcelain", "--ignored") == ""
