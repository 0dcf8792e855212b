"""The watcher: ``heartbeat`` and ``agent_status`` events on the ``agents`` channel, from hub
file changes, from posted heartbeats, and from time passing (with the injectable clock)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from kernel import hookimpl
from kernel.timeutil import Clock, utcnow
from tests.plugins.agents.conftest import (
    T0,
    assert_no_pending_events,
    next_events,
    strip_seq,
    write_server_toml,
)
from tests.plugins.agents.hubbuilder import Hub
from tests.support import BACKENDS, open_ws, receive_until

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)

#: Long enough that only filesystem notifications or the clock-computed timer can wake the
#: watcher while a test waits.
NO_POLLING = "[plugins.agents]\npoll_seconds = 600\n"


async def rescan(server) -> dict:
    response = await server.client.post("/api/v1/agents/rescan")
    assert response.status_code == 200
    return await response.get_json()


async def test_state_at_startup_is_not_announced(app_factory, hub, clock):
    hub.heartbeat_v1("old-timer", T0 - timedelta(minutes=1))
    server = await app_factory(plugins="agents", clock=clock)
    ws, conn = await open_ws(server.client, channels=["agents"])
    try:
        assert (await rescan(server))["agents"] == 1
        await assert_no_pending_events(conn)

        hub.heartbeat_v1("newcomer", T0, active_issue_id=9)
        await rescan(server)
        assert strip_seq(await next_events(conn, 2)) == [
            {"type": "heartbeat", "agent_id": "newcomer", "timestamp": "2026-03-10T03:15:00Z", "active_issue_id": 9},
            {"type": "agent_status", "agent_id": "newcomer", "status": "active"},
        ]
        # a newer heartbeat of an active agent: a heartbeat event, no status change
        hub.heartbeat_v2("old-timer", T0)
        await rescan(server)
        assert strip_seq(await next_events(conn, 1)) == [
            {"type": "heartbeat", "agent_id": "old-timer", "timestamp": "2026-03-10T03:15:00Z", "active_issue_id": None},
        ]
        await rescan(server)  # nothing changed: nothing sent
        await assert_no_pending_events(conn)
    finally:
        await ws.__aexit__(None, None, None)


async def test_time_alone_makes_an_agent_idle_then_stale(app_factory, clock):
    server = await app_factory(plugins="agents", clock=clock)
    ws, conn = await open_ws(server.client, channels=["agents"])
    try:
        response = await server.client.post("/api/v1/agents/w-1/heartbeat", json={"active_issue_id": 4})
        assert response.status_code == 200
        assert strip_seq(await next_events(conn, 2)) == [
            {"type": "heartbeat", "agent_id": "w-1", "timestamp": "2026-03-10T03:15:00Z", "active_issue_id": 4},
            {"type": "agent_status", "agent_id": "w-1", "status": "active"},
        ]
        clock.advance(seconds=299)
        await rescan(server)
        await assert_no_pending_events(conn)
        clock.advance(seconds=1)
        await rescan(server)
        assert strip_seq(await next_events(conn, 1)) == [{"type": "agent_status", "agent_id": "w-1", "status": "idle"}]
        clock.advance(minutes=24, seconds=59)
        await rescan(server)
        await assert_no_pending_events(conn)
        clock.advance(seconds=1)
        await rescan(server)
        assert strip_seq(await next_events(conn, 1)) == [{"type": "agent_status", "agent_id": "w-1", "status": "stale"}]
        # a fresh heartbeat brings it back
        await server.client.post("/api/v1/agents/w-1/heartbeat", json={})
        events = strip_seq(await next_events(conn, 2))
        assert events[0]["type"] == "heartbeat" and events[0]["timestamp"] == "2026-03-10T03:45:00Z"
        assert events[1] == {"type": "agent_status", "agent_id": "w-1", "status": "active"}
    finally:
        await ws.__aexit__(None, None, None)


async def test_vanished_heartbeat_makes_the_agent_unknown(app_factory, hub, clock):
    hub.heartbeat_v1("leaver", T0)
    server = await app_factory(plugins="agents", clock=clock)
    ws, conn = await open_ws(server.client, channels=["agents"])
    try:
        hub.remove("heartbeats/leaver.json")
        hub.commit("remove leaver")
        await rescan(server)
        assert strip_seq(await next_events(conn, 1)) == [{"type": "agent_status", "agent_id": "leaver", "status": "unknown"}]
    finally:
        await ws.__aexit__(None, None, None)


async def test_hub_changes_arrive_through_filesystem_notifications(app_factory, repo, hub, clock):
    write_server_toml(repo, NO_POLLING)
    server = await app_factory(plugins="agents", clock=clock)
    ws, conn = await open_ws(server.client, channels=["agents"])
    try:
        hub.heartbeat_v1("notified", T0, active_issue_id=5)  # no rescan: the watcher must notice
        message = await receive_until(conn, "heartbeat", timeout=20)
        assert message["agent_id"] == "notified" and message["active_issue_id"] == 5
        status = await receive_until(conn, "agent_status", timeout=20)
        assert status["status"] == "active"
    finally:
        await ws.__aexit__(None, None, None)


async def test_status_change_by_time_needs_no_trigger(app_factory, repo, hub):
    """The watcher sleeps until the next computed status boundary (from the clock), then
    announces it by itself: here the boundary is a fraction of a second away."""
    write_server_toml(repo, NO_POLLING)
    clock = Clock()  # the real time: the boundary must pass on its own
    hub.heartbeat_v1("about-to-idle", utcnow() - timedelta(minutes=5) + timedelta(seconds=1.5))
    server = await app_factory(plugins="agents", clock=clock)
    ws, conn = await open_ws(server.client, channels=["agents"])
    try:
        message = await receive_until(conn, "agent_status", timeout=20)
        assert message == {**message, "agent_id": "about-to-idle", "status": "idle"}
    finally:
        await ws.__aexit__(None, None, None)


class EventRecorder:
    """A tiny plugin that records every event the server publishes."""

    def __init__(self) -> None:
        self.events: list[dict] = []

    @hookimpl
    def crosslink_on_event(self, kernel, event):
        self.events.append(event.wire())


async def test_watcher_runs_with_no_client_connected(app_factory, repo, hub, clock):
    """The original server's watcher stopped for good when no WebSocket client was connected."""
    write_server_toml(repo, NO_POLLING)
    recorder = EventRecorder()
    server = await app_factory(plugins="agents,recorder", extra_plugins={"recorder": recorder}, clock=clock)
    assert server.kernel.broadcaster.client_count == 0
    await asyncio.sleep(0.3)  # let the watcher pass a few wake-ups with nobody listening
    hub.heartbeat_v1("lonely", T0)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20
    while not any(e["type"] == "heartbeat" for e in recorder.events) and loop.time() < deadline:
        await asyncio.sleep(0.05)
    assert {"type": "heartbeat", "agent_id": "lonely", "timestamp": "2026-03-10T03:15:00Z",
            "active_issue_id": None} in recorder.events


