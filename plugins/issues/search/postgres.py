"""Issue search on PostgreSQL: ``LIKE`` over a folded copy of each searched column (a stored
generated column, ``server_fold(column)``), served by ``pg_trgm`` GIN indexes on those copies.

``server_fold(text)`` is an immutable SQL function: ``lower()`` (the database's locale; Unicode
on a UTF-8 one), then the ``unaccent`` extension's dictionary (accents off, ``ß`` → ``ss``,
ligatures split), then final sigma ``ς`` → ``σ``: the answers of :func:`kernel.textfold.fold`
for the letters people type. The needle is folded by the same function inside the statement
(``server_fold(?)`` of the search text as typed), so both sides always fold alike. Without
``unaccent`` the function only lowers (and a warning is logged); without ``pg_trgm`` the same queries scan.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ..store import Source
from .base import FOLD_FUNCTION, NO_MATCH, TRIGRAM, SearchEngine, needle_of

if TYPE_CHECKING:
    from kernel.storage.database import Database

log = logging.getLogger("crosslink.issues.search")

#: The folded copy of each searched column: a stored generated column (``server_fold(column)``,
#: computed by PostgreSQL on every insert and update), so that a search's ``LIKE`` and the
#: trigram index's recheck read the folded text instead of folding every candidate row again
#: (``unaccent`` per candidate row made a common word 3-5x slower). PostgreSQL is used by servers only,
#: never by the crosslink CLI, so these columns are not in any table the CLI reads.
FOLDED_COLUMNS = {
    ("issues", "title"): "server_fold_title",
    ("issues", "description"): "server_fold_description",
    ("comments", "content"): "server_fold_content",
}
PG_TRGM_INDEXES = {
    f"server_{table}_{column}_folded_trgm": (
        f"CREATE INDEX IF NOT EXISTS server_{table}_{column}_folded_trgm ON {table} USING gin ({folded} gin_trgm_ops)"
    )
    for (table, column), folded in FOLDED_COLUMNS.items()
}
#: The trigram indexes of earlier servers (on ``ILIKE``, then on ``server_fold(column)``):
#: dropped, nothing reads them.
OLD_TRGM_INDEXES = (
    "server_issues_title_trgm", "server_issues_description_trgm", "server_comments_content_trgm",
    "server_issues_title_fold_trgm", "server_issues_description_fold_trgm", "server_comments_content_fold_trgm",
)

#: ``LIKE`` the folded needle anywhere, its wildcards escaped (a parameter: the search text).
PATTERN = (
    f"('%' || replace(replace(replace({FOLD_FUNCTION}(?::text), '\\', '\\\\'), '%', '\\%'), '_', '\\_') || '%')"
)


def _folded(alias: str, table: str, column: str) -> str:
    return f"{alias}.{FOLDED_COLUMNS[(table, column)]}"


def _like(alias: str, table: str, column: str) -> str:
    """``alias.column`` (of ``table``), folded, contains the search text."""
    return f"{_folded(alias, table, column)} LIKE {PATTERN} ESCAPE '\\'"


def fold_function_body(unaccent_schema: str | None) -> str:
    """The SQL body of ``server_fold(text)``, with ``unaccent`` (from ``unaccent_schema``) or without."""
    lowered = "lower($1)"
    if unaccent_schema is not None:
        schema = '"' + unaccent_schema.replace('"', '""') + '"'
        dictionary = f"{unaccent_schema}.unaccent".replace("'", "''")
        lowered = f"{schema}.unaccent('{dictionary}'::regdictionary, lower($1))"
    return f" SELECT replace({lowered}, 'ς', 'σ') "


def fold_function_ddl(body: str) -> str:
    """The ``server_fold(text)`` function with ``body`` (see :func:`fold_function_body`)."""
    return (
        f"CREATE OR REPLACE FUNCTION {FOLD_FUNCTION}(text) RETURNS text LANGUAGE sql IMMUTABLE STRICT "
        f"PARALLEL SAFE AS $${body}$$"
    )


class PostgresSearch(SearchEngine):
    """Folded ``LIKE`` over the CLI's tables, with ``pg_trgm`` GIN indexes when available."""

    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self.indexed: bool | None = None

    async def _extension(self, name: str) -> str | None:
        """Install extension ``name`` if possible; the schema it lives in (``None``: absent)."""
        available = await self.db.fetch_value(
            "SELECT count(*) AS n FROM pg_available_extensions WHERE name = ?", [name]
        )
        if available:
            await self.db.execute("SAVEPOINT server_extension")
            try:
                await self.db.execute(f"CREATE EXTENSION IF NOT EXISTS {name}")
            except Exception as exc:
                await self.db.execute("ROLLBACK TO SAVEPOINT server_extension")
                log.warning("cannot install %s (%s)", name, exc)
            else:
                await self.db.execute("RELEASE SAVEPOINT server_extension")
        return await self.db.fetch_value(
            "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
            "WHERE e.extname = ?",
            [name],
        )

    async def install(self) -> None:
        """The fold function (with ``unaccent`` if possible), the folded columns, and trigram
        indexes on them (with ``pg_trgm`` if possible); runs in the caller's transaction.

        When the function's definition changes (``unaccent`` became available), the folded
        columns are recomputed: they are dropped and added again.
        """
        unaccent = await self._extension("unaccent")
        if unaccent is None:
            log.warning("PostgreSQL has no unaccent extension; issue search ignores case but not accents")
        body = fold_function_body(unaccent)
        current = await self.db.fetch_value(
            "SELECT p.prosrc FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE p.proname = ? AND n.nspname = current_schema()",
            [FOLD_FUNCTION],
        )
        for name in OLD_TRGM_INDEXES:
            await self.db.execute(f"DROP INDEX IF EXISTS {name}")
        if current is not None and current != body:
            for (table, _column), folded in FOLDED_COLUMNS.items():
                await self.db.execute(f"ALTER TABLE {table} DROP COLUMN IF EXISTS {folded}")
        await self.db.execute(fold_function_ddl(body))
        for (table, column), folded in FOLDED_COLUMNS.items():
            await self.db.execute(
                f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {folded} text "
                f"GENERATED ALWAYS AS ({FOLD_FUNCTION}({column})) STORED"
            )
        if await self._extension("pg_trgm") is None:
            log.warning("PostgreSQL has no pg_trgm extension; issue search will scan without an index")
            return
        for statement in PG_TRGM_INDEXES.values():
            await self.db.execute(statement)

    async def _indexed(self) -> bool:
        names = ", ".join(f"'{name}'" for name in PG_TRGM_INDEXES)
        indexes = await self.db.fetch_value(f"SELECT count(*) AS n FROM pg_indexes WHERE indexname IN ({names})")
        columns = ", ".join(f"'{folded}'" for folded in FOLDED_COLUMNS.values())
        present = await self.db.fetch_value(
            "SELECT count(*) AS n FROM information_schema.columns WHERE table_schema = current_schema() "
            f"AND column_name IN ({columns})"
        )
        return indexes == len(PG_TRGM_INDEXES) and present == len(FOLDED_COLUMNS)

    async def prepare(self) -> None:
        """Once per server: recreate lost folded columns or trigram indexes, or warn that
        searches will scan."""
        if self.indexed is None:
            self.indexed = await self._indexed()
            if not self.indexed:
                async with self.db.transaction():
                    await self.install()
                self.indexed = await self._indexed()
                if not self.indexed:
                    log.warning("issue search runs without pg_trgm indexes (the extension is unavailable)")

    async def refresh(self) -> bool:
        await self.prepare()
        return False

    async def source(self, text: str) -> Source:
        needle = needle_of(text)
        if needle is None:
            return NO_MATCH
        await self.prepare()
        if len(needle) < TRIGRAM:
            # no trigram to look up: test each issue's own row, newest first, so that a page
            # stops after enough matches. OFFSET 0 keeps the planner from turning the EXISTS
            # into a hashed subplan that reads every comment first.
            return Source(
                where=(
                    f"({_like('i', 'issues', 'title')} OR {_like('i', 'issues', 'description')} OR EXISTS "
                    f"(SELECT 1 FROM comments c WHERE c.issue_id = i.id AND {_like('c', 'comments', 'content')} "
                    "OFFSET 0))",
                ),
                params=(text, text, text),
            )
        return Source(
            where=(
                f"i.id IN (SELECT s.id FROM issues s WHERE {_like('s', 'issues', 'title')} "
                f"UNION SELECT s.id FROM issues s WHERE {_like('s', 'issues', 'description')} "
                f"UNION SELECT c.issue_id FROM comments c WHERE {_like('c', 'comments', 'content')})",
            ),
            params=(text, text, text),
            once=True,
        )

    async def column_source(self, column: str, text: str, without: str | None = None) -> Source:
        needle = needle_of(text)
        if needle is None:
            return NO_MATCH
        await self.prepare()
        source = Source(where=(_like("i", "issues", column),), params=(text,))
        if without:
            other = _folded("i", "issues", without)
            source = source.narrowed(f"({other} IS NULL OR NOT {_like('i', 'issues', without)})", text)
        return source

    async def comment_rows(self, text: str, limit: int) -> list[dict[str, Any]]:
        if needle_of(text) is None:
            return []
        await self.prepare()
        return await self.db.fetch_all(
            "SELECT c.id, c.issue_id, c.content, i.title FROM comments c JOIN issues i ON i.id = c.issue_id "
            f"WHERE {_like('c', 'comments', 'content')} ORDER BY c.id DESC LIMIT ?",
            [text, limit],
        )
