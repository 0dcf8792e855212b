"""The sessions page (``/sessions``): each agent's current session and recent handoff notes;
``?agent=<id>`` pages through one agent's whole history."""

from __future__ import annotations

from typing import TYPE_CHECKING

from quart import Blueprint, request

from ..declarations import DashboardPage
from .common import Pager, html, page_number

if TYPE_CHECKING:
    from kernel.app import Kernel

    from ..site import Dashboard

RECENT = 5
HISTORY_PAGE = 20
AGENTS_SHOWN = 50


def page(kernel: Kernel, dashboard: Dashboard) -> DashboardPage:
    """The sessions page, on the ``sessions`` service."""
    sessions = kernel.services.require("sessions")
    bp = Blueprint("dashboard_sessions", __name__)

    @bp.get("/sessions")
    async def session_list():
        """Sessions per agent with their handoff notes."""
        if "agent" in request.args:
            agent = request.args.get("agent", "").strip()[:128] or None
            errors: dict[str, str] = {}
            number = page_number(errors)
            items, total = await sessions.history(agent, limit=HISTORY_PAGE, offset=(number - 1) * HISTORY_PAGE)
            return await html(
                "dashboard/sessions.html",
                agent=agent,
                single=True,
                groups=[{"agent_id": agent, "sessions": items}],
                pager=Pager(number, HISTORY_PAGE, total),
            )
        groups = []
        for agent_id in await sessions.agents(AGENTS_SHOWN):
            items, total = await sessions.history(agent_id, limit=RECENT)
            groups.append({"agent_id": agent_id, "sessions": items, "total": total})
        return await html("dashboard/sessions.html", agent=None, single=False, groups=groups, pager=None)

    return DashboardPage("sessions", "Sessions", bp, order=50, shortcut="s")
