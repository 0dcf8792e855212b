"""This plugin's migrations: extra indexes and the search index (never a change to a CLI table on
SQLite, the file the CLI shares; PostgreSQL, used by servers only, gets folded copies of the
searched columns).

Everything added is the server's own and prefixed ``server_``; the crosslink CLI ignores it. On
SQLite the search index needs FTS5; without it the migration installs nothing and searches scan.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernel import Migration

from .search import FTS_NO_AUTOMERGE, FTS_TABLE, PostgresSearch, SqliteSearch

if TYPE_CHECKING:
    from kernel.storage.database import Database

LABEL_INDEX = "CREATE INDEX IF NOT EXISTS server_idx_labels_label ON labels (label)"
#: Covers ``label = ?`` with the issue id, so a filtered list reads the label's issues from the
#: index alone, in id order (page and count); it replaces ``server_idx_labels_label``.
LABEL_ISSUE_INDEX = "CREATE INDEX IF NOT EXISTS server_idx_labels_label_issue ON labels (label, issue_id)"
DROP_LABEL_INDEX = "DROP INDEX IF EXISTS server_idx_labels_label"
#: SQLite's idx_issues_status already ends in the rowid; PostgreSQL needs the id spelled out.
STATUS_ID_INDEX = "CREATE INDEX IF NOT EXISTS server_idx_issues_status_id ON issues (status, id)"


async def _sqlite_search(db: Database) -> None:
    await SqliteSearch(db).install()


async def _sqlite_merge_in_background(db: Database) -> None:
    """An index built by an earlier server: its segments are merged by the drain from now on."""
    if await db.fetch_value("SELECT count(*) FROM sqlite_master WHERE name = ?", [FTS_TABLE]):
        await db.execute(FTS_NO_AUTOMERGE)


async def _postgres_search(db: Database) -> None:
    await PostgresSearch(db).install()


MIGRATIONS = [
    Migration("0001_indexes", sqlite=[LABEL_INDEX], postgres=[LABEL_INDEX, STATUS_ID_INDEX]),
    Migration("0002_search_index", sqlite=_sqlite_search, postgres=_postgres_search),
    Migration(
        "0003_label_issue_index",
        sqlite=[LABEL_ISSUE_INDEX, DROP_LABEL_INDEX],
        postgres=[LABEL_ISSUE_INDEX, DROP_LABEL_INDEX],
    ),
    Migration("0004_search_merge_in_background", sqlite=_sqlite_merge_in_background),
    # search folds case and diacritics: SQLite rebuilds its index over the folded text (the old
    # one is dropped, every issue queued), PostgreSQL gets server_fold() and indexes on it
    Migration("0005_folded_search", sqlite=_sqlite_search, postgres=_postgres_search),
    # PostgreSQL searches stored folded copies of the columns (no unaccent per row at recheck)
    Migration("0006_folded_columns", postgres=_postgres_search),
]
