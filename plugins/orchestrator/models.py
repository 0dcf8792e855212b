"""The orchestrator's tables (app label ``orchestrator``): plans, executions, their phases and
stages, and the kept tails of stage logs.

Timestamps are RFC 3339 text as the crosslink CLI stores them (``kernel.timeutil.to_db``);
flags are integers (0/1) so that the same SQL runs on SQLite and PostgreSQL. The tables are
created by :mod:`.migrations`, never by Tortoise.
"""

from tortoise import fields
from tortoise.models import Model


class StoredPlan(Model):
    """A validated plan with its source document (``server_orchestrator_plans``). The newest
    (highest ``seq``) is the current plan. ``plan`` is the plan's JSON as the API answers it."""

    seq = fields.BigIntField(primary_key=True)
    id = fields.CharField(max_length=64, unique=True)
    document_slug = fields.TextField()
    decomposer = fields.TextField()
    source_document = fields.TextField()
    plan = fields.TextField()
    total_stages = fields.IntField()
    estimated_hours = fields.FloatField()
    created_at = fields.TextField()

    class Meta:
        table = "server_orchestrator_plans"


class Execution(Model):
    """One run of a plan (``server_orchestrator_executions``). ``state`` is ``running``,
    ``paused``, ``done``, ``failed`` or ``cancelled``; the newest row is the one
    ``GET /orchestrator/status`` shows. ``setup_complete`` turns 1 once every tracking
    milestone, issue, label and blocker exists."""

    id = fields.BigIntField(primary_key=True)
    plan_id = fields.CharField(max_length=64)
    state = fields.TextField()
    launcher = fields.TextField()
    max_parallel = fields.IntField()
    phase_gating = fields.IntField()
    setup_complete = fields.IntField(default=0)
    message = fields.TextField(null=True)
    created_at = fields.TextField()
    started_at = fields.TextField(null=True)
    paused_at = fields.TextField(null=True)
    completed_at = fields.TextField(null=True)
    updated_at = fields.TextField()

    class Meta:
        table = "server_orchestrator_executions"


class ExecutionPhase(Model):
    """A phase of an execution: its milestone and parent issue, and its gate
    (``gate_status``: ``pending``, ``running``, ``passed``, ``failed``, ``skipped``)."""

    id = fields.BigIntField(primary_key=True)
    execution_id = fields.BigIntField()
    phase_id = fields.TextField()
    position = fields.IntField()
    title = fields.TextField()
    milestone_id = fields.BigIntField(null=True)
    issue_id = fields.BigIntField(null=True)
    setup_done = fields.IntField(default=0)
    gate_status = fields.TextField(default="pending")
    gate_attempt = fields.IntField(default=0)
    gate_message = fields.TextField(null=True)
    gate_started_at = fields.TextField(null=True)
    gate_finished_at = fields.TextField(null=True)
    closed = fields.IntField(default=0)

    class Meta:
        table = "server_orchestrator_phases"
        unique_together = (("execution_id", "phase_id"),)


class ExecutionStage(Model):
    """A stage of an execution. ``status``: ``pending``, ``running``, ``done``, ``failed``,
    ``skipped``. ``attempt`` grows with every launch; ``handle`` is the launcher's JSON record
    of the attempt (a process id, log path...); ``noted`` the last ``status:attempt`` recorded
    as a comment on the stage's issue; ``run_seconds`` the command's own run time."""

    id = fields.BigIntField(primary_key=True)
    execution_id = fields.BigIntField()
    stage_id = fields.TextField()
    phase_id = fields.TextField()
    position = fields.IntField()
    title = fields.TextField()
    depends_on = fields.TextField()
    status = fields.TextField(default="pending")
    agent_id = fields.TextField(null=True)
    message = fields.TextField(null=True)
    exit_code = fields.IntField(null=True)
    issue_id = fields.BigIntField(null=True)
    setup_done = fields.IntField(default=0)
    attempt = fields.IntField(default=0)
    launcher = fields.TextField(null=True)
    handle = fields.TextField(null=True)
    kill_requested = fields.IntField(default=0)
    issue_closed = fields.IntField(default=0)
    noted = fields.TextField(null=True)
    started_at = fields.TextField(null=True)
    finished_at = fields.TextField(null=True)
    run_seconds = fields.FloatField(null=True)
    updated_at = fields.TextField()

    class Meta:
        table = "server_orchestrator_stages"
        unique_together = (("execution_id", "stage_id"),)


class StageLog(Model):
    """The tail of one stage attempt's log, kept when the attempt ends, so every instance of a
    team server can answer ``GET /orchestrator/stages/:id/log``."""

    id = fields.BigIntField(primary_key=True)
    execution_id = fields.BigIntField()
    stage_id = fields.TextField()
    attempt = fields.IntField()
    size = fields.BigIntField()
    content = fields.TextField()

    class Meta:
        table = "server_orchestrator_stage_logs"
        unique_together = (("execution_id", "stage_id", "attempt"),)


__models__ = [StoredPlan, Execution, ExecutionPhase, ExecutionStage, StageLog]
