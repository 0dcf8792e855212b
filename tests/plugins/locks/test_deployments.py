"""Which plugin sets start: locks needs issues, never agents; and a real server's WebSocket."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import httpx
import pytest
import websockets

from kernel import StartupError
from kernel.app import create_app
from kernel.timeutil import utcnow
from tests.plugins.agents.hubbuilder import Hub
from tests.support import BACKENDS


def test_locks_requires_issues(settings_factory):
    with pytest.raises(StartupError) as caught:
        create_app(settings_factory(plugins="locks"))
    assert "'issues'" in str(caught.value)


def test_locks_does_not_require_agents(settings_factory):
    create_app(settings_factory(plugins="issues,locks"))
    create_app(settings_factory(plugins="agents"))


async def receive_events(ws, *wanted: dict, timeout: float = 20) -> list[dict]:
    """Read messages until, for each of ``wanted``, one containing all its key/values came
    (in any order: the agents and locks watchers run independently)."""
    found: list[dict | None] = [None] * len(wanted)

    async def scan():
        while not all(found):
            message = json.loads(await ws.recv())
            for index, want in enumerate(wanted):
                if found[index] is None and all(message.get(k) == v for k, v in want.items()):
                    found[index] = message
                    break
    await asyncio.wait_for(scan(), timeout)
    return found


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
async def test_real_server_announces_hub_and_api_changes(live_server_factory, repo):
    hub = Hub(repo)
    live = live_server_factory("--plugins", "issues,agents,locks")
    async with httpx.AsyncClient(base_url=live.url, timeout=30) as client, websockets.connect(live.ws_url) as ws:
        hello = json.loads(await ws.recv())
        assert {"agents", "locks"} <= set(hello["channels"])
        await ws.send(json.dumps({"type": "subscribe", "channels": ["agents", "locks"]}))
        assert json.loads(await ws.recv())["type"] == "subscribed"

        issue = (await client.post("/api/v1/issues", json={"title": "t"})).json()["id"]
        claim = await client.post(f"/api/v1/locks/{issue}/claim", json={"agent_id": "api-agent"})
        assert claim.status_code == 201
        await receive_events(ws, {"type": "lock_changed", "issue_id": issue, "action": "claimed", "agent_id": "api-agent"})

        # a CLI agent's heartbeat and lock appear in the hub: the server's watcher notices
        now = utcnow()
        hub.heartbeat_v1("cli-agent", now - timedelta(seconds=5), active_issue_id=issue + 1)
        hub.lock_v1(issue + 1, "cli-agent", now)
        beat, _, _ = await receive_events(
            ws,
            {"type": "heartbeat", "agent_id": "cli-agent"},
            {"type": "agent_status", "agent_id": "cli-agent", "status": "active"},
            {"type": "lock_changed", "issue_id": issue + 1, "action": "claimed", "agent_id": "cli-agent"},
        )
        assert beat["active_issue_id"] == issue + 1

        hub.unlock_v1(issue + 1)
        await receive_events(ws, {"type": "lock_changed", "issue_id": issue + 1, "action": "released", "agent_id": "cli-agent"})
        agents = {a["agent_id"]: a for a in (await client.get("/api/v1/agents")).json()}
        assert agents["cli-agent"]["status"] == "active" and agents["api-agent"]["locks"] == [issue]
