"""The database the server shares with the crosslink CLI: layout, versions, migrations, and two
processes writing one SQLite file at once."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import asyncpg
import httpx
import pytest

from kernel.settings import Settings
from tests.support import CROSSLINK, git

# The crosslink CLI's schema version 15, written out from crosslink-schema.md (not from the
# server's own DDL, so a wrong table definition in the server fails this test).
CLI_COLUMNS = {
    "issues": ["id", "title", "description", "status", "priority", "parent_id", "created_at",
               "updated_at", "closed_at", "uuid", "created_by"],
    "labels": ["issue_id", "label"],
    "dependencies": ["blocker_id", "blocked_id"],
    "comments": ["id", "issue_id", "content", "created_at", "uuid", "author", "kind", "trigger_type",
                 "intervention_context", "driver_key_fingerprint"],
    "sessions": ["id", "started_at", "ended_at", "active_issue_id", "handoff_notes", "last_action", "agent_id"],
    "time_entries": ["id", "issue_id", "started_at", "ended_at", "duration_seconds"],
    "relations": ["issue_id_1", "issue_id_2", "created_at"],
    "milestones": ["id", "name", "description", "status", "created_at", "closed_at", "uuid"],
    "milestone_issues": ["milestone_id", "issue_id"],
    "token_usage": ["id", "agent_id", "session_id", "timestamp", "input_tokens", "output_tokens",
                    "cache_read_tokens", "cache_creation_tokens", "model", "cost_estimate"],
}
NOT_NULL = {
    "issues": {"title", "status", "priority", "created_at", "updated_at"},
    "labels": {"issue_id", "label"},
    "dependencies": {"blocker_id", "blocked_id"},
    "comments": {"issue_id", "content", "created_at"},
    "time_entries": {"issue_id", "started_at"},
    "relations": {"issue_id_1", "issue_id_2", "created_at"},
    "milestone_issues": {"milestone_id", "issue_id"},
    "sessions": {"started_at"},
    "milestones": {"name", "status", "created_at"},
    "token_usage": {"agent_id", "timestamp", "input_tokens", "output_tokens", "model"},
}
FOREIGN_KEYS = {  # (table, column) -> (referenced table, on delete)
    ("issues", "parent_id"): ("issues", "CASCADE"),
    ("labels", "issue_id"): ("issues", "CASCADE"),
    ("dependencies", "blocker_id"): ("issues", "CASCADE"),
    ("dependencies", "blocked_id"): ("issues", "CASCADE"),
    ("comments", "issue_id"): ("issues", "CASCADE"),
    ("sessions", "active_issue_id"): ("issues", "SET NULL"),
    ("time_entries", "issue_id"): ("issues", "CASCADE"),
    ("relations", "issue_id_1"): ("issues", "CASCADE"),
    ("milestone_issues", "milestone_id"): ("milestones", "CASCADE"),
    ("milestone_issues", "issue_id"): ("issues", "CASCADE"),
    ("token_usage", "session_id"): ("sessions", "SET NULL"),
}
UNIQUE_INDEXES = {"idx_issues_uuid": ("issues", "uuid"), "idx_milestones_uuid": ("milestones", "uuid")}

#: These tests are about creating and migrating databases: never start from the template.
pytestmark = pytest.mark.fresh_database


def db_path(repo: Path) -> Path:
    return repo / ".crosslink" / "issues.db"


async def test_a_new_repository_gets_the_cli_schema_v15(server, repo):
    conn = sqlite3.connect(db_path(repo))
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 15
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        cli_tables = {t for t in tables if not t.startswith(("server_", "sqlite_"))}
        assert cli_tables == set(CLI_COLUMNS)
        for table, columns in CLI_COLUMNS.items():
            info = conn.execute(f"PRAGMA table_info({table})").fetchall()
            assert [row[1] for row in info] == columns, table
            assert {row[1] for row in info if row[3]} == NOT_NULL.get(table, set()), table
        for (table, column), (target, on_delete) in FOREIGN_KEYS.items():
            keys = {(row[3], row[2], row[6]) for row in conn.execute(f"PRAGMA foreign_key_list({table})")}
            assert (column, target, on_delete) in keys, (table, column)
        for index, (table, column) in UNIQUE_INDEXES.items():
            row = conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", (index,)).fetchone()
            assert row and "UNIQUE" in row[0].upper() and table in row[0] and column in row[0]
        assert tables - set(CLI_COLUMNS) - {"sqlite_sequence"} <= {t for t in tables if t.startswith("server_")}
    finally:
        conn.close()


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_postgres_gets_the_same_tables(app_factory, database_url):
    await app_factory(plugins="all")
    conn = await asyncpg.connect(database_url)
    try:
        for table, columns in CLI_COLUMNS.items():
            found = await conn.fetch(
                "SELECT column_name, is_nullable, is_generated FROM information_schema.columns "
                "WHERE table_name = $1 ORDER BY ordinal_position",
                table,
            )
            rows = [r for r in found if r["is_generated"] == "NEVER"]
            assert [r["column_name"] for r in rows] == columns, table
            assert {r["column_name"] for r in rows if r["is_nullable"] == "NO"} >= NOT_NULL.get(table, set())
            # the only additions: the server's computed search copies (nothing a writer must fill)
            assert all(r["column_name"].startswith("server_") for r in found if r["is_generated"] != "NEVER")
        rules = await conn.fetch(
            "SELECT tc.table_name, kcu.column_name, rc.delete_rule FROM information_schema.table_constraints tc "
            "JOIN information_schema.key_column_usage kcu ON tc.constraint_name = kcu.constraint_name "
            "JOIN information_schema.referential_constraints rc ON tc.constraint_name = rc.constraint_name "
            "WHERE tc.constraint_type = 'FOREIGN KEY'"
        )
        found = {(r["table_name"], r["column_name"]): r["delete_rule"] for r in rules}
        for key, (_, on_delete) in FOREIGN_KEYS.items():
            assert found[key] == on_delete, key
    finally:
        await conn.close()


def write_cli_database(repo: Path, version: int) -> None:
    from kernel.storage.cli_schema import INDEXES, SQLITE_TABLES

    path = db_path(repo)
    path.parent.mkdir(exist_ok=True)
    conn = sqlite3.connect(path)
    for statement in [*SQLITE_TABLES, *INDEXES]:
        conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {version}")
    conn.execute(
        "INSERT INTO issues (id, title, status, priority, created_at, updated_at, uuid) "
        "VALUES (-1, 'local issue', 'open', 'high', '2026-03-10T03:15:00.123456+00:00', "
        "'2026-03-10T03:15:00.123456+00:00', 'a0a0a0a0-0000-4000-8000-000000000001')"
    )
    conn.commit()
    conn.close()


async def test_a_cli_database_is_served_as_it_is(repo, app_factory):
    write_cli_database(repo, 15)
    server = await app_factory(plugins="all")
    response = await server.client.get("/api/v1/issues/-1")
    assert response.status_code == 200
    assert (await response.get_json())["title"] == "local issue"
    conn = sqlite3.connect(db_path(repo))
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 15
    conn.close()


def test_an_older_cli_schema_refuses_to_start_and_says_how_to_fix_it(repo):
    write_cli_database(repo, 12)
    result = subprocess.run(
        [CROSSLINK, "serve", "--port", "0", "--repo", str(repo)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 3
    output = result.stdout + result.stderr
    assert "crosslink schema version 12, older than 15" in output
    assert "run any crosslink CLI command" in output
    assert "Traceback" not in output


async def test_a_restart_applies_no_migration_twice(settings_factory):
    from kernel.app import create_app, kernel_of

    ledgers = []
    for _ in range(2):
        app = create_app(settings_factory(plugins="all"))
        async with app.test_app():
            rows = await kernel_of(app).db.fetch_all("SELECT app, name, applied_at FROM server_migrations ORDER BY id")
        ledgers.append([tuple(row.values()) for row in rows])
    assert ledgers[0] == ledgers[1]
    assert ("crosslink", "0001_cli_schema_v15") in {row[:2] for row in ledgers[0]}


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgres"], indirect=True)
async def test_servers_starting_together_apply_each_migration_once(repo, database_url, live_server_factory):
    servers = [live_server_factory("--plugins", "all") for _ in range(3)]
    async with httpx.AsyncClient() as client:
        for live in servers:
            assert (await client.get(f"{live.url}/api/v1/health")).status_code == 200
    for live in servers:
        live.stop()
        assert "Traceback" not in live.text()
    if database_url:
        conn = await asyncpg.connect(database_url)
        rows = await conn.fetch("SELECT app, name FROM server_migrations")
        await conn.close()
    else:
        conn = sqlite3.connect(db_path(repo))
        rows = conn.execute("SELECT app, name FROM server_migrations").fetchall()
        conn.close()
    names = [tuple(r) for r in rows]
    assert len(names) == len(set(names)) and ("crosslink", "0001_cli_schema_v15") in names


CLI_STAND_IN = textwrap.dedent(
    """
    import sqlite3, sys, uuid, datetime
    path, count = sys.argv[1], int(sys.argv[2])
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    errors = 0
    for n in range(count):
        now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="microseconds")
        try:
            # the CLI's write pattern: read, then write, in one transaction
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("SELECT count(*) FROM issues").fetchone()
            cur = conn.execute(
                "INSERT INTO issues (title, status, priority, created_at, updated_at, uuid) "
                "VALUES (?, 'open', 'medium', ?, ?, ?)", (f"cli issue {n}", now, now, str(uuid.uuid4())))
            conn.execute("INSERT INTO comments (issue_id, content, created_at, kind) VALUES (?, 'from cli', ?, 'note')",
                         (cur.lastrowid, now))
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            errors += 1
            print("CLI ERROR", exc, flush=True)
            conn.execute("ROLLBACK")
    print("CLI DONE", errors, flush=True)
    """
)


@pytest.mark.slow
async def test_the_server_and_a_cli_writer_share_the_file_without_errors(repo, live_server_factory):
    live = live_server_factory("--plugins", "issues")
    per_process, server_issues = 400, 400
    cli = subprocess.Popen(
        [sys.executable, "-c", CLI_STAND_IN, str(db_path(repo)), str(per_process)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    statuses: list[int] = []
    limits = httpx.Limits(max_connections=16)
    async with httpx.AsyncClient(base_url=live.url, timeout=60, limits=limits) as client:
        async def create(n: int) -> None:
            response = await client.post("/api/v1/issues", json={"title": f"server issue {n}"})
            statuses.append(response.status_code)
            if response.status_code == 201:
                issue_id = response.json()["id"]
                comment = await client.post(f"/api/v1/issues/{issue_id}/comments", json={"content": "from server"})
                statuses.append(comment.status_code)

        await asyncio.gather(*(create(n) for n in range(server_issues)))
    cli_output, _ = cli.communicate(timeout=120)
    assert "CLI DONE 0" in cli_output, cli_output
    assert statuses.count(201) == 2 * server_issues, sorted(set(statuses))
    assert "database is locked" not in live.text()

    conn = sqlite3.connect(db_path(repo))
    titles = [row[0] for row in conn.execute("SELECT title FROM issues")]
    comments = conn.execute("SELECT count(*) FROM comments").fetchone()[0]
    conn.close()
    assert sum(t.startswith("cli issue") for t in titles) == per_process
    assert sum(t.startswith("server issue") for t in titles) == server_issues
    assert comments == per_process + server_issues


def test_the_repository_is_found_from_a_subdirectory_and_a_linked_worktree(repo, tmp_path):
    nested = repo / "src" / "deep"
    nested.mkdir(parents=True)
    assert Settings.for_repo(nested).repo_root == repo  # no .crosslink yet: the git root
    (repo / ".crosslink").mkdir()
    assert Settings.for_repo(nested).repo_root == repo
    worktree = tmp_path / "feature-tree"
    git(repo, "worktree", "add", "-q", str(worktree), "-b", "feature")
    assert Settings.for_repo(worktree).repo_root == repo  # the main repository's .crosslink
    (worktree / ".crosslink").mkdir()  # a worktree with its own database
    in_worktree = Settings.for_repo(worktree)
    assert in_worktree.repo_root == worktree.resolve()
    assert in_worktree.main_repo_root == repo  # the hub and knowledge caches stay in the main root
    outside = tmp_path / "not-a-repo"
    outside.mkdir()
    assert Settings.for_repo(outside).repo_root == outside.resolve()


async def test_point_reads_see_another_process_writing(app_factory, repo):
    from tests.fixtures.plugins import notes

    db = (await app_factory(plugins="notes", extra_plugins={"notes": notes})).kernel.db
    conn = sqlite3.connect(repo / ".crosslink" / "issues.db")
    conn.execute("INSERT INTO server_test_notes (id, body) VALUES (777, 'from the cli')")
    conn.commit()
    conn.close()
    assert await db.fetch_point("SELECT body FROM server_test_notes WHERE id = 777") == {"body": "from the cli"}
