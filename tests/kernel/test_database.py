"""The database API plugins use (kernel.db): both dialects, point reads, SQL functions, counts."""

from __future__ import annotations

import sqlite3

import pytest

from tests.fixtures.plugins import notes

pytestmark = pytest.mark.parametrize("backend", ["sqlite", "postgres"], indirect=True)


@pytest.fixture
async def db(app_factory):
    server = await app_factory(plugins="notes", extra_plugins={"notes": notes})
    return server.kernel.db


async def test_placeholders_and_rows_work_on_both_dialects(db):
    new_id = await db.insert("INSERT INTO server_test_notes (body) VALUES (?)", ("one",))
    assert await db.fetch_one("SELECT id, body FROM server_test_notes WHERE id = ?", (new_id,)) == {
        "id": new_id, "body": "one"
    }
    assert await db.execute("UPDATE server_test_notes SET body = ? WHERE id = ?", ("two", new_id)) == 1
    assert await db.execute("UPDATE server_test_notes SET body = ? WHERE id = ?", ("x", new_id + 100)) == 0
    assert await db.fetch_value("SELECT body FROM server_test_notes WHERE id = ?", (new_id,)) == "two"


async def test_changed_row_counts_leave_out_trigger_writes(db):
    if db.dialect == "sqlite":
        await db.execute("CREATE TABLE server_test_audit (note_id INTEGER)")
        await db.execute(
            "CREATE TRIGGER server_test_audit_t AFTER UPDATE ON server_test_notes "
            "BEGIN INSERT INTO server_test_audit VALUES (new.id); INSERT INTO server_test_audit VALUES (new.id); END"
        )
    new_id = await db.insert("INSERT INTO server_test_notes (body) VALUES (?)", ("a",))
    assert await db.execute("UPDATE server_test_notes SET body = 'b' WHERE id = ?", (new_id,)) == 1


async def test_point_reads_see_commits_and_their_own_transaction(db):
    new_id = await db.insert("INSERT INTO server_test_notes (body) VALUES (?)", ("committed",))
    assert await db.fetch_point("SELECT body FROM server_test_notes WHERE id = ?", (new_id,)) == {"body": "committed"}
    assert await db.fetch_point("SELECT body FROM server_test_notes WHERE id = ?", (-5,)) is None
    async with db.transaction():
        await db.execute("UPDATE server_test_notes SET body = 'pending' WHERE id = ?", (new_id,))
        row = await db.fetch_point("SELECT body FROM server_test_notes WHERE id = ?", (new_id,))
        assert row == {"body": "pending"}  # the transaction's own write


async def test_sql_functions_are_callable_from_queries_and_point_reads(db):
    if db.dialect != "sqlite":
        assert await db.register_sqlite_function("server_test_rev", 1, lambda t: t[::-1]) is None
        return
    await db.register_sqlite_function("server_test_rev", 1, lambda text: text[::-1])
    new_id = await db.insert("INSERT INTO server_test_notes (body) VALUES (?)", ("abc",))
    assert await db.fetch_value("SELECT server_test_rev(body) FROM server_test_notes WHERE id = ?", (new_id,)) == "cba"
    assert await db.fetch_point("SELECT server_test_rev(body) AS r FROM server_test_notes WHERE id = ?", (new_id,)) == {"r": "cba"}


async def test_serialise_orders_transactions_on_one_key(db):
    import asyncio

    order = []

    async def writer(name: str, hold: float):
        async with db.transaction():
            await db.serialise("test.namespace", "key")
            order.append(f"{name}-in")
            await asyncio.sleep(hold)
            order.append(f"{name}-out")

    await asyncio.gather(writer("a", 0.05), writer("b", 0))
    assert order in (["a-in", "a-out", "b-in", "b-out"], ["b-in", "b-out", "a-in", "a-out"])


async def test_data_version_changes_on_every_commit(db, repo):
    if db.dialect != "sqlite":
        return  # PostgreSQL follows the event log: the next test
    first = db.data_version()
    assert first == db.data_version()  # nothing committed
    await db.insert("INSERT INTO server_test_notes (body) VALUES (?)", ("own write",))
    second = db.data_version()
    assert second != first
    async with db.transaction():
        await db.execute("UPDATE server_test_notes SET body = 'x'")
    third = db.data_version()
    assert third != second
    conn = sqlite3.connect(repo / ".crosslink" / "issues.db")  # another process's write
    conn.execute("INSERT INTO server_test_notes (body) VALUES ('cli')")
    conn.commit()
    conn.close()
    assert db.data_version() != third


