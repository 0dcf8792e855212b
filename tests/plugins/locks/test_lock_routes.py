"""GET /locks and /locks/stale over real hub checkouts, under the one staleness rule."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.plugins.agents.conftest import T0, write_hook_config
from tests.support import BACKENDS

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)

ENTRY_KEYS = {"issue_id", "agent_id", "branch", "claimed_at", "signed_by", "age_seconds", "is_stale"}


async def get_json(server, path: str, status: int = 200):
    response = await server.client.get(f"/api/v1{path}")
    assert response.status_code == status, await response.get_data()
    return await response.get_json()


async def test_no_hub_no_locks(app_factory, clock):
    server = await app_factory(plugins="issues,locks", clock=clock)
    assert await get_json(server, "/locks") == []
    assert await get_json(server, "/locks/stale") == []
    await get_json(server, "/locks/1", 404)


async def test_hub_locks_of_both_layouts(app_factory, hub, clock):
    hub.heartbeat_v1("worker-1", T0)
    hub.lock_v1(42, "worker-1", T0 - timedelta(seconds=4500), branch="feature/auth-fix", signed_by="SHA256:abc")
    hub.set_layout(2)
    hub.lock_v2(7, "worker-2", T0 - timedelta(minutes=1))
    server = await app_factory(plugins="issues,locks", clock=clock)
    locks = await get_json(server, "/locks")
    assert [lock["issue_id"] for lock in locks] == [7, 42]
    assert all(ENTRY_KEYS <= set(lock) for lock in locks)
    assert locks[1] == {
        "issue_id": 42,
        "agent_id": "worker-1",
        "branch": "feature/auth-fix",
        "claimed_at": "2026-03-10T02:00:00Z",
        "signed_by": "SHA256:abc",
        "age_seconds": 4500,
        "is_stale": False,  # old claim, but the holder's heartbeat is fresh
        "source": "hub-v1",
        "fencing_token": None,
    }
    assert locks[0]["signed_by"] is None and locks[0]["branch"] is None
    assert locks[0]["source"] == "hub-v2"
    assert await get_json(server, "/locks/42") == locks[1]


async def test_the_newer_claim_wins_across_layouts(app_factory, hub, clock):
    hub.lock_v1(5, "first", T0 - timedelta(minutes=20))
    hub.lock_v2(5, "second", T0 - timedelta(minutes=10))
    hub.lock_v1(6, "newer-v1", T0 - timedelta(minutes=1))
    hub.lock_v2(6, "older-v2", T0 - timedelta(minutes=2))
    server = await app_factory(plugins="issues,locks", clock=clock)
    assert [(entry["issue_id"], entry["agent_id"]) for entry in await get_json(server, "/locks")] == [(5, "second"), (6, "newer-v1")]


async def test_one_staleness_rule(app_factory, hub, clock):
    hub.heartbeat_v1("fresh", T0 - timedelta(minutes=1))
    hub.heartbeat_v2("silent", T0 - timedelta(minutes=31))
    hub.heartbeat_v1("borderline", T0 - timedelta(minutes=30))
    hub.lock_v1(1, "fresh", T0 - timedelta(hours=2))         # old claim, live holder
    hub.lock_v1(2, "silent", T0 - timedelta(minutes=1))      # new claim, silent holder
    hub.lock_v1(3, "ghost", T0 - timedelta(minutes=31))      # no heartbeat: claim age counts
    hub.lock_v1(4, "ghost", T0 - timedelta(minutes=29))
    hub.lock_v2(5, "borderline", T0 - timedelta(minutes=1))  # exactly the timeout: stale
    server = await app_factory(plugins="issues,locks", clock=clock)
    locks = {lock["issue_id"]: lock for lock in await get_json(server, "/locks")}
    assert {i: locks[i]["is_stale"] for i in locks} == {1: False, 2: True, 3: True, 4: False, 5: True}
    assert locks[1]["age_seconds"] == 7200 and locks[2]["age_seconds"] == 60  # always the claim's age
    stale = await get_json(server, "/locks/stale")
    assert [lock["issue_id"] for lock in stale] == [2, 3, 5]
    assert all(lock["is_stale"] for lock in stale)
    assert stale[0] == locks[2]


async def test_the_timeout_comes_from_hook_config(app_factory, repo, hub, clock):
    write_hook_config(repo, stale_lock_timeout_minutes=10)
    hub.heartbeat_v1("w", T0 - timedelta(minutes=11))
    hub.lock_v1(1, "w", T0)
    server = await app_factory(plugins="issues,locks", clock=clock)
    assert [lock["issue_id"] for lock in await get_json(server, "/locks/stale")] == [1]
    write_hook_config(repo, stale_lock_timeout_minutes=12)  # read on every request
    assert await get_json(server, "/locks/stale") == []


async def test_locks_expire_when_heartbeats_stop(app_factory, hub, clock):
    """With the agents plugin, heartbeats posted to the server keep a holder's locks fresh."""
    hub.lock_v1(9, "api-worker", T0 - timedelta(hours=3))
    server = await app_factory(plugins="issues,agents,locks", clock=clock)
    assert (await get_json(server, "/locks/9"))["is_stale"] is True  # no heartbeat, old claim
    await server.client.post("/api/v1/agents/api-worker/heartbeat", json={})
    assert (await get_json(server, "/locks/9"))["is_stale"] is False
    clock.advance(minutes=29, seconds=59)
    assert (await get_json(server, "/locks/9"))["is_stale"] is False
    clock.advance(seconds=1)
    assert (await get_json(server, "/locks/9"))["is_stale"] is True
    assert [lock["issue_id"] for lock in await get_json(server, "/locks/stale")] == [9]


async def test_trimmed_deployment_uses_hub_heartbeats(app_factory, hub, clock):
    """``--plugins issues,locks``: no agents plugin; the hub's heartbeats still count."""
    hub.heartbeat_v2("cli-agent", T0)
    hub.lock_v1(3, "cli-agent", T0 - timedelta(hours=1))
    server = await app_factory(plugins="issues,locks", clock=clock)
    assert server.kernel.services.get("agents") is None
    [lock] = await get_json(server, "/locks")
    assert lock["is_stale"] is False
    await get_json(server, "/agents", 404)
