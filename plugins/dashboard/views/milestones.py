"""The milestones page (``/milestones``): progress bars; create, close and reopen."""

from __future__ import annotations

from typing import TYPE_CHECKING

from quart import Blueprint

from ..declarations import DashboardPage
from .common import Pager, choice_arg, html, page_number

if TYPE_CHECKING:
    from kernel.app import Kernel

    from ..site import Dashboard

STATUSES = ("open", "closed", "all")
#: Milestones per page (each one's progress aggregates its member issues).
PAGE_SIZE = 25


def page(kernel: Kernel, dashboard: Dashboard) -> DashboardPage:
    """The milestones page, on the ``issues`` service's milestones."""
    milestones = kernel.services.require("issues").milestones
    bp = Blueprint("dashboard_milestones", __name__)

    @bp.get("/milestones")
    async def milestone_list():
        """Milestones (``?status=open|closed|all``) with their progress, paged."""
        errors: dict[str, str] = {}
        status = choice_arg("status", STATUSES, "open", errors)
        number = page_number(errors)
        items, total = await milestones.list(status, PAGE_SIZE, (number - 1) * PAGE_SIZE)
        return await html(
            "dashboard/milestones.html",
            status=400 if errors else 200,
            milestones=items,
            total=total,
            pager=Pager(number, PAGE_SIZE, total),
            filter=status,
            statuses=STATUSES,
            errors=errors,
        )

    return DashboardPage("milestones", "Milestones", bp, order=20, shortcut="m")
