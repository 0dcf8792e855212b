"""The auto-sync worker (``[plugins.sync] interval_seconds``): off by default; on, it brings
another machine's commits in on its own, and backs off while the remote is down."""

from __future__ import annotations

import asyncio

import pytest

from kernel import StartupError
from kernel.app import create_app
from tests.plugins.agents.conftest import T0
from tests.plugins.sync.conftest import CliHub, attach_hub, write_server_toml
from tests.support import BACKENDS, git, open_ws, receive_json

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


async def workers(server) -> dict[str, dict]:
    return {w["name"]: w for w in await (await server.client.get("/api/v1/workers")).get_json()}


async def test_off_by_default(app_factory, repo):
    server = await app_factory(plugins="sync")
    assert "sync-auto" not in await workers(server)
    state = await (await server.client.get("/api/v1/sync/status")).get_json()
    assert state["auto_sync"] == {"enabled": False, "interval_seconds": None}


def test_a_bad_interval_is_a_startup_error_naming_the_field(settings_factory, repo):
    write_server_toml(repo, "[plugins.sync]\ninterval_seconds = 0\n")
    with pytest.raises(StartupError) as caught:
        create_app(settings_factory(plugins="sync"))
    assert "[plugins.sync]" in str(caught.value) and "interval_seconds" in str(caught.value)


@pytest.mark.slow
async def test_another_machines_commits_arrive_on_their_own(app_factory, repo, remote, machine_a, clock):
    write_server_toml(repo, "[plugins.sync]\ninterval_seconds = 0.5\n")
    server = await app_factory(plugins="agents,sync", clock=clock)
    assert (await server.client.post("/api/v1/sync/init", json={})).status_code == 201
    ws, conn = await open_ws(server.client, channels=["agents", "sync"])
    try:
        while True:  # the first scheduled run publishes the new hub
            message = await receive_json(conn, 20)
            if message["type"] == "sync_completed":
                assert message["trigger"] == "auto" and message["operation"] == "push"
                break
        attach_hub(machine_a)
        cli = CliHub(machine_a)
        cli.heartbeat_v1("far-away", T0)
        cli.push()
        while True:
            message = await receive_json(conn, 20)
            if message["type"] == "heartbeat":
                assert message["agent_id"] == "far-away"
                break
    finally:
        await ws.__aexit__(None, None, None)
    state = (await workers(server))["sync-auto"]
    assert state["singleton"] is True and state["holds_lease"] is True


@pytest.mark.slow
async def test_it_backs_off_while_the_remote_is_down(app_factory, repo, remote, tmp_path):
    write_server_toml(repo, "[plugins.sync]\ninterval_seconds = 0.2\nmax_backoff_seconds = 30\n")
    server = await app_factory(plugins="sync")
    assert (await server.client.post("/api/v1/sync/init", json={})).status_code == 201
    git(repo, "remote", "set-url", "origin", str(tmp_path / "down.git"))
    notes = []
    for _ in range(400):
        note = (await workers(server))["sync-auto"]["note"] or ""
        if note not in notes:
            notes.append(note)
        if "3 in a row" in note:
            break
        await asyncio.sleep(0.05)
    failures = [n for n in notes if "remote unreachable" in n]
    assert failures[:3] == [
        "remote unreachable (1 in a row); next try in 0.4 s",
        "remote unreachable (2 in a row); next try in 0.8 s",
        "remote unreachable (3 in a row); next try in 1.6 s",
    ]
