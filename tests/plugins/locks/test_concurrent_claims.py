"""Many agents claiming one issue at once, over HTTP against a real ``crosslink serve``."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
import pytest

from tests.support import BACKENDS

pytestmark = [pytest.mark.parametrize("backend", BACKENDS, indirect=True), pytest.mark.slow]

CLAIMERS = 200


async def test_exactly_one_of_many_concurrent_claims_wins(live_server_factory):
    live = live_server_factory("--plugins", "issues,locks")  # the trimmed deployment: no agents
    limits = httpx.Limits(max_connections=CLAIMERS, max_keepalive_connections=CLAIMERS)
    async with httpx.AsyncClient(base_url=live.url, limits=limits, timeout=120) as client:
        created = await client.post("/api/v1/issues", json={"title": "contended"})
        assert created.status_code == 201, created.text
        issue = created.json()["id"]

        async def claim(n: int) -> httpx.Response:
            return await client.post(f"/api/v1/locks/{issue}/claim", json={"agent_id": f"agent-{n}"})

        responses = await asyncio.gather(*(claim(n) for n in range(CLAIMERS)))
        statuses = Counter(r.status_code for r in responses)
        assert statuses == {201: 1, 409: CLAIMERS - 1}, (statuses, [r.text for r in responses if r.status_code >= 500][:3])

        [winner] = [r.json() for r in responses if r.status_code == 201]
        holders = {r.json()["holder"] for r in responses if r.status_code == 409}
        assert holders == {winner["agent_id"]}

        locks = (await client.get("/api/v1/locks")).json()
        assert [(entry["issue_id"], entry["agent_id"], entry["fencing_token"]) for entry in locks] == [
            (issue, winner["agent_id"], winner["fencing_token"])
        ]
        # the winner's repeated claim is idempotent; a release then frees it for the next one
        again = await client.post(f"/api/v1/locks/{issue}/claim", json={"agent_id": winner["agent_id"]})
        assert again.status_code == 200 and again.json()["fencing_token"] == winner["fencing_token"]
        released = await client.post(f"/api/v1/locks/{issue}/release", json={"agent_id": winner["agent_id"]})
        assert released.status_code == 200
        second = await asyncio.gather(*(claim(n) for n in range(CLAIMERS, CLAIMERS + 50)))
        statuses = Counter(r.status_code for r in second)
        assert statuses == {201: 1, 409: 49}
        [next_winner] = [r.json() for r in second if r.status_code == 201]
        assert next_winner["fencing_token"] > winner["fencing_token"]
