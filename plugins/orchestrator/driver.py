"""The execution driver: the singleton worker that makes an execution happen.

On a team server exactly one instance runs it (``Worker(..., singleton=True)``: a PostgreSQL
advisory-lock lease, or a file lock beside the SQLite database). Each look at the database
(woken at once by this instance's changes, by ``execution`` events from other instances, and
every ``poll_seconds`` otherwise):

1. stops the processes of cancelled stages (right after a cancel, and every few seconds for
   cancels made on another machine);
2. creates the active execution's tracking issues if they are not all there (:mod:`.setup`);
3. the first time it sees an execution in this run, **reconciles** it: every stage that was
   ``running`` is picked up again by its launcher (a ``command`` stage's process is watched
   again, or its recorded exit status read); one that cannot be (process gone) is failed with
   the reason, or re-run when ``rerun_on_restart`` is set; a gate that was running runs again;
4. applies the effects on the tracking issues (:mod:`.effects`; also once more after the
   execution ended) and settles the state when the rows say it changed;
5. while the execution is ``running`` (not paused): runs the gates that may run (phase gating)
   and launches ready stages, in plan order, up to ``max_parallel`` running at once.

Launched stages are watched by tasks of this worker; when one ends its outcome is recorded and
the driver looks again at once. When the worker stops (shutdown, lost lease) it stops watching
but leaves stage processes running, for the next driver to pick up.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kernel import Worker, WorkerContext
from kernel.timeutil import parse as parse_time

from . import processes, texts
from .launcher import LaunchFailed, Outcome, StageGone, StageRun
from .plan import stages_of
from .service import DRIVER, SAFE_ID
from .setup import create_tracking
from .state import ACTIVE_STATES, derive
from .store import handle_of

if TYPE_CHECKING:
    from .service import OrchestratorService

log = logging.getLogger("crosslink.orchestrator")

#: Besides right after a cancel, how often the driver looks for stages whose processes must be
#: stopped (a cancel made by an instance on another machine).
KILL_CHECK_SECONDS = 5.0


def run_dir(service: OrchestratorService, execution_id: int) -> Path:
    """Where an execution's stage files live: ``.crosslink/orchestrator/runs/<execution id>/``."""
    return service.kernel.crosslink_dir / "orchestrator" / "runs" / str(int(execution_id))


def log_path(service: OrchestratorService, execution_id: int, stage_id: str, attempt: int) -> Path:
    """The log file of a stage attempt (stage ids come from the plan validator; checked anyway)."""
    if not SAFE_ID.match(stage_id):  # stage ids are made by the plan validator; never a path part else
        raise ValueError(f"unsafe stage id {stage_id!r}")
    return run_dir(service, execution_id) / f"{stage_id}.{int(attempt)}.log"


def server_url(service: OrchestratorService) -> str | None:
    """The URL stage commands reach this server at (``None`` while the port is not known yet)."""
    settings = service.kernel.settings
    if service.config.server_url:
        return service.config.server_url
    if settings.listening_url:
        return settings.listening_url
    if settings.port == 0:
        return None
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    return f"http://{'[' + host + ']' if ':' in host else host}:{settings.port}"


def run_for(service: OrchestratorService, execution: dict[str, Any], stage: dict[str, Any],
            plan: dict[str, Any] | None) -> StageRun:
    """The :class:`StageRun` of the stage's current attempt."""
    prompt, phase_title = "", ""
    if plan is not None:
        titles = {s["id"]: s["title"] for _, s in stages_of(plan)}
        for phase, planned in stages_of(plan):
            if planned["id"] == stage["stage_id"]:
                prompt = texts.stage_prompt(plan, phase, planned, stage["issue_id"], titles)
                phase_title = phase["title"]
                break
    environment = {
        "CROSSLINK_SERVER_URL": server_url(service) or "",
        "CROSSLINK_EXECUTION_ID": str(execution["id"]),
        "CROSSLINK_PLAN_ID": execution["plan_id"],
        "CROSSLINK_PHASE_ID": stage["phase_id"],
        "CROSSLINK_PHASE_TITLE": phase_title,
        "CROSSLINK_STAGE_ID": stage["stage_id"],
        "CROSSLINK_STAGE_TITLE": stage["title"],
        "CROSSLINK_STAGE_ATTEMPT": str(stage["attempt"]),
        "CROSSLINK_ISSUE_ID": "" if stage["issue_id"] is None else str(stage["issue_id"]),
        "CROSSLINK_STAGE_LOG": str(log_path(service, execution["id"], stage["stage_id"], stage["attempt"])),
    }
    token = service.kernel.settings.token
    if token:
        environment["CROSSLINK_TOKEN"] = token
    started = parse_time(stage["started_at"])
    timeout = service.config.stage_timeout_seconds or None
    return StageRun(
        execution_id=execution["id"], plan_id=execution["plan_id"], phase_id=stage["phase_id"],
        stage_id=stage["stage_id"], title=stage["title"], attempt=stage["attempt"], issue_id=stage["issue_id"],
        prompt=prompt, environment=environment, run_dir=run_dir(service, execution["id"]),
        log_path=log_path(service, execution["id"], stage["stage_id"], stage["attempt"]), timeout=timeout,
        started_at=started.timestamp() if started else time.time(), handle=handle_of(stage),
    )


