"""The PostgreSQL databases of the tests: copies of a migrated template, made ahead and reused.

A test on PostgreSQL gets a database of its own that holds what ``crosslink db migrate``
leaves: a copy of the template (``CREATE DATABASE ... TEMPLATE``). Copies are made ahead, in a
thread, while the previous test runs. A copy costs about 0.1 s of the server's CPU, and
dropping one more: on PostgreSQL 15 every ``DROP DATABASE`` forces an immediate checkpoint,
which writes out what every other test has in the buffers.

So a database a test gives back is, where it can be, *reset* to the template's state rather
than dropped: its sessions are ended, and if its schema still matches the template's exactly
(every relation, column, default, index, constraint, trigger, function, extension, schema and
database setting: :data:`FINGERPRINT`), every row is deleted (triggers off), the template's
own rows are put back and every sequence is set to the template's value, in one transaction.
The next test cannot tell it from a new copy. A database whose schema a test changed (a test
plugin's migration, say) is dropped, as before. The template's state is read once per test
process, at its first reset, from a copy made for that and dropped after.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import asyncpg
import pytest

#: One text per schema object outside PostgreSQL's own schemas, hashed: equal fingerprints
#: mean equal schemas.
FINGERPRINT = """
SELECT md5(string_agg(item, E'\\n' ORDER BY item)) FROM (
  SELECT 'relation ' || n.nspname || '.' || c.relname || ' ' || c.relkind::text || ' '
         || coalesce(array_to_string(c.reloptions, ','), '') || ' ' || coalesce(c.relacl::text, '')
         || ' ' || c.relpersistence::text
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
  UNION ALL
  SELECT 'column ' || c.oid::regclass::text || ' ' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
         || ' ' || a.attnotnull || ' ' || a.attidentity::text || a.attgenerated::text || ' '
         || coalesce(pg_get_expr(d.adbin, d.adrelid), '')
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
   WHERE a.attnum > 0 AND NOT a.attisdropped
     AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
  UNION ALL
  SELECT 'index ' || indexdef FROM pg_indexes WHERE schemaname NOT IN ('pg_catalog', 'information_schema')
  UNION ALL
  SELECT 'constraint ' || conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid)
    FROM pg_constraint WHERE connamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)
  UNION ALL
  SELECT 'trigger ' || pg_get_triggerdef(oid) || ' ' || tgenabled::text FROM pg_trigger WHERE NOT tgisinternal
  UNION ALL
  SELECT 'view ' || c.oid::regclass::text || ' ' || pg_get_viewdef(c.oid)
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE c.relkind IN ('v', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  UNION ALL
  SELECT 'function ' || p.oid::regprocedure::text || ' ' || md5(coalesce(p.prosrc, ''))
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
   WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
  UNION ALL
  SELECT 'type ' || n.nspname || '.' || t.typname || ' ' || t.typtype::text
    FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
   WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
  UNION ALL
  SELECT 'extension ' || extname || ' ' || extversion FROM pg_extension
  UNION ALL
  SELECT 'schema ' || nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%'
  UNION ALL
  SELECT 'setting ' || array_to_string(setconfig, ',') FROM pg_db_role_setting
   WHERE setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())
  UNION ALL
  SELECT 'text search ' || cfgname FROM pg_ts_config WHERE cfgnamespace <> 'pg_catalog'::regnamespace
) AS schema_objects(item)
"""
#: The tables and sequences a reset covers (the template's; a copy whose schema matches has
#: no others).
TABLES = """
SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname), c.relkind::text
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p', 'S') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname NOT LIKE 'pg\\_%'
 ORDER BY 1
"""
#: The columns a row can be written back into (not the generated ones).
WRITABLE_COLUMNS = """
SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped
   AND attgenerated = '' ORDER BY attnum
"""


def new_database_name() -> str:
    return f"crosslink_t_{uuid.uuid4().hex[:12]}"


async def create_database(admin_dsn: str, name: str, template: str | None) -> None:
    """``CREATE DATABASE name`` (a copy of ``template``), retried while another session copies
    the template (PostgreSQL refuses a template that is being read)."""
    clause = f' TEMPLATE "{template}"' if template else ""
    admin = await asyncpg.connect(admin_dsn)
    try:
        for attempt in range(50):
            try:
                await admin.execute(f'CREATE DATABASE "{name}"{clause}')
                return
            except asyncpg.ObjectInUseError:
                await asyncio.sleep(0.1 + 0.05 * attempt)
        pytest.fail("the template database stayed busy")
    finally:
        await admin.close()


async def drop_database(admin_dsn: str, name: str) -> None:
    admin = await asyncpg.connect(admin_dsn)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@dataclass(frozen=True)
class TemplateState:
    """What a reset puts back: the schema's fingerprint, the rows the template holds (table ->
    columns and rows) and every sequence's position."""

    fingerprint: str
    rows: dict[str, tuple[list[str], list[tuple]]]
    sequences: dict[str, tuple[int, bool]]
    tables: list[str]

    @classmethod
    async def read(cls, connection: asyncpg.Connection) -> TemplateState:
        rows, sequences, tables = {}, {}, []
        for relation, kind in await connection.fetch(TABLES):
            if kind == "S":
                state = await connection.fetchrow(f"SELECT last_value, is_called FROM {relation}")
                sequences[relation] = (state["last_value"], state["is_called"])
                continue
            tables.append(relation)
            columns = [row["attname"] for row in await connection.fetch(WRITABLE_COLUMNS, relation)]
            quoted = ", ".join(f'"{column}"' for column in columns)
            found = [tuple(row) for row in await connection.fetch(f"SELECT {quoted} FROM {relation}")]
            if found:
                rows[relation] = (columns, found)
        return cls(await connection.fetchval(FINGERPRINT), rows, sequences, tables)

    async def reset(self, connection: asyncpg.Connection) -> bool:
        """Put ``connection``'s database back in this state; ``False`` (nothing changed) if its
        schema is no longer the template's."""
        if await connection.fetchval(FINGERPRINT) != self.fingerprint:
            return False
        async with connection.transaction():
            await connection.execute("SET LOCAL session_replication_role = replica")  # no triggers, no foreign keys
            for table in self.tables:
                await connection.execute(f"DELETE FROM {table}")
            for table, (columns, rows) in self.rows.items():
                schema, name = table.split(".", 1)
                await connection.copy_records_to_table(name.strip('"'), schema_name=schema.strip('"'),
                                                       columns=columns, records=rows)
            for sequence, (value, called) in self.sequences.items():
                await connection.execute("SELECT setval($1::regclass, $2, $3)", sequence, value, called)
        return True


