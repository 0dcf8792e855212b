"""Creating an execution's tracking milestones and issues through the ``issues`` service.

Per phase: milestone ``[Orchestrator] <phase>`` and parent issue ``[Phase] <phase>`` (priority
high, labels ``orchestrator`` and ``phase``, in the milestone). Per stage: subissue ``[Stage]
<stage>`` of its phase issue (priority high, labels ``orchestrator`` and ``stage``, in the
phase's milestone) whose description holds its tasks, dependencies and estimates; each issue
is created with its labels and milestone in one transaction of the issues service. Then a
blocker per ``depends_on`` edge. Each created id is recorded at once, so a restart in the
middle carries on where it stopped (at worst one issue created just before a crash is made
again; blockers that exist are skipped).
The execution driver runs this before it launches anything.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from kernel import APIError

from . import texts
from .plan import stages_of

if TYPE_CHECKING:
    from .store import Store

log = logging.getLogger("crosslink.orchestrator")


async def create_tracking(store: Store, issues: Any, execution_id: int, plan: dict[str, Any]) -> None:
    """Create whatever tracking milestones, issues, labels and blockers are still missing."""
    snapshot = await store.snapshot(execution_id)
    phase_rows = {row["phase_id"]: row for row in snapshot.phases}
    stage_rows = {row["stage_id"]: row for row in snapshot.stages}
    titles = {stage["id"]: stage["title"] for _, stage in stages_of(plan)}
    for phase in plan["phases"]:
        row = phase_rows[phase["id"]]
        if row["setup_done"]:
            continue
        if row["milestone_id"] is None:
            row["milestone_id"] = await issues.create_milestone(texts.milestone_name(phase), phase["description"] or None)
            await store.update_phase(execution_id, phase["id"], {"milestone_id": row["milestone_id"]})
        if row["issue_id"] is None:
            row["issue_id"] = await issues.create(
                texts.phase_title(phase), texts.phase_description(plan, phase), "high",
                labels=("orchestrator", "phase"), milestone_id=row["milestone_id"],
            )
        await store.update_phase(execution_id, phase["id"], {"issue_id": row["issue_id"], "setup_done": 1})
    for phase, stage in stages_of(plan):
        row, parent = stage_rows[stage["id"]], phase_rows[phase["id"]]
        if row["setup_done"]:
            continue
        if row["issue_id"] is None:
            row["issue_id"] = await issues.create(
                texts.stage_title(stage), texts.stage_description(plan, stage, titles), "high", parent["issue_id"],
                labels=("orchestrator", "stage"), milestone_id=parent["milestone_id"],
            )
        await store.update_stage(execution_id, stage["id"], {"issue_id": row["issue_id"], "setup_done": 1})
    for _, stage in stages_of(plan):
        for dependency in stage["depends_on"]:
            try:
                await issues.add_blocker(stage_rows[stage["id"]]["issue_id"], stage_rows[dependency]["issue_id"])
            except APIError as exc:
                if exc.status != 409:  # the edge exists already (a set-up that was interrupted)
                    raise
    await store.set_execution(execution_id, {"setup_complete": 1})
    log.info("orchestrator: execution %s: %d milestones and %d issues ready", execution_id, len(plan["phases"]),
             len(plan["phases"]) + len(stage_rows))
