"""The overview page (``/``): every panel the enabled plugins contribute."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from quart import Blueprint

from ..declarations import DashboardPage
from .common import html

if TYPE_CHECKING:
    from kernel.app import Kernel

    from ..site import Dashboard

log = logging.getLogger("crosslink.dashboard")


def page(kernel: Kernel, dashboard: Dashboard) -> DashboardPage:
    """The overview page: every registered panel, each read on its own."""
    bp = Blueprint("dashboard_overview", __name__)

    @bp.get("/")
    async def overview():
        """Counts, agents, locks, sessions, milestones and the live activity feed."""
        rendered = []
        for panel in dashboard.registry.panels:
            try:
                data, error = await panel.load(), None
            except Exception as exc:  # one broken panel must not take the page down
                log.exception("dashboard panel '%s' failed", panel.name)
                data, error = {}, f"{type(exc).__name__}: this panel could not be read"
            rendered.append({"panel": panel, "data": data, "error": error})
        return await html("dashboard/overview.html", panels=rendered)

    return DashboardPage("overview", "Overview", bp, path="/", order=0, shortcut="o")
