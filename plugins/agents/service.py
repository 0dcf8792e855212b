"""The agents domain: heartbeats from the server's table and the hub, merged into agents.

An agent is known when it has a heartbeat (hub V1, hub V2 or posted to the server), holds a
lock (hub, or the server's when the ``locks`` plugin is enabled), or has a kickoff worktree.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kernel import APIError
from kernel.timeutil import parse, to_api, to_db
from plugins.hub import (
    Heartbeat,
    Lock,
    Worktree,
    agent_status,
    find_worktree,
    get_hub,
    heartbeat_log,
    list_worktrees,
    merge_heartbeats,
    read_heartbeats,
    read_locks,
)

from .config import AgentsConfig
from .models import ServerHeartbeat

if TYPE_CHECKING:
    from kernel.app import Kernel


def _heartbeat_from_row(row: dict[str, Any]) -> Heartbeat | None:
    moment = parse(row["timestamp"])
    if moment is None:
        return None
    return Heartbeat(
        agent_id=row["agent_id"],
        timestamp=moment,
        active_issue_id=row["active_issue_id"],
        machine_id=row["machine_id"] or None,
        description=row["description"] or None,
        source="server",
    )


class AgentsService:
    """What the routes and the watcher use, and what other plugins get as ``"agents"``."""

    def __init__(self, kernel: Kernel, config: AgentsConfig) -> None:
        self.kernel = kernel
        self.config = config
        #: The main working tree's root: the CLI keeps the hub checkout and the kickoff
        #: worktrees there, whichever linked worktree the server was started in.
        self.root: Path = kernel.main_repo_root
        #: The server's one owner of the hub checkout (shared with the other hub plugins).
        self.owner = get_hub(kernel)
        self.hub: Path = self.owner.hub.path
        #: Set by the plugin at startup; forced scans go through it.
        self.tracker = None

    # --- heartbeats ------------------------------------------------------------------------

    async def record_heartbeat(
        self,
        agent_id: str,
        *,
        machine_id: str | None = None,
        description: str | None = None,
        active_issue_id: int | None = None,
    ) -> Heartbeat:
        """Store a heartbeat at the server's now, keep the newest ``history_size`` per agent,
        then let the watcher publish its events.

        :raises kernel.APIError: 400 when ``active_issue_id`` names no issue (checked when the
            ``issues`` service is there; without it the id is stored as given).
        """
        await self._check_issue(active_issue_id)
        now = self.kernel.clock.now()
        async with self.kernel.db.transaction():
            await ServerHeartbeat.create(
                agent_id=agent_id,
                timestamp=to_db(now),
                machine_id=machine_id,
                description=description,
                active_issue_id=active_issue_id,
            )
            await self.kernel.db.execute(
                """DELETE FROM server_agent_heartbeats WHERE agent_id = ? AND id <= (
                       SELECT id FROM server_agent_heartbeats WHERE agent_id = ?
                       ORDER BY id DESC LIMIT 1 OFFSET ?)""",
                (agent_id, agent_id, self.config.history_size),
            )
        if self.tracker is not None:
            await self.tracker.scan()
        return Heartbeat(agent_id, now, active_issue_id, machine_id, description, "server")

    async def _check_issue(self, issue_id: int | None) -> None:
        issues = self.kernel.services.get("issues")
        if issue_id is None or issues is None or await issues.exists(issue_id):
            return
        message = f"issue #{issue_id} does not exist"
        raise APIError(400, f"active_issue_id: {message}", fields=[{"field": "active_issue_id", "message": message}])

    async def server_heartbeats(self) -> dict[str, Heartbeat]:
        """The newest heartbeat each agent posted to the server."""
        rows = await self.kernel.db.fetch_all(
            """SELECT agent_id, timestamp, machine_id, description, active_issue_id
               FROM server_agent_heartbeats
               WHERE id IN (SELECT max(id) FROM server_agent_heartbeats GROUP BY agent_id)"""
        )
        beats = (_heartbeat_from_row(row) for row in rows)
        return {beat.agent_id: beat for beat in beats if beat is not None}

    async def hub_heartbeats(self) -> dict[str, Heartbeat]:
        """The newest heartbeat of each agent in the hub checkout (V1 and V2 merged)."""
        return await asyncio.to_thread(read_heartbeats, self.hub)

    async def latest_heartbeats(self, *, server: dict[str, Heartbeat] | None = None) -> dict[str, Heartbeat]:
        """Every agent's newest heartbeat, server and hub merged (the newest wins).

        Part of the ``agents`` service contract: the locks plugin uses it for staleness.

        :param server: the server's heartbeats when the caller has just read them.
        """
        if server is None:
            server = await self.server_heartbeats()
        return merge_heartbeats(server, await self.hub_heartbeats())

    async def heartbeat_history(self, agent_id: str, latest: Heartbeat | None) -> list[datetime]:
        """Recent heartbeat times, newest first: the server's rows, the hub's current files and
        (optionally) the hub's heartbeat commits; near-duplicates (same second) are merged."""
        rows = await self.kernel.db.fetch_all(
            "SELECT timestamp FROM server_agent_heartbeats WHERE agent_id = ? ORDER BY id DESC LIMIT ?",
            (agent_id, self.config.history_size),
        )
        times = [moment for row in rows if (moment := parse(row["timestamp"])) is not None]
        if latest is not None:
            times.append(latest.timestamp)
        hub_now = (await self.hub_heartbeats()).get(agent_id)
        if hub_now is not None:
            times.append(hub_now.timestamp)
        if self.config.git_history:
            times.extend((await heartbeat_log(self.owner.git, self.hub)).get(agent_id, []))
        unique: dict[int, datetime] = {}
        for moment in times:  # more precise sources come first and are kept
            unique.setdefault(int(moment.timestamp()), moment)
        return sorted(unique.values(), reverse=True)[: self.config.history_size]

    # --- locks (read-only here) ------------------------------------------------------------

    async def locks_by_agent(self) -> dict[str, list[Lock]]:
        """Locks per holder: the locks service's view (hub + server) when that plugin is
        enabled, the hub's locks otherwise."""
        locks_service = self.kernel.services.get("locks")
        if locks_service is not None:
            records = await locks_service.held_locks()
        else:
            records = list((await asyncio.to_thread(read_locks, self.hub)).values())
        held: dict[str, list[Lock]] = {}
        for lock in records:
            held.setdefault(lock.agent_id, []).append(lock)
        return held

    # --- agents ----------------------------------------------------------------------------

    def _summary(
        self,
        agent_id: str,
        beat: Heartbeat | None,
        locks: list[Lock],
        worktree: Worktree | None,
        now: datetime,
    ) -> dict[str, Any]:
        newest_lock_branch = next(
            (lock.branch for lock in sorted(locks, key=lambda held: held.claimed_at, reverse=True) if lock.branch),
            None,
        )
        return {
            "agent_id": agent_id,
            "machine_id": beat.machine_id if beat else None,
            "description": beat.description if beat else None,
            "status": agent_status(beat.timestamp if beat else None, now),
            "last_heartbeat": to_api(beat.timestamp) if beat else None,
            "active_issue_id": beat.active_issue_id if beat else None,
            "branch": (worktree.branch if worktree else None) or newest_lock_branch,
            "worktree_path": str(worktree.path) if worktree else None,
            "locks": sorted({lock.issue_id for lock in locks}),
        }

    async def list_agents(self) -> list[dict[str, Any]]:
        """Every agent with a heartbeat or a lock, sorted by id."""
        beats = await self.latest_heartbeats()
        held = await self.locks_by_agent()
        candidates = await asyncio.to_thread(list_worktrees, self.root)
        now = self.kernel.clock.now()
        summaries = []
        for agent_id in sorted(set(beats) | set(held)):
            worktree = await asyncio.to_thread(find_worktree, self.root, agent_id, candidates)
            summaries.append(self._summary(agent_id, beats.get(agent_id), held.get(agent_id, []), worktree, now))
        return summaries

    async def get_agent(self, agent_id: str) -> dict[str, Any] | None:
        """One agent's detail, or ``None`` when nothing names it."""
        beat = (await self.latest_heartbeats()).get(agent_id)
        locks = (await self.locks_by_agent()).get(agent_id, [])
        worktree = await asyncio.to_thread(find_worktree, self.root, agent_id)
        if beat is None and not locks and worktree is None:
            return None
        detail = self._summary(agent_id, beat, locks, worktree, self.kernel.clock.now())
        history = await self.heartbeat_history(agent_id, beat) if beat is not None else []
        detail["heartbeat_history"] = [to_api(moment) for moment in history]
        detail["kickoff_status"] = worktree.kickoff_status if worktree else None
        return detail

    async def is_known(self, agent_id: str) -> bool:
        if agent_id in await self.latest_heartbeats():
            return True
        if agent_id in await self.locks_by_agent():
            return True
        return await asyncio.to_thread(find_worktree, self.root, agent_id) is not None

    async def kickoff_status(self, agent_id: str) -> tuple[bool, str | None]:
        """``(known, status)``: whether the agent is known, and its ``.kickoff-status``."""
        worktree = await asyncio.to_thread(find_worktree, self.root, agent_id)
        if worktree is not None:
            return True, worktree.kickoff_status
        return await self.is_known(agent_id), None

    async def rescan(self) -> tuple[int, int]:
        """Scan now (hub and server heartbeats); ``(agents with a heartbeat, events sent)``."""
        if self.tracker is None:
            return len(await self.latest_heartbeats()), 0
        return await self.tracker.scan()
