"""POST /agents/:id/heartbeat: the server's own heartbeats, merged with the hub's."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.plugins.agents.conftest import T0, write_server_toml
from tests.support import BACKENDS

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


async def post(server, agent_id: str, body=None, status: int = 200):
    response = await server.client.post(f"/api/v1/agents/{agent_id}/heartbeat", json=body or {})
    assert response.status_code == status, await response.get_data()
    return await response.get_json()


async def test_posted_heartbeat_makes_an_agent(app_factory, clock):
    server = await app_factory(plugins="agents", clock=clock)
    summary = await post(server, "api-agent", {"machine_id": "ci-7", "description": "Feature agent", "active_issue_id": 12})
    assert summary == {
        "agent_id": "api-agent",
        "machine_id": "ci-7",
        "description": "Feature agent",
        "status": "active",
        "last_heartbeat": "2026-03-10T03:15:00Z",
        "active_issue_id": 12,
        "branch": None,
        "worktree_path": None,
        "locks": [],
    }
    assert [a["agent_id"] for a in (await (await server.client.get("/api/v1/agents")).get_json())] == ["api-agent"]


async def test_an_empty_body_is_a_heartbeat(app_factory, clock):
    server = await app_factory(plugins="agents", clock=clock)
    response = await server.client.post("/api/v1/agents/bare/heartbeat")
    assert response.status_code == 200
    assert (await response.get_json())["status"] == "active"


async def test_server_and_hub_heartbeats_merge_newest_wins(app_factory, hub, clock):
    hub.heartbeat_v1("worker-1", T0 - timedelta(minutes=10), machine_id="laptop", active_issue_id=1)
    server = await app_factory(plugins="agents", clock=clock)
    detail = await (await server.client.get("/api/v1/agents/worker-1")).get_json()
    assert detail["status"] == "idle" and detail["machine_id"] == "laptop"

    summary = await post(server, "worker-1", {"description": "via the API", "active_issue_id": 2})
    assert summary["status"] == "active"
    assert summary["last_heartbeat"] == "2026-03-10T03:15:00Z"
    assert summary["machine_id"] == "laptop"  # the newer heartbeat has none: kept from the hub
    assert summary["description"] == "via the API"
    assert summary["active_issue_id"] == 2

    # a newer hub heartbeat wins again
    clock.advance(minutes=1)
    hub.heartbeat_v1("worker-1", T0 + timedelta(minutes=1), machine_id="laptop", active_issue_id=3)
    detail = await (await server.client.get("/api/v1/agents/worker-1")).get_json()
    assert detail["active_issue_id"] == 3
    assert detail["description"] == "via the API"
    assert detail["heartbeat_history"][:3] == [
        "2026-03-10T03:16:00Z", "2026-03-10T03:15:00Z", "2026-03-10T03:05:00Z",
    ]


async def test_history_is_short_and_newest_first(app_factory, repo, clock):
    write_server_toml(repo, "[plugins.agents]\nhistory_size = 3\n")
    server = await app_factory(plugins="agents", clock=clock)
    for _ in range(5):
        await post(server, "busy", {"machine_id": "m"})
        clock.advance(minutes=1)
    detail = await (await server.client.get("/api/v1/agents/busy")).get_json()
    assert detail["heartbeat_history"] == [
        "2026-03-10T03:19:00Z", "2026-03-10T03:18:00Z", "2026-03-10T03:17:00Z",
    ]
    kept = await server.kernel.db.fetch_value(
        "SELECT count(*) FROM server_agent_heartbeats WHERE agent_id = ?", ("busy",)
    )
    assert kept == 3


@pytest.mark.parametrize(
    ("agent_id", "body", "field"),
    [
        ("ok-agent", {"active_issue_id": "12"}, "active_issue_id"),
        ("ok-agent", {"machine_id": 5}, "machine_id"),
        ("ok-agent", {"description": "x" * 5000}, "description"),
        ("ok-agent", [1, 2], None),
        ("bad%20id", {}, None),
    ],
)
async def test_bad_heartbeats_are_400(app_factory, clock, agent_id, body, field):
    server = await app_factory(plugins="agents", clock=clock)
    response = await server.client.post(f"/api/v1/agents/{agent_id}/heartbeat", json=body)
    assert response.status_code == 400
    error = await response.get_json()
    assert error["error"] == "bad request"
    if field:
        assert field in error["detail"]
    assert (await (await server.client.get("/api/v1/agents")).get_json()) == []


async def test_non_json_body_is_415(app_factory, clock):
    server = await app_factory(plugins="agents", clock=clock)
    response = await server.client.post(
        "/api/v1/agents/x/heartbeat", data="machine_id=1", headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 415
