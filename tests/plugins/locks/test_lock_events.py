"""``lock_changed`` on the ``locks`` channel: from the API and from hub changes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.plugins.agents.conftest import (
    T0,
    assert_no_pending_events,
    next_events,
    strip_seq,
    write_server_toml,
)
from tests.plugins.locks.conftest import create_issue
from tests.support import BACKENDS, open_ws, receive_until

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


def changed(issue_id: int, action: str, agent_id: str) -> dict:
    return {"type": "lock_changed", "issue_id": issue_id, "action": action, "agent_id": agent_id}


async def rescan(server) -> dict:
    response = await server.client.post("/api/v1/locks/rescan")
    assert response.status_code == 200
    return await response.get_json()


async def test_api_claims_releases_and_steals_are_announced(app_factory, clock):
    server = await app_factory(plugins="issues,locks", clock=clock)
    issue = await create_issue(server)
    ws, conn = await open_ws(server.client, channels=["locks"])
    try:
        await server.client.post(f"/api/v1/locks/{issue}/claim", json={"agent_id": "a"})
        await server.client.post(f"/api/v1/locks/{issue}/claim", json={"agent_id": "a"})  # idempotent: silent
        await server.client.post(f"/api/v1/locks/{issue}/claim", json={"agent_id": "b"})  # 409: silent
        await server.client.post(f"/api/v1/locks/{issue}/release", json={"agent_id": "a"})
        await server.client.post(f"/api/v1/locks/{issue}/claim", json={"agent_id": "b"})
        clock.advance(minutes=31)
        await server.client.post(f"/api/v1/locks/{issue}/steal", json={"agent_id": "c"})
        assert strip_seq(await next_events(conn, 5)) == [
            changed(issue, "claimed", "a"),
            changed(issue, "released", "a"),
            changed(issue, "claimed", "b"),
            changed(issue, "released", "b"),
            changed(issue, "claimed", "c"),
        ]
        await assert_no_pending_events(conn)
    finally:
        await ws.__aexit__(None, None, None)


async def test_hub_lock_changes_are_diffed_between_scans(app_factory, hub, clock):
    hub.lock_v1(1, "present-at-start", T0)
    server = await app_factory(plugins="issues,locks", clock=clock)
    ws, conn = await open_ws(server.client, channels=["locks"])
    try:
        await rescan(server)
        await assert_no_pending_events(conn)  # the state at startup is not announced

        hub.lock_v1(2, "cli-1", T0)
        hub.set_layout(2)
        hub.lock_v2(3, "cli-2", T0)
        await rescan(server)
        assert strip_seq(await next_events(conn, 2)) == [changed(2, "claimed", "cli-1"), changed(3, "claimed", "cli-2")]

        hub.unlock_v1(1)
        hub.lock_v2(2, "cli-3", T0 + timedelta(seconds=1))  # newer V2 claim: holder changes
        await rescan(server)
        assert strip_seq(await next_events(conn, 3)) == [
            changed(1, "released", "present-at-start"),
            changed(2, "released", "cli-1"),
            changed(2, "claimed", "cli-3"),
        ]
        await rescan(server)
        await assert_no_pending_events(conn)
    finally:
        await ws.__aexit__(None, None, None)


async def test_hub_lock_changes_arrive_by_notification(app_factory, repo, hub, clock):
    write_server_toml(repo, "[plugins.locks]\npoll_seconds = 600\n")
    server = await app_factory(plugins="issues,locks", clock=clock)
    ws, conn = await open_ws(server.client, channels=["locks"])
    try:
        hub.lock_v1(12, "cli-agent", T0)  # no rescan: the watcher must notice
        event = await receive_until(conn, "lock_changed", timeout=20)
        assert strip_seq([event]) == [changed(12, "claimed", "cli-agent")]
    finally:
        await ws.__aexit__(None, None, None)


async def test_one_client_on_both_channels_sees_everything(app_factory, hub, clock):
    server = await app_factory(plugins="issues,agents,locks", clock=clock)
    issue = await create_issue(server)
    ws, conn = await open_ws(server.client, channels=["agents", "locks"])
    try:
        await server.client.post("/api/v1/agents/api-1/heartbeat", json={"active_issue_id": issue})
        await server.client.post(f"/api/v1/locks/{issue}/claim", json={"agent_id": "api-1"})
        hub.heartbeat_v1("cli-1", T0)
        hub.lock_v1(issue + 100, "cli-1", T0)
        await server.client.post("/api/v1/agents/rescan")
        await server.client.post("/api/v1/locks/rescan")
        events = strip_seq(await next_events(conn, 6))
        assert events[:3] == [
            {"type": "heartbeat", "agent_id": "api-1", "timestamp": "2026-03-10T03:15:00Z", "active_issue_id": issue},
            {"type": "agent_status", "agent_id": "api-1", "status": "active"},
            changed(issue, "claimed", "api-1"),
        ]
        # the hub changes may be noticed by the watchers before the forced scans: any order
        assert sorted(events[3:], key=str) == sorted([
            {"type": "heartbeat", "agent_id": "cli-1", "timestamp": "2026-03-10T03:15:00Z", "active_issue_id": None},
            {"type": "agent_status", "agent_id": "cli-1", "status": "active"},
            changed(issue + 100, "claimed", "cli-1"),
        ], key=str)
        await assert_no_pending_events(conn)
    finally:
        await ws.__aexit__(None, None, None)
