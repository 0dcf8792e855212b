"""``session_changed`` on the ``sessions`` channel: one event per change, after the commit, none
for requests that change nothing or fail."""

from __future__ import annotations

import pytest

from tests.support import BACKENDS, open_ws, receive_json

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)

EVENT_KEYS = {"type", "seq", "event_id", "session_id", "agent_id", "action", "active_issue_id"}


@pytest.fixture
async def watch(api):
    """``await watch.until_sentinel()`` gives every session event up to a marker breadcrumb."""
    ws, conn = await open_ws(api.client, channels=["sessions"])
    sentinel = await api.start("sentinel")
    first = await receive_json(conn)
    assert (first["session_id"], first["action"]) == (sentinel["id"], "started")

    class Watcher:
        async def until_sentinel(self) -> list[tuple]:
            await api.action("marker", "sentinel")
            seen = []
            while True:
                message = await receive_json(conn)
                assert message["type"] == "session_changed" and set(message) == EVENT_KEYS, message
                if (message["agent_id"], message["action"]) == ("sentinel", "action"):
                    return seen
                seen.append((message["session_id"], message["agent_id"], message["action"], message["active_issue_id"]))

    yield Watcher()
    await ws.__aexit__(None, None, None)


async def test_the_sessions_channel_is_announced(api):
    ws = api.client.websocket("/ws")
    conn = await ws.__aenter__()
    try:
        hello = await receive_json(conn)
        assert "sessions" in hello["channels"] and "issues" in hello["channels"]
    finally:
        await ws.__aexit__(None, None, None)


async def test_start_work_action_end_each_emit_one_event(api, watch):
    issue = await api.issue()
    started = await api.start("w")
    sid = started["id"]
    await api.start("w")  # idempotent: nothing new
    await api.work(issue, "w")
    await api.action("breadcrumb", "w")
    await api.end("w", "notes")
    anonymous = await api.start(None)
    assert await watch.until_sentinel() == [
        (sid, "w", "started", None),
        (sid, "w", "work", issue),
        (sid, "w", "action", issue),
        (sid, "w", "ended", issue),
        (anonymous["id"], None, "started", None),
    ]


async def test_ending_several_open_sessions_emits_one_event_each(api, watch):
    for hour in ("01", "02"):
        await api.kernel.db.execute("INSERT INTO sessions (started_at, agent_id) VALUES (?, 'w')",
                                    [f"2026-03-10T{hour}:00:00.000000+00:00"])
    rows = await api.history("w")
    await api.end("w")
    assert await watch.until_sentinel() == [(s["id"], "w", "ended", None) for s in rows["items"]]


async def test_failed_requests_emit_nothing(api, watch):
    issue = await api.issue()
    await api.end("w", expect=404)
    await api.work(issue, "w", expect=409)
    await api.work(999, "w", expect=404)
    await api.action("x", "w", expect=409)
    await api.post("/sessions/start", {"agent_id": "bad id"}, expect=400)
    await api.start("w")
    await api.post("/sessions/end", {"agent_id": "w", "notes": 5}, expect=400)
    events = await watch.until_sentinel()
    assert [e[2] for e in events] == ["started"]


async def test_a_client_subscribed_elsewhere_gets_no_session_events(api):
    ws, conn = await open_ws(api.client, channels=["issues"])
    try:
        await api.start("w")
        issue = await api.issue()
        message = await receive_json(conn)
        assert (message["type"], message["issue_id"]) == ("issue_updated", issue)
    finally:
        await ws.__aexit__(None, None, None)
