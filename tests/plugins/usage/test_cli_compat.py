"""The CLI's ``token_usage`` rows are read and summed by the server, and what the server writes is
what the CLI reads (plain ``sqlite3`` on the file, the CLI's pragmas, queries like the original
server's). SQLite only: the CLI's database is a SQLite file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from kernel.storage.cli_schema import INDEXES, SQLITE_TABLES

from .conftest import CLI_TIME, Api, write_server_toml

#: As the CLI writes timestamps: microseconds, milliseconds, chrono's nanoseconds, whole seconds.
CLI_ROWS = [
    ("worker-1", 1, "2026-03-09T22:15:00.123456+00:00", 1000, 200, 50, None, "claude-sonnet-4-5", 0.0123),
    ("worker-1", 1, "2026-03-10T01:00:00.5+00:00", 3000, 100, None, None, "claude-sonnet-4-5", None),
    ("worker-2", None, "2026-03-10T02:30:00.123456789+00:00", 10, 20, 0, 0, "unknown", None),
    ("worker-2", None, "2026-03-10T02:59:59+00:00", 40, 2, None, 7, "gpt-4o", 0.5),
]

#: What a reader on the CLI's side runs (the listing and the grouping of the original ``/usage``
#: routes, in plain SQL): it sees the server's rows as its own.
CLI_LIST = (
    "SELECT id, agent_id, session_id, timestamp, input_tokens, output_tokens, cache_read_tokens, "
    "cache_creation_tokens, model, cost_estimate FROM token_usage WHERE agent_id = ? ORDER BY timestamp DESC"
)
CLI_SUMMARY = (
    "SELECT agent_id, model, COUNT(*) AS request_count, SUM(input_tokens), SUM(output_tokens), "
    "COALESCE(SUM(cache_read_tokens), 0), COALESCE(SUM(cache_creation_tokens), 0), "
    "COALESCE(SUM(cost_estimate), 0.0) AS total_cost FROM token_usage GROUP BY agent_id, model "
    "ORDER BY total_cost DESC"
)


def cli_connect(path: Path) -> sqlite3.Connection:
    """A connection like the CLI's: foreign keys on, autocommit, rows by name."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA foreign_keys = ON")
    db.execute("PRAGMA busy_timeout = 30000")
    db.row_factory = sqlite3.Row
    return db


