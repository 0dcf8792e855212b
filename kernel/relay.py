"""The relay: this instance's reader of the event log, delivering it in id (commit) order.

Every instance of a server runs one, as a kernel worker (``kernel-event-relay``). It keeps the
highest id it delivered (``last_id``) and hands each newer entry, oldest first, to the
WebSocket broadcaster and to the ``crosslink_on_event`` hook. New entries are found three ways:

* **Local commits** (the fast path): a transaction of this instance reports the entries it
  wrote; when they follow ``last_id`` without a hole they are delivered at once, without a read.
  Otherwise the relay reads the log.
* **Other instances** (PostgreSQL): their transactions queue a ``NOTIFY`` that arrives when they
  commit; it wakes the relay, which reads every row after ``last_id``.
* **Polling**, the safety net: on PostgreSQL a read every ``POSTGRES_POLL_SECONDS`` catches what
  a missed notification (a dropped listener connection) would lose; on SQLite, where another
  server process on the same file cannot notify, ``PRAGMA data_version`` is checked every
  ``SQLITE_POLL_SECONDS`` (a few microseconds) and the log is read when it moved.

Because ids are handed out in commit order (:mod:`kernel.eventlog`), reading ``id > last_id``
never skips a row that commits later, and each entry is delivered once per instance.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from .eventlog import NOTIFY_CHANNEL, EventLog, LogEntry
from .leases import postgres_dsn

if TYPE_CHECKING:
    from .storage.database import Database
    from .workers import WorkerContext

log = logging.getLogger("crosslink.relay")

SQLITE_POLL_SECONDS = 0.1
POSTGRES_POLL_SECONDS = 1.0
READ_BATCH = 1000


class EventRelay:
    """Delivers the event log to this instance, in order, once."""

    def __init__(
        self,
        db: Database,
        log_: EventLog,
        deliver: Callable[[LogEntry], None],
        wake: Callable[[], object],
    ) -> None:
        self.db = db
        self.log = log_
        self.instance = log_.instance
        self._deliver = deliver
        self._wake = wake
        self._poked = False
        self.last_id = 0
        self.started = False
        self._advanced = asyncio.Event()
        self._listener = None
        self._data_version: int | None = None

    async def start(self) -> None:
        """Begin after what the log holds now: earlier events are history (resume reads them)."""
        self.last_id = await self.log.head()
        self.started = True

    def _poke(self) -> None:
        """Make the worker read the log now."""
        self._poked = True
        self._wake()

    # --- the fast path -------------------------------------------------------------------------

    def committed(self, entries: list[LogEntry]) -> None:
        """A local transaction committed ``entries`` (ascending ids)."""
        if not self.started or not entries or entries[-1].id <= self.last_id:
            return
        contiguous = entries[0].id == self.last_id + 1 and all(
            later.id == earlier.id + 1 for earlier, later in zip(entries, entries[1:])
        )
        if not contiguous:  # another instance's events (or a rolled-back id) come between
            self._poke()
            return
        for entry in entries:
            self._hand_over(entry)

    def _hand_over(self, entry: LogEntry) -> None:
        self.last_id = entry.id
        try:
            self._deliver(entry)
        except Exception:  # one bad consumer must not stop the relay
            log.exception("delivering event %s failed", entry.id)
        advanced, self._advanced = self._advanced, asyncio.Event()
        advanced.set()

    async def wait_beyond(self, after: int, timeout: float) -> bool:
        """Wait until something after ``after`` has been delivered here (long-polling)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.last_id <= after:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            try:
                await asyncio.wait_for(self._advanced.wait(), remaining)
            except TimeoutError:
                return False
        return True

    # --- reading the log -----------------------------------------------------------------------

    async def catch_up(self) -> int:
        """Deliver every entry after ``last_id``; return how many."""
        delivered = 0
        while True:
            entries = await self.log.read(self.last_id, limit=READ_BATCH)
            for entry in entries:
                if entry.id > self.last_id:
                    self._hand_over(entry)
                    delivered += 1
            if len(entries) < READ_BATCH:
                return delivered

    async def run(self, ctx: WorkerContext) -> None:
        """The worker: wait for a poke, a notification or the poll, then catch up."""
        if not self.started:
            await self.start()
        try:
            while not ctx.stopping:
                if not self.db.is_sqlite and self._listener is None:
                    await self._listen()
                woken = await self._wait(ctx)
                if ctx.stopping:
                    break
                if self.db.is_sqlite and not woken and not self._moved():
                    continue
                await self.catch_up()
        finally:
            await self._close_listener()

    async def _wait(self, ctx: WorkerContext) -> bool:
        """Sleep until poked or the poll interval ends; True when poked."""
        if not self._poked:
            await ctx.sleep(SQLITE_POLL_SECONDS if self.db.is_sqlite else POSTGRES_POLL_SECONDS)
        poked, self._poked = self._poked, False
        return poked

    def _moved(self) -> bool:
        version = self.db.data_version()
        if version is None:
            return True
        moved = version != self._data_version
        self._data_version = version
        return moved

    # --- PostgreSQL notifications --------------------------------------------------------------

    async def _listen(self) -> None:
        import asyncpg

        try:
            connection = await asyncpg.connect(
                postgres_dsn(self.db.url), server_settings={"application_name": "crosslink-server relay"}
            )
            await connection.add_listener(NOTIFY_CHANNEL, self._notified)
        except Exception as exc:  # polling carries on meanwhile
            log.warning("cannot listen for events of other instances (%s); polling every %ss",
                        exc, POSTGRES_POLL_SECONDS)
            return
        connection.add_termination_listener(self._listener_lost)
        self._listener = connection
        await self.catch_up()  # what committed while nobody listened

    def _notified(self, connection, pid, channel, payload) -> None:
        if payload != self.instance:  # this instance's own commits take the fast path
            self._poke()

    def _listener_lost(self, connection) -> None:
        log.warning("the event listener connection closed; reconnecting")
        self._listener = None
        self._poke()

    async def _close_listener(self) -> None:
        connection, self._listener = self._listener, None
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.close(timeout=2)
