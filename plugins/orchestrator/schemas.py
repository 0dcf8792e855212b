"""Request and response shapes of the orchestrator routes (they also feed ``/openapi.json``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, RootModel


class DecomposeIn(BaseModel):
    """``POST /orchestrator/decompose``: the document, its slug (default: from its title) and
    the decomposer (default: ``[plugins.orchestrator] decomposer``)."""

    document: str = Field(max_length=1024 * 1024)
    slug: str | None = Field(default=None, max_length=100)
    decomposer: str | None = Field(default=None, max_length=64)


class PlanIn(BaseModel):
    """``POST /orchestrator/plans``: a ready plan in the decomposer envelope's shape, validated
    like a decomposed one (``depends_on`` by title or by a stage's given ``id``)."""

    model_config = ConfigDict(extra="allow")

    phases: list[Any]
    title: str | None = None
    slug: str | None = Field(default=None, max_length=100)
    estimated_hours: float | None = None
    source_document: str | None = Field(default=None, max_length=1024 * 1024)


class ExecuteIn(BaseModel):
    """``POST /orchestrator/execute`` (every field optional; defaults from the config). A paused
    execution resumes; ``max_parallel`` then applies to it."""

    launcher: str | None = Field(default=None, max_length=64)
    max_parallel: int | None = Field(default=None, ge=1, le=1000)
    phase_gating: bool | None = None


class StageReportIn(BaseModel):
    """``POST /orchestrator/stages/:id/running|done|failed``: who reports, and why."""

    agent_id: str | None = Field(default=None, min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:@-]+$")
    message: str | None = Field(default=None, max_length=4000)


class SkipIn(BaseModel):
    message: str | None = Field(default=None, max_length=4000)


class PageQuery(BaseModel):
    limit: int | None = Field(default=None, ge=0, le=1000)
    offset: int = Field(default=0, ge=0, lt=2**63)


class LogQuery(BaseModel):
    attempt: int | None = Field(default=None, ge=1, lt=2**31)
    offset: int = Field(default=0, ge=0, lt=2**63)
    limit: int = Field(default=64 * 1024, ge=1, le=4 * 1024 * 1024)


class Task(BaseModel):
    id: str
    title: str
    description: str
    complexity_hours: float


class Stage(BaseModel):
    id: str
    title: str
    description: str
    tasks: list[Task]
    depends_on: list[str]
    agent_count: int
    complexity_hours: float


class Phase(BaseModel):
    id: str
    title: str
    description: str
    stages: list[Stage]
    gate_criteria: list[str]


class PlanOut(BaseModel):
    """OrchestratorPlan: the contract's fields, plus the document's ``title``. ``depends_on``
    holds stage ids."""

    id: str
    document_slug: str
    title: str | None
    phases: list[Phase]
    created_at: str
    total_stages: int
    estimated_hours: float


class PlanSummary(BaseModel):
    id: str
    document_slug: str
    decomposer: str
    total_stages: int
    estimated_hours: float
    created_at: str
    current: bool


class PlanList(BaseModel):
    items: list[PlanSummary]
    total: int


class PlanRecord(BaseModel):
    """A stored plan with its source document."""

    plan: PlanOut
    source_document: str
    decomposer: str
    stored_at: str
    current: bool


class ExecuteOut(BaseModel):
    ok: bool
    execution_id: int
    plan_id: str
    state: str
    resumed: bool
    setup_complete: bool


class OkOut(BaseModel):
    ok: bool
    execution_id: int | None = None
    state: str | None = None


class StageOut(BaseModel):
    id: str
    phase_id: str
    title: str
    status: str
    agent_id: str | None
    issue_id: int | None
    depends_on: list[str]
    attempt: int
    launcher: str | None
    message: str | None
    exit_code: int | None
    started_at: str | None
    finished_at: str | None
    duration_seconds: float | None
    run_seconds: float | None


class PhaseOut(BaseModel):
    id: str
    title: str
    milestone_id: int | None
    issue_id: int | None
    closed: bool
    gate_status: str | None
    gate_message: str | None
    gate_started_at: str | None
    gate_finished_at: str | None
    stage_ids: list[str]


class StatusOut(BaseModel):
    """ExecutionStatus: the contract's fields (``state`` ``idle`` when nothing runs the current
    plan), plus the execution's id, timings, settings, counts, phases and stages."""

    execution_id: int | None
    plan_id: str | None
    state: str
    current_phase_id: str | None
    progress_percent: float
    started_at: str | None
    completed_at: str | None
    stage_statuses: dict[str, str]
    stage_agents: dict[str, str]
    paused_at: str | None
    elapsed_seconds: float | None
    message: str | None
    launcher: str | None
    max_parallel: int | None
    phase_gating: bool | None
    setup_complete: bool
    counts: dict[str, int]
    phases: list[PhaseOut]
    stages: list[StageOut]


class ReportOut(BaseModel):
    ok: bool
    stage: StageOut


class RetryOut(BaseModel):
    ok: bool
    stage_id: str
    ready_to_launch: bool


class SkipOut(BaseModel):
    ok: bool
    stage_id: str
    newly_ready: list[str]


class GateOut(BaseModel):
    ok: bool
    phase_id: str
    gate_status: str


class CancelOut(BaseModel):
    ok: bool
    execution_id: int
    state: str
    stopped: list[str]


class LogOut(BaseModel):
    """A piece of a stage attempt's output, from ``offset``; read on from ``next_offset``."""

    stage_id: str
    attempt: int
    offset: int
    next_offset: int
    size: int
    content: str
    complete: bool
    source: str


class Named(BaseModel):
    name: str
    plugin: str
    description: str
    default: bool


class NamedList(RootModel[list[Named]]):
    """The decomposers or launchers this server offers (a bare array, by name)."""
