"""Cross-process locks on files: two server processes (or a server and a script) serving one
repository directory take turns at a file they both rewrite.

``async with file_lock(path):`` holds an exclusive ``flock`` on ``path`` (created if missing)
for the block. Waiting never blocks the event loop: the lock is tried without blocking and
retried every few milliseconds, up to ``timeout`` seconds (then :class:`LockTimeout`). Within
one process the same path is also serialised with an :class:`asyncio.Lock`, since ``flock``
does not exclude the holder's own process from a second open file. The operating system frees
the lock when its holder exits, however it exits, so a crash never leaves it held.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

RETRY_SECONDS = 0.01
_local: dict[tuple[int, str], asyncio.Lock] = {}


class LockTimeout(TimeoutError):
    """Another process held the lock for longer than the caller was willing to wait."""


def _local_lock(path: Path) -> asyncio.Lock:
    key = (id(asyncio.get_running_loop()), str(path.resolve()))
    lock = _local.get(key)
    if lock is None:
        lock = _local[key] = asyncio.Lock()
    return lock


@asynccontextmanager
async def file_lock(path: Path, timeout: float = 30.0) -> AsyncIterator[None]:
    """Hold an exclusive lock on ``path`` for the block (see the module docstring)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    async with _local_lock(path):
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise LockTimeout(f"{path} stayed locked by another process for {timeout:.0f} s") from None
                    await asyncio.sleep(RETRY_SECONDS)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


class FileLock:
    """``file_lock(path)`` as an object that code can hold and share: ``async with lock:``.

    Each ``async with`` takes the lock anew (in-process first, then the file), so one object can
    be used by many tasks; it is not re-entrant.
    """

    def __init__(self, path: Path, timeout: float = 30.0) -> None:
        self.path = path
        self.timeout = timeout
        self._entered: dict[asyncio.Task, object] = {}

    async def __aenter__(self) -> FileLock:
        held = file_lock(self.path, self.timeout)
        await held.__aenter__()
        self._entered[asyncio.current_task()] = held
        return self

    async def __aexit__(self, *exc) -> None:
        held = self._entered.pop(asyncio.current_task())
        await held.__aexit__(*exc)
