"""HTTP routes of the orchestrator plugin (mounted under ``/api/v1``): the contract's
Orchestrator section, plus plans history, stored plans, stage reports, retry and skip, gates,
cancel, stage logs, and the lists of decomposers and launchers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from quart import Blueprint

from kernel.api import NotFound, json_body, json_response, query_args, responds
from kernel.openapi import error_responses

from .schemas import (
    CancelOut,
    DecomposeIn,
    ExecuteIn,
    ExecuteOut,
    GateOut,
    LogOut,
    LogQuery,
    NamedList,
    OkOut,
    PageQuery,
    PlanIn,
    PlanList,
    PlanOut,
    PlanRecord,
    ReportOut,
    RetryOut,
    SkipIn,
    SkipOut,
    StageOut,
    StageReportIn,
    StatusOut,
)

if TYPE_CHECKING:
    from kernel.app import Kernel

    from .service import OrchestratorService


def create_blueprint(kernel: Kernel, service: OrchestratorService) -> Blueprint:
    """The orchestrator routes of one application."""
    bp = Blueprint("orchestrator", __name__)

    # --- the contract ------------------------------------------------------------------------

    @bp.post("/orchestrator/decompose")
    @json_body(DecomposeIn)
    @responds(PlanOut, 200)
    @error_responses(409, 502, 503, 504)
    async def decompose(data: DecomposeIn):
        """Decompose a design document into a plan, which becomes the current plan. 409 while
        an execution runs or is paused; a failing decomposer command is a 502/503/504."""
        return json_response(await service.decompose(data.document, data.slug, data.decomposer))

    @bp.get("/orchestrator/plan")
    @responds(PlanOut, 200)
    @error_responses(404)
    async def current_plan():
        """The current plan (the newest stored); 404 when there is none."""
        plan = await service.current_plan()
        if plan is None:
            raise NotFound("No plan exists: decompose a document first (POST /orchestrator/decompose)")
        return json_response(plan)

    @bp.post("/orchestrator/execute")
    @json_body(ExecuteIn)
    @responds(ExecuteOut, 200)
    @error_responses(404, 409)
    async def execute(data: ExecuteIn):
        """Execute the current plan (tracking issues are created before it answers), or resume
        the paused execution. 404 without a plan; 409 when it already runs or has failed."""
        return json_response(await service.execute(data.launcher, data.max_parallel, data.phase_gating))

    @bp.post("/orchestrator/pause")
    @responds(OkOut, 200)
    @error_responses(404, 409)
    async def pause():
        """Stop launching stages; running ones finish and are recorded. 409 when not running."""
        return json_response(await service.pause())

    @bp.get("/orchestrator/status")
    @responds(StatusOut, 200)
    async def status():
        """The latest execution as it is now; ``state`` ``idle`` when nothing runs the current plan."""
        return json_response(await service.status())

    # --- beyond the contract -----------------------------------------------------------------

    @bp.post("/orchestrator/plans")
    @json_body(PlanIn)
    @responds(PlanOut, 201)
    @error_responses(409)
    async def store_plan(data: PlanIn):
        """Store a ready plan (validated like a decomposed one) as the current plan."""
        raw = data.model_dump(exclude={"slug", "source_document"}, exclude_none=True)
        plan = await service.save_plan(raw, slug=data.slug, source=data.source_document or "", decomposer="api")
        return json_response(plan, 201)

    @bp.get("/orchestrator/plans")
    @query_args(PageQuery)
    @responds(PlanList, 200)
    async def list_plans(query: PageQuery):
        """Every stored plan, newest first (``current`` marks the current one)."""
        items, total = await service.plans(query.limit, query.offset)
        return json_response({"items": items, "total": total})

    @bp.get("/orchestrator/plans/<plan_id>")
    @responds(PlanRecord, 200)
    async def get_plan(plan_id: str):
        """A stored plan with its source document; 404 unknown."""
        return json_response(await service.plan_record(plan_id))

    @bp.post("/orchestrator/cancel")
    @responds(CancelOut, 200)
    @error_responses(404, 409)
    async def cancel():
        """Cancel the execution: running stages fail ("cancelled") and their process groups are
        stopped; a new plan can then be stored. 409 when it is done or cancelled already."""
        return json_response(await service.cancel())

    @bp.get("/orchestrator/stages/<stage_id>")
    @responds(StageOut, 200)
    async def get_stage(stage_id: str):
        """A stage of the latest execution (status, agent, attempts, timings)."""
        return json_response(await service.stage(stage_id))

    def report(status: str):
        async def view(stage_id: str, data: StageReportIn):
            return json_response(await service.report_stage(stage_id, status, data.agent_id, data.message))

        view.__name__ = f"report_{status}"
        view.__doc__ = {
            "running": "An agent takes the stage (a ready pending one) or names itself on a running one.",
            "done": "A running stage is done: its issue is closed, the stages after it may start.",
            "failed": "A running stage failed (``message`` says why); retry or skip it.",
        }[status]
        return error_responses(409)(responds(ReportOut, 200)(json_body(StageReportIn)(view)))

    for action in ("running", "done", "failed"):
        bp.add_url_rule(f"/orchestrator/stages/<stage_id>/{action}", view_func=report(action), methods=["POST"])

    @bp.post("/orchestrator/stages/<stage_id>/retry")
    @responds(RetryOut, 200)
    @error_responses(409)
    async def retry(stage_id: str):
        """A failed stage goes back to pending (a failed execution runs again); 400 otherwise."""
        return json_response(await service.retry_stage(stage_id))

    @bp.post("/orchestrator/stages/<stage_id>/skip")
    @json_body(SkipIn)
    @responds(SkipOut, 200)
    @error_responses(409)
    async def skip(stage_id: str, data: SkipIn):
        """A pending or failed stage is skipped (it counts as finished for its dependents)."""
        return json_response(await service.skip_stage(stage_id, data.message))

    @bp.get("/orchestrator/stages/<stage_id>/log")
    @query_args(LogQuery)
    @responds(LogOut, 200)
    async def stage_log(stage_id: str, query: LogQuery):
        """A stage attempt's output (default: the latest attempt), from ``offset``."""
        return json_response(await service.stage_log(stage_id, query.attempt, query.offset, query.limit))

    @bp.post("/orchestrator/phases/<phase_id>/retry")
    @responds(GateOut, 200)
    @error_responses(409)
    async def retry_gate(phase_id: str):
        """A failed phase gate runs again."""
        return json_response(await service.retry_gate(phase_id))

    @bp.post("/orchestrator/phases/<phase_id>/skip")
    @responds(GateOut, 200)
    @error_responses(409)
    async def skip_gate(phase_id: str):
        """A pending or failed phase gate counts as passed."""
        return json_response(await service.skip_gate(phase_id))

    @bp.get("/orchestrator/decomposers")
    @responds(NamedList, 200)
    async def decomposers():
        """The decomposers this server offers (``default`` marks the configured one)."""
        return json_response(service.decomposers.describe(service.config.decomposer))

    @bp.get("/orchestrator/launchers")
    @responds(NamedList, 200)
    async def launchers():
        """The launchers this server offers (``default`` marks the configured one)."""
        return json_response(service.launchers.describe(service.config.launcher))

    return bp
