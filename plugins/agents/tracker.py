"""The watcher: turns heartbeats into ``heartbeat`` and ``agent_status`` events.

It lives for the whole server life (started with ``kernel.spawn``; it never looks at whether a
WebSocket client is connected). Each scan reads every agent's newest heartbeat (hub V1 + V2 +
server), compares with the previous scan and publishes:

* ``heartbeat`` for an agent whose newest heartbeat time changed (or that is new);
* ``agent_status`` whenever the status derived from the clock differs from the last one sent,
  also when only time passed, and ``unknown`` when an agent's heartbeat disappeared.

The first scan (at startup) only records the state. Scans are triggered by filesystem
notifications on the hub checkout, by a heartbeat POST, by a forced re-scan, and by a timer
set to the next moment at which some agent's status changes by time alone (computed from
``kernel.clock``, no busy polling), capped at the poll interval.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import TYPE_CHECKING

from kernel.timeutil import to_api

from plugins.hub import ChangeSignal, agent_status, next_status_change

from .events import AgentStatusChanged, HeartbeatReceived

if TYPE_CHECKING:
    from kernel.app import Kernel

    from .service import AgentsService

log = logging.getLogger("crosslink.agents")

#: Wake this long after a computed status boundary, so the scan lands on the far side of it.
BOUNDARY_MARGIN_SECONDS = 0.05


class AgentTracker:
    """Scans heartbeats and publishes what changed since the previous scan."""

    def __init__(self, kernel: Kernel, service: AgentsService, signal: ChangeSignal) -> None:
        self.kernel = kernel
        self.service = service
        self.signal = signal
        self._seen: dict[str, datetime] = {}
        self._status: dict[str, str] = {}
        self._next_change: datetime | None = None
        self._primed = False
        self._lock = asyncio.Lock()
        self._requested = 0  # scan requests so far
        self._covered = 0    # requests answered by a scan that started after them
        self._last_agents = 0

    async def scan(self) -> tuple[int, int]:
        """Scan; returns ``(agents with a heartbeat, events published)``.

        Concurrent requests are coalesced: a caller waiting for the lock is answered by any
        scan that *started* after its request (that scan saw everything written before it),
        so a burst of heartbeat POSTs costs a few scans, not one each.
        """
        self._requested += 1
        ticket = self._requested
        async with self._lock:
            if self._covered >= ticket:
                return self._last_agents, 0
            started = self._requested
            result = await self._scan_once()
            self._covered, self._last_agents = started, result[0]
            return result

    async def _scan_once(self) -> tuple[int, int]:
        beats = await self.service.latest_heartbeats()
        now = self.kernel.clock.now()
        events = []
        for agent_id in sorted(beats):
            beat = beats[agent_id]
            status = agent_status(beat.timestamp, now)
            if self._seen.get(agent_id) != beat.timestamp:
                events.append(
                    HeartbeatReceived(
                        agent_id=agent_id,
                        timestamp=to_api(beat.timestamp),
                        active_issue_id=beat.active_issue_id,
                    )
                )
            if self._status.get(agent_id) != status:
                events.append(AgentStatusChanged(agent_id=agent_id, status=status))
            self._seen[agent_id] = beat.timestamp
            self._status[agent_id] = status
        for agent_id in sorted(set(self._seen) - set(beats)):
            events.append(AgentStatusChanged(agent_id=agent_id, status="unknown"))
            del self._seen[agent_id]
            self._status.pop(agent_id, None)
        changes = [moment for beat in beats.values() if (moment := next_status_change(beat.timestamp, now))]
        self._next_change = min(changes) if changes else None
        if not self._primed:  # the state at startup is recorded, not announced
            self._primed = True
            return len(beats), 0
        for event in events:
            self.kernel.publish(event)
        return len(beats), len(events)

    def seconds_until_next_change(self) -> float | None:
        if self._next_change is None:
            return None
        delta = (self._next_change - self.kernel.clock.now()).total_seconds()
        return max(delta, 0.0) + BOUNDARY_MARGIN_SECONDS

    async def run(self) -> None:
        """Scan whenever something may have changed, until the signal is stopped."""
        while not self.signal.stopped:
            try:
                await self.scan()
            except Exception:  # a bad scan must not end the watcher
                log.exception("agents: scanning heartbeats failed; retrying")
            await self.signal.wait(self.seconds_until_next_change())