def cli_insert(path: Path, *rows) -> None:
    db = cli_connect(path)
    try:
        db.executemany(
            "INSERT INTO token_usage (agent_id, session_id, timestamp, input_tokens, output_tokens, cache_read_tokens, "
            "cache_creation_tokens, model, cost_estimate) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    finally:
        db.close()


@pytest.fixture
def cli_db(repo: Path) -> Path:
    """The CLI's schema v15 with a session and token usage, before any server ran."""
    path = repo / ".crosslink" / "issues.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    db = cli_connect(path)
    for statement in [*SQLITE_TABLES, *INDEXES]:
        db.execute(statement)
    db.execute("PRAGMA user_version = 15")
    db.execute("INSERT INTO sessions (id, started_at, agent_id) VALUES (1, '2026-03-09T22:00:00+00:00', 'worker-1')")
    db.close()
    cli_insert(path, *CLI_ROWS)
    return path


@pytest.fixture
async def api(cli_db, repo, app_factory, clock) -> Api:
    write_server_toml(repo)
    return Api(await app_factory(plugins="usage", clock=clock))


async def test_the_clis_rows_are_listed_and_summed(api):
    body = await api.get("/usage")
    assert body["total"] == 4
    assert [(i["agent_id"], i["timestamp"]) for i in body["items"]] == [
        ("worker-2", "2026-03-10T02:59:59Z"),
        ("worker-2", "2026-03-10T02:30:00.123456Z"),
        ("worker-1", "2026-03-10T01:00:00.500000Z"),
        ("worker-1", "2026-03-09T22:15:00.123456Z"),
    ]
    unpriced = body["items"][1]
    assert (unpriced["cost_estimate"], unpriced["cost_source"], unpriced["cache_read_tokens"]) == (None, None, 0)
    priced_now = body["items"][2]
    assert (priced_now["cost_estimate"], priced_now["cost_source"]) == (pytest.approx(0.0105), "estimated")
    assert body["items"][3]["session_id"] == 1
    summary = await api.get("/usage/summary", group_by="day")
    assert [(i["day"], i["agent_id"], i["model"], i["request_count"]) for i in summary["items"]] == [
        ("2026-03-09", "worker-1", "claude-sonnet-4-5", 1),
        ("2026-03-10", "worker-2", "gpt-4o", 1),
        ("2026-03-10", "worker-1", "claude-sonnet-4-5", 1),
        ("2026-03-10", "worker-2", "unknown", 1),
    ]
    assert summary["total_cost"] == pytest.approx(0.0123 + 0.0105 + 0.5)
    assert (summary["unpriced_requests"], summary["estimated_requests"]) == (1, 1)
    # an hour's raw edge and whole hours together
    part = await api.get("/usage/summary", **{"from": "2026-03-10T02:30:00.123457Z", "to": "2026-03-10T05:00:00+02:00"})
    assert part["request_count"] == 1 and part["total_input_tokens"] == 40


async def test_what_the_server_writes_the_cli_reads(api, cli_db, clock):
    clock.advance(days=1, microseconds=654321)
    single = await api.record(agent_id="worker-3", input_tokens=700, output_tokens=80, session_id=1,
                              model="claude-sonnet-4-5", cache_read_tokens=1000)
    await api.batch([{"agent_id": "worker-3", "input_tokens": 5, "output_tokens": 6, "cost_estimate": 0.25},
                     {"agent_id": "worker-3", "input_tokens": 7, "output_tokens": 8, "model": "mistral"}])
    db = cli_connect(cli_db)
    try:
        rows = [dict(r) for r in db.execute(CLI_LIST, ("worker-3",))]
        assert len(rows) == 3
        for row in rows:
            assert row["timestamp"] == "2026-03-11T03:15:00.654321+00:00" and CLI_TIME.match(row["timestamp"])
        first = next(r for r in rows if r["id"] == single["id"])
        assert (first["session_id"], first["input_tokens"], first["output_tokens"], first["cache_read_tokens"]) == (
            1, 700, 80, 1000)
        assert first["cache_creation_tokens"] is None and first["model"] == "claude-sonnet-4-5"
        assert first["cost_estimate"] == pytest.approx((700 * 3 + 80 * 15 + 1000 * 0.3) / 1e6)
        assert {r["model"]: r["cost_estimate"] for r in rows if r["id"] != single["id"]} == {"unknown": 0.25, "mistral": None}
        summary = {(r["agent_id"], r["model"]): r["request_count"] for r in db.execute(CLI_SUMMARY)}
        assert summary[("worker-3", "claude-sonnet-4-5")] == 1 and summary[("worker-3", "mistral")] == 1
        columns = [c["name"] for c in db.execute("PRAGMA table_info(token_usage)")]
        assert columns == ["id", "agent_id", "session_id", "timestamp", "input_tokens", "output_tokens",
                           "cache_read_tokens", "cache_creation_tokens", "model", "cost_estimate"]
        assert db.execute("PRAGMA user_version").fetchone()[0] == 15
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        db.close()


async def test_rows_the_cli_writes_while_the_server_runs_are_counted(api, cli_db):
    before = await api.get("/usage/summary")
    cli_insert(cli_db, ("worker-9", None, "2026-03-10T03:00:00.000001+00:00", 11, 12, None, None, "gpt-4o", 1.5),
               ("worker-9", None, "2026-03-12T00:00:00+00:00", 13, 14, None, None, "gpt-4o", None))
    after = await api.get("/usage/summary")
    assert after["request_count"] == before["request_count"] + 2
    [worker9] = [i for i in after["items"] if i["agent_id"] == "worker-9"]
    assert (worker9["total_input_tokens"], worker9["reported_cost"]) == (24, 1.5)
    assert worker9["estimated_cost"] == pytest.approx((13 * 2.5 + 14 * 10) / 1e6)
    # the CLI deletes and edits: the rollups follow
    db = cli_connect(cli_db)
    try:
        db.execute("DELETE FROM token_usage WHERE agent_id = 'worker-9' AND cost_estimate IS NULL")
        db.execute("UPDATE token_usage SET agent_id = 'worker-8' WHERE agent_id = 'worker-9'")
        db.execute("DELETE FROM sessions WHERE id = 1")  # token_usage.session_id is set to NULL
    finally:
        db.close()
    summary = await api.get("/usage/summary")
    assert {i["agent_id"] for i in summary["items"]} == {"worker-1", "worker-2", "worker-8"}
    assert summary["request_count"] == before["request_count"] + 1
    assert [i["session_id"] for i in (await api.get("/usage", agent_id="worker-1"))["items"]] == [None, None]


async def test_a_table_the_cli_rebuilt_is_counted_again(api, cli_db):
    """A CLI upgrade that rebuilds ``token_usage`` drops the server's triggers with it; the next
    read puts them back and sums the rollups again from the table."""
    before = await api.get("/usage/summary")
    db = cli_connect(cli_db)
    try:
        db.execute("PRAGMA foreign_keys = OFF")
        db.execute("BEGIN")
        db.execute("ALTER TABLE token_usage RENAME TO token_usage_old")
        db.execute(SQLITE_TABLES[[i for i, s in enumerate(SQLITE_TABLES) if "token_usage" in s][0]])
        db.execute("INSERT INTO token_usage SELECT * FROM token_usage_old")
        db.execute("DROP TABLE token_usage_old")
        db.execute("INSERT INTO token_usage (agent_id, timestamp, input_tokens, output_tokens, model) "
                   "VALUES ('worker-7', '2026-03-10T03:00:00+00:00', 1, 1, 'unknown')")
        db.execute("COMMIT")
        assert db.execute("SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'token_usage'"
                          ).fetchone()[0] == 0
    finally:
        db.close()
    after = await api.get("/usage/summary")
    assert after["request_count"] == before["request_count"] + 1
    assert after["total_cost"] == pytest.approx(before["total_cost"])
    await api.record(agent_id="worker-7", input_tokens=1, output_tokens=1)
    cli_insert(cli_db, ("worker-7", None, "2026-03-10T03:30:00+00:00", 1, 1, None, None, "unknown", None))
    final = await api.get("/usage/summary", agent_id="worker-7")
    assert final["request_count"] == 3
