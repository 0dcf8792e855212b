"""The orchestrator page (``/orchestrator``): a design document pasted or uploaded and
decomposed, the current plan as phases and stages with their dependency graph (an SVG drawn by
the server), and the execution: execute, pause, cancel, and a board whose stages move live
(retry, skip, and the manual launcher's done / failed reports). Every action is the
orchestrator's API; the reads are its service's ``current_plan()`` and ``status()``."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from quart import Blueprint, abort, request

from ..declarations import DashboardPage
from ..plangraph import layout
from .common import html

if TYPE_CHECKING:
    from kernel.app import Kernel

    from ..site import Dashboard

#: The execution board's columns, in the order work moves through them.
COLUMNS = ("blocked", "pending", "running", "failed", "done", "skipped")
#: Execution states in which nothing runs and ``execute`` starts a new execution.
FINISHED = ("idle", "done", "cancelled")
#: What a stage id looks like (``<plan uuid>-p<i>-s<j>``, or an id the plan gave it).
STAGE_ID = re.compile(r"^[A-Za-z0-9._-]{1,200}$")
#: The end of a log shown on its page.
LOG_TAIL = 256 * 1024


def board(plan: dict[str, Any], status: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Every stage of the plan in the column of its status, in plan order, with what the
    execution knows of it (agent, issue, attempt, message) when there is an execution."""
    known = {stage["id"]: stage for stage in status.get("stages") or []}
    statuses = status.get("stage_statuses") or {}
    columns: dict[str, list[dict[str, Any]]] = {column: [] for column in COLUMNS}
    for phase in plan["phases"]:
        for stage in phase["stages"]:
            card = {"id": stage["id"], "title": stage["title"], "phase": phase["title"],
                    "hours": stage.get("complexity_hours"), "status": statuses.get(stage["id"], "pending"),
                    **{key: value for key, value in known.get(stage["id"], {}).items() if key not in ("title",)}}
            columns.setdefault(card["status"], []).append(card)
    return columns


def page(kernel: Kernel, dashboard: Dashboard) -> DashboardPage:
    """The orchestrator page, on the ``orchestrator`` service."""
    orchestrator = kernel.services.require("orchestrator")
    bp = Blueprint("dashboard_orchestrator", __name__)

    @bp.get("/orchestrator")
    async def orchestrator_page():
        """Decompose, the plan and its graph, the execution and its board."""
        plan = await orchestrator.current_plan()
        status = await orchestrator.status() if plan is not None else None
        return await html(
            "dashboard/orchestrator/page.html",
            plan=plan,
            run=status,
            graph=layout(plan, status.get("stage_statuses") or {}) if plan else None,
            board=board(plan, status) if plan else None,
            columns=COLUMNS,
            startable=status is None or status["state"] in FINISHED or status["state"] == "paused",
            finished=FINISHED,
            phases={phase["id"]: phase for phase in (status or {}).get("phases") or []},
        )

    @bp.get("/orchestrator/stages/<stage_id>/log")
    async def stage_log(stage_id: str):
        """The end of a stage attempt's output (``?attempt=``, default the latest)."""
        raw = request.args.get("attempt", "").strip()
        if not STAGE_ID.match(stage_id) or (raw and not (raw.isdigit() and 1 <= int(raw) <= 10_000)):
            abort(404)
        stage = await orchestrator.stage(stage_id)
        attempt = int(raw) if raw else max(1, stage["attempt"])
        log = await orchestrator.stage_log(stage_id, attempt, 0, LOG_TAIL)
        if log["size"] > LOG_TAIL:
            log = await orchestrator.stage_log(stage_id, attempt, log["size"] - LOG_TAIL, LOG_TAIL)
        return await html("dashboard/orchestrator/log.html", stage=stage, log=log, attempt=attempt)

    return DashboardPage("orchestrator", "Orchestrator", bp, order=65, shortcut="e")
