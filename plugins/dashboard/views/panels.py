"""The overview's built-in panels, each present only while the service it reads is there
(``_serves(kernel, <its service>)``)."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from ..declarations import OverviewPanel

if TYPE_CHECKING:
    from kernel.app import Kernel

AGENT_STATUSES = ("active", "idle", "stale", "unknown")
LIST_LIMIT = 12


def _serves(kernel: Kernel, service: str) -> bool:
    """Whether an enabled plugin provides ``service`` (a plugin replaced by a third-party one
    that offers no such service counts as absent)."""
    return kernel.services.get(service) is not None


def builtin_panels(kernel: Kernel) -> list[OverviewPanel]:
    """The overview panels for the enabled plugins."""
    services = kernel.services
    panels: list[OverviewPanel] = []

    if _serves(kernel, "issues"):

        async def issue_counts() -> dict[str, Any]:
            issues = services.require("issues")
            _, open_total = await issues.list(status="open", limit=0)
            _, ready_total = await issues.ready(limit=0)
            _, blocked_total = await issues.blocked(limit=0)
            return {"open": open_total, "ready": ready_total, "blocked": blocked_total}

        async def milestones() -> dict[str, Any]:
            items, total = await services.require("issues").milestones.list("open", LIST_LIMIT, 0)
            return {"items": items, "total": total}

        panels.append(OverviewPanel("issues", "Issues", "dashboard/panels/issues.html", issue_counts,
                                    channels=("issues",), order=10))
        panels.append(OverviewPanel("milestones", "Milestones", "dashboard/panels/milestones.html", milestones,
                                    channels=("issues",), order=50))

    if _serves(kernel, "agents"):

        async def agents() -> dict[str, Any]:
            items = await services.require("agents").list_agents()
            counts = Counter(agent["status"] for agent in items)
            order = {status: rank for rank, status in enumerate(AGENT_STATUSES)}
            items.sort(key=lambda agent: (order.get(agent["status"], 9), agent["agent_id"]))
            return {"items": items[:LIST_LIMIT], "total": len(items),
                    "counts": {status: counts.get(status, 0) for status in AGENT_STATUSES}}

        panels.append(OverviewPanel("agents", "Agents", "dashboard/panels/agents.html", agents,
                                    channels=("agents", "locks"), order=20))

    if _serves(kernel, "locks"):

        async def locks() -> dict[str, Any]:
            items = await services.require("locks").list_locks()
            return {"items": items[:LIST_LIMIT], "total": len(items),
                    "stale": sum(1 for lock in items if lock["is_stale"])}

        panels.append(OverviewPanel("locks", "Locks", "dashboard/panels/locks.html", locks,
                                    channels=("locks", "agents"), order=30))

    if _serves(kernel, "sessions"):

        async def sessions() -> dict[str, Any]:
            items = await services.require("sessions").open_sessions(LIST_LIMIT + 1)
            return {"items": items[:LIST_LIMIT], "more": len(items) > LIST_LIMIT}

        panels.append(OverviewPanel("sessions", "Current sessions", "dashboard/panels/sessions.html", sessions,
                                    channels=("sessions",), order=40))

    if _serves(kernel, "orchestrator"):

        async def execution() -> dict[str, Any]:
            orchestrator = services.require("orchestrator")
            plan = await orchestrator.current_plan()
            return {"plan": plan, "run": await orchestrator.status() if plan else None}

        panels.append(OverviewPanel("execution", "Execution", "dashboard/panels/execution.html", execution,
                                    channels=("execution",), order=45))

    if _serves(kernel, "sync"):

        async def sync() -> dict[str, Any]:
            return await services.require("sync").status()

        panels.append(OverviewPanel("sync", "Sync", "dashboard/panels/sync.html", sync,
                                    channels=("sync",), order=60))

    if _serves(kernel, "usage"):

        async def usage() -> dict[str, Any]:
            return await services.require("usage").budget_status()

        panels.append(OverviewPanel("usage", "Usage", "dashboard/panels/usage.html", usage,
                                    channels=("usage",), order=70))

    async def activity() -> dict[str, Any]:
        return {}

    panels.append(OverviewPanel("activity", "Activity", "dashboard/panels/activity.html", activity,
                                order=90, wide=True))
    return panels
