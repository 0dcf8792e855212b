"""Single-row reads on SQLite without aiosqlite's thread hop.

Every query through Tortoise's SQLite client goes through aiosqlite, which hands it to a worker
thread and back: on a one-row read that hand-off costs several times the query itself. A
:class:`PointReader` keeps a read-only ``sqlite3`` connection of its own and runs primary-key
lookups synchronously on the event loop thread (tens of microseconds). In WAL mode such a
reader never waits for writers and sees every committed write, the server's own and the
crosslink CLI's.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

log = logging.getLogger("crosslink.storage")

#: A point read never holds the event loop long; past this it reports failure instead.
BUSY_TIMEOUT_MS = 50


class PointReader:
    """A read-only connection for quick single-row reads; ``None`` answers mean "ask the pool"."""

    def __init__(self) -> None:
        self._connection: sqlite3.Connection | None = None

    def open(self, path: Path, functions: dict[str, tuple[int, Callable]]) -> None:
        try:
            connection = sqlite3.connect(
                f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None, check_same_thread=False
            )
            connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            connection.execute("PRAGMA query_only = 1")
            for name, (arity, function) in functions.items():
                connection.create_function(name, arity, function, deterministic=True)
        except sqlite3.Error as exc:
            log.warning("no point reader for %s (%s); single-row reads use the pool", path, exc)
            return
        self._connection = connection

    def add_function(self, name: str, arity: int, function: Callable) -> None:
        if self._connection is not None:
            self._connection.create_function(name, arity, function, deterministic=True)

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def fetch_one(self, sql: str, params: Sequence[Any]) -> tuple[bool, dict[str, Any] | None]:
        """``(True, row or None)`` when answered here, ``(False, None)`` when it could not be."""
        if self._connection is None:
            return False, None
        try:
            cursor = self._connection.execute(sql, tuple(params))
            row = cursor.fetchone()
        except sqlite3.Error as exc:
            log.debug("point read failed (%s); using the pool", exc)
            return False, None
        if row is None:
            return True, None
        return True, dict(zip([column[0] for column in cursor.description], row))

    def fetch_all(self, sql: str, params: Sequence[Any]) -> tuple[bool, list[dict[str, Any]]]:
        """``(True, rows)`` when answered here, ``(False, [])`` when it could not be."""
        if self._connection is None:
            return False, []
        try:
            cursor = self._connection.execute(sql, tuple(params))
            rows = cursor.fetchall()
        except sqlite3.Error as exc:
            log.debug("point read failed (%s); using the pool", exc)
            return False, []
        names = [column[0] for column in cursor.description]
        return True, [dict(zip(names, row)) for row in rows]

    def data_version(self) -> int | None:
        """SQLite's ``PRAGMA data_version`` seen from this connection: it changes whenever any
        other connection (the server's own writer, the crosslink CLI) commits."""
        if self._connection is None:
            return None
        try:
            return self._connection.execute("PRAGMA data_version").fetchone()[0]
        except sqlite3.Error:
            return None
