"""The hub-lock watcher: ``lock_changed`` events for claims and releases seen in the hub, once each.

It diffs the hub checkout's locks (V1 + V2, merged) against what it **last announced**: a new
lock is ``claimed``, a vanished one ``released``, a lock whose holder changed is ``released``
then ``claimed``. The server's own claims and releases are announced by the API that made them,
so they are not diffed here.

What was last announced lives in the database (``server_locks_announced``, see
:mod:`plugins.hub.announced`), read and written in the transaction that publishes the events, so
on a team server each change is announced once and a restarted server announces what changed
while it was down; on a new database the first scan records the state without announcing it.
An instance whose checkout is behind the one that state was read from (another host that has
not fetched yet) announces nothing. Scans follow the hub owner's notifications (the
``hub-watch`` worker, fetches, writes) and forced re-scans.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from plugins.hub import AnnouncedState, HubMoved, view_is_behind

from .events import LockChanged

if TYPE_CHECKING:
    from kernel.app import Kernel

    from .service import LocksService

log = logging.getLogger("crosslink.locks")

STATE_TABLE = "server_locks_announced"
STATE_NAME = "hub-locks"


class LockTracker:
    """Publishes the difference between the hub's locks now and the last announcement."""

    def __init__(self, kernel: Kernel, service: LocksService) -> None:
        self.kernel = kernel
        self.service = service
        self.state = AnnouncedState(kernel.db, STATE_TABLE, STATE_NAME)
        self._lock = asyncio.Lock()

    async def on_hub_moved(self, moved: HubMoved) -> None:
        """The hub owner's notification: scan."""
        await self.scan()

    async def prime(self) -> None:
        """At startup: record the hub's locks when nothing was announced before."""
        await self.scan()

    async def scan(self) -> tuple[int, int]:
        """Scan once; returns ``(hub locks, events published)``."""
        owner = self.service.owner
        async with self._lock, self.kernel.db.transaction():
            await self.state.lock()
            stored = await self.state.load()
            head, origin = await owner.position()
            if await view_is_behind(owner, stored, head):
                return len((stored or {}).get("holders") or {}), 0
            holders = {str(issue_id): lock.agent_id for issue_id, lock in (await self.service.hub_locks()).items()}
            previous: dict[str, str] = (stored or {}).get("holders") or {}
            events = []
            for key in sorted(set(previous) | set(holders), key=int):
                before, after = previous.get(key), holders.get(key)
                if before == after:
                    continue
                if before is not None:
                    events.append(LockChanged(issue_id=int(key), action="released", agent_id=before))
                if after is not None:
                    events.append(LockChanged(issue_id=int(key), action="claimed", agent_id=after))
            if stored is None:  # a new database: the state is recorded, not announced
                events = []
            for event in events:
                self.kernel.publish(event)
            await self.state.save({"holders": holders, "origin": origin, "head": head}, self.kernel.clock.now())
            return len(holders), len(events)
