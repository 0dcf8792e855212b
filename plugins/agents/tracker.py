"""The heartbeat watcher: turns heartbeats into ``heartbeat`` and ``agent_status`` events, once each.

Each scan reads every agent's newest heartbeat (hub V1 + V2 + posted to the server), compares
it with what was **last announced** and publishes:

* ``heartbeat`` for an agent whose newest heartbeat time changed (or that is new);
* ``agent_status`` whenever the status derived from the clock differs from the last one
  announced, also when only time passed, and ``unknown`` when an agent's heartbeat disappeared.

What was last announced lives in the database (``server_agents_announced``, see
:mod:`plugins.hub.announced`), read and written in the transaction that publishes the events:
on a team server a change is announced once, by whichever instance scans first, and a server
restarted with the same database announces what changed while it was down. When there is no
stored state yet (a new database), the first scan records the state without announcing it.

Scans run when the hub owner says the hub moved (its ``hub-watch`` worker saw files change, a
fetch or a write finished), after a heartbeat POST, on a forced re-scan, and when the
``agents-status`` worker's timer reaches the next moment at which an agent's status changes by
time alone (computed from ``kernel.clock``, no busy polling).

An instance whose hub checkout is behind the one the last announcement was read from (another
host that has not fetched yet) announces only what the server's own heartbeats say: its older
view of the hub is not news (:func:`plugins.hub.view_is_behind`).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from kernel.timeutil import parse, to_api, to_db
from plugins.hub import AnnouncedState, Heartbeat, HubMoved, agent_status, next_status_change, view_is_behind

from .events import AgentStatusChanged, HeartbeatReceived

if TYPE_CHECKING:
    from kernel.app import Kernel
    from kernel.workers import WorkerContext

    from .service import AgentsService

log = logging.getLogger("crosslink.agents")

STATE_TABLE = "server_agents_announced"
STATE_NAME = "heartbeats"
STATUS_WORKER = "agents-status"
#: Wake this long after a computed status boundary, so the scan lands on the far side of it.
BOUNDARY_MARGIN_SECONDS = 0.05


class AgentTracker:
    """Scans heartbeats and publishes what changed since the last announcement."""

    def __init__(self, kernel: Kernel, service: AgentsService) -> None:
        self.kernel = kernel
        self.service = service
        self.state = AnnouncedState(kernel.db, STATE_TABLE, STATE_NAME)
        self._next_change: datetime | None = None
        self._lock = asyncio.Lock()
        self._requested = 0  # scan requests so far
        self._covered = 0    # requests answered by a scan that started after them
        self._last_agents = 0

    async def on_hub_moved(self, moved: HubMoved) -> None:
        """The hub owner's notification: scan."""
        await self.scan()

    async def prime(self) -> None:
        """At startup: record the current state when nothing was announced before."""
        await self.scan()

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
            earlier = self._next_change
            result = await self._scan_once()
            self._covered, self._last_agents = started, result[0]
        if self._next_change is not None and (earlier is None or self._next_change < earlier):
            self.kernel.workers.wake(STATUS_WORKER)
        return result

    async def _scan_once(self) -> tuple[int, int]:
        owner = self.service.owner
        db = self.kernel.db
        async with db.transaction():
            await self.state.lock()
            stored = await self.state.load()
            head, origin = await owner.position()
            behind = await view_is_behind(owner, stored, head)
            server = await self.service.server_heartbeats()
            previous: dict[str, dict[str, Any]] = (stored or {}).get("agents") or {}
            if behind:
                current = _keep_newer(previous, server)
            else:
                current = {
                    agent: _entry(beat)
                    for agent, beat in (await self.service.latest_heartbeats(server=server)).items()
                }
            now = self.kernel.clock.now()
            events = []
            agents: dict[str, dict[str, Any]] = {}
            for agent_id in sorted(current):
                entry = dict(current[agent_id])
                moment = parse(entry["at"])
                if moment is None:
                    continue
                entry["status"] = agent_status(moment, now)
                before = previous.get(agent_id)
                if before is None or before.get("at") != entry["at"]:
                    events.append(HeartbeatReceived(agent_id=agent_id, timestamp=to_api(moment),
                                                    active_issue_id=entry.get("issue")))
                if before is None or before.get("status") != entry["status"]:
                    events.append(AgentStatusChanged(agent_id=agent_id, status=entry["status"]))
                agents[agent_id] = entry
            for agent_id in sorted(set(previous) - set(agents)):
                events.append(AgentStatusChanged(agent_id=agent_id, status="unknown"))
            changes = [moment for entry in agents.values()
                       if (moment := next_status_change(parse(entry["at"]), now)) is not None]
            self._next_change = min(changes) if changes else None
            state = {
                "agents": agents,
                "origin": (stored or {}).get("origin") if behind else origin,
                "head": (stored or {}).get("head") if behind else head,
            }
            if stored is not None:  # the state of a new database is recorded, not announced
                for event in events:
                    self.kernel.publish(event)
            else:
                events = []
            await self.state.save(state, now)
        return len(agents), len(events)

    def seconds_until_next_change(self) -> float | None:
        if self._next_change is None:
            return None
        delta = (self._next_change - self.kernel.clock.now()).total_seconds()
        return max(delta, 0.0) + BOUNDARY_MARGIN_SECONDS

    async def run_status_clock(self, ctx: WorkerContext) -> None:
        """The ``agents-status`` worker: scan at each moment a status changes by time alone."""
        while not ctx.stopping:
            try:
                await self.scan()
            except Exception:  # a bad scan must not end the clock
                log.exception("agents: scanning heartbeats failed; retrying")
                if not await ctx.sleep(5.0):
                    return
                continue
            if not await ctx.sleep(self.seconds_until_next_change()):
                return


def _entry(beat: Heartbeat) -> dict[str, Any]:
    return {"at": to_db(beat.timestamp), "issue": beat.active_issue_id}


def _keep_newer(previous: dict[str, dict[str, Any]], server: dict[str, Heartbeat]) -> dict[str, dict[str, Any]]:
    """The view of an instance whose hub is behind: what was announced, plus newer server beats."""
    current = {agent: {"at": entry.get("at"), "issue": entry.get("issue")} for agent, entry in previous.items()}
    for agent, beat in server.items():
        known = parse(current.get(agent, {}).get("at"))
        if known is None or beat.timestamp > known:
            current[agent] = _entry(beat)
    return current
