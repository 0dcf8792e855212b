"""What the stage rows mean for the tracking issues, applied through the ``issues`` service.

* A stage that is ``done`` or ``skipped`` has its issue closed (a skipped one gets an
  ``observation`` comment saying so first).
* A stage that ``failed`` gets an ``observation`` comment with the reason, once per attempt
  (written right after the transition, so a quick retry or skip does not lose it).
* A phase whose stages are all done or skipped (and whose gate is open, with phase gating) has
  its milestone and its phase issue closed.

Each effect follows from the rows and is marked done in them afterwards (``issue_closed``,
``noted``, ``closed``); closing is idempotent and a comment is claimed before it is written, so
applying the effects again (the driver does on every look) repeats nothing, and a crash in
between loses nothing but, at worst, one comment.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from kernel import APIError

from .state import FINISHED, Snapshot, derive

if TYPE_CHECKING:
    from .service import OrchestratorService

log = logging.getLogger("crosslink.orchestrator")


class Effects:
    """Applies the effects of one application's executions (one sweep at a time)."""
    def __init__(self, service: OrchestratorService) -> None:
        self.service = service
        self._lock = asyncio.Lock()

    async def _claim_note(self, execution_id: int, stage: dict, note: str) -> bool:
        row = await self.service.kernel.db.fetch_one(
            "UPDATE server_orchestrator_stages SET noted = ? WHERE execution_id = ? AND stage_id = ? "
            "AND status = ? AND attempt = ? AND (noted IS NULL OR noted <> ?) RETURNING id",
            [note, execution_id, stage["stage_id"], stage["status"], stage["attempt"], note],
        )
        return row is not None

    async def _comment(self, issue_id: int, text: str, agent: str | None) -> None:
        try:
            await self.service.issues.add_comment(issue_id, text, kind="observation", author=agent)
        except APIError as exc:
            log.warning("orchestrator: could not comment on issue #%s: %s", issue_id, exc.detail)

    async def _close_issue(self, issue_id: int | None) -> None:
        if issue_id is None:
            return
        try:
            await self.service.issues.set_status(issue_id, "closed")
        except APIError as exc:  # deleted by someone meanwhile: nothing to close
            if exc.status != 404:
                raise

    async def note(self, execution_id: int, stage: dict) -> None:
        """Comment on a stage that has just failed or been skipped (once per attempt)."""
        if stage.get("issue_id") is None or stage.get("status") not in ("failed", "skipped"):
            return
        try:
            await self._note(execution_id, stage)
        except Exception:  # the driver's next sweep tries again
            log.exception("orchestrator: commenting on stage %s failed", stage["stage_id"])

    async def _note(self, execution_id: int, stage: dict) -> None:
        note = f"{stage['status']}:{stage['attempt']}"
        if stage["noted"] == note or not await self._claim_note(execution_id, stage, note):
            return
        if stage["status"] == "failed":
            text = f"[orchestrator] Stage failed (attempt {stage['attempt']}): {stage['message'] or 'no reason given'}"
            await self._comment(stage["issue_id"], text, stage["agent_id"])
        else:
            await self._comment(stage["issue_id"], f"[orchestrator] Stage skipped: {stage['message'] or 'skipped'}", None)

    async def apply(self, snapshot: Snapshot) -> None:
        """Apply what ``snapshot`` (a fresh read of the rows) calls for, and mark it in the
        snapshot too (so what is derived from it next knows)."""
        async with self._lock:
            await self._apply(snapshot)

    async def _apply(self, snapshot: Snapshot) -> None:
        store = self.service.store
        execution_id = snapshot.execution["id"]
        if not snapshot.execution["setup_complete"]:
            return
        for stage in snapshot.stages:
            issue_id = stage["issue_id"]
            if issue_id is None:
                continue
            if stage["status"] in ("failed", "skipped"):
                await self._note(execution_id, stage)
            if stage["status"] in FINISHED and not stage["issue_closed"]:
                await self._close_issue(issue_id)
                await store.update_stage(execution_id, stage["stage_id"], {"issue_closed": 1})
                stage["issue_closed"] = 1  # the caller derives from this snapshot next
        for phase in derive(snapshot).closable_phases:
            if phase["milestone_id"] is not None:
                try:
                    await self.service.issues.set_milestone_status(phase["milestone_id"], "closed")
                except APIError as exc:
                    if exc.status != 404:
                        raise
            await self._close_issue(phase["issue_id"])
            await store.update_phase(execution_id, phase["phase_id"], {"closed": 1})
            phase["closed"] = 1
