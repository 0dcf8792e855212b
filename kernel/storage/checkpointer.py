"""WAL checkpoints of the SQLite file in the background, instead of inside a request's commit.

SQLite copies the write-ahead log back into the database file ("checkpoint") automatically at
the commit that takes the log past 1,000 pages: that commit, and the request waiting for it,
pays for copying the log (tens of milliseconds on a large file: most of the slowest 1 % of
added comments at 100k issues). While a server runs, its kernel worker turns that off on the
server's write connection (``PRAGMA wal_autocheckpoint = 0``, at the worker's first run) and
checkpoints every second instead, on a connection of its own in a thread: a ``PASSIVE``
checkpoint, which never waits for a lock and never blocks a reader or a writer (the crosslink
CLI's connections keep checkpointing as they always did). Commands that run without workers
(``crosslink db ...``) keep SQLite's automatic checkpoints.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .database import Database

#: Seconds between two checkpoints.
CHECKPOINT_SECONDS = 1.0


class WalCheckpointer:
    """Checkpoints one SQLite database's log; :meth:`run` is a periodic kernel worker."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._connection: sqlite3.Connection | None = None
        self._lock = threading.Lock()  # a checkpoint still running in its thread, against close()
        self._took_over = False

    def _checkpoint(self) -> tuple[int, int, int]:
        with self._lock:
            if self._connection is None:
                self._connection = sqlite3.connect(
                    self.db.sqlite_path(), isolation_level=None, check_same_thread=False
                )
            busy, log_pages, done = self._connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            return busy, log_pages, done

    async def run(self, ctx) -> None:
        """One checkpoint (the first run also turns the write connection's own off); the
        worker's note says how much of the log is in the database file."""
        if not self._took_over:
            await self.db.execute("PRAGMA wal_autocheckpoint = 0")
            self._took_over = True
        busy, log_pages, done = await asyncio.to_thread(self._checkpoint)
        if log_pages <= 0:
            ctx.note("the log is empty")
        else:
            ctx.note(f"{done} of {log_pages} log page(s) in the database file" + (" (busy)" if busy else ""))

    def close(self) -> None:
        """Close the checkpoint connection (after the workers stopped)."""
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None
