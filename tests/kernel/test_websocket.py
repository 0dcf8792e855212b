"""The /ws protocol: hello, all channels until subscribe, subscribe replaces the set, seq,
malformed messages answered with errors on an open socket, events only after commit, and a slow
client that never delays the others (it gets a gap message instead)."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import websockets

from tests.fixtures.plugins import notes
from tests.support import RawWebSocket, open_ws, receive_json


@pytest.fixture
async def two_channel_server(with_testdist, app_factory):
    from crosslink_testplugins import burst

    return await app_factory(plugins="notes,burst", extra_plugins={"notes": notes, "burst": burst})


async def closing(ws):
    await ws.__aexit__(None, None, None)


async def test_hello_lists_the_live_channels(two_channel_server):
    async with two_channel_server.client.websocket("/ws") as ws:
        hello = await receive_json(ws)
    assert hello == {"seq": 1, "type": "hello", "channels": ["burst", "notes"], "last_event_id": 0}


async def test_every_channel_until_subscribe_then_only_the_subscribed(two_channel_server):
    client = two_channel_server.client
    ws, conn = await open_ws(client)
    try:
        await client.post("/api/v1/burst", query_string={"count": 1})
        await client.post("/api/v1/notes", json={"body": "a"})
        first, second = await receive_json(conn), await receive_json(conn)
        assert (first["type"], second["type"]) == ("burst", "note_added")

        await conn.send(json.dumps({"type": "subscribe", "channels": ["notes"]}))
        assert await receive_json(conn) == {"seq": 4, "type": "subscribed", "channels": ["notes"], "unknown": []}
        await client.post("/api/v1/burst", query_string={"count": 3})
        await client.post("/api/v1/notes", json={"body": "b"})
        event = await receive_json(conn)
        assert event["type"] == "note_added" and event["seq"] == 5  # the bursts were filtered out

        await conn.send(json.dumps({"type": "subscribe", "channels": ["burst"]}))  # replaces
        assert (await receive_json(conn))["channels"] == ["burst"]
        await client.post("/api/v1/notes", json={"body": "c"})
        await client.post("/api/v1/burst", query_string={"count": 1})
        assert (await receive_json(conn))["type"] == "burst"
    finally:
        await closing(ws)


async def test_empty_subscription_mutes(two_channel_server):
    client = two_channel_server.client
    ws, conn = await open_ws(client, channels=[])
    try:
        await client.post("/api/v1/notes", json={"body": "a"})
        await conn.send(json.dumps({"type": "ping"}))
        assert (await receive_json(conn))["type"] == "pong"  # nothing arrived before the pong
    finally:
        await closing(ws)


@pytest.mark.parametrize(
    ("message", "detail"),
    [
        ("not json", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('{"type": "dance"}', "unknown message type 'dance'"),
        ('{"type": "subscribe"}', "'channels' must be a list"),
        ('{"type": "subscribe", "channels": "notes"}', "'channels' must be a list"),
    ],
)
async def test_malformed_messages_get_an_error_and_the_socket_stays_open(two_channel_server, message, detail):
    client = two_channel_server.client
    ws, conn = await open_ws(client, channels=["notes"])
    try:
        await conn.send(message)
        reply = await receive_json(conn)
        assert reply["type"] == "error" and detail in reply["detail"]
        await client.post("/api/v1/notes", json={"body": "still here"})
        assert (await receive_json(conn))["type"] == "note_added"  # old subscription kept
    finally:
        await closing(ws)


async def test_events_go_out_after_commit_and_never_for_a_rolled_back_transaction(two_channel_server):
    client = two_channel_server.client
    ws, conn = await open_ws(client, channels=["notes"])
    try:
        failed = await client.post("/api/v1/notes/failing")
        assert failed.status_code == 404
        created = await client.post("/api/v1/notes", json={"body": "batch", "count": 3})
        last_id = (await created.get_json())["id"]
        ids = [(await receive_json(conn))["note_id"] for _ in range(3)]
        assert ids == [last_id - 2, last_id - 1, last_id]
        for note_id in ids:  # each event refers to a committed row
            assert (await client.get(f"/api/v1/notes/{note_id}")).status_code == 200
        await conn.send(json.dumps({"type": "ping"}))
        assert (await receive_json(conn))["type"] == "pong"  # the failed note never arrived
    finally:
        await closing(ws)
    assert await (await client.get("/api/v1/notes/count")).get_json() == {"count": 3}


async def test_events_endpoint_describes_registered_events(two_channel_server):
    events = await (await two_channel_server.client.get("/api/v1/events")).get_json()
    by_type = {e["type"]: e for e in events}
    assert by_type["note_added"]["channel"] == "notes"
    assert by_type["note_added"]["plugin"] == "notes"
    assert "note_id" in by_type["note_added"]["schema"]["properties"]


@pytest.mark.slow
async def test_a_slow_client_does_not_delay_others_and_gets_a_gap(testdist_path, live_server_factory):
    live = live_server_factory(
        "--plugins", "burst", env={"PYTHONPATH": str(testdist_path), "CROSSLINK_DISABLE_PLUGIN_AUTOLOAD": "0"}
    )
    total, size = 5000, 4096  # 20 MB: more than the kernel's socket buffers can absorb
    slow = await RawWebSocket.connect(live.ws_url, receive_buffer=16384)  # connected, never reading
    fast = await websockets.connect(live.ws_url, max_queue=None)
    try:
        assert json.loads(await slow.recv())["type"] == "hello"
        assert json.loads(await fast.recv())["type"] == "hello"

        async def read_fast() -> list[dict]:
            messages: list[dict] = []
            while len(messages) < total:
                messages.append(json.loads(await fast.recv()))
                assert messages[-1]["type"] == "burst", messages[-1]  # a gap: the fast client was held up
            return messages

        reader = asyncio.create_task(read_fast())
        async with httpx.AsyncClient(base_url=live.url, timeout=60) as http:
            # a steady stream of 4 MB/s: 10 events, then the event loop is free for 10 ms (the
            # fast client keeps up even on a loaded machine; the slow one still overflows)
            response = await http.post(
                "/api/v1/burst", params={"count": total, "chunk": 10, "pause_ms": 10, "size": size}
            )
            assert response.json() == {"published": total}
        fast_messages = await asyncio.wait_for(reader, 60)
        # the fast client got everything, in order, with consecutive seq and no gap
        assert [m.get("n") for m in fast_messages] == list(range(total))
        assert [m["seq"] for m in fast_messages] == list(range(2, total + 2))

        # the slow client, reading only now, lost events and was told so where they were lost
        received, dropped, gaps = [], 0, 0
        while len(received) + dropped < total:
            message = json.loads(await asyncio.wait_for(slow.recv(), 10))
            if message["type"] == "gap":
                gaps += 1
                dropped += message["dropped"]
            else:
                received.append(message["n"])
        assert gaps >= 1 and dropped > 0
        assert received == sorted(received) and len(set(received)) == len(received)
        assert len(received) + dropped == total
    finally:
        slow.close()
        await fast.close()