async def _end_sessions(connection: asyncpg.Connection) -> bool:
    """End every other session on ``connection``'s database (as ``DROP ... WITH (FORCE)`` does);
    whether they are all gone (a client that keeps reconnecting for two seconds is not)."""
    for _ in range(100):
        others = await connection.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()")
        if not others:
            return True
        await asyncio.sleep(0.02)
    return False


class SpareDatabases:
    """This test process's databases: copies made ahead in a thread while the previous test
    runs (a test does not wait for its copy), and reset (or dropped) in another thread when a
    test gives one back. A copy made ahead is a reset database wherever a reset is under way:
    a process keeps two or three databases for its whole run."""

    #: One database ahead per test process (the suite runs several processes; more copies at
    #: once only add to the disk's load).
    AHEAD = 1

    def __init__(self, admin_dsn: str, template: str) -> None:
        self.admin_dsn = admin_dsn
        self.base = admin_dsn.rsplit("/", 1)[0]
        self.template = template
        self._copier = ThreadPoolExecutor(1, thread_name_prefix="database-copy")
        self._recycler = ThreadPoolExecutor(1, thread_name_prefix="database-reset")
        self._ready: deque[Future] = deque()
        self._reset: deque[str] = deque()  # given back and reset: handed out before any new copy
        self._recycling = 0
        self._changed = threading.Condition()
        self._state: TemplateState | None = None
        self.counts = {"copied": 0, "reset": 0, "dropped": 0}

    def _make(self) -> str:
        with self._changed:
            self._changed.wait_for(lambda: self._reset or not self._recycling)
            if self._reset:
                return self._reset.popleft()
            self.counts["copied"] += 1
        name = new_database_name()
        asyncio.run(create_database(self.admin_dsn, name, self.template))
        return name

    async def take(self) -> str:
        """A database in the template's state (the one made ahead when there is one); the
        next one is started."""
        future = self._ready.popleft() if self._ready else None
        while len(self._ready) < self.AHEAD:
            self._ready.append(self._copier.submit(self._make))
        if future is None:
            return await asyncio.get_running_loop().run_in_executor(None, self._make)
        return await asyncio.wrap_future(future)

    def give_back(self, name: str) -> None:
        """Reset ``name`` for a later test, or drop it, in a thread (the test does not wait)."""
        with self._changed:
            self._recycling += 1
        self._recycler.submit(asyncio.run, self._recycle(name))

    async def _recycle(self, name: str) -> None:
        reset = False
        try:
            if self._state is None:  # read from a pristine copy, once
                self._state = await self._read_state()
            connection = await asyncpg.connect(f"{self.base}/{name}")
            try:
                reset = await _end_sessions(connection) and await self._state.reset(connection)
            finally:
                await connection.close()
            if not reset:
                await drop_database(self.admin_dsn, name)
        except Exception:  # whatever went wrong, the database is not handed out again
            await drop_database(self.admin_dsn, name)
            raise
        finally:
            with self._changed:
                self._recycling -= 1
                self.counts["reset" if reset else "dropped"] += 1
                if reset:
                    self._reset.append(name)
                self._changed.notify_all()

    def settle(self, timeout: float = 60) -> bool:
        """Wait until every database given back is reset or dropped; whether that happened."""
        with self._changed:
            return self._changed.wait_for(lambda: not self._recycling, timeout)

    async def _read_state(self) -> TemplateState:
        name = new_database_name()
        await create_database(self.admin_dsn, name, self.template)
        connection = await asyncpg.connect(f"{self.base}/{name}")
        try:
            return await TemplateState.read(connection)
        finally:
            await connection.close()
            await drop_database(self.admin_dsn, name)

    def close(self) -> None:
        """Drop every database this process still holds."""
        self._recycler.shutdown(wait=True)
        self._copier.shutdown(wait=True)
        names = list(self._reset)
        names += [future.result() for future in self._ready if future.exception() is None]
        for name in dict.fromkeys(names):
            asyncio.run(drop_database(self.admin_dsn, name))
