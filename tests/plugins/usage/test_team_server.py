"""Two ``crosslink serve`` processes on one database (a team server on PostgreSQL, or two
servers on one SQLite file): many concurrent records through both cross the budgets, and each
alert is recorded and sent exactly once."""

from __future__ import annotations

import asyncio
import json
from collections import Counter

import httpx
import pytest
import websockets

from tests.support import BACKENDS

pytestmark = [pytest.mark.parametrize("backend", BACKENDS, indirect=True), pytest.mark.slow]

RECORDS = 100
COST = 0.02  # 100 x 0.02 = 2.0 in all


async def subscribed(url: str):
    ws = await websockets.connect(url)
    assert json.loads(await ws.recv())["type"] == "hello"
    await ws.send(json.dumps({"type": "subscribe", "channels": ["usage"]}))
    while (message := json.loads(await ws.recv()))["type"] != "subscribed":
        # an event this instance relays after the client connected (the budget set on the
        # other instance a moment before) may come first: it is an event, not the reply
        assert "event_id" in message, message
    return ws


async def alerts_until_sentinel(client: httpx.AsyncClient, ws, sentinel: str) -> list[tuple]:
    """Alerts this client received before the sentinel's own record (commit order)."""
    response = await client.post("/api/v1/usage", json={"agent_id": sentinel, "input_tokens": 0, "output_tokens": 0,
                                                        "cost_estimate": 0})
    assert response.status_code == 201, response.text
    seen = []
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), 15))
        if message["type"] == "usage_recorded" and message["agent_ids"] == [sentinel]:
            return seen
        if message["type"] == "usage_budget_alert":
            seen.append((message["scope"], message["agent_id"], message["period"], message["level"]))


async def test_each_alert_goes_out_once_across_two_servers(live_server_factory):
    first = live_server_factory("--plugins", "usage")
    second = live_server_factory("--plugins", "usage")
    # idle connections are dropped before the server's 5 s keep-alive closes them under us
    limits = httpx.Limits(max_connections=50, keepalive_expiry=1.0)
    async with httpx.AsyncClient(base_url=first.url, timeout=60, limits=limits) as a, \
            httpx.AsyncClient(base_url=second.url, timeout=60, limits=limits) as b:
        # monthly limits: a run that crosses a UTC midnight still stays in one period
        budget = await a.patch("/api/v1/usage/budget", json={"monthly_limit": 1.0,
                                                             "agents": {"team": {"monthly_limit": 0.5}}})
        assert budget.status_code == 200, budget.text
        ws_a, ws_b = await subscribed(first.ws_url), await subscribed(second.ws_url)
        try:
            async def record(n: int) -> int:
                client = a if n % 2 else b
                body = {"agent_id": "team" if n % 4 < 2 else f"worker-{n}", "input_tokens": n, "output_tokens": 1,
                        "cost_estimate": COST}
                return (await client.post("/api/v1/usage", json=body)).status_code

            statuses = await asyncio.gather(*(record(n) for n in range(RECORDS)))
            assert Counter(statuses) == {201: RECORDS}
            expected = {("overall", None, "month", "threshold"), ("overall", None, "month", "limit"),
                        ("agent", "team", "month", "threshold"), ("agent", "team", "month", "limit")}
            for client in (a, b):
                listed = (await client.get("/api/v1/usage/alerts")).json()
                assert listed["total"] == 4, listed
                assert {(i["scope"], i["agent_id"], i["period"], i["level"]) for i in listed["items"]} == expected
            seen_a = await alerts_until_sentinel(a, ws_a, "sentinel-a")
            seen_b = await alerts_until_sentinel(b, ws_b, "sentinel-b")
            # a client gets an alert at most once; every alert went out (on the instance whose
            # request crossed it, and to every instance's clients where events are relayed)
            assert max(Counter(seen_a + seen_b).values()) <= 2
            assert max(Counter(seen_a).values(), default=0) <= 1 and max(Counter(seen_b).values(), default=0) <= 1
            assert set(seen_a) | set(seen_b) == expected
            summary = (await b.get("/api/v1/usage/summary")).json()
            assert summary["request_count"] == RECORDS + 2
            assert summary["total_cost"] == pytest.approx(RECORDS * COST)
            assert summary["budget"]["overall"]["monthly"]["level"] == "limit"
        finally:
            await ws_a.close()
            await ws_b.close()
