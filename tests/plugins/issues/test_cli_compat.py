"""A database laid out and written by the crosslink CLI is served as it is, and what the server
writes is what the CLI expects to read (checked with plain sqlite3, as the CLI would)."""

from __future__ import annotations

import re
import sqlite3
import time
import uuid
from pathlib import Path

import pytest

from kernel.storage.cli_schema import INDEXES, SQLITE_TABLES

CLI_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$")
T0 = "2026-03-10T03:15:00.123456+00:00"
T1 = "2026-03-10T04:00:00.000000+00:00"


def cli_connect(path: Path) -> sqlite3.Connection:
    """A connection like the CLI's: foreign keys on, autocommit."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA foreign_keys = ON")
    return db


def build_cli_database(repo: Path) -> Path:
    """The CLI's schema v15 with issues, a local (negative) issue and legacy rows."""
    path = repo / ".crosslink" / "issues.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    db = cli_connect(path)
    for statement in [*SQLITE_TABLES, *INDEXES]:
        db.execute(statement)
    db.execute("PRAGMA user_version = 15")
    issues = [
        (1, "Fix auth timeout", "Connection drops after 30s idle.", "open", "high", None, T0, T1, None),
        (2, "Research pool options", None, "closed", "medium", 1, T0, T1, T1),
        (-1, "Offline idea: ÜBERSICHT", None, "open", "low", None, T0, T0, None),
    ]
    for row in issues:
        db.execute(
            "INSERT INTO issues (id, title, description, status, priority, parent_id, created_at, updated_at, "
            "closed_at, uuid, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'cli-agent')",
            (*row, str(uuid.uuid4())),
        )
    db.execute(
        "INSERT INTO comments (id, issue_id, content, created_at, uuid, author, kind) "
        "VALUES (1, 1, 'Legacy comment about the Connection Pool', ?, ?, NULL, NULL)",
        (T0, str(uuid.uuid4())),
    )
    db.execute(
        "INSERT INTO comments (id, issue_id, content, created_at, uuid, author, kind) "
        "VALUES (2, 1, 'Root cause found', ?, ?, 'worker-1', 'observation')",
        (T1, str(uuid.uuid4())),
    )
    db.executemany("INSERT INTO labels (issue_id, label) VALUES (?, ?)", [(1, "bug"), (1, "backend")])
    db.execute("INSERT INTO dependencies (blocker_id, blocked_id) VALUES (1, -1)")
    db.execute("INSERT INTO milestones (id, name, status, created_at, uuid) VALUES (1, 'v1.0', 'open', ?, ?)",
               (T0, str(uuid.uuid4())))
    db.executemany("INSERT INTO milestone_issues (milestone_id, issue_id) VALUES (1, ?)", [(1,), (2,)])
    db.execute("INSERT INTO sessions (started_at, active_issue_id, agent_id) VALUES (?, -1, 'worker-1')", (T0,))
    db.close()
    return path


def table_layout(db: sqlite3.Connection) -> dict[str, list[tuple]]:
    names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'server_%' "
                                       "AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    return {name: db.execute(f"PRAGMA table_info({name})").fetchall() for name in names}


@pytest.fixture
def cli_db(repo: Path) -> Path:
    return build_cli_database(repo)


async def test_a_cli_database_is_served_as_it_is(api_on_cli_db):
    api = api_on_cli_db
    issue = await api.issue(1)
    assert (issue["title"], issue["priority"], issue["created_at"], issue["updated_at"]) == (
        "Fix auth timeout", "high", "2026-03-10T03:15:00.123456Z", "2026-03-10T04:00:00Z")
    assert issue["labels"] == ["backend", "bug"]
    assert [(c["id"], c["kind"]) for c in issue["comments"]] == [(1, "note"), (2, "observation")]
    assert (issue["blockers"], issue["blocking"]) == ([], [-1])
    assert [s["id"] for s in issue["subissues"]] == [2] and issue["subissues"][0]["closed_at"] == "2026-03-10T04:00:00Z"
    assert issue["milestone"] == {"id": 1, "name": "v1.0", "status": "open"}
    assert await api.ids(status="all") == [2, 1, -1]
    assert await api.ids("/issues/blocked") == [-1]
    assert (await api.get("/milestones/1"))["progress_percent"] == 50.0
    assert await api.ids(search="connection pool") == [1]  # a comment the CLI wrote
    assert await api.ids(search="übersicht") == [-1]


