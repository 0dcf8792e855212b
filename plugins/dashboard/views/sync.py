"""The sync page (``/sync``): the hub's status, fetch / push / init through the API, and each
operation's progress and result as its ``sync`` events arrive."""

from __future__ import annotations

from typing import TYPE_CHECKING

from quart import Blueprint

from ..declarations import DashboardPage
from .common import html

if TYPE_CHECKING:
    from kernel.app import Kernel

    from ..site import Dashboard


def page(kernel: Kernel, dashboard: Dashboard) -> DashboardPage:
    """The sync page, on the ``sync`` service's ``status()`` (what ``GET /sync/status`` answers)."""
    sync = kernel.services.require("sync")
    bp = Blueprint("dashboard_sync", __name__)

    @bp.get("/sync")
    async def sync_status():
        """Hub and knowledge branches, the remote, the last fetch, push, result and error."""
        return await html("dashboard/sync/status.html", state=await sync.status())

    return DashboardPage("sync", "Sync", bp, order=75, shortcut="y")
