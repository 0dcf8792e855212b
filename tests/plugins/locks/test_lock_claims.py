"""POST /locks/:issue_id/claim, /release and /steal: atomic server locks with fencing tokens."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from tests.plugins.agents.conftest import T0, write_hook_config
from tests.plugins.locks.conftest import create_issue
from tests.support import BACKENDS, open_ws, receive_until

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


async def act(server, issue_id: int, action: str, body: dict, status: int):
    response = await server.client.post(f"/api/v1/locks/{issue_id}/{action}", json=body)
    assert response.status_code == status, await response.get_data()
    return await response.get_json()


async def comments_of(server, issue_id: int) -> list[dict]:
    response = await server.client.get(f"/api/v1/issues/{issue_id}")
    return (await response.get_json())["comments"]


async def test_claim_is_exclusive_and_idempotent(app_factory, clock):
    server = await app_factory(plugins="issues,locks", clock=clock)
    issue = await create_issue(server)
    lock = await act(server, issue, "claim", {"agent_id": "alice", "branch": "feature/a"}, 201)
    assert lock == {
        "issue_id": issue,
        "agent_id": "alice",
        "branch": "feature/a",
        "claimed_at": "2026-03-10T03:15:00Z",
        "signed_by": None,
        "age_seconds": 0,
        "is_stale": False,
        "source": "server",
        "fencing_token": lock["fencing_token"],
    }
    clock.advance(minutes=3)
    again = await act(server, issue, "claim", {"agent_id": "alice"}, 200)
    assert again["fencing_token"] == lock["fencing_token"]
    assert again["claimed_at"] == lock["claimed_at"] and again["age_seconds"] == 180
    conflict = await act(server, issue, "claim", {"agent_id": "bob"}, 409)
    assert conflict["error"] == "conflict"
    assert conflict["holder"] == "alice" and "alice" in conflict["detail"]
    assert conflict["stale"] is False
    listed = (await (await server.client.get("/api/v1/locks")).get_json())
    assert [(entry["issue_id"], entry["agent_id"], entry["source"]) for entry in listed] == [(issue, "alice", "server")]


async def test_fencing_tokens_only_grow(app_factory, clock):
    server = await app_factory(plugins="issues,locks", clock=clock)
    first, second = await create_issue(server, "one"), await create_issue(server, "two")
    tokens = [(await act(server, first, "claim", {"agent_id": "a"}, 201))["fencing_token"]]
    tokens.append((await act(server, second, "claim", {"agent_id": "b"}, 201))["fencing_token"])
    await act(server, first, "release", {"agent_id": "a"}, 200)
    tokens.append((await act(server, first, "claim", {"agent_id": "c"}, 201))["fencing_token"])
    assert tokens == sorted(tokens) and len(set(tokens)) == 3


async def test_release_only_by_the_holder(app_factory, clock):
    server = await app_factory(plugins="issues,locks", clock=clock)
    issue = await create_issue(server)
    await act(server, issue, "release", {"agent_id": "alice"}, 404)
    await act(server, issue, "claim", {"agent_id": "alice"}, 201)
    body = await act(server, issue, "release", {"agent_id": "bob"}, 409)
    assert body["holder"] == "alice"
    assert await act(server, issue, "release", {"agent_id": "alice"}, 200) == {"ok": True}
    await act(server, issue, "release", {"agent_id": "alice"}, 404)
    assert (await (await server.client.get("/api/v1/locks")).get_json()) == []
    await act(server, issue, "claim", {"agent_id": "bob"}, 201)


async def test_unknown_issue_and_bad_bodies(app_factory, clock):
    server = await app_factory(plugins="issues,locks", clock=clock)
    issue = await create_issue(server)
    body = await act(server, 999, "claim", {"agent_id": "a"}, 404)
    assert "999" in body["detail"]
    await act(server, 999, "steal", {"agent_id": "a"}, 404)
    for bad in ({}, {"agent_id": ""}, {"agent_id": 5}, {"agent_id": "has space"}, {"agent_id": "a", "branch": 3}):
        error = await act(server, issue, "claim", bad, 400)
        assert error["error"] == "bad request"
    response = await server.client.post("/api/v1/locks/not-a-number/claim", json={"agent_id": "a"})
    assert response.status_code == 400


async def test_a_hub_lock_of_another_agent_blocks_a_claim(app_factory, hub, clock):
    server = await app_factory(plugins="issues,locks", clock=clock)
    issue = await create_issue(server)
    hub.heartbeat_v1("cli-agent", T0)
    hub.lock_v1(issue, "cli-agent", T0 - timedelta(minutes=5))
    body = await act(server, issue, "claim", {"agent_id": "api-agent"}, 409)
    assert body["holder"] == "cli-agent" and body["source"] == "hub-v1"
    # the hub's own holder may claim it on the server too; the newer server claim then counts
    mine = await act(server, issue, "claim", {"agent_id": "cli-agent"}, 201)
    assert mine["source"] == "server"
    # releasing a hub-only lock is the CLI's job
    other = await create_issue(server, "other")
    hub.lock_v2(other, "cli-agent", T0)
    body = await act(server, other, "release", {"agent_id": "cli-agent"}, 409)
    assert "crosslink" in body["detail"] and body["source"] == "hub-v2"


async def test_steal_only_a_stale_lock(app_factory, clock):
    server = await app_factory(plugins="issues,locks", clock=clock)
    issue = await create_issue(server)
    first = await act(server, issue, "claim", {"agent_id": "sleepy"}, 201)
    body = await act(server, issue, "steal", {"agent_id": "thief"}, 409)
    assert body["holder"] == "sleepy" and body["stale"] is False and "not stale" in body["detail"]
    clock.advance(minutes=30)  # no heartbeat from sleepy: the claim's age counts
    conflict = await act(server, issue, "claim", {"agent_id": "thief"}, 409)
    assert conflict["stale"] is True and "steal" in conflict["detail"]
    stolen = await act(server, issue, "steal", {"agent_id": "thief", "branch": "feature/t"}, 200)
    assert stolen["agent_id"] == "thief" and stolen["branch"] == "feature/t"
    assert stolen["fencing_token"] > first["fencing_token"]
    assert stolen["is_stale"] is False and stolen["age_seconds"] == 0
    assert (await act(server, issue, "release", {"agent_id": "sleepy"}, 409))["holder"] == "thief"
    [comment] = await comments_of(server, issue)
    assert comment["content"].startswith("[steal]")
    assert "'sleepy'" in comment["content"] and "'thief'" in comment["content"]
    assert comment["kind"] == "observation"
    # stealing one's own lock is a no-op claim
    again = await act(server, issue, "steal", {"agent_id": "thief"}, 200)
    assert again["fencing_token"] == stolen["fencing_token"]


async def test_steal_a_stale_hub_lock(app_factory, hub, clock):
    server = await app_factory(plugins="issues,agents,locks", clock=clock)
    issue = await create_issue(server)
    hub.heartbeat_v1("gone-agent", T0 - timedelta(hours=1))
    hub.lock_v1(issue, "gone-agent", T0 - timedelta(hours=2), branch="feature/old")
    await act(server, issue, "claim", {"agent_id": "new-agent"}, 409)
    stolen = await act(server, issue, "steal", {"agent_id": "new-agent"}, 200)
    assert stolen["source"] == "server" and stolen["agent_id"] == "new-agent"
    [lock] = (await (await server.client.get("/api/v1/locks")).get_json())
    assert lock["agent_id"] == "new-agent"
    agents = {a["agent_id"]: a["locks"] for a in (await (await server.client.get("/api/v1/agents")).get_json())}
    assert agents == {"gone-agent": [], "new-agent": [issue]}
    [comment] = await comments_of(server, issue)
    assert "gone-agent" in comment["content"] and "last heartbeat" in comment["content"]


async def test_steal_of_an_unlocked_issue_is_404(app_factory, clock):
    server = await app_factory(plugins="issues,locks", clock=clock)
    issue = await create_issue(server)
    body = await act(server, issue, "steal", {"agent_id": "a"}, 404)
    assert "not locked" in body["detail"]


async def test_auto_steal_after_the_configured_multiple(app_factory, repo, clock):
    write_hook_config(repo, stale_lock_timeout_minutes=10, auto_steal_stale_locks=2)
    server = await app_factory(plugins="issues,agents,locks", clock=clock)
    issue = await create_issue(server)
    await server.client.post("/api/v1/agents/holder/heartbeat", json={})
    first = await act(server, issue, "claim", {"agent_id": "holder"}, 201)
    clock.advance(minutes=15)  # stale (10) but not for 2 x 10 minutes
    body = await act(server, issue, "claim", {"agent_id": "eager"}, 409)
    assert body["stale"] is True
    clock.advance(minutes=5)
    taken = await act(server, issue, "claim", {"agent_id": "eager"}, 201)
    assert taken["agent_id"] == "eager" and taken["fencing_token"] > first["fencing_token"]
    [comment] = await comments_of(server, issue)
    assert comment["content"].startswith("[auto-steal]") and "threshold: 20 min" in comment["content"]


@pytest.mark.parametrize(("stored", "multiplier"), [("true", 1), ("3", 3), (2.0, 2)])
async def test_config_and_locks_read_auto_steal_the_same_way(app_factory, repo, clock, stored, multiplier):
    """One reading of auto_steal_stale_locks: what GET /config says is what a claim does."""
    write_hook_config(repo, stale_lock_timeout_minutes=10, auto_steal_stale_locks=stored)
    server = await app_factory(plugins="issues,locks", clock=clock)
    assert (await (await server.client.get("/api/v1/config")).get_json())["auto_steal_stale_locks"] is True
    issue = await create_issue(server)
    await act(server, issue, "claim", {"agent_id": "holder"}, 201)
    clock.advance(minutes=10 * multiplier - 1)
    await act(server, issue, "claim", {"agent_id": "eager"}, 409)
    clock.advance(minutes=2)
    await act(server, issue, "claim", {"agent_id": "eager"}, 201)


async def test_auto_steal_off_never_takes_a_claim(app_factory, repo, clock):
    write_hook_config(repo, auto_steal_stale_locks=False)
    server = await app_factory(plugins="issues,locks", clock=clock)
    issue = await create_issue(server)
    await act(server, issue, "claim", {"agent_id": "holder"}, 201)
    clock.advance(hours=10)
    assert (await act(server, issue, "claim", {"agent_id": "eager"}, 409))["stale"] is True


@pytest.mark.parametrize("how", ["close", "delete"])
async def test_closing_or_deleting_the_issue_releases_its_lock(app_factory, clock, how):
    server = await app_factory(plugins="issues,locks", clock=clock)
    issue = await create_issue(server)
    await act(server, issue, "claim", {"agent_id": "worker"}, 201)
    ws, conn = await open_ws(server.client, channels=["locks"])
    try:
        if how == "close":
            response = await server.client.post(f"/api/v1/issues/{issue}/close")
        else:
            response = await server.client.delete(f"/api/v1/issues/{issue}")
        assert response.status_code == 200
        event = await receive_until(conn, "lock_changed")
        assert event == {**event, "issue_id": issue, "action": "released", "agent_id": "worker"}
    finally:
        await ws.__aexit__(None, None, None)
    assert (await (await server.client.get("/api/v1/locks")).get_json()) == []


async def test_reopening_keeps_nothing_locked_and_claims_work_again(app_factory, clock):
    server = await app_factory(plugins="issues,locks", clock=clock)
    issue = await create_issue(server)
    await act(server, issue, "claim", {"agent_id": "worker"}, 201)
    ws, conn = await open_ws(server.client, channels=["locks"])
    try:
        await server.client.post(f"/api/v1/issues/{issue}/close")
        await receive_until(conn, "lock_changed")
    finally:
        await ws.__aexit__(None, None, None)
    await server.client.post(f"/api/v1/issues/{issue}/reopen")
    await act(server, issue, "claim", {"agent_id": "other"}, 201)


async def test_concurrent_steals_have_one_winner(app_factory, clock):
    server = await app_factory(plugins="issues,locks", clock=clock)
    issue = await create_issue(server)
    first = await act(server, issue, "claim", {"agent_id": "sleepy"}, 201)
    clock.advance(hours=1)

    async def steal(n: int):
        response = await server.client.post(f"/api/v1/locks/{issue}/steal", json={"agent_id": f"thief-{n}"})
        return response.status_code, await response.get_json()

    results = await asyncio.gather(*(steal(n) for n in range(30)))
    winners = [body for status, body in results if status == 200]
    assert len(winners) == 1 and sorted(status for status, _ in results) == [200] + [409] * 29
    assert {body["holder"] for status, body in results if status == 409} == {winners[0]["agent_id"]}
    assert winners[0]["fencing_token"] > first["fencing_token"]
    assert len(await comments_of(server, issue)) == 1
