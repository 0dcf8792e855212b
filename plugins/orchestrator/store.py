"""Reading and writing the orchestrator's tables.

Plans and new executions go through the Tortoise models; state changes are single conditional
statements (``UPDATE ... WHERE status = ? ... RETURNING``) inside ``kernel.db.transaction()``,
serialised per execution (``kernel.db.serialise``: SQLite's write lock, a PostgreSQL advisory
lock), so reports arriving at two instances at once, the driver and a client never overwrite
each other: exactly one of two racing transitions of a stage wins.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from .models import Execution, ExecutionPhase, ExecutionStage, StageLog, StoredPlan
from .plan import stages_of
from .state import ACTIVE_STATES, Snapshot

if TYPE_CHECKING:
    from kernel.app import Kernel

#: Writes of one execution are serialised on (LOCK_NAMESPACE, execution id).
LOCK_NAMESPACE = "crosslink.orchestrator"
#: Creating plans and executions is serialised on (LOCK_NAMESPACE, PLANS_KEY).
PLANS_KEY = "plans"

STAGE_COLUMNS = (
    "id, execution_id, stage_id, phase_id, position, title, depends_on, status, agent_id, message, exit_code, "
    "issue_id, setup_done, attempt, launcher, handle, kill_requested, issue_closed, noted, started_at, "
    "finished_at, run_seconds, updated_at"
)
PHASE_COLUMNS = (
    "id, execution_id, phase_id, position, title, milestone_id, issue_id, setup_done, gate_status, gate_attempt, "
    "gate_message, gate_started_at, gate_finished_at, closed"
)
EXECUTION_COLUMNS = (
    "id, plan_id, state, launcher, max_parallel, phase_gating, setup_complete, message, created_at, started_at, "
    "paused_at, completed_at, updated_at"
)


@lru_cache(maxsize=4096)
def _dependencies(text: str | None) -> tuple[str, ...]:
    return tuple(json.loads(text or "[]"))


def _stage_row(row: dict[str, Any]) -> dict[str, Any]:
    row = dict(row)
    row["depends_on"] = list(_dependencies(row["depends_on"]))  # ``handle`` stays JSON text: see handle_of
    for key in ("id", "execution_id", "issue_id"):
        if row.get(key) is not None:
            row[key] = int(row[key])
    return row


def handle_of(stage: dict[str, Any]) -> dict[str, Any]:
    """A stage row's launcher handle as a dict (rows keep it as JSON text: most never need it)."""
    handle = stage.get("handle")
    if isinstance(handle, dict):
        return dict(handle)
    return json.loads(handle) if handle else {}


def _int_keys(row: dict[str, Any] | None, *keys: str) -> dict[str, Any] | None:
    if row is None:
        return None
    row = dict(row)
    for key in keys:
        if row.get(key) is not None:
            row[key] = int(row[key])
    return row


