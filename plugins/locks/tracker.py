"""The hub-lock watcher: ``lock_changed`` events for claims and releases seen in the hub.

It diffs the hub checkout's locks (V1 + V2, merged) between scans: a new lock is ``claimed``,
a vanished one ``released``, a lock whose holder changed is ``released`` then ``claimed``. The
server's own claims and releases are announced by the API that made them, so they are not
diffed here. The first scan (at startup) only records the state. Scans follow filesystem
notifications on the checkout, a forced re-scan, and the poll interval as the fallback.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from plugins.hub import ChangeSignal

from .events import LockChanged

if TYPE_CHECKING:
    from kernel.app import Kernel

    from .service import LocksService

log = logging.getLogger("crosslink.locks")


class LockTracker:
    """Publishes the difference between the hub's locks now and at the previous scan."""

    def __init__(self, kernel: Kernel, service: LocksService, signal: ChangeSignal) -> None:
        self.kernel = kernel
        self.service = service
        self.signal = signal
        self._holders: dict[int, str] = {}
        self._primed = False
        self._lock = asyncio.Lock()

    async def scan(self) -> tuple[int, int]:
        """Scan once; returns ``(hub locks, events published)``."""
        async with self._lock:
            holders = {issue_id: lock.agent_id for issue_id, lock in (await self.service.hub_locks()).items()}
            events = []
            for issue_id in sorted(set(self._holders) | set(holders)):
                before, after = self._holders.get(issue_id), holders.get(issue_id)
                if before == after:
                    continue
                if before is not None:
                    events.append(LockChanged(issue_id=issue_id, action="released", agent_id=before))
                if after is not None:
                    events.append(LockChanged(issue_id=issue_id, action="claimed", agent_id=after))
            self._holders = holders
            if not self._primed:
                self._primed = True
                return len(holders), 0
            for event in events:
                self.kernel.publish(event)
            return len(holders), len(events)

    async def run(self) -> None:
        """Scan whenever the hub may have changed, until the signal is stopped."""
        while not self.signal.stopped:
            try:
                await self.scan()
            except Exception:  # a bad scan must not end the watcher
                log.exception("locks: scanning the hub's locks failed; retrying")
            await self.signal.wait()
