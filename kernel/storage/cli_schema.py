"""The crosslink CLI's database layout (schema version 15), which the server shares.

The CLI (forecast-bio/crosslink) owns these tables. On a repository without ``issues.db`` the
server creates them exactly as the CLI would, with ``PRAGMA user_version = 15``, so the CLI can
open the file. On PostgreSQL the same tables and constraints are created. Nothing here is ever
dropped, renamed or retyped; the server's own tables are added by plugin migrations and are
prefixed ``server_``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import StartupError
from .spec import Migration

if TYPE_CHECKING:
    from .database import Database

CLI_SCHEMA_VERSION = 15

#: Table definitions in the CLI's own SQLite form and column order.
SQLITE_TABLES = [
    """CREATE TABLE IF NOT EXISTS issues (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        title TEXT NOT NULL,
        description TEXT,
        status TEXT NOT NULL DEFAULT 'open',
        priority TEXT NOT NULL DEFAULT 'medium',
        parent_id INTEGER,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        closed_at TEXT,
        uuid TEXT,
        created_by TEXT,
        FOREIGN KEY (parent_id) REFERENCES issues(id) ON DELETE CASCADE
    )""",
    """CREATE TABLE IF NOT EXISTS labels (
        issue_id INTEGER NOT NULL,
        label TEXT NOT NULL,
        PRIMARY KEY (issue_id, label),
        FOREIGN KEY (issue_id) REFERENCES issues(id) ON DELETE CASCADE
    )""",
    """CREATE TABLE IF NOT EXISTS dependencies (
        blocker_id INTEGER NOT NULL,
        blocked_id INTEGER NOT NULL,
        PRIMARY KEY (blocker_id, blocked_id),
        FOREIGN KEY (blocker_id) REFERENCES issues(id) ON DELETE CASCADE,
        FOREIGN KEY (blocked_id) REFERENCES issues(id) ON DELETE CASCADE
    )""",
    """CREATE TABLE IF NOT EXISTS comments (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        issue_id INTEGER NOT NULL,
        content TEXT NOT NULL,
        created_at TEXT NOT NULL,
        uuid TEXT,
        author TEXT,
        kind TEXT DEFAULT 'note',
        trigger_type TEXT,
        intervention_context TEXT,
        driver_key_fingerprint TEXT,
        FOREIGN KEY (issue_id) REFERENCES issues(id) ON DELETE CASCADE
    )""",
    """CREATE TABLE IF NOT EXISTS sessions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        started_at TEXT NOT NULL,
        ended_at TEXT,
        active_issue_id INTEGER,
        handoff_notes TEXT,
        last_action TEXT,
        agent_id TEXT,
        FOREIGN KEY (active_issue_id) REFERENCES issues(id) ON DELETE SET NULL
    )""",
    """CREATE TABLE IF NOT EXISTS time_entries (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        issue_id INTEGER NOT NULL,
        started_at TEXT NOT NULL,
        ended_at TEXT,
        duration_seconds INTEGER,
        FOREIGN KEY (issue_id) REFERENCES issues(id) ON DELETE CASCADE
    )""",
    """CREATE TABLE IF NOT EXISTS relations (
        issue_id_1 INTEGER NOT NULL,
        issue_id_2 INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (issue_id_1, issue_id_2),
        FOREIGN KEY (issue_id_1) REFERENCES issues(id) ON DELETE CASCADE,
        FOREIGN KEY (issue_id_2) REFERENCES issues(id) ON DELETE CASCADE
    )""",
    """CREATE TABLE IF NOT EXISTS milestones (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL,
        description TEXT,
        status TEXT NOT NULL DEFAULT 'open',
        created_at TEXT NOT NULL,
        closed_at TEXT,
        uuid TEXT
    )""",
    """CREATE TABLE IF NOT EXISTS milestone_issues (
        milestone_id INTEGER NOT NULL,
        issue_id INTEGER NOT NULL,
        PRIMARY KEY (milestone_id, issue_id),
        FOREIGN KEY (milestone_id) REFERENCES milestones(id) ON DELETE CASCADE,
        FOREIGN KEY (issue_id) REFERENCES issues(id) ON DELETE CASCADE
    )""",
    """CREATE TABLE IF NOT EXISTS token_usage (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        agent_id TEXT NOT NULL,
        session_id INTEGER,
        timestamp TEXT NOT NULL,
        input_tokens INTEGER NOT NULL DEFAULT 0,
        output_tokens INTEGER NOT NULL DEFAULT 0,
        cache_read_tokens INTEGER,
        cache_creation_tokens INTEGER,
        model TEXT NOT NULL DEFAULT 'unknown',
        cost_estimate REAL,
        FOREIGN KEY (session_id) REFERENCES sessions(id) ON DELETE SET NULL
    )""",
]

INDEXES = [
    "CREATE INDEX IF NOT EXISTS idx_issues_status ON issues(status)",
    "CREATE INDEX IF NOT EXISTS idx_issues_priority ON issues(priority)",
    "CREATE INDEX IF NOT EXISTS idx_issues_parent ON issues(parent_id)",
    "CREATE INDEX IF NOT EXISTS idx_labels_issue ON labels(issue_id)",
    "CREATE INDEX IF NOT EXISTS idx_comments_issue ON comments(issue_id)",
    "CREATE INDEX IF NOT EXISTS idx_deps_blocker ON dependencies(blocker_id)",
    "CREATE INDEX IF NOT EXISTS idx_deps_blocked ON dependencies(blocked_id)",
    "CREATE INDEX IF NOT EXISTS idx_time_entries_issue ON time_entries(issue_id)",
    "CREATE INDEX IF NOT EXISTS idx_relations_1 ON relations(issue_id_1)",
    "CREATE INDEX IF NOT EXISTS idx_relations_2 ON relations(issue_id_2)",
    "CREATE INDEX IF NOT EXISTS idx_milestone_issues_m ON milestone_issues(milestone_id)",
    "CREATE INDEX IF NOT EXISTS idx_milestone_issues_i ON milestone_issues(issue_id)",
    "CREATE INDEX IF NOT EXISTS idx_token_usage_agent ON token_usage(agent_id)",
    "CREATE INDEX IF NOT EXISTS idx_token_usage_session ON token_usage(session_id)",
    "CREATE INDEX IF NOT EXISTS idx_token_usage_timestamp ON token_usage(timestamp)",
    "CREATE UNIQUE INDEX IF NOT EXISTS idx_issues_uuid ON issues(uuid)",
    "CREATE UNIQUE INDEX IF NOT EXISTS idx_milestones_uuid ON milestones(uuid)",
]


def postgres_tables() -> list[str]:
    """The same tables for PostgreSQL: identity ids, the same TEXT columns and constraints."""
    return [
        sql.replace("INTEGER PRIMARY KEY AUTOINCREMENT", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY")
        .replace("INTEGER", "BIGINT")
        .replace("REAL", "DOUBLE PRECISION")
        for sql in SQLITE_TABLES
    ]


async def _create_on_sqlite(db: Database) -> None:
    version = await db.fetch_value("PRAGMA user_version")
    has_issues = await db.fetch_value(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'issues'"
    )
    if version >= CLI_SCHEMA_VERSION:
        return
    if version == 0 and not has_issues:
        for statement in [*SQLITE_TABLES, *INDEXES]:
            await db.execute(statement)
        await db.execute(f"PRAGMA user_version = {CLI_SCHEMA_VERSION}")
        return
    raise StartupError(
        f"{db.sqlite_path()} is at crosslink schema version {version}, older than "
        f"{CLI_SCHEMA_VERSION}; run any crosslink CLI command (for example `crosslink list`) "
        "in this repository once to upgrade it, then start the server again"
    )


async def _create_on_postgres(db: Database) -> None:
    for statement in [*postgres_tables(), *INDEXES]:
        await db.execute(statement)


#: The kernel applies this before any plugin migration.
CLI_SCHEMA = Migration(name="0001_cli_schema_v15", sqlite=_create_on_sqlite, postgres=_create_on_postgres)
