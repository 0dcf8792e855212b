"""Leases: which instance of a team server runs a singleton worker.

* :class:`PostgresLeases` holds session-level advisory locks on one connection of its own
  (not one of the pool's). The database frees them when that connection ends, so an instance
  that dies (``kill -9``, a crash, a lost network) loses its leases at once, or after the
  server-side TCP keepalive (about 10 s) when its host vanishes. The connection is checked
  every ``CHECK_SECONDS``; when it breaks, every lease is reported lost (the workers stop) and
  taken again on a new connection.
* :class:`FileLeases` (SQLite) holds an exclusive ``flock`` on one file per worker in a
  directory beside the database file. A second server process on the same file cannot take it;
  the operating system frees it when the holder exits, however it exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

log = logging.getLogger("crosslink.leases")

#: Every advisory lock of a lease is taken in this namespace (its first key).
ADVISORY_NAMESPACE = "crosslink.worker"
CHECK_SECONDS = 1.0
#: Server-side keepalive of the lease connection: a vanished host frees its leases in ~11 s.
KEEPALIVE_SETTINGS = {"tcp_keepalives_idle": "5", "tcp_keepalives_interval": "2", "tcp_keepalives_count": "3"}


class Leases(Protocol):
    async def acquire(self, name: str) -> bool: ...

    async def release(self, name: str) -> None: ...

    def lost_signal(self, name: str) -> asyncio.Event: ...

    async def close(self) -> None: ...


class FileLeases:
    """One ``flock``-ed file per lease, in ``directory``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._held: dict[str, int] = {}
        self._lost: dict[str, asyncio.Event] = {}

    async def acquire(self, name: str) -> bool:
        if name in self._held:
            return True
        self.directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.directory / f"{name}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._held[name] = fd
        self.lost_signal(name).clear()
        return True

    async def release(self, name: str) -> None:
        fd = self._held.pop(name, None)
        if fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def lost_signal(self, name: str) -> asyncio.Event:
        return self._lost.setdefault(name, asyncio.Event())

    async def close(self) -> None:
        for name in list(self._held):
            await self.release(name)


def postgres_dsn(url: str) -> str:
    """The database URL as asyncpg takes it: ``postgresql://``, without Tortoise's pool options."""
    parts = urlsplit(url)
    return urlunsplit(("postgresql", parts.netloc, parts.path, "", ""))


class PostgresLeases:
    """Session advisory locks on a connection of their own."""

    def __init__(self, url: str) -> None:
        self.dsn = postgres_dsn(url)
        self._connection = None
        self._held: set[str] = set()
        self._lost: dict[str, asyncio.Event] = {}
        self._lock = asyncio.Lock()
        self._checker: asyncio.Task | None = None

    async def _connect(self):
        import asyncpg

        if self._connection is None or self._connection.is_closed():
            self._connection = await asyncpg.connect(
                self.dsn,
                server_settings={"application_name": "crosslink-server leases", **KEEPALIVE_SETTINGS},
            )
            if self._checker is None or self._checker.done():
                self._checker = asyncio.ensure_future(self._check())
        return self._connection

    async def acquire(self, name: str) -> bool:
        async with self._lock:
            if name in self._held:
                return True
            connection = await self._connect()
            taken = await connection.fetchval(
                "SELECT pg_try_advisory_lock(hashtext($1), hashtext($2))", ADVISORY_NAMESPACE, name
            )
            if taken:
                self._held.add(name)
                self.lost_signal(name).clear()
            return bool(taken)

    async def release(self, name: str) -> None:
        async with self._lock:
            if name not in self._held:
                return
            self._held.discard(name)
            if self._connection is not None and not self._connection.is_closed():
                with contextlib.suppress(Exception):
                    await self._connection.fetchval(
                        "SELECT pg_advisory_unlock(hashtext($1), hashtext($2))", ADVISORY_NAMESPACE, name
                    )

    def lost_signal(self, name: str) -> asyncio.Event:
        return self._lost.setdefault(name, asyncio.Event())

    async def _check(self) -> None:
        """Every few seconds: is the connection (and so every lease on it) still there?"""
        while True:
            await asyncio.sleep(CHECK_SECONDS)
            async with self._lock:
                connection = self._connection
                if connection is None:
                    return
                try:
                    await asyncio.wait_for(connection.fetchval("SELECT 1"), CHECK_SECONDS * 5)
                    continue
                except Exception as exc:
                    if self._held:
                        log.warning("the lease connection broke (%s); %d lease(s) lost", exc, len(self._held))
                    for name in self._held:
                        self.lost_signal(name).set()
                    self._held.clear()
                    with contextlib.suppress(Exception):
                        connection.terminate()
                    self._connection = None
                    return

    async def close(self) -> None:
        if self._checker is not None:
            self._checker.cancel()
            await asyncio.gather(self._checker, return_exceptions=True)
        if self._connection is not None and not self._connection.is_closed():
            with contextlib.suppress(Exception):
                await self._connection.close(timeout=2)
        self._connection = None
        self._held.clear()
