"""Two instances of a team server on one database and one checkout: a hub change is announced
once, whichever instance notices it (what was announced is kept in the database)."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import websockets

from tests.plugins.agents.conftest import T0
from tests.plugins.agents.hubbuilder import Hub
from tests.support import BACKENDS

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


async def subscribed(url: str):
    ws = await websockets.connect(url)
    assert json.loads(await ws.recv())["type"] == "hello"
    await ws.send(json.dumps({"type": "subscribe", "channels": ["agents", "locks"]}))
    assert json.loads(await ws.recv())["type"] == "subscribed"
    return ws


async def drain(ws) -> list[dict]:
    """Every event received up to the answer of a ping sent now."""
    await ws.send(json.dumps({"type": "ping"}))
    found = []
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), 20))
        if message["type"] == "pong":
            return found
        found.append(message)


@pytest.mark.slow
async def test_a_hub_change_is_announced_once_by_two_instances(live_server_factory, repo):
    hub = Hub(repo)
    first = live_server_factory("--plugins", "issues,agents,locks")
    second = live_server_factory("--plugins", "issues,agents,locks")
    sockets = [await subscribed(first.ws_url), await subscribed(second.ws_url)]
    try:
        hub.heartbeat_v1("cli-agent", T0)
        hub.lock_v1(42, "cli-agent", T0)
        async with httpx.AsyncClient(timeout=30) as client:
            for _ in range(3):  # both instances scan, at once, several times
                await asyncio.gather(*(client.post(f"{server.url}/api/v1/{area}/rescan")
                                       for server in (first, second) for area in ("agents", "locks")))
        seen = [await drain(ws) for ws in sockets]
    finally:
        for ws in sockets:
            await ws.close()
    for wanted in ({"type": "heartbeat", "agent_id": "cli-agent"},
                   {"type": "lock_changed", "issue_id": 42, "action": "claimed"}):
        matches = [[m for m in events if all(m.get(k) == v for k, v in wanted.items())] for events in seen]
        assert all(len(found) <= 1 for found in matches), (wanted, seen)  # never twice to one client
        delivered = [m for found in matches for m in found]
        assert delivered, (wanted, seen)
        if all("event_id" in m for m in delivered):
            # a durable event log delivers every instance's events to every client: one event
            assert len({m["event_id"] for m in delivered}) == 1, delivered
        else:
            # each instance delivers what it published: exactly one instance published it
            assert len(delivered) == 1, delivered
