"""The durable event log: event ids on the wire, the same log over HTTP with long-polling,
resume after a reconnect, gaps past the retention, and a client flooding the socket."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from tests.fixtures.plugins import notes
from tests.support import BACKENDS, RawWebSocket, open_ws, receive_json, receive_until

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


@pytest.fixture
async def server(with_testdist, app_factory):
    from crosslink_testplugins import burst

    return await app_factory(plugins="notes,burst", extra_plugins={"notes": notes, "burst": burst})


async def add_note(client, body: str) -> None:
    assert (await client.post("/api/v1/notes", json={"body": body})).status_code == 201


async def test_every_event_carries_its_log_id_in_commit_order(server):
    ws, conn = await open_ws(server.client)
    try:
        for n in range(3):
            await add_note(server.client, f"n{n}")
        await server.client.post("/api/v1/burst", query_string={"count": 2})  # outside a transaction
        seen = [await receive_json(conn) for _ in range(5)]
    finally:
        await ws.__aexit__(None, None, None)
    ids = [message["event_id"] for message in seen]
    assert ids == sorted(ids) and len(set(ids)) == 5
    assert [m["type"] for m in seen] == ["note_added"] * 3 + ["burst"] * 2
    log = await (await server.client.get("/api/v1/events/log", query_string={"after": 0})).get_json()
    assert [item["event_id"] for item in log["items"]] == ids
    assert log["items"][0]["event"] == {"type": "note_added", "note_id": seen[0]["note_id"]}
    assert log["items"][0]["channel"] == "notes" and log["items"][0]["created_at"].endswith("Z")
    assert log["last_id"] == ids[-1] and log["gap"] is False


async def test_a_failed_transaction_logs_nothing(server):
    db = server.kernel.db
    with pytest.raises(RuntimeError):
        async with db.transaction():
            await db.insert("INSERT INTO server_test_notes (body) VALUES (?)", ("doomed",))
            server.kernel.publish(notes.NoteAdded(note_id=1))
            raise RuntimeError("changed my mind")
    log = await (await server.client.get("/api/v1/events/log", query_string={"after": 0})).get_json()
    assert log["items"] == []


async def test_the_http_log_pages_filters_and_long_polls(server):
    client = server.client
    for n in range(5):
        await add_note(client, f"n{n}")
    await client.post("/api/v1/burst", query_string={"count": 3})  # logged soon after, on its own
    for _ in range(100):
        if server.kernel.relay.last_id >= 8:
            break
        await asyncio.sleep(0.02)
    start = await (await client.get("/api/v1/events/log")).get_json()  # no cursor: the newest
    assert start["items"] == [] and start["last_id"] == 8
    page = await (await client.get("/api/v1/events/log", query_string={"after": 0, "limit": 2})).get_json()
    assert len(page["items"]) == 2
    rest = await (await client.get("/api/v1/events/log", query_string={"after": page["last_id"], "limit": 100})).get_json()
    assert len(page["items"]) + len(rest["items"]) == 8
    only_notes = await (await client.get(
        "/api/v1/events/log", query_string={"after": 0, "channels": "notes"})).get_json()
    assert [item["event"]["type"] for item in only_notes["items"]] == ["note_added"] * 5

    cursor = rest["last_id"]
    waiting = asyncio.ensure_future(client.get("/api/v1/events/log", query_string={"after": cursor, "wait": 10}))
    await asyncio.sleep(0.3)
    assert not waiting.done()  # long-polling: nothing new yet
    await add_note(client, "wake up")
    answer = await (await asyncio.wait_for(waiting, 10)).get_json()
    assert [item["event"]["type"] for item in answer["items"]] == ["note_added"]
    empty = await (await client.get("/api/v1/events/log", query_string={"after": answer["last_id"], "wait": 0.2})).get_json()
    assert empty["items"] == [] and empty["last_id"] == answer["last_id"]

    bad = await client.get("/api/v1/events/log", query_string={"after": -1})
    assert bad.status_code == 400 and (await bad.get_json())["error"] == "bad request"


async def test_resume_with_since_replays_exactly_the_missed_events_of_its_channels(server):
    client = server.client
    ws, conn = await open_ws(client)
    try:
        await add_note(client, "seen")
        last_seen = (await receive_json(conn))["event_id"]
    finally:
        await ws.__aexit__(None, None, None)
    for n in range(4):  # while the client is away
        await add_note(client, f"missed {n}")
        await client.post("/api/v1/burst", query_string={"count": 1})
    async with client.websocket(f"/ws?since={last_seen}&channels=notes") as conn:
        hello = await receive_json(conn)
        assert hello["type"] == "hello" and hello["subscribed"] == ["notes"]
        replayed = [await receive_json(conn) for _ in range(4)]
        assert [m["type"] for m in replayed] == ["note_added"] * 4
        assert all(m["event_id"] > last_seen for m in replayed)
        resumed = await receive_json(conn)
        assert resumed["type"] == "resumed" and resumed["replayed"] == 4 and resumed["since"] == last_seen
        await add_note(client, "live")
        live = await receive_json(conn)
        assert live["type"] == "note_added" and live["event_id"] > replayed[-1]["event_id"]
        seqs = [hello["seq"], *(m["seq"] for m in replayed), resumed["seq"], live["seq"]]
        assert seqs == list(range(1, 8))


async def test_resume_message_on_an_open_socket(server):
    client = server.client
    await add_note(client, "one")
    await add_note(client, "two")
    ws, conn = await open_ws(client, channels=["notes"])
    try:
        await conn.send(json.dumps({"type": "resume", "since": 0}))
        first, second = await receive_json(conn), await receive_json(conn)
        assert (first["type"], second["type"]) == ("note_added", "note_added")
        assert (await receive_json(conn))["type"] == "resumed"
        await conn.send(json.dumps({"type": "resume", "since": "soon"}))
        error = await receive_json(conn)
        assert error["type"] == "error" and "'since'" in error["detail"]
    finally:
        await ws.__aexit__(None, None, None)


async def test_an_id_past_the_retention_or_unknown_gets_a_gap(with_testdist, app_factory, repo):
    from crosslink_testplugins import burst

    (repo / ".crosslink").mkdir(exist_ok=True)
    (repo / ".crosslink" / "server.toml").write_text("[events]\nretention_count = 3\n")
    server = await app_factory(plugins="notes,burst", extra_plugins={"notes": notes, "burst": burst})
    for n in range(8):
        await add_note(server.client, f"n{n}")
    for _ in range(100):
        await asyncio.sleep(0.05)
        server.kernel.workers.wake("kernel-event-prune")
        if await server.kernel.event_log.pruned_through() >= 5:
            break
    pruned = await server.kernel.event_log.pruned_through()
    assert pruned >= 5
    async with server.client.websocket("/ws?since=1") as conn:
        await receive_json(conn)  # hello
        gap = await receive_json(conn)
        assert gap["type"] == "gap" and gap["reason"] == "expired" and gap["oldest_event_id"] == pruned + 1
        await add_note(server.client, "after the gap")
        assert (await receive_json(conn))["type"] == "note_added"  # live events carry on
    async with server.client.websocket("/ws?since=999999") as conn:
        await receive_json(conn)
        assert (await receive_json(conn))["reason"] == "unknown"
    http = await (await server.client.get("/api/v1/events/log", query_string={"after": 1})).get_json()
    assert http["gap"] is True and http["items"] == []
    fine = await (await server.client.get("/api/v1/events/log", query_string={"after": pruned})).get_json()
    assert fine["gap"] is False and len(fine["items"]) >= 3


@pytest.mark.slow
async def test_a_client_flooding_without_reading_is_cut_off_and_memory_stays_bounded(
    testdist_path, live_server_factory
):
    live = live_server_factory(
        "--plugins", "burst", env={"PYTHONPATH": str(testdist_path), "CROSSLINK_DISABLE_PLUGIN_AUTOLOAD": "0"}
    )

    def rss_kib() -> int:
        status = open(f"/proc/{live.process.pid}/status").read()
        return int(next(line for line in status.splitlines() if line.startswith("VmRSS")).split()[1])

    before = rss_kib()
    flooder = await RawWebSocket.connect(live.ws_url)
    junk = json.dumps({"type": "x" * 30_000})  # a big unknown type: the reply must not echo it
    for _ in range(500):
        flooder.send_text(junk)
    for _ in range(60_000):  # far more replies than the socket buffers hold
        flooder.send_text("[]")
    try:
        await asyncio.wait_for(flooder.writer.drain(), 30)
    except (TimeoutError, ConnectionError):
        pass  # the server stopped reading or closed the socket: both are the point
    peak = rss_kib()
    closed_with = None
    replies = 0
    try:
        while True:
            text = await asyncio.wait_for(flooder.recv(), 10)
            replies += 1
            assert len(text) < 300  # no reply echoes the 30 kB input
    except ConnectionError as exc:
        closed_with = str(exc)
    except TimeoutError:
        pass
    flooder.close()
    assert closed_with is not None and "1008" in closed_with, (closed_with, replies)
    assert peak - before < 100 * 1024, f"RSS grew by {(peak - before) // 1024} MiB"
    # and the server still serves
    assert httpx.get(f"{live.url}/api/v1/health", timeout=10).status_code == 200


async def test_replay_then_live_without_duplicates_under_concurrent_writes(server):
    client = server.client
    await add_note(client, "first")
    writer_done = asyncio.Event()

    async def keep_writing() -> None:
        for n in range(30):
            await add_note(client, f"w{n}")
        writer_done.set()

    task = asyncio.ensure_future(keep_writing())
    async with client.websocket("/ws?since=0&channels=notes") as conn:
        await receive_json(conn)
        ids = []
        await asyncio.wait_for(task, 30)
        while len(ids) < 31:
            message = await receive_json(conn, timeout=5)
            if message["type"] == "note_added":
                ids.append(message["event_id"])
    assert ids == sorted(ids) and len(set(ids)) == 31


async def test_subscribe_with_unknown_channels_keeps_the_known_ones(server):
    ws, conn = await open_ws(server.client)
    try:
        await conn.send(json.dumps({"type": "subscribe", "channels": ["notes", "execution"]}))
        ack = await receive_until(conn, "subscribed")
        assert ack["channels"] == ["notes"] and ack["unknown"] == ["execution"]
        await add_note(server.client, "still here")
        assert (await receive_json(conn))["type"] == "note_added"
    finally:
        await ws.__aexit__(None, None, None)
