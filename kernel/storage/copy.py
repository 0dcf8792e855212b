"""``crosslink db copy``: every table the server and the CLI use, from one database to another.

The target is migrated first (the CLI's tables and every plugin's), so both sides have the same
layout. Then each table present on both sides is copied with its ids, tables that others refer
to first, rows of a table that refers to itself (``issues.parent_id``) parents first; identity
sequences are moved past the copied ids (PostgreSQL; SQLite's ``AUTOINCREMENT`` follows by
itself). Derived tables are not copied: SQLite virtual tables (a full-text index) and their
shadow tables, the tables plugins declare as derived (``StorageSpec.derived``), and each
database's migration ledger. Every
copied table's row count is compared with the source's at the end.

The target must hold no data (no issue, comment, session, milestone, token usage or logged
event) unless ``replace`` is set, which empties the copied tables first. Everything runs in
one transaction on the target: a failed copy leaves it as it was.

The two sides are reached with their plain drivers (``sqlite3``, ``asyncpg``): the copy runs
outside a server and needs two connections at once.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..errors import StartupError
from .database import dialect_of

#: Tables never copied: each side keeps its own ledger; the search index is derived.
SKIPPED = frozenset({"server_migrations", "sqlite_sequence", "sqlite_stat1", "sqlite_stat4"})
#: A target holding rows in any of these is refused unless ``replace`` is set.
DATA_TABLES = ("issues", "comments", "sessions", "milestones", "token_usage", "server_events")
BATCH = 2000


@dataclass
class TableReport:
    name: str
    source_rows: int
    copied_rows: int
    target_rows: int

    @property
    def verified(self) -> bool:
        return self.source_rows == self.copied_rows == self.target_rows


class CopyError(StartupError):
    """The copy cannot be done (refused target, missing table or column); nothing was written."""


class SqliteSide:
    """One end of the copy: an SQLite file."""

    dialect = "sqlite"

    def __init__(self, url: str) -> None:
        path = urlsplit(url).path
        if not path or not Path(path).exists():
            raise CopyError(f"SQLite database {path or url} does not exist")
        self.connection = sqlite3.connect(path, isolation_level=None)
        self.connection.execute("PRAGMA busy_timeout = 30000")

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        return self.connection.execute(sql, tuple(params)).fetchall()

    async def tables(self) -> list[str]:
        rows = self._rows("SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY name")
        virtual = [name for name, sql in rows if (sql or "").upper().startswith("CREATE VIRTUAL TABLE")]
        return [
            name for name, _ in rows
            if name not in virtual and not any(name.startswith(v + "_") for v in virtual)
        ]

    async def columns(self, table: str) -> dict[str, str]:
        return {row[1]: (row[2] or "").upper() for row in self._rows(f'PRAGMA table_info("{table}")')}

    async def references(self, table: str) -> set[tuple[str, str]]:
        """``(column, referenced table)`` of each foreign key."""
        return {(row[3], row[2]) for row in self._rows(f'PRAGMA foreign_key_list("{table}")')}

    async def count(self, table: str) -> int:
        return self._rows(f'SELECT count(*) FROM "{table}"')[0][0]

    async def read(self, table: str, columns: list[str]) -> AsyncIterator[list[tuple]]:
        names = ", ".join(f'"{c}"' for c in columns)
        cursor = self.connection.execute(f'SELECT {names} FROM "{table}" ORDER BY rowid')
        while True:
            batch = cursor.fetchmany(BATCH)
            if not batch:
                return
            yield batch

    async def begin(self) -> None:
        self.connection.execute("PRAGMA foreign_keys = OFF")  # rows arrive parents-first anyway
        self.connection.execute("BEGIN IMMEDIATE")

    async def clear(self, table: str) -> None:
        self.connection.execute(f'DELETE FROM "{table}"')

    async def insert(self, table: str, columns: list[str], types: dict[str, str], rows: list[tuple]) -> None:
        names = ", ".join(f'"{c}"' for c in columns)
        marks = ", ".join("?" * len(columns))
        self.connection.executemany(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', rows)

    async def finish(self, tables: list[str]) -> None:
        broken = self._rows("PRAGMA foreign_key_check")
        if broken:
            raise CopyError(f"the copied rows break {len(broken)} foreign key(s), e.g. {broken[0]}")

    async def commit(self) -> None:
        self.connection.execute("COMMIT")
        self.connection.execute("PRAGMA foreign_keys = ON")

    async def rollback(self) -> None:
        if self.connection.in_transaction:
            self.connection.execute("ROLLBACK")

    async def close(self) -> None:
        self.connection.close()


class PostgresSide:
    """One end of the copy: a PostgreSQL database."""

    dialect = "postgres"

    def __init__(self, url: str) -> None:
        from ..leases import postgres_dsn

        self.dsn = postgres_dsn(url)
        self.connection = None
        self._transaction = None

    async def open(self) -> None:
        import asyncpg

        self.connection = await asyncpg.connect(self.dsn)

    async def tables(self) -> list[str]:
        rows = await self.connection.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() "
            "AND table_type = 'BASE TABLE' ORDER BY table_name"
        )
        return [row["table_name"] for row in rows]

    async def columns(self, table: str) -> dict[str, str]:
        """The columns a copy writes or reads: generated ones (computed by PostgreSQL) left out."""
        rows = await self.connection.fetch(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = $1 AND is_generated = 'NEVER' "
            "ORDER BY ordinal_position",
            table,
        )
        return {row["column_name"]: row["data_type"].upper() for row in rows}

    async def references(self, table: str) -> set[tuple[str, str]]:
        rows = await self.connection.fetch(
            "SELECT a.attname AS column_name, c.confrelid::regclass::text AS referenced "
            "FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey) "
            "WHERE c.contype = 'f' AND c.conrelid = $1::regclass",
            table,
        )
        return {(row["column_name"], row["referenced"].strip('"')) for row in rows}

    async def count(self, table: str) -> int:
        return await self.connection.fetchval(f'SELECT count(*) FROM "{table}"')

    async def read(self, table: str, columns: list[str]) -> AsyncIterator[list[tuple]]:
        names = ", ".join(f'"{c}"' for c in columns)
        order = '"id"' if "id" in columns else names
        async with self.connection.transaction(readonly=True, isolation="repeatable_read"):
            cursor = self.connection.cursor(f'SELECT {names} FROM "{table}" ORDER BY {order}', prefetch=BATCH)
            batch: list[tuple] = []
            async for record in cursor:
                batch.append(tuple(record))
                if len(batch) >= BATCH:
                    yield batch
                    batch = []
            if batch:
                yield batch

    async def begin(self) -> None:
        self._transaction = self.connection.transaction()
        await self._transaction.start()

    async def clear(self, table: str) -> None:
        await self.connection.execute(f'DELETE FROM "{table}"')

    async def insert(self, table: str, columns: list[str], types: dict[str, str], rows: list[tuple]) -> None:
        converters = [_postgres_converter(types.get(c, "TEXT")) for c in columns]
        records = [tuple(convert(value) for convert, value in zip(converters, row)) for row in rows]
        await self.connection.copy_records_to_table(table, records=records, columns=columns)

    async def finish(self, tables: list[str]) -> None:
        """Move each identity sequence of ``tables`` (those with an ``id``) past the copied ids."""
        for table in tables:
            sequence = await self.connection.fetchval("SELECT pg_get_serial_sequence($1, 'id')", table)
            if sequence:
                await self.connection.execute(
                    f'SELECT setval($1, GREATEST((SELECT max(id) FROM "{table}"), 1), '
                    f'(SELECT max(id) FROM "{table}") IS NOT NULL)',
                    sequence,
                )

    async def commit(self) -> None:
        await self._transaction.commit()
        self._transaction = None

    async def rollback(self) -> None:
        if self._transaction is not None:
            await self._transaction.rollback()
            self._transaction = None

    async def close(self) -> None:
        if self.connection is not None:
            await self.connection.close()


def _postgres_converter(data_type: str) -> Callable[[Any], Any]:
    """SQLite hands back ints for booleans and strings for everything textual."""
    if data_type == "BOOLEAN":
        return lambda v: None if v is None else bool(v)
    if data_type in ("BIGINT", "INTEGER", "SMALLINT"):
        return lambda v: None if v is None else int(v)
    if data_type in ("DOUBLE PRECISION", "REAL", "NUMERIC"):
        return lambda v: None if v is None else float(v)
    return lambda v: v


async def open_side(url: str) -> SqliteSide | PostgresSide:
    if dialect_of(url) == "sqlite":
        return SqliteSide(url)
    side = PostgresSide(url)
    try:
        await side.open()
    except Exception as exc:
        raise CopyError(f"cannot connect to {url}: {exc}") from exc
    return side


def dependency_order(tables: list[str], references: dict[str, set[tuple[str, str]]]) -> list[str]:
    """Tables, each after the tables it refers to (self-references aside; ties by name)."""
    ordered: list[str] = []
    state: dict[str, str] = {}

    def visit(table: str) -> None:
        if state.get(table) == "done":
            return
        if state.get(table) == "visiting":
            raise CopyError(f"tables refer to each other in a cycle through '{table}'")
        state[table] = "visiting"
        for _, referenced in sorted(references.get(table, ())):
            if referenced != table and referenced in references:
                visit(referenced)
        state[table] = "done"
        ordered.append(table)

    for table in sorted(tables):
        visit(table)
    return ordered


def parents_first(rows: list[tuple], key: int, parent: int) -> list[tuple]:
    """``rows`` ordered so that a row whose ``parent`` column names another row comes after it."""
    by_key = {row[key]: row for row in rows}
    children: dict[Any, list[tuple]] = {}
    roots = []
    for row in rows:
        if row[parent] is None or row[parent] not in by_key or row[parent] == row[key]:
            roots.append(row)
        else:
            children.setdefault(row[parent], []).append(row)
    ordered, stack = [], list(reversed(roots))
    while stack:
        row = stack.pop()
        ordered.append(row)
        stack.extend(reversed(children.pop(row[key], [])))
    for orphans in children.values():  # a loop of parents: keep the rows, order does not matter
        ordered.extend(orphans)
    return ordered


async def copy_database(
    source_url: str,
    target_url: str,
    *,
    replace: bool = False,
    derived: Sequence[str] = (),
    progress: Callable[[str, int], None] | None = None,
    announce: Callable[[int], None] | None = None,
) -> list[TableReport]:
    """Copy every shared table from ``source_url`` into ``target_url`` (already migrated).

    :param derived: tables the plugins rebuild from others (``StorageSpec.derived``): skipped.
    :param progress: called with a table name and a number of rows just copied.
    :param announce: called once with the total number of rows to copy.
    """
    source = await open_side(source_url)
    target = await open_side(target_url)
    try:
        skipped = SKIPPED | set(derived)
        source_tables = set(await source.tables()) - skipped
        target_tables = set(await target.tables()) - skipped
        shared = sorted(source_tables & target_tables)
        missing = sorted(t for t in source_tables - target_tables if not t.startswith("sqlite_"))
        if missing:
            raise CopyError(
                f"the target has no table(s) {', '.join(missing)}: enable the plugins that own them "
                "(--plugins) so the target is migrated with them"
            )
        if not replace:
            busy = [t for t in DATA_TABLES if t in target_tables and await target.count(t)]
            if busy:
                raise CopyError(
                    f"the target already holds data (in {', '.join(busy)}); copy into an empty database "
                    "or pass --replace to empty the copied tables first"
                )
        plans = {}
        references = {}
        for table in shared:
            source_columns = await source.columns(table)
            target_columns = await target.columns(table)
            lacking = [c for c in source_columns if c not in target_columns]
            if lacking:
                raise CopyError(f"table {table}: the target has no column(s) {', '.join(lacking)}")
            plans[table] = (list(source_columns), target_columns)
            references[table] = await source.references(table)
        order = dependency_order(shared, references)
        counts = {table: await source.count(table) for table in order}
        if announce is not None:
            announce(sum(counts.values()))
        copied = dict.fromkeys(order, 0)
        await target.begin()
        try:
            for table in reversed(order):
                await target.clear(table)
            for table in order:
                columns, types = plans[table]
                self_refs = [col for col, ref in references[table] if ref == table]
                batches = [batch async for batch in source.read(table, columns)] if self_refs else None
                if batches is not None and "id" in columns:
                    rows = parents_first([r for b in batches for r in b], columns.index("id"),
                                         columns.index(self_refs[0]))
                    batches = [rows[i:i + BATCH] for i in range(0, len(rows), BATCH)]
                async for batch in _iterate(batches) if batches is not None else source.read(table, columns):
                    await target.insert(table, columns, types, batch)
                    copied[table] += len(batch)
                    if progress is not None:
                        progress(table, len(batch))
            await target.finish([t for t in order if "id" in plans[t][0]])
            reports = [TableReport(t, counts[t], copied[t], await target.count(t)) for t in order]
            wrong = [r for r in reports if not r.verified]
            if wrong:
                raise CopyError(
                    "row counts differ after the copy: "
                    + ", ".join(f"{r.name} {r.source_rows} -> {r.target_rows}" for r in wrong)
                )
            await target.commit()
        except BaseException:
            await target.rollback()
            raise
        return reports
    finally:
        await source.close()
        await target.close()


async def _iterate(batches: list[list[tuple]]) -> AsyncIterator[list[tuple]]:
    for batch in batches:
        yield batch
        await asyncio.sleep(0)
