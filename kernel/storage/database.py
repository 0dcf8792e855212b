"""One database for the whole server: Tortoise on one connection, plus a raw SQL helper.

SQL passed to the helper uses ``?`` placeholders on every dialect; for PostgreSQL they are
rewritten to ``$1, $2, ...``. Writes that must be atomic go inside :meth:`Database.transaction`,
which on SQLite takes the write lock up front (``BEGIN IMMEDIATE``) and which defers the events
published inside it until it commits.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from tortoise import Tortoise
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.backends.base.executor import EXECUTOR_CACHE
from tortoise.connection import connections
from tortoise.exceptions import IntegrityError, OperationalError
from tortoise.transactions import in_transaction

from ..errors import StartupError
from .cancellation import run_to_end
from .point_reader import PointReader
from .spec import StorageSpec

if TYPE_CHECKING:
    from ..events import EventBus

CONNECTION = "default"
KERNEL_APP = "crosslink"
KERNEL_MODELS = "kernel.storage.models"

#: Pragmas every SQLite connection of the server runs with.
SQLITE_PRAGMAS = {
    "journal_mode": "WAL",
    "foreign_keys": "ON",
    "busy_timeout": "30000",
    "synchronous": "NORMAL",
}

#: Session settings of every PostgreSQL connection: JIT compilation costs milliseconds on the
#: short queries this server runs and never pays back.
POSTGRES_SERVER_SETTINGS = {"jit": "off", "application_name": "crosslink-server"}
POSTGRES_POOL = {"minsize": 1, "maxsize": 10}

_PLACEHOLDER = re.compile(r"\?")
_in_transaction: ContextVar[bool] = ContextVar("crosslink_in_transaction", default=False)

__all__ = ["Database", "IntegrityError", "OperationalError", "dialect_of", "sqlite_url"]


def dialect_of(url: str) -> str:
    scheme = urlsplit(url).scheme.lower()
    if scheme == "sqlite":
        return "sqlite"
    if scheme in ("postgres", "postgresql", "asyncpg"):
        return "postgres"
    raise StartupError(
        f"unsupported database URL scheme '{scheme}://'; use sqlite:///path/to/issues.db "
        "or postgres://user@host:5432/dbname"
    )


def sqlite_url(path: Path) -> str:
    return f"sqlite://{path.resolve()}"


@lru_cache(maxsize=2048)
def _to_postgres(sql: str) -> str:
    counter = iter(range(1, 10_000))
    return _PLACEHOLDER.sub(lambda _: f"${next(counter)}", sql)


def tortoise_config(url: str, specs: Sequence[StorageSpec], pool_size: int | None = None) -> dict[str, Any]:
    """Merge the enabled plugins' storage specs into one Tortoise config, one connection."""
    if dialect_of(url) == "sqlite":
        path = urlsplit(url).path
        if not path or path == "/":
            raise StartupError("the SQLite URL names no file: use sqlite:///abs/path/issues.db")
        connection = {
            "engine": "kernel.storage.sqlite_backend",
            "credentials": {"file_path": path, **SQLITE_PRAGMAS},
        }
    else:
        connection = {**expand_db_url(url), "engine": "kernel.storage.postgres_backend"}
        credentials = connection["credentials"]
        for key, value in POSTGRES_POOL.items():
            credentials.setdefault(key, value)
        if pool_size is not None:
            credentials["maxsize"] = pool_size
            credentials["minsize"] = min(int(credentials.get("minsize", 1)), pool_size)
        credentials["server_settings"] = {**POSTGRES_SERVER_SETTINGS, **credentials.get("server_settings", {})}
    apps = {KERNEL_APP: {"models": [KERNEL_MODELS], "default_connection": CONNECTION}}
    for spec in specs:
        if spec.models:
            apps[spec.app_label] = {"models": list(spec.models), "default_connection": CONNECTION}
    return {"connections": {CONNECTION: connection}, "apps": apps}


