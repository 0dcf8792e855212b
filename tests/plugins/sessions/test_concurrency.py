"""Many agents starting and ending at once against a real ``crosslink serve`` over HTTP: one
session per agent, never two active, each agent's start answered with that agent's session."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
import pytest

from tests.support import BACKENDS

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("backend", BACKENDS, indirect=True)]

AGENTS = 8
STARTS_PER_AGENT = 12


async def test_concurrent_starts_open_exactly_one_session_per_agent(live_server_factory):
    live = live_server_factory("--plugins", "issues,sessions")
    agents = [f"agent-{n}" for n in range(AGENTS)] + [None]  # None: the sessions without an agent
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(base_url=live.url + "/api/v1", limits=limits, timeout=120) as client:

        async def start(agent: str | None) -> tuple[str | None, httpx.Response]:
            body = {} if agent is None else {"agent_id": agent}
            return agent, await client.post("/sessions/start", json=body)

        # one agent's starts side by side, so that they meet in concurrent transactions
        calls = [start(agent) for agent in agents for _ in range(STARTS_PER_AGENT)]
        results = await asyncio.gather(*calls)
        assert not [r.text for _, r in results if r.status_code not in (200, 201)]
        for agent in agents:
            mine = [r for a, r in results if a == agent]
            assert Counter(r.status_code for r in mine) == {201: 1, 200: STARTS_PER_AGENT - 1}, agent
            assert len({r.json()["id"] for r in mine}) == 1, agent
            assert {r.json()["agent_id"] for r in mine} == {agent}
        ids = {a: r.json()["id"] for a, r in results}
        assert len(set(ids.values())) == len(agents)
        for agent in agents:
            query = {} if agent is None else {"agent_id": agent}
            listing = (await client.get("/sessions", params={**query, "status": "active"})).json()
            assert [s["id"] for s in listing["items"]] == [ids[agent]], agent

        # concurrent ends of one agent's session: exactly one ends it, the rest find none
        async def end(n: int) -> httpx.Response:
            return await client.post("/sessions/end", json={"agent_id": "agent-0", "notes": f"notes {n}"})

        ends = await asyncio.gather(*(end(n) for n in range(STARTS_PER_AGENT)))
        assert Counter(r.status_code for r in ends) == {200: 1, 404: STARTS_PER_AGENT - 1}
        [winner] = [r.json() for r in ends if r.status_code == 200]
        listing = (await client.get("/sessions", params={"agent_id": "agent-0"})).json()
        assert listing["total"] == 1 and listing["items"][0]["handoff_notes"] == winner["session"]["handoff_notes"]
        # the other agents' sessions are untouched
        for agent in agents[1:]:
            query = {} if agent is None else {"agent_id": agent}
            current = (await client.get("/sessions/current", params=query)).json()
            assert current["id"] == ids[agent] and current["ended_at"] is None
    assert live.stop() == 0