async def test_postgres_data_version_moves_with_each_change_a_server_commits(app_factory, backend):
    """On PostgreSQL only servers write, and every change carries its events: the version is the
    newest event delivered, so it has moved by the time the change's response arrives."""
    if backend != "postgres":
        return
    server = await app_factory(plugins="notes", extra_plugins={"notes": notes})
    db = server.kernel.db
    first = db.data_version()
    assert first is not None and first == db.data_version()
    response = await server.client.post("/api/v1/notes", json={"body": "one"})
    assert response.status_code == 201
    second = db.data_version()
    assert second is not None and second > first
    response = await server.client.post("/api/v1/notes", json={"body": "two", "count": 2})
    assert db.data_version() > second


async def test_the_sqlite_log_is_checkpointed_by_a_worker_not_inside_commits(app_factory, backend):
    """On SQLite no commit copies the write-ahead log into the file (that would stall the
    request whose commit it is): the kernel's checkpoint worker does, every second."""
    import asyncio

    server = await app_factory(plugins="notes", extra_plugins={"notes": notes})
    workers = {w["name"]: w for w in await (await server.client.get("/api/v1/workers")).get_json()}
    if backend != "sqlite":
        assert "kernel-wal-checkpoint" not in workers
        return
    assert workers["kernel-wal-checkpoint"]["plugin"] == "kernel"
    worker = server.kernel.workers.get("kernel-wal-checkpoint")
    for _ in range(100):
        if worker["runs"] >= 1:
            break
        await asyncio.sleep(0.05)
    assert await server.kernel.db.fetch_value("PRAGMA wal_autocheckpoint") == 0
    for n in range(20):
        assert (await server.client.post("/api/v1/notes", json={"body": f"note {n}" * 20})).status_code == 201
    server.kernel.workers.wake("kernel-wal-checkpoint")
    for _ in range(100):
        note = server.kernel.workers.get("kernel-wal-checkpoint")["note"] or ""
        pages = note.split(" log page")[0].split(" of ")
        if len(pages) == 2 and pages[0] == pages[1] and int(pages[1]) > 0:
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError(f"the log was not checkpointed: {note!r}")


async def test_a_transaction_cancelled_while_it_commits_ends_committed_with_its_events(app_factory):
    """A client that disconnects just as its change commits: the commit runs to its end, and
    the change's events go out (a dashboard must not miss a change that is in the database)."""
    import asyncio

    from tests.support import open_ws, receive_until

    server = await app_factory(plugins="notes", extra_plugins={"notes": notes})
    db = server.kernel.db
    ws, connection = await open_ws(server.client, channels=["notes"])
    try:
        started: list[asyncio.Task] = []

        async def change() -> None:
            async with db.transaction():
                note_id = await db.insert("INSERT INTO server_test_notes (body) VALUES (?)", ("last words",))
                server.kernel.publish(notes.NoteAdded(note_id=note_id))
                asyncio.get_running_loop().call_soon(started[0].cancel)  # lands while committing

        started.append(asyncio.ensure_future(change()))
        with pytest.raises(asyncio.CancelledError):
            await started[0]
        assert await db.fetch_value("SELECT count(*) FROM server_test_notes WHERE body = 'last words'") == 1
        event = await receive_until(connection, "note_added")
        assert event["note_id"] > 0

        async def abandoned() -> None:  # cancelled before the commit: nothing written, no event
            async with db.transaction():
                note_id = await db.insert("INSERT INTO server_test_notes (body) VALUES (?)", ("never",))
                server.kernel.publish(notes.NoteAdded(note_id=note_id))
                await asyncio.sleep(10)

        task = asyncio.ensure_future(abandoned())
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await db.fetch_value("SELECT count(*) FROM server_test_notes WHERE body = 'never'") == 0
        with pytest.raises(asyncio.TimeoutError):
            await receive_until(connection, "note_added", timeout=0.5)
        async with db.transaction():  # the connection is free again
            await db.insert("INSERT INTO server_test_notes (body) VALUES (?)", ("after",))
    finally:
        await ws.__aexit__(None, None, None)