async def test_a_hub_created_after_startup_is_watched(app_factory, repo, clock):
    """``crosslink sync`` may create the checkout while the server runs."""
    write_server_toml(repo, NO_POLLING)
    server = await app_factory(plugins="agents", clock=clock)
    ws, conn = await open_ws(server.client, channels=["agents"])
    try:
        hub = Hub(repo)
        hub.heartbeat_v2("late-comer", T0)
        message = await receive_until(conn, "heartbeat", timeout=20)
        assert message["agent_id"] == "late-comer"
    finally:
        await ws.__aexit__(None, None, None)


async def test_a_burst_of_heartbeats_announces_each_agent_once(app_factory, clock):
    server = await app_factory(plugins="agents", clock=clock)
    ws, conn = await open_ws(server.client, channels=["agents"])
    try:
        agents = [f"burst-{n}" for n in range(40)]
        responses = await asyncio.gather(
            *(server.client.post(f"/api/v1/agents/{a}/heartbeat", json={}) for a in agents)
        )
        assert {r.status_code for r in responses} == {200}
        events = strip_seq(await next_events(conn, 2 * len(agents)))
        await assert_no_pending_events(conn)
        assert sorted(e["agent_id"] for e in events if e["type"] == "heartbeat") == sorted(agents)
        assert sorted(e["agent_id"] for e in events if e["type"] == "agent_status") == sorted(agents)
    finally:
        await ws.__aexit__(None, None, None)
