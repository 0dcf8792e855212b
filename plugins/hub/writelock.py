"""The crosslink CLI's hub write lock, ``.crosslink/.hub-cache/.hub-write-lock``, taken the CLI's way.

From v0.5.2 the CLI serialises every change to the hub checkout (writes, fetch, heartbeats,
compaction) with this file: it is created exclusively and holds the holder's PID and a newline.
A waiter polls every 100 ms; when the PID in the file is not a live process the file is stale
and is removed and taken at once; after 30 s the file is removed by force. The server takes the
same lock with its own real PID, so the CLI waits for the server and the server for the CLI,
and two server processes on one checkout wait for each other.

Two deliberate differences, both on the safe side: a PID that exists but belongs to another
user counts as alive (``kill -0`` says EPERM; the CLI's ``kill`` command reports a failure and
would call it dead), and a file without a PID yet (a holder between ``create`` and ``write``)
is only stale once it is a second old. Waiting never blocks the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger("crosslink.hub")

LOCK_FILE_NAME = ".hub-write-lock"
POLL_SECONDS = 0.1
FORCE_AFTER_SECONDS = 30.0
#: A lock file with no readable PID is given this long to get one before it counts as stale.
UNWRITTEN_GRACE_SECONDS = 1.0


def pid_is_alive(pid: int) -> bool:
    """True when a process with this PID exists (also another user's)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def read_holder(path: Path) -> int | None:
    """The PID written in the lock file, or ``None`` (missing, empty, not a number)."""
    try:
        text = path.read_text(encoding="ascii", errors="replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


class HubWriteLock:
    """One holder's claim on the CLI's write lock file (not reentrant)."""

    def __init__(self, path: Path, *, force_after: float = FORCE_AFTER_SECONDS, poll: float = POLL_SECONDS) -> None:
        self.path = path
        self.force_after = force_after
        self.poll = poll
        self.pid = os.getpid()
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def _try_create(self) -> bool:
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return False
        try:
            os.write(fd, f"{self.pid}\n".encode())
        except OSError:
            os.close(fd)
            self.path.unlink(missing_ok=True)
            raise
        self._fd = fd
        return True

    def _is_stale(self) -> tuple[bool, int | None]:
        holder = read_holder(self.path)
        if holder is not None:
            return not pid_is_alive(holder), holder
        try:
            age = time.time() - self.path.stat().st_mtime
        except FileNotFoundError:
            return True, None
        return age >= UNWRITTEN_GRACE_SECONDS, None

    async def acquire(self, on_wait: Callable[[int | None], None] | None = None) -> None:
        """Take the lock: wait while a live process holds it, take over a dead holder's file,
        force it after ``force_after`` seconds (as the CLI does). The checkout directory must
        exist: the lock never creates it (that would look like an initialised hub).

        :param on_wait: called once, with the holder's PID, when the lock is found held by a
            live process (so a caller can say what it waits for).
        """
        if self._fd is not None:
            raise RuntimeError("the hub write lock is already held by this holder")
        started = time.monotonic()
        announced = False
        while True:
            if self._try_create():
                return
            stale, holder = self._is_stale()
            if stale:
                log.warning("hub write lock %s is stale (holder %s is gone); taking it over", self.path, holder)
                self.path.unlink(missing_ok=True)
                if self._try_create():
                    return
                continue  # another process took it in between: look again
            if not announced:
                announced = True
                if on_wait is not None:
                    on_wait(holder)
            if time.monotonic() - started > self.force_after:
                log.warning(
                    "hub write lock %s held by PID %s for more than %.0f s; removing it as the CLI does",
                    self.path, holder, self.force_after,
                )
                self.path.unlink(missing_ok=True)
                if self._try_create():
                    return
                raise TimeoutError(f"{self.path} could not be taken even after removing it by force")
            await asyncio.sleep(self.poll)

    def release(self) -> None:
        """Give the lock back: remove the file if it still holds this process's PID."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.close(fd)
        except OSError:
            pass
        if read_holder(self.path) == self.pid:
            try:
                self.path.unlink()
            except FileNotFoundError:
                pass
            except OSError as exc:
                log.warning("could not remove the hub write lock %s: %s", self.path, exc)
