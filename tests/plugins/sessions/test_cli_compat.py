"""Sessions the crosslink CLI wrote are served and ended through the API, and what the server
writes is what the CLI reads (checked with plain sqlite3 and the CLI's own queries). SQLite only:
the CLI's database is a SQLite file."""

from __future__ import annotations

import re
import sqlite3
import uuid
from pathlib import Path

import pytest

from kernel.storage.cli_schema import INDEXES, SQLITE_TABLES

from .conftest import CLI_TIME, Api, assert_session

T0 = "2026-03-10T03:15:00.123456+00:00"
T1 = "2026-03-10T03:45:10.5+00:00"
#: chrono's ``to_rfc3339()`` writes nanoseconds.
T2 = "2026-03-10T04:00:00.123456789+00:00"
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")

#: The CLI's queries (crosslink/src/db/sessions.rs), verbatim but for the placeholders.
CLI_CURRENT_FOR_AGENT = (
    "SELECT id, started_at, ended_at, active_issue_id, handoff_notes, last_action, agent_id FROM sessions "
    "WHERE ended_at IS NULL AND agent_id = ? ORDER BY id DESC LIMIT 1"
)
CLI_LAST_ENDED = (
    "SELECT id, started_at, ended_at, active_issue_id, handoff_notes, last_action, agent_id FROM sessions "
    "WHERE ended_at IS NOT NULL ORDER BY id DESC LIMIT 1"
)
CLI_CURRENT_ANY = (
    "SELECT id, started_at, ended_at, active_issue_id, handoff_notes, last_action, agent_id FROM sessions "
    "WHERE ended_at IS NULL ORDER BY id DESC LIMIT 1"
)


def cli_connect(path: Path) -> sqlite3.Connection:
    """A connection like the CLI's: foreign keys on, autocommit, rows by name."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA foreign_keys = ON")
    db.row_factory = sqlite3.Row
    return db


@pytest.fixture
def cli_db(repo: Path) -> Path:
    """The CLI's schema v15, an issue, and sessions as the CLI fills the table."""
    path = repo / ".crosslink" / "issues.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    db = cli_connect(path)
    for statement in [*SQLITE_TABLES, *INDEXES]:
        db.execute(statement)
    db.execute("PRAGMA user_version = 15")
    db.execute(
        "INSERT INTO issues (id, title, status, priority, created_at, updated_at, uuid) "
        "VALUES (1, 'Fix auth timeout', 'open', 'high', ?, ?, ?)",
        (T0, T0, str(uuid.uuid4())),
    )
    db.execute(  # 1: worker-1's previous, ended session with handoff notes
        "INSERT INTO sessions (started_at, ended_at, active_issue_id, handoff_notes, last_action, agent_id) "
        "VALUES (?, ?, 1, 'Pool size is the culprit; try 20', 'profiling', 'worker-1')",
        (T0, T1),
    )
    db.execute(  # 2: worker-1's open session, nanosecond timestamp
        "INSERT INTO sessions (started_at, active_issue_id, last_action, agent_id) "
        "VALUES (?, 1, 'Implementing auth fix', 'worker-1')",
        (T2,),
    )
    db.execute(  # 3: a session of the CLI used without an agent identity
        "INSERT INTO sessions (started_at, agent_id) VALUES (?, NULL)", (T0,)
    )
    db.close()
    return path


@pytest.fixture
async def api(cli_db, app_factory) -> Api:
    return Api(await app_factory(plugins="issues,sessions"))


async def test_cli_sessions_are_read_in_api_form(api):
    current = await api.current("worker-1")
    assert_session(current, id=2, started_at="2026-03-10T04:00:00.123456Z", ended_at=None, active_issue_id=1,
                   handoff_notes=None, last_action="Implementing auth fix", agent_id="worker-1")
    anonymous = await api.current()
    assert_session(anonymous, id=3, started_at="2026-03-10T03:15:00.123456Z", agent_id=None, active_issue_id=None)
    history = await api.history("worker-1")
    assert [s["id"] for s in history["items"]] == [2, 1]
    assert_session(history["items"][1], started_at="2026-03-10T03:15:00.123456Z", ended_at="2026-03-10T03:45:10.500000Z",
                   handoff_notes="Pool size is the culprit; try 20")
    # start is idempotent over the CLI's open session and hands over the CLI's notes
    code, started = await api.post("/sessions/start", {"agent_id": "worker-1"})
    assert code == 200 and started["id"] == 2
    assert started["previous_handoff_notes"] == "Pool size is the culprit; try 20"


