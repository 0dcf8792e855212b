"""The agents pages: every agent with its status (``/agents``) and one agent's detail with its
heartbeat history, locks and sessions (``/agents/<agent_id>``)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from quart import Blueprint

from kernel.api import NotFound, parse_timestamp

from ..declarations import DashboardPage
from .common import html

if TYPE_CHECKING:
    from kernel.app import Kernel

    from ..site import Dashboard

AGENT_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
#: The heartbeat timeline spans this long, ending now.
TIMELINE = timedelta(hours=2)
TIMELINE_WIDTH = 600


def timeline(history: list[str], now) -> list[dict[str, Any]]:
    """Tick positions (0..TIMELINE_WIDTH) of the heartbeats within the last ``TIMELINE``."""
    ticks = []
    start = now - TIMELINE
    for text in history:
        moment = parse_timestamp(text)
        if moment is None or moment < start:
            continue
        share = min(1.0, (moment - start) / TIMELINE)
        ticks.append({"x": round(share * TIMELINE_WIDTH, 1), "at": text})
    return ticks


def page(kernel: Kernel, dashboard: Dashboard) -> DashboardPage:
    """The agents page and the agent detail, on the ``agents`` service."""
    agents = kernel.services.require("agents")
    bp = Blueprint("dashboard_agents", __name__)

    @bp.get("/agents")
    async def agent_list():
        """Every agent: status, last heartbeat, active issue, branch, locks."""
        return await html("dashboard/agents/list.html", agents=await agents.list_agents())

    @bp.get("/agents/<agent_id>")
    async def agent_detail(agent_id: str):
        """One agent: its summary, kickoff status, heartbeat history, locks and sessions."""
        detail = await agents.get_agent(agent_id) if AGENT_ID.match(agent_id) else None
        if detail is None:
            raise NotFound(f"Agent '{agent_id[:140]}' not found: no heartbeat, lock or worktree")
        sessions = kernel.services.get("sessions")
        history = (await sessions.history(agent_id, limit=10))[0] if sessions is not None else None
        locks = kernel.services.get("locks")
        lock_entries = [e for e in await locks.list_locks() if e["agent_id"] == agent_id] if locks else None
        return await html(
            "dashboard/agents/detail.html",
            agent=detail,
            ticks=timeline(detail["heartbeat_history"], kernel.clock.now()),
            timeline_width=TIMELINE_WIDTH,
            sessions=history,
            locks=lock_entries,
        )

    return DashboardPage("agents", "Agents", bp, order=30, shortcut="a")
