"""Knowing when the hub checkout changed: filesystem notifications, polling as the fallback.

A :class:`ChangeSignal` is what a plugin's scanner loop waits on. It wakes up when

* a file under the watched directory changes (``watchfiles.awatch``, inotify on Linux), or
* someone calls :meth:`ChangeSignal.notify` (an API write, a forced re-scan), or
* the timeout passes: the scanner's own deadline (the next time-based change it computed from
  the clock), capped at ``poll_seconds`` so that a missed or impossible notification (the
  directory does not exist yet, a network filesystem) is caught by polling.

The directory may appear, vanish and come back (``crosslink sync`` creates the checkout); the
watcher waits for it and re-attaches. :meth:`ChangeSignal.stop` ends the watcher promptly.
Changes to files named in ``ignore`` (the CLI's lock file, created and removed around every
write) wake nobody. The hub owner (:mod:`.owner`) runs the one watcher of the hub checkout.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

log = logging.getLogger("crosslink.hub")

#: Milliseconds the notification thread waits before re-checking the stop flag.
RUST_TIMEOUT_MS = 1000
#: While the directory does not exist, how often to look for it (a cheap ``stat``).
APPEAR_CHECK_SECONDS = 1.0


class ChangeSignal:
    """Wakes a scanner on filesystem changes under ``path``, on request, or by timeout."""

    def __init__(self, path: Path, *, poll_seconds: float, notifications: bool = True,
                 ignore: frozenset[str] = frozenset()) -> None:
        self.path = path
        self.poll_seconds = poll_seconds
        self.notifications = notifications
        self.ignore = ignore
        self._default_filter = None
        self._changed = asyncio.Event()
        self._stop = asyncio.Event()
        #: True while filesystem notifications are attached to ``path``.
        self.watching = False

    def notify(self) -> None:
        """Wake the scanner now."""
        self._changed.set()

    def stop(self) -> None:
        """Stop watching (the scanner is woken one last time)."""
        self._stop.set()
        self._changed.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    async def wait(self, timeout: float | None = None) -> bool:
        """Wait for a change, at most ``timeout`` seconds and never longer than the poll
        interval. True when a change was signalled, False on timeout."""
        limit = self.poll_seconds if timeout is None else min(max(timeout, 0.0), self.poll_seconds)
        try:
            await asyncio.wait_for(self._changed.wait(), limit)
        except TimeoutError:
            return False
        self._changed.clear()
        return True

    async def run(self) -> None:
        """Attach filesystem notifications to ``path`` for as long as the server runs."""
        if not self.notifications:
            return
        try:
            from watchfiles import awatch
        except ImportError:  # pragma: no cover - watchfiles is a dependency
            log.warning("watchfiles is not installed; %s is polled every %ss", self.path, self.poll_seconds)
            return
        while not self._stop.is_set():
            if not self.path.is_dir():
                await self._pause(min(self.poll_seconds, APPEAR_CHECK_SECONDS))
                continue
            self.watching = True
            self._changed.set()  # the directory (re)appeared: read what is there now
            try:
                async for _ in awatch(
                    self.path,
                    stop_event=self._stop,
                    rust_timeout=RUST_TIMEOUT_MS,
                    step=50,
                    debounce=400,
                    recursive=True,
                    watch_filter=self._wanted,
                ):
                    self._changed.set()
                    if not self.path.is_dir():
                        break
            except Exception as exc:  # the directory vanished mid-watch, inotify limits, ...
                log.warning("watching %s failed (%s); polling every %ss", self.path, exc, self.poll_seconds)
                await self._pause(self.poll_seconds)
            finally:
                self.watching = False
            self._changed.set()

    def _wanted(self, change, path: str) -> bool:
        if Path(path).name in self.ignore:
            return False
        if self._default_filter is None:
            from watchfiles import DefaultFilter

            self._default_filter = DefaultFilter()
        return self._default_filter(change, path)

    async def _pause(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._stop.wait(), seconds)
        except TimeoutError:
            pass

