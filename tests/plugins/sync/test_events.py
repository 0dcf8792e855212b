"""Every sync operation on the ``sync`` channel: started, its steps, completed or failed."""

from __future__ import annotations

import pytest

from tests.plugins.agents.conftest import T0
from tests.plugins.sync.conftest import CliHub, attach_hub
from tests.support import BACKENDS, open_ws, receive_json

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


async def sync_events(connection, until: str) -> list[dict]:
    found = []
    while True:
        message = await receive_json(connection, 20)
        if message["type"].startswith("sync_"):
            found.append({k: v for k, v in message.items() if k not in ("seq", "event_id")})
            if message["type"] == until:
                return found


async def test_a_push_publishes_start_steps_and_result(app_factory, repo, remote, machine_a):
    server = await app_factory(plugins="sync")
    assert (await server.client.post("/api/v1/sync/init", json={})).status_code == 201
    ws, conn = await open_ws(server.client, channels=["sync"])
    try:
        (repo / ".crosslink" / ".hub-cache" / "heartbeats" / "dirty.json").write_text("{}")
        assert (await server.client.post("/api/v1/sync/push", json={})).status_code == 200
        events = await sync_events(conn, "sync_completed")
    finally:
        await ws.__aexit__(None, None, None)
    assert events[0] == {"type": "sync_started", "operation": "push", "remote": "origin", "trigger": "api"}
    steps = [e["step"] for e in events if e["type"] == "sync_progress"]
    assert steps == ["committed-local-changes", "fetching", "pushing"]
    done = events[-1]
    assert done["message"] == "Committed local changes and pushed 2 commits to origin/crosslink/hub"
    assert done["counts"]["pushed_commits"] == 2 and done["trigger"] == "api"


async def test_a_fetch_publishes_what_moved(app_factory, repo, remote, machine_a):
    server = await app_factory(plugins="sync")
    assert (await server.client.post("/api/v1/sync/init", json={})).status_code == 201
    assert (await server.client.post("/api/v1/sync/push", json={})).status_code == 200
    attach_hub(machine_a)
    cli = CliHub(machine_a)
    cli.heartbeat_v1("a1", T0)
    cli.lock_v1(9, "a1", T0)
    cli.push()
    ws, conn = await open_ws(server.client, channels=["sync"])
    try:
        assert (await server.client.post("/api/v1/sync/fetch", json={})).status_code == 200
        events = await sync_events(conn, "sync_completed")
    finally:
        await ws.__aexit__(None, None, None)
    assert [e["type"] for e in events] == ["sync_started", "sync_progress", "sync_completed"]
    assert events[-1]["message"] == "Fetched 1 new heartbeat, 1 lock change, 0 knowledge pages"
    assert {k: events[-1]["counts"][k] for k in ("heartbeats", "lock_changes", "knowledge_pages", "commits")} == {
        "heartbeats": 1, "lock_changes": 1, "knowledge_pages": 0, "commits": 2,
    }