async def test_what_the_server_writes_is_valid_for_the_cli(api_on_cli_db, cli_db):
    api = api_on_cli_db
    before = table_layout(sqlite3.connect(cli_db))
    child = await api.create("Child of a local issue", parent_id=-1)
    grandchild = await api.create("Grandchild", parent_id=child)
    comment = await api.comment(1, "Fixed by bumping the timeout", kind="resolution")
    await api.label(1, "done")
    await api.block(1, grandchild)
    await api.close(1)
    await api.patch("/issues/2", {"title": "Renamed", "description": "now described"}, expect=200)
    milestone = await api.milestone("v1.1", description="Perf")
    await api.post(f"/milestones/{milestone}/assign", {"issue_id": 2}, expect=200)
    await api.post(f"/milestones/{milestone}/close", expect=200)

    db = cli_connect(cli_db)
    assert db.execute("PRAGMA user_version").fetchone()[0] == 15
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    assert table_layout(db) == before  # no CLI table was altered

    row = db.execute("SELECT title, status, priority, parent_id, created_at, updated_at, closed_at, uuid "
                     "FROM issues WHERE id = ?", (child,)).fetchone()
    assert row[:4] == ("Child of a local issue", "open", "medium", -1)
    assert CLI_TIME.match(row[4]) and row[4] == row[5] and row[6] is None
    assert uuid.UUID(row[7]).version == 4
    closed = db.execute("SELECT status, closed_at, updated_at FROM issues WHERE id = 1").fetchone()
    assert closed[0] == "closed" and CLI_TIME.match(closed[1]) and closed[1] == closed[2]
    assert db.execute("SELECT title, description FROM issues WHERE id = 2").fetchone() == ("Renamed", "now described")
    c = db.execute("SELECT issue_id, content, kind, uuid, created_at, author FROM comments WHERE id = ?", (comment,)).fetchone()
    assert c[:3] == (1, "Fixed by bumping the timeout", "resolution")
    assert uuid.UUID(c[3]).version == 4 and CLI_TIME.match(c[4]) and c[5] is None
    assert db.execute("SELECT label FROM labels WHERE issue_id = 1 ORDER BY label").fetchall() == [
        ("backend",), ("bug",), ("done",)]
    assert (grandchild, 1) in db.execute("SELECT blocker_id, blocked_id FROM dependencies").fetchall()
    m = db.execute("SELECT name, description, status, closed_at, uuid FROM milestones WHERE id = ?", (milestone,)).fetchone()
    assert m[:3] == ("v1.1", "Perf", "closed") and CLI_TIME.match(m[3]) and uuid.UUID(m[4]).version == 4
    assert db.execute("SELECT milestone_id FROM milestone_issues WHERE issue_id = 2").fetchall() == [(milestone,)]
    uuids = [r[0] for r in db.execute("SELECT uuid FROM issues UNION ALL SELECT uuid FROM milestones")]
    assert None not in uuids and len(set(uuids)) == len(uuids)

    # deleting the local issue removes its subtree; the session pointing at it lets go
    await api.delete("/issues/-1", expect=200)
    assert db.execute("SELECT count(*) FROM issues WHERE id IN (-1, ?, ?)", (child, grandchild)).fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM dependencies WHERE blocker_id = ?", (grandchild,)).fetchone()[0] == 0
    assert db.execute("SELECT active_issue_id FROM sessions").fetchone()[0] is None
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    db.close()


async def test_cli_writes_while_the_server_runs_are_searchable(api_on_cli_db, cli_db):
    api = api_on_cli_db
    assert await api.ids(search="zebra") == []
    db = cli_connect(cli_db)
    db.execute("INSERT INTO issues (title, status, priority, created_at, updated_at, uuid) "
               "VALUES ('ZEBRA crossing', 'open', 'medium', ?, ?, ?)", (T0, T0, str(uuid.uuid4())))
    new_id = db.execute("SELECT max(id) FROM issues").fetchone()[0]
    db.execute("INSERT INTO comments (issue_id, content, created_at, kind) VALUES (1, 'Ölwechsel nötig', ?, 'note')", (T1,))
    db.execute("UPDATE issues SET title = 'Fix login STRAẞE' WHERE id = 2")
    db.execute("DELETE FROM issues WHERE id = -1")
    db.close()
    assert await api.ids(search="zebra") == [new_id]
    assert await api.ids(search="ÖLWECHSEL") == [1]
    assert await api.ids(search="login", status="all") == [2]
    assert await api.ids(search="pool options", status="all") == []
    assert await api.ids(search="offline") == []


async def test_the_server_adds_only_its_own_objects_and_triggers_need_no_fts5(api_on_cli_db, cli_db, tmp_path):
    fresh = sqlite3.connect(tmp_path / "fresh.db")
    for statement in [*SQLITE_TABLES, *INDEXES]:
        fresh.execute(statement)
    cli_names = {name for (name,) in fresh.execute("SELECT name FROM sqlite_master")}
    db = sqlite3.connect(cli_db)
    added = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")} - cli_names
    assert added and all(name.startswith("server_") for name in added), sorted(added)
    triggers = db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").fetchall()
    assert len(triggers) == 6
    for _, sql in triggers:  # a trigger touching the FTS table would break a CLI built without FTS5
        assert "server_issue_fold_search" not in sql and "server_search_dirty" in sql


async def test_lost_triggers_are_recreated_and_the_index_rebuilt(api_on_cli_db, cli_db):
    api = api_on_cli_db
    db = cli_connect(cli_db)
    for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
        db.execute(f"DROP TRIGGER {name}")  # as if the CLI had rebuilt its tables
    db.execute("INSERT INTO issues (title, status, priority, created_at, updated_at) "
               "VALUES ('Unseen by any trigger', 'open', 'low', ?, ?)", (T0, T0))
    db.execute("UPDATE issues SET title = 'Quietly renamed' WHERE id = 1")
    db.close()
    assert await api.ids(search="unseen by") != []
    assert await api.ids(search="quietly", status="all") == [1]
    assert await api.ids(search="auth timeout", status="all") == []
    db = sqlite3.connect(cli_db)
    assert db.execute("SELECT count(*) FROM sqlite_master WHERE type = 'trigger'").fetchone()[0] == 6