class Database:
    """The server's database: dialect, lifecycle, raw SQL and transactions."""

    def __init__(self, url: str, events: EventBus | None = None, *, pool_size: int | None = None) -> None:
        self.url = url
        self.pool_size = pool_size
        self.dialect = dialect_of(url)
        self._events = events
        self._started = False
        self._functions: dict[str, tuple[int, Callable]] = {}
        self._functions_on: Any = None
        self._point_reader = PointReader()
        self._change_signal: Callable[[], int] | None = None

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    def sqlite_path(self) -> Path | None:
        return Path(urlsplit(self.url).path) if self.is_sqlite else None

    def runtime_dir(self) -> Path:
        """Where an SQLite database's servers keep their lock files: a hidden directory beside
        the file (``.crosslink/.issues.db.server/``), shared by every server process on it."""
        path = self.sqlite_path()
        if path is None:
            raise RuntimeError("only an SQLite database has a runtime directory")
        return path.parent / f".{path.name}.server"

    async def start(self, specs: Sequence[StorageSpec]) -> None:
        """Initialise Tortoise for the enabled plugins' models (global for request tasks)."""
        if self.is_sqlite:
            self.sqlite_path().parent.mkdir(parents=True, exist_ok=True)
        # Tortoise caches each model's SQL per (connection name, table), not per dialect; a
        # process that serves SQLite and then PostgreSQL (tests, embedders) must start afresh.
        EXECUTOR_CACHE.clear()
        await Tortoise.init(config=tortoise_config(self.url, specs, self.pool_size), _enable_global_fallback=True)
        self._started = True
        try:
            await self.fetch_value("SELECT 1")
        except Exception as exc:
            await self.stop()
            raise StartupError(f"cannot open the database {self.safe_url()}: {exc}") from exc
        if self.is_sqlite:
            self._point_reader.open(self.sqlite_path(), self._functions)

    async def stop(self) -> None:
        self._point_reader.close()
        if self._started:
            self._started = False
            self._functions_on = None
            await Tortoise.close_connections()

    async def register_sqlite_function(self, name: str, arity: int, function: Callable) -> None:
        """Make a deterministic Python function callable from SQL (SQLite only; else a no-op).

        It is registered on the server's connection and on the point reader, now and whenever
        the connection is reopened.
        """
        if not self.is_sqlite:
            return
        self._functions[name] = (arity, function)
        self._point_reader.add_function(name, arity, function)
        await self._install_functions()

    async def _install_functions(self) -> None:
        # Tortoise keeps its aiosqlite connection in a private attribute; this is the one place
        # that reaches it, to register functions the way sqlite3 allows.
        raw = getattr(self._client(), "_parent", self._client())
        connection = getattr(raw, "_connection", None)
        if connection is None or connection is self._functions_on:
            return
        for name, (arity, function) in self._functions.items():
            await connection.create_function(name, arity, function, deterministic=True)
        self._functions_on = connection

    def safe_url(self) -> str:
        """The URL with any password masked, for messages."""
        parts = urlsplit(self.url)
        if parts.password:
            netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
            return parts._replace(netloc=netloc).geturl()
        return self.url

    # --- raw SQL ---------------------------------------------------------------------------

    def _sql(self, sql: str) -> str:
        return _to_postgres(sql) if self.dialect == "postgres" else sql

    @staticmethod
    def _client():
        return connections.get(CONNECTION)

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        if self._functions:
            await self._install_functions()
        return await self._client().execute_query_dict(self._sql(sql), list(params))

    def data_version(self) -> int | None:
        """A number that changes whenever a change commits; use it to cache derived figures
        (counts) until the data changes. ``None`` when there is no such signal: do not cache.

        SQLite: ``PRAGMA data_version``, which every writer moves (this server, another server,
        the crosslink CLI). PostgreSQL, where only servers write: the change signal the kernel
        sets (:meth:`follow_changes`), the newest event this instance has delivered, since every
        change a server commits carries its events in the same transaction. This instance's
        own commits move it before their response; another instance's when its notification
        arrives (milliseconds later).
        """
        if self.is_sqlite:
            return self._point_reader.data_version()
        return self._change_signal() if self._change_signal is not None else None

    def follow_changes(self, signal: Callable[[], int]) -> None:
        """On PostgreSQL, take ``signal()`` as the data version (see :meth:`data_version`)."""
        self._change_signal = signal

    async def fetch_point(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        """A quick single-row read (a lookup by key): on SQLite without a thread hop.

        Outside a transaction it runs on a read-only connection on the event loop thread; it
        sees every committed write. Inside ``transaction()`` it reads through the transaction,
        so it sees that transaction's own writes. Keep it to indexed lookups.
        """
        if not _in_transaction.get():
            answered, row = self._point_reader.fetch_one(sql, params)
            if answered:
                return row
        return await self.fetch_one(sql, params)

    async def fetch_quick(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """A short read (a few hundred rows by key): on SQLite, outside a transaction, without
        a thread hop, as :meth:`fetch_point`; elsewhere through the pool."""
        if not _in_transaction.get():
            answered, rows = self._point_reader.fetch_all(sql, params)
            if answered:
                return rows
        return await self.fetch_all(sql, params)

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        rows = await self.fetch_all(sql, params)
        return rows[0] if rows else None

    async def fetch_value(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = await self.fetch_one(sql, params)
        return None if row is None else next(iter(row.values()))

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run a statement; return the number of rows it changed (not counting trigger writes)."""
        if not self.is_sqlite:
            changed, _ = await self._client().execute_query(self._sql(sql), list(params))
            return changed
        if self._functions:
            await self._install_functions()
        try:
            async with self._client().acquire_connection() as connection:
                cursor = await connection.execute(sql, list(params))
                changed = cursor.rowcount
                await cursor.close()
        except sqlite3.IntegrityError as exc:
            raise IntegrityError(exc) from exc
        except sqlite3.OperationalError as exc:
            raise OperationalError(exc) from exc
        return max(changed, 0)

    async def insert(self, sql: str, params: Sequence[Any] = (), returning: str = "id") -> Any:
        """Run an ``INSERT`` and return the new row's ``returning`` column."""
        row = await self.fetch_one(f"{sql} RETURNING {returning}", params)
        return None if row is None else row[returning]

    async def serialise(self, namespace: str, key: str = "") -> None:
        """Inside a transaction: wait for other transactions serialised on ``(namespace, key)``.

        On SQLite every write transaction already excludes the others (``BEGIN IMMEDIATE``);
        on PostgreSQL this takes a transaction-scoped advisory lock, released at commit.
        """
        if self.dialect == "postgres":
            await self.execute("SELECT pg_advisory_xact_lock(hashtext(?), hashtext(?))", (namespace, key))

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Any]:
        """A write transaction; events published inside it are written to the event log in it
        (just before the commit) and delivered only after it commits.

        Cancelling the task (a client that disconnects) never leaves the transaction half-done:
        a start is undone, a commit that began runs to its end (see the storage engines).
        """
        token = _in_transaction.set(True)
        try:
            if self._events is None:
                async with in_transaction(CONNECTION) as connection:
                    yield connection
                return
            cancelled = False
            async with self._events.deferred() as held:
                context = in_transaction(CONNECTION)
                try:
                    async with context as connection:
                        yield connection
                        if held.outermost and held.events:
                            # the outbox, logged with the change: once the body is done, the log
                            # write and the commit are one step that a cancellation does not split
                            held.entries, cancelled = await run_to_end(self._events.write(held.events))
                finally:
                    # cancelled while committing: the commit finished first, its events go out
                    held.committed = getattr(context, "committed", False)
            if cancelled:
                raise asyncio.CancelledError
        finally:
            _in_transaction.reset(token)