def log_tail(path: Path, limit: int) -> tuple[int, str] | None:
    """``(size, last limit bytes)`` of a log file, or ``None`` when there is none."""
    try:
        with open(path, "rb") as log_file:
            log_file.seek(0, os.SEEK_END)
            size = log_file.tell()
            log_file.seek(max(0, size - limit))
            return size, log_file.read().decode(errors="replace")
    except OSError:
        return None


class Driver:
    """The ``orchestrator-driver`` worker of one application."""

    def __init__(self, service: OrchestratorService) -> None:
        self.service = service
        self.store = service.store
        self.config = service.config
        self._plans: dict[str, dict[str, Any]] = {}
        self._watches: dict[tuple[int, str, int], asyncio.Task] = {}
        self._gates: dict[tuple[int, str], asyncio.Task] = {}
        self._reconciled: set[int] = set()
        self._finished: set[int] = set()  # ended executions whose effects are all applied
        self._kills_checked = 0.0
        self._ctx: WorkerContext | None = None

    def worker(self) -> Worker:
        """The singleton :class:`kernel.Worker` that runs this driver."""
        return Worker(DRIVER, self.run, singleton=True, stop_timeout=10.0,
                      description="Runs the orchestrator's executions: launches ready stages, watches them, gates phases")

    def wake(self) -> None:
        """Look again now."""
        self.service.wake()

    # --- the worker -------------------------------------------------------------------------------

    async def run(self, ctx: WorkerContext) -> None:
        """The worker's body: look, sleep until woken or ``poll_seconds``, until stopped."""
        self._ctx = ctx
        self._reconciled = set()
        try:
            while not ctx.stopping:
                try:
                    await self.tick()
                except Exception as exc:  # the database went away...: log, look again later
                    log.exception("orchestrator: the driver's look at the executions failed")
                    ctx.note(f"error: {type(exc).__name__}: {exc}"[:200])
                if not await ctx.sleep(self.config.poll_seconds):
                    break
        finally:
            await self._let_go()

    async def _let_go(self) -> None:
        """Stop watching (stage processes go on; the next driver picks them up); gates stop."""
        tasks = [*self._watches.values(), *self._gates.values()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self._watches.clear()
        self._gates.clear()

    async def _plan(self, plan_id: str) -> dict[str, Any] | None:
        plan = self._plans.get(plan_id)
        if plan is None:
            plan = await self.store.plan(plan_id)
            if plan is not None:
                self._plans = {plan_id: plan}
        return plan

    async def tick(self) -> None:
        """One look at the executions (see the module docstring for the steps)."""
        execution = await self.store.latest_execution()
        if (execution is not None and execution["state"] == "cancelled" and execution["id"] not in self._finished) \
                or time.monotonic() - self._kills_checked > KILL_CHECK_SECONDS:
            await self._stop_cancelled()
            self._kills_checked = time.monotonic()
        if execution is None:
            self._note("idle")
            return
        if execution["state"] not in ACTIVE_STATES:  # ended: its last effects, once
            if execution["id"] not in self._finished and execution["setup_complete"]:
                await self.service.effects.apply(await self.store.snapshot(execution["id"], execution))
                self._finished.add(execution["id"])
            self._note(f"execution {execution['id']}: {execution['state']}")
            return
        plan = await self._plan(execution["plan_id"])
        if plan is None:
            log.error("orchestrator: execution %s names plan %s, which is not stored", execution["id"], execution["plan_id"])
            return
        if not execution["setup_complete"]:
            await create_tracking(self.store, self.service.issues, execution["id"], plan)
            self.service.setup_finished(execution["id"])
            execution = await self.store.execution(execution["id"])
        if execution["id"] not in self._reconciled:
            await self._reconcile(execution, plan)
            self._reconciled.add(execution["id"])
        snapshot = await self.store.snapshot(execution["id"], execution)
        await self.service.effects.apply(snapshot)
        derived = derive(snapshot)
        if (derived.outcome and derived.outcome != execution["state"]) or (
                derived.outcome is None and execution["state"] == "failed"):
            execution = await self.service.settle(execution["id"])  # ended (or the safety net)
        if execution is None or execution["state"] != "running":
            self._note(f"execution {execution and execution['id']}: {execution and execution['state']}")
            return
        if snapshot.gating:
            for phase in derived.runnable_gates:
                await self._start_gate(execution, phase, plan)
        free = execution["max_parallel"] - derived.running
        if free > 0 and derived.launchable:
            launcher = self.service.launchers.find(execution["launcher"])
            if launcher is not None and getattr(launcher, "name", "") == "command" and server_url(self.service) is None:
                asyncio.get_running_loop().call_later(0.05, self.wake)  # the port is not bound yet
                return
            for stage in derived.launchable[:free]:
                await self._launch(execution, stage, plan)
        counts = derived.counts
        self._note(f"execution {execution['id']}: {counts['running']} running, {counts['done'] + counts['skipped']}"
                   f"/{len(snapshot.stages)} finished, {counts['failed']} failed")

    def _note(self, text: str) -> None:
        if self._ctx is not None:
            self._ctx.note(text)

    # --- stages -----------------------------------------------------------------------------------

    async def _launch(self, execution: dict[str, Any], stage: dict[str, Any], plan: dict[str, Any]) -> None:
        launcher = self.service.launchers.find(execution["launcher"])
        row = await self.service.start_stage(execution, stage["stage_id"], execution["launcher"])
        if row is None:
            return
        if launcher is None:
            await self.service.finish_attempt(execution["id"], row["stage_id"], row["attempt"], Outcome(
                "failed", f"the launcher '{execution['launcher']}' is not available on this server"))
            return
        run = run_for(self.service, execution, row, plan)
        try:
            launched = await launcher.launch(run)
        except LaunchFailed as exc:
            await self.service.finish_attempt(execution["id"], row["stage_id"], row["attempt"], Outcome("failed", str(exc)))
            return
        except Exception as exc:
            log.exception("orchestrator: launcher '%s' failed to launch stage %s", launcher.name, row["stage_id"])
            await self.service.finish_attempt(execution["id"], row["stage_id"], row["attempt"], Outcome(
                "failed", f"the launcher '{launcher.name}' failed: {type(exc).__name__}: {exc}"))
            return
        run.handle = dict(launched.handle or {})
        await self.store.update_stage(execution["id"], row["stage_id"], {"handle": run.handle}, attempt=row["attempt"])
        if launched.outcome is not None:
            self._watch(run, launched.outcome)

    def _watch(self, run: StageRun, outcome) -> None:
        key = (run.execution_id, run.stage_id, run.attempt)
        task = asyncio.ensure_future(self._await_outcome(run, outcome))
        self._watches[key] = task
        task.add_done_callback(lambda _: self._watches.pop(key, None))

    async def _await_outcome(self, run: StageRun, outcome) -> None:
        try:
            result = await outcome
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("orchestrator: watching stage %s failed", run.stage_id)
            result = Outcome("failed", f"watching the stage failed: {type(exc).__name__}: {exc}")
        if not isinstance(result, Outcome):
            result = Outcome("failed", f"the launcher reported {result!r}, not an Outcome")
        tail = log_tail(run.log_path, self.config.log_tail_bytes) if self.config.log_tail_bytes else None
        if tail is not None and tail[0]:
            try:
                await self.store.save_log(run.execution_id, run.stage_id, run.attempt, tail[0], tail[1])
            except Exception:
                log.exception("orchestrator: keeping the log of stage %s failed", run.stage_id)
        await self.service.finish_attempt(run.execution_id, run.stage_id, run.attempt, result)

    async def _reconcile(self, execution: dict[str, Any], plan: dict[str, Any]) -> None:
        snapshot = await self.store.snapshot(execution["id"])
        for stage in snapshot.stages:
            if stage["status"] != "running" or (execution["id"], stage["stage_id"], stage["attempt"]) in self._watches:
                continue
            launcher = self.service.launchers.find(stage["launcher"] or "")
            run = run_for(self.service, execution, stage, plan)
            if stage["launcher"] == "report":  # an agent took it: it reports
                continue
            try:
                if launcher is None:
                    raise StageGone(f"its launcher '{stage['launcher']}' is not available on this server")
                launched = await launcher.resume(run)
            except StageGone as gone:
                await self._gone(execution, stage, launcher, str(gone))
                continue
            except Exception as exc:
                log.exception("orchestrator: resuming stage %s failed", stage["stage_id"])
                await self._gone(execution, stage, launcher, f"resuming it failed: {type(exc).__name__}: {exc}")
                continue
            log.info("orchestrator: stage %s (attempt %s) picked up again", stage["stage_id"], stage["attempt"])
            if launched.outcome is not None:
                self._watch(run, launched.outcome)
        for phase in snapshot.phases:
            if phase["gate_status"] == "running" and (execution["id"], phase["phase_id"]) not in self._gates:
                await self.service.set_gate(execution["id"], phase["phase_id"],
                                            {"gate_status": "pending", "gate_message": "re-run after a restart"},
                                            ("running",))

    async def _gone(self, execution, stage, launcher, reason: str) -> None:
        log.warning("orchestrator: stage %s (attempt %s): %s", stage["stage_id"], stage["attempt"], reason)
        if self.config.rerun_on_restart and launcher is not None:
            await self.service.requeue_stage(execution["id"], stage["stage_id"], stage["attempt"],
                                             f"re-run: {reason}")
        else:
            await self.service.finish_attempt(execution["id"], stage["stage_id"], stage["attempt"],
                                              Outcome("failed", f"{reason} (found after a restart)"))

    async def _stop_cancelled(self) -> None:
        rows = await self.store.kill_requests()
        if not rows:
            return
        by_execution: dict[int, dict[str, Any]] = {}
        for row in rows:
            if row["execution_id"] not in by_execution:
                by_execution[row["execution_id"]] = await self.store.execution(row["execution_id"])
        for execution_id, execution in by_execution.items():
            await self.service.stop_processes(execution, [r for r in rows if r["execution_id"] == execution_id])

    # --- gates ------------------------------------------------------------------------------------

    async def _start_gate(self, execution: dict[str, Any], phase: dict[str, Any], plan: dict[str, Any]) -> None:
        key = (execution["id"], phase["phase_id"])
        if key in self._gates:
            return
        command = self.config.gate_command
        now = self.store.now()
        if not command:
            await self.service.set_gate(execution["id"], phase["phase_id"],
                                        {"gate_status": "passed", "gate_message": None, "gate_started_at": now,
                                         "gate_finished_at": now}, ("pending",))
            return
        row = await self.service.set_gate(
            execution["id"], phase["phase_id"],
            {"gate_status": "running", "gate_attempt": phase["gate_attempt"] + 1, "gate_message": None,
             "gate_started_at": now, "gate_finished_at": None},
            ("pending",),
        )
        if row is None:
            return
        planned = next((p for p in plan["phases"] if p["id"] == phase["phase_id"]), None)
        task = asyncio.ensure_future(self._run_gate(execution, row, planned or {}))
        self._gates[key] = task
        task.add_done_callback(lambda _: self._gates.pop(key, None))

    async def _run_gate(self, execution: dict[str, Any], phase: dict[str, Any], planned: dict[str, Any]) -> None:
        directory = run_dir(self.service, execution["id"])
        attempt = phase["gate_attempt"]
        status_file = directory / f"{phase['phase_id']}.gate.{attempt}.status"
        log_file = directory / f"{phase['phase_id']}.gate.{attempt}.log"
        directory.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "CROSSLINK_SERVER_URL": server_url(self.service) or "",
            "CROSSLINK_EXECUTION_ID": str(execution["id"]),
            "CROSSLINK_PLAN_ID": execution["plan_id"],
            "CROSSLINK_PHASE_ID": phase["phase_id"],
            "CROSSLINK_PHASE_TITLE": phase["title"],
            "CROSSLINK_GATE_CRITERIA": "\n".join(planned.get("gate_criteria", [])),
            "CROSSLINK_GATE_CRITERIA_JSON": json.dumps(planned.get("gate_criteria", [])),
            "CROSSLINK_MILESTONE_ID": "" if phase["milestone_id"] is None else str(phase["milestone_id"]),
            "CROSSLINK_ISSUE_ID": "" if phase["issue_id"] is None else str(phase["issue_id"]),
        }
        if self.service.kernel.settings.token:
            env["CROSSLINK_TOKEN"] = self.service.kernel.settings.token
        cwd = self.service.kernel.settings.repo_root / (self.config.working_directory or ".")
        child = None
        try:
            child = processes.spawn(processes.wrapped(self.config.gate_command, status_file), env=env,
                                    cwd=str(cwd), log_path=log_file)
            ticks = processes.start_ticks(child.pid)
            if await processes.wait_exit(child.pid, ticks, self.config.gate_timeout_seconds):
                code = child.poll()
                status, message = ("passed", None) if code == 0 else (
                    "failed", f"the gate command exited with status {code}")
            else:
                await processes.stop_group(child.pid, ticks, self.config.kill_grace_seconds)
                child.poll()
                status, message = "failed", f"the gate command timed out after {self.config.gate_timeout_seconds:g} s"
        except asyncio.CancelledError:
            if child is not None and child.poll() is None:
                processes.signal_group(child.pid, signal.SIGKILL)
            raise
        except OSError as exc:
            status, message = "failed", f"the gate command could not be started: {exc}"
        if status == "failed":
            from .command_launcher import last_line

            line = last_line(log_file)
            if line and "could not be started" not in message:
                message += f": {line}"
        await self.service.set_gate(execution["id"], phase["phase_id"],
                                    {"gate_status": status, "gate_message": message,
                                     "gate_finished_at": self.store.now()}, ("running",))