async def test_writes_made_while_the_server_was_down_are_indexed_at_startup(settings_factory, cli_db):
    from kernel.app import create_app, kernel_of
    from tests.support import TestServer

    from .conftest import Api

    async def serving():
        app = create_app(settings_factory(plugins="issues"))
        test_app = app.test_app()
        await test_app.__aenter__()
        return test_app, Api(TestServer(app=app, client=test_app.test_client(), kernel=kernel_of(app)))

    test_app, first = await serving()  # installs the index and its triggers
    assert await first.ids(search="later") == []
    await test_app.__aexit__(None, None, None)

    db = cli_connect(cli_db)
    db.execute("INSERT INTO issues (title, status, priority, created_at, updated_at) "
               "VALUES ('Written later', 'open', 'low', ?, ?)", (T0, T0))
    db.close()
    assert sqlite3.connect(cli_db).execute("SELECT count(*) FROM server_search_dirty").fetchone()[0] >= 1

    test_app, second = await serving()
    try:
        assert sqlite3.connect(cli_db).execute("SELECT count(*) FROM server_search_dirty").fetchone()[0] == 0
        assert len(await second.ids(search="written later")) == 1
    finally:
        await test_app.__aexit__(None, None, None)


async def test_cli_writes_are_taken_into_the_index_in_the_background(repo, cli_db, app_factory):
    import asyncio

    from .conftest import Api

    (repo / ".crosslink" / "server.toml").write_text("[plugins.issues]\nsearch_refresh_seconds = 0.05\n")
    api = Api(await app_factory(plugins="issues"))
    db = cli_connect(cli_db)
    db.execute("INSERT INTO issues (title, status, priority, created_at, updated_at) "
               "VALUES ('Background refresh', 'open', 'low', ?, ?)", (T0, T0))
    db.close()
    queue = sqlite3.connect(cli_db)
    for _ in range(200):  # the refresh runs without any search asking for it
        if queue.execute("SELECT count(*) FROM server_search_dirty").fetchone()[0] == 0:
            break
        await asyncio.sleep(0.05)
    assert queue.execute("SELECT count(*) FROM server_search_dirty").fetchone()[0] == 0
    assert queue.execute("SELECT count(*) FROM server_issue_fold_search WHERE server_issue_fold_search MATCH "
                         "'\"background refresh\"'").fetchone()[0] == 1
    assert len(await api.ids(search="background refresh")) == 1


async def test_an_invalid_config_section_refuses_to_start(repo, settings_factory):
    from kernel.app import create_app
    from kernel.errors import StartupError

    (repo / ".crosslink").mkdir(exist_ok=True)
    (repo / ".crosslink" / "server.toml").write_text("[plugins.issues]\nsearch_refresh_seconds = -1\n")
    with pytest.raises(StartupError, match="search_refresh_seconds"):
        create_app(settings_factory(plugins="issues"))


def test_a_big_cli_database_is_indexed_in_the_background_with_progress(repo, cli_db, live_server_factory):
    """The first start on a database the CLI filled: the server answers at once, searches are
    right while the index is built, and the log says what is going on until it is ready."""
    import httpx

    big = 5000
    db = cli_connect(cli_db)
    db.execute("BEGIN")
    db.executemany(
        "INSERT INTO issues (title, status, priority, created_at, updated_at) VALUES (?, 'open', 'low', ?, ?)",
        [(f"Imported {n} {'Straße' if n % 100 == 0 else 'lane'}", T0, T0) for n in range(big)],
    )
    db.execute("COMMIT")
    db.close()

    server = live_server_factory("--plugins", "issues")
    body = httpx.get(f"{server.url}/api/v1/issues", params={"search": "LANEX", "status": "all"}).json()
    assert body == {"items": [], "total": 0}
    body = httpx.get(f"{server.url}/api/v1/issues", params={"search": "STRASSE", "limit": 1}).json()
    assert body["total"] == big // 100  # folded: "ß" is "ss", while the index is being built too
    body = httpx.get(f"{server.url}/api/v1/issues", params={"search": "STRAßE", "limit": 3}).json()
    assert body["total"] == big // 100
    assert [item["title"] for item in body["items"]] == [f"Imported {n} Straße" for n in (4900, 4800, 4700)]
    for _ in range(300):
        if "search index ready" in server.text():
            break
        time.sleep(0.1)
    log = server.text()
    assert f"indexing {big + 3} issues for search in the background" in log
    assert f"search index ready: {big + 3} issues" in log
    assert sqlite3.connect(cli_db).execute("SELECT count(*) FROM server_issue_fold_search").fetchone()[0] == big + 3
    body = httpx.get(f"{server.url}/api/v1/issues", params={"search": "straße", "limit": 1}).json()
    assert body["total"] == big // 100
