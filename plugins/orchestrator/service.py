"""The orchestrator's operations: plans, executions, stage reports. Routes, the driver and other
plugins (the ``orchestrator`` service, :mod:`.contract`) all go through here.

Every state change is one transaction, serialised per execution, that changes the rows,
publishes its events (sent after commit) and settles the execution's state from the new rows
(:func:`.state.derive`); afterwards the driver is woken (this instance at once; other
instances through the ``execution`` events and their polling). Side effects on the tracking
issues (closing, failure comments) follow from the rows and are applied by the driver
(:mod:`.effects`), so none is lost to a crash in between.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from typing import TYPE_CHECKING, Any

from kernel import APIError
from kernel.api import Conflict, NotFound, to_api
from kernel.timeutil import parse as parse_time

from .decomposer import DecomposeRequest, Registry
from .effects import Effects
from .events import ExecutionProgress, ExecutionState, PhaseGate
from .plan import build_plan, check_slug, slugify
from .state import ACTIVE_STATES, ENDED_STATES, FINISHED, Snapshot, derive, newly_ready
from .store import Store

if TYPE_CHECKING:
    from kernel.app import Kernel

    from .config import OrchestratorConfig
    from .launcher import Outcome

log = logging.getLogger("crosslink.orchestrator")

DRIVER = "orchestrator-driver"
SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,200}$")
REPORTABLE = ("running", "done", "failed")


def stage_view(stage: dict[str, Any]) -> dict[str, Any]:
    """A stage as ``GET /orchestrator/status`` and the stage routes answer it."""
    started, finished = parse_time(stage["started_at"]), parse_time(stage["finished_at"])
    duration = (finished - started).total_seconds() if started and finished else None
    return {
        "id": stage["stage_id"],
        "phase_id": stage["phase_id"],
        "title": stage["title"],
        "status": stage["status"],
        "agent_id": stage["agent_id"],
        "issue_id": stage["issue_id"],
        "depends_on": stage["depends_on"],
        "attempt": stage["attempt"],
        "launcher": stage["launcher"],
        "message": stage["message"],
        "exit_code": stage["exit_code"],
        "started_at": to_api(stage["started_at"]),
        "finished_at": to_api(stage["finished_at"]),
        "duration_seconds": None if duration is None else round(duration, 3),
        "run_seconds": None if stage["run_seconds"] is None else round(float(stage["run_seconds"]), 3),
    }


def phase_view(phase: dict[str, Any], stage_ids: list[str], gating: bool) -> dict[str, Any]:
    """A phase of the status; its gate fields are ``null`` when phase gating is off."""
    return {
        "id": phase["phase_id"],
        "title": phase["title"],
        "milestone_id": phase["milestone_id"],
        "issue_id": phase["issue_id"],
        "closed": bool(phase["closed"]),
        "gate_status": phase["gate_status"] if gating else None,
        "gate_message": phase["gate_message"] if gating else None,
        "gate_started_at": to_api(phase["gate_started_at"]),
        "gate_finished_at": to_api(phase["gate_finished_at"]),
        "stage_ids": stage_ids,
    }


def _changes_state(result: Any) -> bool:
    """Whether ``apply`` changed the execution row itself (then settling reads it again)."""
    return isinstance(result, dict) and "state" in result and "plan_id" in result


class OrchestratorService:
    """The orchestrator; also what other plugins get as ``kernel.services.get("orchestrator")``."""

    def __init__(self, kernel: Kernel, config: OrchestratorConfig) -> None:
        self.kernel = kernel
        self.config = config
        self.store = Store(kernel)
        self.decomposers = Registry("decomposer", "crosslink_orchestrator_decomposers")
        self.launchers = Registry("launcher", "crosslink_orchestrator_launchers")
        self.effects = Effects(self)
        self._setup_waiters: dict[int, asyncio.Event] = {}

    # --- plumbing ---------------------------------------------------------------------------------

    @property
    def issues(self) -> Any:
        """The ``issues`` service (tracking issues go through it)."""
        return self.kernel.services.require("issues")

    def wake(self) -> None:
        """Have the driver look at the database now (on this instance)."""
        self.kernel.workers.wake(DRIVER)

    def setup_finished(self, execution_id: int) -> None:
        """The driver created the execution's tracking issues: an ``execute`` waiting for them answers."""
        waiter = self._setup_waiters.get(execution_id)
        if waiter is not None:
            waiter.set()

    async def _wait_setup(self, execution_id: int) -> bool:
        waiter = self._setup_waiters.setdefault(execution_id, asyncio.Event())
        deadline = time.monotonic() + self.config.setup_wait_seconds
        try:
            while True:
                execution = await self.store.execution(execution_id)
                if execution is None or execution["setup_complete"] or execution["state"] not in ACTIVE_STATES:
                    return bool(execution and execution["setup_complete"])
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                try:  # woken by this instance's driver, or look again (another instance's driver)
                    await asyncio.wait_for(waiter.wait(), min(remaining, 0.25))
                except TimeoutError:
                    pass
        finally:
            self._setup_waiters.pop(execution_id, None)

    def _publish(self, event) -> None:
        self.kernel.publish(event)

    def _progress(self, execution: dict[str, Any], stage: dict[str, Any]) -> None:
        self._publish(ExecutionProgress(
            plan_id=execution["plan_id"], phase_id=stage["phase_id"], stage_id=stage["stage_id"],
            status=stage["status"], agent_id=stage["agent_id"], execution_id=execution["id"],
            message=stage["message"],
        ))

    def _state_event(self, execution: dict[str, Any], previous: str | None) -> None:
        self._publish(ExecutionState(
            execution_id=execution["id"], plan_id=execution["plan_id"], state=execution["state"],
            previous=previous, message=execution["message"],
        ))

    def _gate_event(self, execution: dict[str, Any], phase: dict[str, Any]) -> None:
        self._publish(PhaseGate(
            execution_id=execution["id"], plan_id=execution["plan_id"], phase_id=phase["phase_id"],
            status=phase["gate_status"], message=phase["gate_message"],
        ))

    async def _settle(self, execution: dict[str, Any]) -> dict[str, Any]:
        """Inside the execution's transaction: set its state from its rows; the new row."""
        snapshot = await self.store.snapshot(execution["id"], execution)
        derived = derive(snapshot)
        execution = snapshot.execution
        state = execution["state"]
        target, changes = None, {}
        if derived.outcome and state in (*ACTIVE_STATES, "failed") and derived.outcome != state:
            target = derived.outcome
            changes = {"state": target, "completed_at": self.store.now(), "message": derived.message, "paused_at": None}
        elif derived.outcome is None and state == "failed":  # a retry or a skip gave it work again
            target, changes = "running", {"state": "running", "completed_at": None, "message": None}
        if target is None:
            return execution
        updated = await self.store.set_execution(execution["id"], changes, states=(state,))
        if updated is None:
            return execution
        self._state_event(updated, state)
        if target in ENDED_STATES:
            log.info("orchestrator: execution %s is %s%s", updated["id"], target,
                     f": {updated['message']}" if updated["message"] else "")
        return updated

    async def _change(self, execution_id: int, apply) -> Any:
        """Run ``apply(execution)`` in the execution's transaction, then settle it, and wake the
        driver (which applies the effects on the tracking issues and launches what may start).
        ``apply`` returns its result (``None``: nothing changed, no settling)."""
        async with self.kernel.db.transaction():
            await self.store.lock_execution(execution_id)
            execution = await self.store.execution(execution_id)
            if execution is None:
                return None
            result = await apply(execution)
            if result is not None:
                await self._settle(await self.store.execution(execution_id) if _changes_state(result) else execution)
        if result is not None:
            self.wake()
            if isinstance(result, dict) and result.get("status") in ("failed", "skipped") and "stage_id" in result:
                await self.effects.note(execution_id, result)
        return result

    # --- plans ------------------------------------------------------------------------------------

    async def decompose(self, document: str, slug: str | None = None, decomposer: str | None = None) -> dict[str, Any]:
        """Decompose ``document`` and store the plan as the current plan (409 while an execution
        is running or paused)."""
        if not document.strip():
            raise APIError(400, "document field is required and must not be empty",
                           fields=[{"field": "document", "message": "must not be blank"}])
        if slug is not None:
            check_slug(slug)
        await self._refuse_while_active()
        chosen = self.decomposers.get(decomposer or self.config.decomposer)
        raw = await chosen.decompose(DecomposeRequest(document=document, slug=slug))
        if not isinstance(raw, dict):
            raise APIError(502, f"decomposer '{chosen.name}' returned no plan object", cause="invalid_plan")
        return await self.save_plan(raw, slug=slug, source=document, decomposer=chosen.name)

    async def save_plan(self, raw: Any, *, slug: str | None, source: str, decomposer: str) -> dict[str, Any]:
        """Validate ``raw`` (any producer) and make it the current plan."""
        title = raw.get("title") if isinstance(raw, dict) and isinstance(raw.get("title"), str) else None
        slug = check_slug(slug) if slug else slugify(title or "")
        plan = build_plan(raw, slug=slug, created_at=to_api(self.kernel.clock.now()))
        async with self.kernel.db.transaction():
            await self.store.lock_plans()
            await self._refuse_while_active()
            await self.store.save_plan(plan, source, decomposer)
        log.info("orchestrator: plan %s (%s): %d phases, %d stages, by %s", plan["id"], slug, len(plan["phases"]),
                 plan["total_stages"], decomposer)
        return plan

    async def _refuse_while_active(self) -> None:
        active = await self.store.active_execution()
        if active is not None:
            raise Conflict(
                f"execution {active['id']} of plan {active['plan_id']} is {active['state']}: a new plan can be "
                "stored once it is finished or cancelled (POST /orchestrator/cancel)"
            )

    async def current_plan(self) -> dict[str, Any] | None:
        """The current plan (the newest stored), or ``None``."""
        return await self.store.current_plan()

    async def plans(self, limit: int | None, offset: int) -> tuple[list[dict[str, Any]], int]:
        """Stored plans, newest first, and their number."""
        return await self.store.plans(limit, offset)

    async def plan_record(self, plan_id: str) -> dict[str, Any]:
        """A stored plan with its source document; 404 when unknown."""
        record = await self.store.plan_record(plan_id) if SAFE_ID.match(plan_id) else None
        if record is None:
            raise NotFound(f"Plan '{plan_id}' does not exist")
        return record

    # --- executions -------------------------------------------------------------------------------

    async def execute(self, launcher: str | None = None, max_parallel: int | None = None,
                      phase_gating: bool | None = None) -> dict[str, Any]:
        """Start an execution of the current plan, or resume the paused one."""
        async with self.kernel.db.transaction():
            await self.store.lock_plans()
            plan = await self.store.current_plan()
            if plan is None:
                raise NotFound("No plan found: decompose a document first (POST /orchestrator/decompose)")
            latest = await self.store.latest_execution()
            if latest is not None and latest["state"] in ACTIVE_STATES:
                return await self._resume(latest, launcher, max_parallel)
            if latest is not None and latest["plan_id"] == plan["id"] and latest["state"] == "failed":
                raise Conflict(
                    f"execution {latest['id']} of this plan has failed: retry or skip its failed stages "
                    "(POST /orchestrator/stages/:id/retry|skip), or cancel it (POST /orchestrator/cancel)"
                )
            name = launcher or self.config.launcher
            self.launchers.get(name).check()
            gating = self.config.phase_gating if phase_gating is None else phase_gating
            execution_id = await self.store.create_execution(
                plan, name, max_parallel or self.config.max_parallel, gating
            )
            execution = await self.store.execution(execution_id)
            self._state_event(execution, None)
        log.info("orchestrator: execution %s of plan %s started (launcher %s, max_parallel %s, phase gating %s)",
                 execution_id, plan["id"], name, execution["max_parallel"], bool(gating))
        self.wake()
        ready = await self._wait_setup(execution_id)
        return {"ok": True, "execution_id": execution_id, "plan_id": plan["id"], "state": "running",
                "resumed": False, "setup_complete": ready}

    async def _resume(self, execution: dict[str, Any], launcher: str | None, max_parallel: int | None) -> dict[str, Any]:
        if execution["state"] == "running":
            raise Conflict(f"Cannot start execution: execution {execution['id']} is already running")
        if launcher and launcher != execution["launcher"]:
            raise APIError(400, f"launcher: execution {execution['id']} runs with '{execution['launcher']}'; "
                           "a resumed execution keeps its launcher")
        changes: dict[str, Any] = {"state": "running", "paused_at": None}
        if max_parallel:
            changes["max_parallel"] = max_parallel
        await self.store.lock_execution(execution["id"])
        updated = await self.store.set_execution(execution["id"], changes, states=("paused",))
        if updated is None:
            raise Conflict("Cannot start execution: its state changed meanwhile; look again")
        self._state_event(updated, "paused")
        self.wake()
        return {"ok": True, "execution_id": updated["id"], "plan_id": updated["plan_id"], "state": "running",
                "resumed": True, "setup_complete": bool(updated["setup_complete"])}

    async def pause(self) -> dict[str, Any]:
        """``running`` -> ``paused``: nothing new starts; running stages finish and are recorded."""
        latest = await self.store.latest_execution()
        if latest is None:
            raise NotFound("No execution in progress")

        async def apply(execution):
            if execution["state"] != "running":
                raise Conflict(f"Cannot pause: execution {execution['id']} is {execution['state']}, not running")
            updated = await self.store.set_execution(
                execution["id"], {"state": "paused", "paused_at": self.store.now()}, states=("running",)
            )
            self._state_event(updated, "running")
            return updated

        updated = await self._change(latest["id"], apply)
        return {"ok": True, "execution_id": updated["id"], "state": "paused"}

    async def cancel(self) -> dict[str, Any]:
        """Cancel the latest execution (running, paused or failed): its running stages fail with
        "cancelled" and their processes are stopped."""
        latest = await self.store.latest_execution()
        if latest is None:
            raise NotFound("No execution in progress")
        stopped: list[dict[str, Any]] = []

        async def apply(execution):
            if execution["state"] in ("done", "cancelled"):
                raise Conflict(f"Cannot cancel: execution {execution['id']} is {execution['state']}")
            snapshot = await self.store.snapshot(execution["id"])
            for stage in snapshot.stages:
                if stage["status"] != "running":
                    continue
                row = await self.store.update_stage(
                    execution["id"], stage["stage_id"],
                    {"status": "failed", "message": "cancelled", "finished_at": self.store.now(), "kill_requested": 1},
                    statuses=("running",), attempt=stage["attempt"],
                )
                if row is not None:
                    stopped.append(row)
                    self._progress(execution, row)
            updated = await self.store.set_execution(
                execution["id"], {"state": "cancelled", "completed_at": self.store.now(), "message": "cancelled",
                                  "paused_at": None},
                states=(execution["state"],),
            )
            self._state_event(updated, execution["state"])
            return updated

        updated = await self._change(latest["id"], apply)
        await self.stop_processes(updated, stopped)
        return {"ok": True, "execution_id": updated["id"], "state": "cancelled",
                "stopped": [row["stage_id"] for row in stopped]}

    async def stop_processes(self, execution: dict[str, Any], rows: list[dict[str, Any]]) -> None:
        """Stop the processes of cancelled stages that this machine can reach; the driver (which
        looks for ``kill_requested``) stops the others."""
        from .driver import run_for  # the driver module builds StageRun objects

        async def stop(row):
            launcher = self.launchers.find(row["launcher"] or "")
            if launcher is None:
                return
            try:
                result = await launcher.stop(run_for(self, execution, row, None))
            except Exception:
                log.exception("orchestrator: stopping stage %s failed", row["stage_id"])
                return
            if result is not False:
                await self.store.update_stage(execution["id"], row["stage_id"], {"kill_requested": 2},
                                              attempt=row["attempt"])

        await asyncio.gather(*(stop(row) for row in rows))

    # --- stages -----------------------------------------------------------------------------------

    async def _stage_in_latest(self, stage_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
        latest = await self.store.latest_execution()
        if latest is None:
            raise NotFound("No execution in progress")
        stage = await self.store.stage(latest["id"], stage_id) if SAFE_ID.match(stage_id) else None
        if stage is None:
            raise NotFound(f"Stage '{stage_id}' is not part of execution {latest['id']} (plan {latest['plan_id']})")
        return latest, stage

    async def report_stage(self, stage_id: str, status: str, agent_id: str | None = None,
                           message: str | None = None) -> dict[str, Any]:
        """An agent's report: ``running`` (it took the stage: a pending stage that may start, or
        a running one it now works on), ``done`` or ``failed`` (of a running stage)."""
        if status not in REPORTABLE:
            raise APIError(400, f"status: must be one of {', '.join(REPORTABLE)}, not {status!r}")
        latest, _ = await self._stage_in_latest(stage_id)

        async def apply(execution):
            if execution["state"] not in ACTIVE_STATES:
                raise Conflict(f"execution {execution['id']} is {execution['state']}; stages report only while it "
                               "runs or is paused")
            if not execution["setup_complete"]:
                raise Conflict(f"execution {execution['id']} is still creating its tracking issues; report again shortly")
            stage = await self.store.stage(execution["id"], stage_id)
            now = self.store.now()
            if status == "running":
                row = await self._report_running(execution, stage, agent_id, message)
            else:
                if stage["status"] != "running":
                    raise Conflict(f"Stage '{stage_id}' is {stage['status']}; only a running stage can be reported {status}")
                changes = {"status": status, "finished_at": now, "message": message}
                if agent_id:
                    changes["agent_id"] = agent_id
                row = await self.store.update_stage(execution["id"], stage_id, changes, statuses=("running",))
                if row is None:
                    raise Conflict(f"Stage '{stage_id}' changed meanwhile; look again")
            if row is not stage:
                self._progress(execution, row)
            return row

        row = await self._change(latest["id"], apply)
        return {"ok": True, "stage": stage_view(row)}

    async def _report_running(self, execution, stage, agent_id, message):
        if stage["status"] == "running":
            if agent_id is None or agent_id == stage["agent_id"]:
                return stage  # nothing new
            row = await self.store.update_stage(execution["id"], stage["stage_id"], {"agent_id": agent_id},
                                                statuses=("running",))
            if row is None:
                raise Conflict(f"Stage '{stage['stage_id']}' changed meanwhile; look again")
            return row
        if stage["status"] != "pending":
            raise Conflict(f"Stage '{stage['stage_id']}' is {stage['status']}; it cannot start")
        if execution["state"] != "running":
            raise Conflict(f"execution {execution['id']} is paused: no stage starts until it is resumed")
        derived = derive(await self.store.snapshot(execution["id"]))
        if stage["stage_id"] not in {s["stage_id"] for s in derived.launchable}:
            raise Conflict(f"Stage '{stage['stage_id']}' is not ready: its dependencies (or the earlier phases' "
                           "gates) are not done yet")
        row = await self.store.launch_stage(execution["id"], stage["stage_id"], "report")
        if row is None:
            raise Conflict(f"Stage '{stage['stage_id']}' changed meanwhile; look again")
        return await self.store.update_stage(execution["id"], stage["stage_id"],
                                             {"agent_id": agent_id, "message": message}, attempt=row["attempt"])

    def _check_open(self, execution: dict[str, Any], current_plan: str | None, what: str) -> None:
        if execution["state"] in ("done", "cancelled"):
            raise Conflict(f"Cannot {what}: execution {execution['id']} is {execution['state']}")
        if execution["state"] == "failed" and current_plan != execution["plan_id"]:
            raise Conflict(f"Cannot {what}: execution {execution['id']} belongs to plan {execution['plan_id']}, "
                           "which is no longer the current plan")

    async def retry_stage(self, stage_id: str) -> dict[str, Any]:
        """``failed`` -> ``pending``: the stage runs again (a failed execution runs again)."""
        latest, _ = await self._stage_in_latest(stage_id)
        current = await self.store.current_plan_id()

        async def apply(execution):
            self._check_open(execution, current, "retry")
            row = await self.store.update_stage(
                execution["id"], stage_id,
                {"status": "pending", "agent_id": None, "message": None, "exit_code": None, "finished_at": None,
                 "kill_requested": 0},
                statuses=("failed",),
            )
            if row is None:
                stage = await self.store.stage(execution["id"], stage_id)
                raise APIError(400, f"Cannot retry stage: '{stage_id}' is {stage['status']}, not failed")
            self._progress(execution, row)
            return row

        await self._change(latest["id"], apply)
        derived = derive(await self.store.snapshot(latest["id"]))
        # ready now, or already taken by the driver, which may launch it before this looks
        ready = any(stage["stage_id"] == stage_id for stage in derived.launchable) or (
            (await self.store.stage(latest["id"], stage_id))["status"] == "running")
        return {"ok": True, "stage_id": stage_id, "ready_to_launch": ready}

    async def skip_stage(self, stage_id: str, message: str | None = None) -> dict[str, Any]:
        """``pending`` or ``failed`` -> ``skipped`` (counts as finished for what depends on it)."""
        latest, _ = await self._stage_in_latest(stage_id)
        current = await self.store.current_plan_id()
        ready: list[str] = []

        async def apply(execution):
            self._check_open(execution, current, "skip")
            before = derive(await self.store.snapshot(execution["id"], execution))
            row = await self.store.update_stage(
                execution["id"], stage_id,
                {"status": "skipped", "finished_at": self.store.now(), "message": message or "skipped"},
                statuses=("pending", "failed"),
            )
            if row is None:
                stage = await self.store.stage(execution["id"], stage_id)
                raise APIError(400, f"Cannot skip stage: '{stage_id}' is {stage['status']}; only a pending or "
                               "failed stage can be skipped")
            self._progress(execution, row)
            # in the same transaction: what this skip made ready, and nothing else
            ready.extend(newly_ready(before, derive(await self.store.snapshot(execution["id"], execution))))
            return row

        await self._change(latest["id"], apply)
        return {"ok": True, "stage_id": stage_id, "newly_ready": ready}

    async def stage(self, stage_id: str) -> dict[str, Any]:
        """A stage of the latest execution, as the status shows it."""
        latest, stage = await self._stage_in_latest(stage_id)
        return {**stage_view(stage), "execution_id": latest["id"], "plan_id": latest["plan_id"]}

    async def stage_log(self, stage_id: str, attempt: int | None, offset: int, limit: int) -> dict[str, Any]:
        """A stage attempt's output: from its log file on this machine, else the tail kept in the
        database when the attempt ended."""
        from .driver import log_path

        latest, stage = await self._stage_in_latest(stage_id)
        attempt = stage["attempt"] if attempt is None else attempt
        if attempt < 1 or attempt > stage["attempt"]:
            raise NotFound(f"Stage '{stage_id}' has no attempt {attempt} (it has run {stage['attempt']} times)")
        complete = not (attempt == stage["attempt"] and stage["status"] == "running")
        path = log_path(self, latest["id"], stage_id, attempt)
        if path.is_file():
            with open(path, "rb") as log_file:
                log_file.seek(0, 2)
                size = log_file.tell()
                start = min(offset, size)
                log_file.seek(start)
                data = log_file.read(limit)
            return {"stage_id": stage_id, "attempt": attempt, "offset": start, "next_offset": start + len(data),
                    "size": size, "content": data.decode(errors="replace"), "complete": complete, "source": "file"}
        kept = await self.store.log(latest["id"], stage_id, attempt)
        if kept is None:
            raise NotFound(f"No log of attempt {attempt} of stage '{stage_id}' is kept on this server")
        data = kept["content"].encode()
        base = kept["size"] - len(data)
        start = max(offset, base)
        chunk = data[start - base : start - base + limit]
        return {"stage_id": stage_id, "attempt": attempt, "offset": start, "next_offset": start + len(chunk),
                "size": kept["size"], "content": chunk.decode(errors="replace"), "complete": complete,
                "source": "database"}

    # --- gates ------------------------------------------------------------------------------------

    async def _phase_in_latest(self, phase_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
        latest = await self.store.latest_execution()
        if latest is None:
            raise NotFound("No execution in progress")
        phase = await self.store.phase(latest["id"], phase_id) if SAFE_ID.match(phase_id) else None
        if phase is None:
            raise NotFound(f"Phase '{phase_id}' is not part of execution {latest['id']}")
        return latest, phase

    async def retry_gate(self, phase_id: str) -> dict[str, Any]:
        """A failed gate runs again."""
        latest, _ = await self._phase_in_latest(phase_id)
        current = await self.store.current_plan_id()

        async def apply(execution):
            self._check_open(execution, current, "retry the gate")
            row = await self.store.update_phase(execution["id"], phase_id, {"gate_status": "pending", "gate_message": None},
                                                gate_statuses=("failed",))
            if row is None:
                raise APIError(400, f"Cannot retry the gate of phase '{phase_id}': it has not failed")
            self._gate_event(execution, row)
            return row

        await self._change(latest["id"], apply)
        return {"ok": True, "phase_id": phase_id, "gate_status": "pending"}

    async def skip_gate(self, phase_id: str) -> dict[str, Any]:
        """A pending or failed gate counts as passed."""
        latest, _ = await self._phase_in_latest(phase_id)
        current = await self.store.current_plan_id()

        async def apply(execution):
            self._check_open(execution, current, "skip the gate")
            row = await self.store.update_phase(
                execution["id"], phase_id,
                {"gate_status": "skipped", "gate_message": "skipped", "gate_finished_at": self.store.now()},
                gate_statuses=("pending", "failed"),
            )
            if row is None:
                raise APIError(400, f"Cannot skip the gate of phase '{phase_id}': it is running or already open")
            self._gate_event(execution, row)
            return row

        await self._change(latest["id"], apply)
        return {"ok": True, "phase_id": phase_id, "gate_status": "skipped"}

    # --- used by the driver -----------------------------------------------------------------------

    async def start_stage(self, execution: dict[str, Any], stage_id: str, launcher: str) -> dict[str, Any] | None:
        """pending -> running for a launch (None when the stage is no longer pending or the
        execution no longer running), in one conditional statement."""
        async with self.kernel.db.transaction():
            row = await self.store.launch_stage(execution["id"], stage_id, launcher, only_running=True)
            if row is not None:
                self._progress(execution, row)
        return row

    async def finish_attempt(self, execution_id: int, stage_id: str, attempt: int, outcome: Outcome) -> dict[str, Any] | None:
        """Record how a launched attempt ended (ignored when the stage moved on: reported, cancelled)."""

        async def apply(execution):
            row = await self.store.update_stage(
                execution_id, stage_id,
                {"status": outcome.status, "message": outcome.message, "exit_code": outcome.exit_code,
                 "finished_at": self.store.now(), "run_seconds": outcome.run_seconds},
                statuses=("running",), attempt=attempt,
            )
            if row is not None:
                self._progress(execution, row)
            return row

        return await self._change(execution_id, apply)

    async def requeue_stage(self, execution_id: int, stage_id: str, attempt: int, message: str) -> dict[str, Any] | None:
        """running -> pending: the stage runs again (after a restart, its process gone)."""

        async def apply(execution):
            row = await self.store.update_stage(
                execution_id, stage_id, {"status": "pending", "message": message, "agent_id": None, "handle": None},
                statuses=("running",), attempt=attempt,
            )
            if row is not None:
                self._progress(execution, row)
            return row

        return await self._change(execution_id, apply)

    async def set_gate(self, execution_id: int, phase_id: str, changes: dict[str, Any],
                       from_statuses: tuple[str, ...]) -> dict[str, Any] | None:
        """Change a phase's gate (from one of ``from_statuses``), with its event."""
        async def apply(execution):
            row = await self.store.update_phase(execution_id, phase_id, changes, gate_statuses=from_statuses)
            if row is not None:
                self._gate_event(execution, row)
            return row

        return await self._change(execution_id, apply)

    async def settle(self, execution_id: int) -> dict[str, Any] | None:
        """Set the execution's state from its rows (the driver, when its look says it changed)."""
        async with self.kernel.db.transaction():
            await self.store.lock_execution(execution_id)
            execution = await self.store.execution(execution_id)
            return None if execution is None else await self._settle(execution)

    # --- status -----------------------------------------------------------------------------------

    async def status(self) -> dict[str, Any]:
        """``GET /orchestrator/status``: the latest execution as its rows say now, or ``idle``
        (with the current plan's stages pending) when none runs the current plan."""
        latest = await self.store.latest_execution()
        current = await self.store.current_plan_id()
        if latest is None or (current is not None and current != latest["plan_id"]):
            return await self._idle_status(current)
        snapshot = await self.store.snapshot(latest["id"])
        return self._status_of(snapshot)

    async def _idle_status(self, plan_id: str | None) -> dict[str, Any]:
        plan = await self.store.plan(plan_id) if plan_id else None
        stages = [stage for phase in plan["phases"] for stage in phase["stages"]] if plan else []
        return {
            "execution_id": None,
            "plan_id": plan["id"] if plan else None,
            "state": "idle",
            "current_phase_id": plan["phases"][0]["id"] if plan else None,
            "progress_percent": 0.0,
            "started_at": None,
            "completed_at": None,
            "stage_statuses": {stage["id"]: "pending" for stage in stages},
            "stage_agents": {},
            "paused_at": None,
            "elapsed_seconds": None,
            "message": None,
            "launcher": None,
            "max_parallel": None,
            "phase_gating": None,
            "setup_complete": False,
            "counts": {"pending": len(stages), "running": 0, "done": 0, "failed": 0, "skipped": 0, "blocked": 0},
            "phases": [],
            "stages": [],
        }

    def _status_of(self, snapshot: Snapshot) -> dict[str, Any]:
        execution, derived = snapshot.execution, derive(snapshot)
        started, completed = parse_time(execution["started_at"]), parse_time(execution["completed_at"])
        end = completed or self.kernel.clock.now()
        by_phase: dict[str, list[str]] = {}
        for stage in snapshot.stages:
            by_phase.setdefault(stage["phase_id"], []).append(stage["stage_id"])
        return {
            "execution_id": execution["id"],
            "plan_id": execution["plan_id"],
            "state": execution["state"],
            "current_phase_id": derived.current_phase_id,
            "progress_percent": derived.progress_percent,
            "started_at": to_api(execution["started_at"]),
            "completed_at": to_api(execution["completed_at"]),
            "stage_statuses": {stage["stage_id"]: stage["status"] for stage in snapshot.stages},
            "stage_agents": {stage["stage_id"]: stage["agent_id"] for stage in snapshot.stages
                             if stage["status"] == "running" and stage["agent_id"]},
            "paused_at": to_api(execution["paused_at"]),
            "elapsed_seconds": round((end - started).total_seconds(), 3) if started else None,
            "message": execution["message"],
            "launcher": execution["launcher"],
            "max_parallel": execution["max_parallel"],
            "phase_gating": bool(execution["phase_gating"]),
            "setup_complete": bool(execution["setup_complete"]),
            "counts": derived.counts,
            "phases": [phase_view(phase, by_phase.get(phase["phase_id"], []), snapshot.gating) for phase in snapshot.phases],
            "stages": [stage_view(stage) for stage in snapshot.stages],
        }


__all__ = ["DRIVER", "FINISHED", "OrchestratorService", "stage_view"]