class Store:
    """The orchestrator's tables, for one application."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self.db = kernel.db

    def now(self) -> str:
        """Now, as the CLI stores timestamps."""
        return self.kernel.clock.stored_now()

    async def lock_execution(self, execution_id: int) -> None:
        """Inside a transaction: one writer of this execution at a time."""
        await self.db.serialise(LOCK_NAMESPACE, str(execution_id))

    async def lock_plans(self) -> None:
        """Inside a transaction: one writer of plans and new executions at a time."""
        await self.db.serialise(LOCK_NAMESPACE, PLANS_KEY)

    # --- plans -----------------------------------------------------------------------------------

    async def save_plan(self, plan: dict[str, Any], source: str, decomposer: str) -> None:
        """Store a validated plan with its source document (it becomes the current plan)."""
        await StoredPlan.create(
            id=plan["id"], document_slug=plan["document_slug"], decomposer=decomposer, source_document=source,
            plan=json.dumps(plan), total_stages=plan["total_stages"], estimated_hours=plan["estimated_hours"],
            created_at=plan["created_at"],
        )

    @staticmethod
    def _plan_record(stored: StoredPlan, current_id: str | None) -> dict[str, Any]:
        return {
            "plan": json.loads(stored.plan),
            "source_document": stored.source_document,
            "decomposer": stored.decomposer,
            "stored_at": stored.created_at,
            "current": stored.id == current_id,
        }

    async def current_plan(self) -> dict[str, Any] | None:
        """The newest stored plan, or ``None``."""
        stored = await StoredPlan.all().order_by("-seq").first()
        return None if stored is None else json.loads(stored.plan)

    async def current_plan_id(self) -> str | None:
        """The newest stored plan's id, or ``None``."""
        row = await self.db.fetch_one("SELECT id FROM server_orchestrator_plans ORDER BY seq DESC LIMIT 1")
        return None if row is None else row["id"]

    async def plan_record(self, plan_id: str) -> dict[str, Any] | None:
        """A stored plan with its source document and whether it is current."""
        stored = await StoredPlan.filter(id=plan_id).first()
        if stored is None:
            return None
        return self._plan_record(stored, await self.current_plan_id())

    async def plan(self, plan_id: str) -> dict[str, Any] | None:
        """A stored plan, or ``None``."""
        stored = await StoredPlan.filter(id=plan_id).first()
        return None if stored is None else json.loads(stored.plan)

    async def plans(self, limit: int | None, offset: int) -> tuple[list[dict[str, Any]], int]:
        """Plan summaries, newest first, and their number."""
        total = await StoredPlan.all().count()
        if limit == 0 or offset >= total:  # nothing to read (and no huge OFFSET sent to the database)
            return [], total
        query = StoredPlan.all().order_by("-seq").offset(offset)
        if limit is not None:
            query = query.limit(limit)
        rows = await query.values("id", "document_slug", "decomposer", "total_stages", "estimated_hours",
                                  "created_at")
        current = await self.current_plan_id()
        items = [{**row, "current": row["id"] == current} for row in rows]
        return items, total

    # --- executions ------------------------------------------------------------------------------

    async def latest_execution(self) -> dict[str, Any] | None:
        """The newest execution (what the status shows), or ``None``."""
        row = await self.db.fetch_point(
            f"SELECT {EXECUTION_COLUMNS} FROM server_orchestrator_executions ORDER BY id DESC LIMIT 1"
        )
        return _int_keys(row, "id")

    async def execution(self, execution_id: int) -> dict[str, Any] | None:
        """An execution's row, or ``None``."""
        row = await self.db.fetch_point(
            f"SELECT {EXECUTION_COLUMNS} FROM server_orchestrator_executions WHERE id = ?", [execution_id]
        )
        return _int_keys(row, "id")

    async def active_execution(self) -> dict[str, Any] | None:
        """The newest execution that is running or paused (there is at most one)."""
        marks = ", ".join("?" * len(ACTIVE_STATES))
        row = await self.db.fetch_point(
            f"SELECT {EXECUTION_COLUMNS} FROM server_orchestrator_executions WHERE state IN ({marks}) "
            "ORDER BY id DESC LIMIT 1",
            sorted(ACTIVE_STATES),
        )
        return _int_keys(row, "id")

    async def create_execution(self, plan: dict[str, Any], launcher: str, max_parallel: int, gating: bool) -> int:
        """A new ``running`` execution of ``plan`` with its phase and stage rows; its id."""
        now = self.now()
        execution = await Execution.create(
            plan_id=plan["id"], state="running", launcher=launcher, max_parallel=max_parallel,
            phase_gating=int(gating), setup_complete=0, created_at=now, started_at=now, updated_at=now,
        )
        await ExecutionPhase.bulk_create([
            ExecutionPhase(execution_id=execution.id, phase_id=phase["id"], position=i, title=phase["title"])
            for i, phase in enumerate(plan["phases"])
        ])
        await ExecutionStage.bulk_create([
            ExecutionStage(
                execution_id=execution.id, stage_id=stage["id"], phase_id=phase["id"], position=i,
                title=stage["title"], depends_on=json.dumps(stage["depends_on"]), updated_at=now,
            )
            for i, (phase, stage) in enumerate(stages_of(plan))
        ])
        return execution.id

    async def set_execution(self, execution_id: int, changes: dict[str, Any], *, states: tuple[str, ...] | None = None
                            ) -> dict[str, Any] | None:
        """Change the execution (only when its state is one of ``states``); the new row or None."""
        changes = {**changes, "updated_at": self.now()}
        sql = "UPDATE server_orchestrator_executions SET " + ", ".join(f"{k} = ?" for k in changes) + " WHERE id = ?"
        params = [*changes.values(), execution_id]
        if states:
            sql += f" AND state IN ({', '.join('?' * len(states))})"
            params += list(states)
        row = await self.db.fetch_one(sql + f" RETURNING {EXECUTION_COLUMNS}", params)
        return _int_keys(row, "id")

    # --- phases and stages -----------------------------------------------------------------------

    async def snapshot(self, execution_id: int, execution: dict[str, Any] | None = None) -> Snapshot | None:
        """The execution's rows (``execution``: its row, when the caller has just read it)."""
        execution = execution or await self.execution(execution_id)
        if execution is None:
            return None
        phases = await self.db.fetch_all(
            f"SELECT {PHASE_COLUMNS} FROM server_orchestrator_phases WHERE execution_id = ? ORDER BY position",
            [execution_id],
        )
        stages = await self.db.fetch_all(
            f"SELECT {STAGE_COLUMNS} FROM server_orchestrator_stages WHERE execution_id = ? ORDER BY position",
            [execution_id],
        )
        return Snapshot(
            execution=execution,
            phases=[_int_keys(p, "id", "milestone_id", "issue_id") for p in phases],
            stages=[_stage_row(s) for s in stages],
        )

    async def stage(self, execution_id: int, stage_id: str) -> dict[str, Any] | None:
        """A stage row of an execution, or ``None``."""
        row = await self.db.fetch_one(
            f"SELECT {STAGE_COLUMNS} FROM server_orchestrator_stages WHERE execution_id = ? AND stage_id = ?",
            [execution_id, stage_id],
        )
        return None if row is None else _stage_row(row)

    async def phase(self, execution_id: int, phase_id: str) -> dict[str, Any] | None:
        """A phase row of an execution, or ``None``."""
        row = await self.db.fetch_one(
            f"SELECT {PHASE_COLUMNS} FROM server_orchestrator_phases WHERE execution_id = ? AND phase_id = ?",
            [execution_id, phase_id],
        )
        return _int_keys(row, "id", "milestone_id", "issue_id")

    async def update_stage(self, execution_id: int, stage_id: str, changes: dict[str, Any], *,
                           statuses: tuple[str, ...] | None = None, attempt: int | None = None) -> dict[str, Any] | None:
        """Change a stage when its status is one of ``statuses`` (and its attempt is
        ``attempt``); the changed row, or None when the condition did not hold."""
        changes = dict(changes)
        if "handle" in changes and not isinstance(changes["handle"], (str, type(None))):
            changes["handle"] = json.dumps(changes["handle"])
        changes["updated_at"] = self.now()
        sql = ("UPDATE server_orchestrator_stages SET " + ", ".join(f"{k} = ?" for k in changes)
               + " WHERE execution_id = ? AND stage_id = ?")
        params = [*changes.values(), execution_id, stage_id]
        if statuses:
            sql += f" AND status IN ({', '.join('?' * len(statuses))})"
            params += list(statuses)
        if attempt is not None:
            sql += " AND attempt = ?"
            params.append(attempt)
        row = await self.db.fetch_one(sql + f" RETURNING {STAGE_COLUMNS}", params)
        return None if row is None else _stage_row(row)

    async def launch_stage(self, execution_id: int, stage_id: str, launcher: str, *,
                           only_running: bool = False) -> dict[str, Any] | None:
        """``pending`` -> ``running`` with a new attempt (``only_running``: only while the
        execution is running, in the same statement); the row, or None if it did not happen."""
        now = self.now()
        condition = (" AND EXISTS (SELECT 1 FROM server_orchestrator_executions e WHERE e.id = ? "
                     "AND e.state = 'running')") if only_running else ""
        row = await self.db.fetch_one(
            "UPDATE server_orchestrator_stages SET status = 'running', attempt = attempt + 1, launcher = ?, "
            "agent_id = NULL, handle = NULL, message = NULL, exit_code = NULL, kill_requested = 0, started_at = ?, "
            "finished_at = NULL, run_seconds = NULL, updated_at = ? "
            f"WHERE execution_id = ? AND stage_id = ? AND status = 'pending'{condition} "
            f"RETURNING {STAGE_COLUMNS}",
            [launcher, now, now, execution_id, stage_id, *([execution_id] if only_running else [])],
        )
        return None if row is None else _stage_row(row)

    async def update_phase(self, execution_id: int, phase_id: str, changes: dict[str, Any], *,
                           gate_statuses: tuple[str, ...] | None = None) -> dict[str, Any] | None:
        """Change a phase (only when its gate status is one of ``gate_statuses``); the row or None."""
        sql = ("UPDATE server_orchestrator_phases SET " + ", ".join(f"{k} = ?" for k in changes)
               + " WHERE execution_id = ? AND phase_id = ?")
        params = [*changes.values(), execution_id, phase_id]
        if gate_statuses:
            sql += f" AND gate_status IN ({', '.join('?' * len(gate_statuses))})"
            params += list(gate_statuses)
        row = await self.db.fetch_one(sql + f" RETURNING {PHASE_COLUMNS}", params)
        return _int_keys(row, "id", "milestone_id", "issue_id")

    async def kill_requests(self) -> list[dict[str, Any]]:
        """Stages whose processes must be stopped (cancelled), of any execution."""
        rows = await self.db.fetch_all(
            f"SELECT {STAGE_COLUMNS} FROM server_orchestrator_stages WHERE kill_requested = 1"
        )
        return [_stage_row(row) for row in rows]

    # --- logs ------------------------------------------------------------------------------------

    async def save_log(self, execution_id: int, stage_id: str, attempt: int, size: int, content: str) -> None:
        """Keep the tail of an attempt's log (replacing an earlier copy)."""
        await self.db.execute(
            "DELETE FROM server_orchestrator_stage_logs WHERE execution_id = ? AND stage_id = ? AND attempt = ?",
            [execution_id, stage_id, attempt],
        )
        await StageLog.create(execution_id=execution_id, stage_id=stage_id, attempt=attempt, size=size, content=content)

    async def log(self, execution_id: int, stage_id: str, attempt: int) -> dict[str, Any] | None:
        """The kept tail of an attempt's log: ``{size, content}``, or ``None``."""
        row = await StageLog.filter(execution_id=execution_id, stage_id=stage_id, attempt=attempt).first()
        return None if row is None else {"size": row.size, "content": row.content}
