"""The milestones page (``/milestones``): progress bars; create, close and reopen."""

from __future__ import annotations

from typing import TYPE_CHECKING

from quart import Blueprint

from ..declarations import DashboardPage
from .common import choice_arg, html

if TYPE_CHECKING:
    from kernel.app import Kernel

    from ..site import Dashboard

STATUSES = ("open", "closed", "all")


def page(kernel: Kernel, dashboard: Dashboard) -> DashboardPage:
    milestones = kernel.services.require("issues").milestones
    bp = Blueprint("dashboard_milestones", __name__)

    @bp.get("/milestones")
    async def milestone_list():
        """Milestones (``?status=open|closed|all``) with their progress."""
        errors: dict[str, str] = {}
        status = choice_arg("status", STATUSES, "open", errors)
        items, total = await milestones.list(status, 500, 0)
        return await html(
            "dashboard/milestones.html",
            status=400 if errors else 200,
            milestones=items,
            total=total,
            filter=status,
            statuses=STATUSES,
            errors=errors,
        )

    return DashboardPage("milestones", "Milestones", bp, order=20, shortcut="m")
