"""The locks page (``/locks``): every lock with its age and staleness; claim, release and
steal (with confirmation) through the API."""

from __future__ import annotations

from typing import TYPE_CHECKING

from quart import Blueprint

from ..declarations import DashboardPage
from .common import html

if TYPE_CHECKING:
    from kernel.app import Kernel

    from ..site import Dashboard


def page(kernel: Kernel, dashboard: Dashboard) -> DashboardPage:
    """The locks page, on the ``locks`` service."""
    locks = kernel.services.require("locks")
    bp = Blueprint("dashboard_locks", __name__)

    @bp.get("/locks")
    async def lock_list():
        """Every lock (hub and server): holder, branch, age, stale, fencing token."""
        entries = await locks.list_locks()
        return await html(
            "dashboard/locks.html",
            locks=entries,
            stale=sum(1 for entry in entries if entry["is_stale"]),
            timeout=kernel.hook_config.stale_lock_timeout_minutes,
        )

    return DashboardPage("locks", "Locks", bp, order=40, shortcut="l")