async def test_cli_sessions_are_ended_through_the_api_and_read_back_by_the_cli(api, cli_db):
    api.kernel.clock.advance(days=400)  # well after the CLI's rows, whatever today is
    # the no-agent session first: it must not touch worker-1's
    _, body = await api.end(None, "Handoff for whoever runs without an identity")
    assert body["session"]["id"] == 3
    assert (await api.current("worker-1"))["id"] == 2
    _, body = await api.end("worker-1")  # no notes: whatever the row had stays
    assert body["session"]["id"] == 2

    db = cli_connect(cli_db)
    try:
        rows = {row["id"]: dict(row) for row in db.execute("SELECT * FROM sessions")}
        assert rows[3]["handoff_notes"] == "Handoff for whoever runs without an identity"
        assert rows[3]["agent_id"] is None and rows[3]["started_at"] == T0
        assert rows[2]["handoff_notes"] is None and rows[2]["started_at"] == T2
        assert rows[2]["last_action"] == "Implementing auth fix" and rows[2]["active_issue_id"] == 1
        for row in (rows[2], rows[3]):
            assert CLI_TIME.match(row["ended_at"]) and RFC3339.match(row["ended_at"]), row
            assert row["ended_at"] > T2
        assert rows[1]["ended_at"] == T1  # untouched
        # what `crosslink session status` / `last-handoff` would now see
        assert db.execute(CLI_CURRENT_FOR_AGENT, ("worker-1",)).fetchone() is None
        assert db.execute(CLI_CURRENT_ANY).fetchone() is None
        assert db.execute(CLI_LAST_ENDED).fetchone()["id"] == 3
        # the table is as the CLI made it, and the schema version is the CLI's
        columns = [c["name"] for c in db.execute("PRAGMA table_info(sessions)")]
        assert columns == ["id", "started_at", "ended_at", "active_issue_id", "handoff_notes", "last_action", "agent_id"]
        assert db.execute("PRAGMA user_version").fetchone()[0] == 15
    finally:
        db.close()


async def test_server_started_sessions_are_what_the_cli_reads(api, cli_db):
    started = await api.start("worker-2", expect=201)
    await api.work(1, "worker-2")
    await api.action("Writing the fix", "worker-2")
    db = cli_connect(cli_db)
    try:
        row = dict(db.execute(CLI_CURRENT_FOR_AGENT, ("worker-2",)).fetchone())
        assert row["id"] == started["id"]
        assert (row["active_issue_id"], row["last_action"], row["ended_at"]) == (1, "Writing the fix", None)
        assert CLI_TIME.match(row["started_at"]) and RFC3339.match(row["started_at"])
    finally:
        db.close()


async def test_the_cli_writing_while_the_server_runs(api, cli_db):
    """The CLI starts, steers and ends sessions in the same file while the server serves it."""
    db = cli_connect(cli_db)
    try:
        db.execute("INSERT INTO sessions (started_at, agent_id) VALUES (?, 'worker-3')", (T2,))
        cli_session = db.execute("SELECT max(id) FROM sessions").fetchone()[0]
        assert (await api.current("worker-3"))["id"] == cli_session
        assert (await api.start("worker-3", expect=200))["id"] == cli_session
        await api.work(1, "worker-3", action="Reviewing")
        db.execute("UPDATE sessions SET last_action = 'cli breadcrumb' WHERE id = ?", (cli_session,))
        assert (await api.current("worker-3"))["last_action"] == "cli breadcrumb"
        await api.end("worker-3", "done via API")
        row = db.execute("SELECT ended_at, handoff_notes, active_issue_id FROM sessions WHERE id = ?",
                         (cli_session,)).fetchone()
        assert (row["handoff_notes"], row["active_issue_id"]) == ("done via API", 1)
        assert CLI_TIME.match(row["ended_at"])
        # the CLI deleting the issue: its foreign key clears every session's reference
        db.execute("DELETE FROM issues WHERE id = 1")
        assert (await api.history("worker-1"))["items"][0]["active_issue_id"] is None
        assert [s["active_issue_id"] for s in (await api.history("worker-3"))["items"]] == [None]
    finally:
        db.close()
