"""The ``orchestrator`` service, as other plugins may call it: ``kernel.services.get("orchestrator")``.

Plugins must not import this plugin; this module documents the duck type. Errors are
:class:`kernel.APIError` (404 unknown stage or no execution, 409 a report that does not fit the
stage's status, 400 invalid input), as the HTTP routes answer them.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class OrchestratorAPI(Protocol):
    """What ``kernel.services.get("orchestrator")`` offers."""
    async def report_stage(self, stage_id: str, status: str, agent_id: str | None = None,
                           message: str | None = None) -> dict[str, Any]:
        """Report a stage of the latest execution: ``running`` (the agent takes a ready pending
        stage, or names itself on a running one), ``done`` or ``failed`` (of a running stage).

        :return: ``{"ok": True, "stage": <the stage as in status()["stages"]>}``.
        """

    async def status(self) -> dict[str, Any]:
        """``GET /orchestrator/status``: ``{execution_id, plan_id, state, current_phase_id,
        progress_percent, started_at, completed_at, stage_statuses, stage_agents, ...,
        phases, stages}``; ``state`` is ``idle`` when no execution runs the current plan."""

    async def current_plan(self) -> dict[str, Any] | None:
        """The current plan (``GET /orchestrator/plan``), or ``None``."""

    async def retry_stage(self, stage_id: str) -> dict[str, Any]:
        """A failed stage runs again: ``{ok, stage_id, ready_to_launch}``."""

    async def stage(self, stage_id: str) -> dict[str, Any]:
        """``GET /orchestrator/stages/:id``: a stage of the latest execution (as in
        ``status()["stages"]``, with ``execution_id`` and ``plan_id``)."""

    async def stage_log(self, stage_id: str, attempt: int | None, offset: int, limit: int) -> dict[str, Any]:
        """``GET /orchestrator/stages/:id/log``: ``{stage_id, attempt, offset, next_offset, size,
        content, complete, source}`` of an attempt (``None``: the latest)."""

    async def skip_stage(self, stage_id: str, message: str | None = None) -> dict[str, Any]:
        """A pending or failed stage is skipped: ``{ok, stage_id, newly_ready}``."""
