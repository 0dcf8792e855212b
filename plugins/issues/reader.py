"""Point reads on SQLite without a thread hop.

Every query through the kernel's database goes through aiosqlite, which hands it to a worker
thread and back: on a one-row read that hand-off costs several times the query itself. The
hottest reads (an issue by id, its existence) therefore run on a read-only ``sqlite3``
connection of their own, synchronously, on the event loop thread: a primary-key lookup takes
tens of microseconds, less than the hand-off it saves. In WAL mode such a reader never waits for
writers and sees every committed write, the server's own and the crosslink CLI's.

Inside a write transaction (``kernel.db.transaction()``) reads go through the transaction's
connection instead, so they see its uncommitted writes. On PostgreSQL (no thread hop) and when
the reader cannot be opened or fails, the kernel's database answers.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from tortoise.connection import connections

if TYPE_CHECKING:
    from kernel.storage.database import Database

log = logging.getLogger("crosslink.issues.reader")

#: A reader never waits long on the event loop; past this it falls back to the async path.
BUSY_TIMEOUT_MS = 50


class PointReader:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._connection: sqlite3.Connection | None = None
        self._client: Any = None

    def open(self) -> None:
        """Open the read-only connection (SQLite only); call once the database is up."""
        path = self.db.sqlite_path() if self.db.is_sqlite else None
        if path is None:
            return
        try:
            connection = sqlite3.connect(
                f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None, check_same_thread=False
            )
            connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            connection.execute("PRAGMA query_only = 1")
        except sqlite3.Error as exc:
            log.warning("no fast reader for %s (%s); point reads go through the pool", path, exc)
            return
        self._connection = connection
        self._client = connections.get("default")

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _usable(self) -> bool:
        # inside a transaction Tortoise hands out the transaction's client, not the base one
        return self._connection is not None and connections.get("default") is self._client

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        if self._usable():
            try:
                cursor = self._connection.execute(sql, tuple(params))
                row = cursor.fetchone()
                if row is None:
                    return None
                return dict(zip([column[0] for column in cursor.description], row))
            except sqlite3.Error as exc:
                log.debug("fast read failed (%s); using the pool", exc)
        return await self.db.fetch_one(sql, params)
