"""The ``command`` launcher: runs ``[plugins.orchestrator] stage_command`` once per stage.

The stage is described in the command's environment (:func:`stage_environment`); its output
goes to the attempt's log file; exit status 0 is ``done``, anything else ``failed`` (with the
status and the last line of output); after ``stage_timeout_seconds`` its process group is
stopped and the stage fails. Processes outlive a server restart (see :mod:`.processes`): the
next driver watches them again, reads the status of those that ended meanwhile, and reports the
others as gone.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import TYPE_CHECKING, Any

from kernel import APIError

from . import processes
from .launcher import Launched, LaunchFailed, Outcome, StageGone, StageRun

if TYPE_CHECKING:
    import subprocess

    from .config import OrchestratorConfig

#: Largest prompt passed in ``CROSSLINK_STAGE_PROMPT`` (the file always has all of it).
PROMPT_ENV_LIMIT = 64 * 1024


def last_line(path, limit: int = 300) -> str | None:
    """The last non-blank line of a log file (for a failure's message)."""
    try:
        with open(path, "rb") as log:
            log.seek(0, os.SEEK_END)
            size = log.tell()
            log.seek(max(0, size - 4096))
            tail = log.read().decode(errors="replace")
    except OSError:
        return None
    lines = [line.strip() for line in tail.splitlines() if line.strip()]
    return lines[-1][:limit] if lines else None


def describe_exit(code: int | None) -> str:
    """How an exit status reads in a message."""
    if code is None:
        return "ended without recording its exit status"
    if code < 0:
        return f"was killed by signal {-code}"
    return f"exited with status {code}"


class CommandLauncher:
    """The built-in ``command`` launcher."""

    name = "command"
    description = "Runs stage_command per stage (stage in its environment); exit 0 is done, else failed"

    def __init__(self, config: OrchestratorConfig, cwd: str) -> None:
        self.config = config
        self.cwd = cwd
        #: this process's own children, by (execution, stage, attempt): re-watched, never lost
        self.children: dict[tuple[int, str, int], subprocess.Popen] = {}

    def check(self) -> None:
        """400 when no ``stage_command`` is configured."""
        if not self.config.stage_command:
            raise APIError(
                400,
                "launcher: the 'command' launcher needs [plugins.orchestrator] stage_command in the server config",
                fields=[{"field": "launcher", "message": "no stage_command configured"}],
            )

    async def launch(self, run: StageRun) -> Launched:
        """Start the stage's command (detached, under the status-recording wrapper)."""
        self.check()
        status_file = run.run_dir / f"{run.stage_id}.{run.attempt}.status"
        prompt_file = run.run_dir / f"{run.stage_id}.{run.attempt}.prompt.md"
        run.run_dir.mkdir(parents=True, exist_ok=True)
        status_file.unlink(missing_ok=True)
        prompt_file.write_text(run.prompt, encoding="utf-8")
        env = {**os.environ, **run.environment, "CROSSLINK_STAGE_PROMPT_FILE": str(prompt_file)}
        if len(run.prompt) <= PROMPT_ENV_LIMIT:
            env["CROSSLINK_STAGE_PROMPT"] = run.prompt
        argv = processes.wrapped(self.config.stage_command, status_file)
        began = time.monotonic()
        try:
            child = processes.spawn(argv, env=env, cwd=self.cwd, log_path=run.log_path)
        except OSError as exc:
            raise LaunchFailed(f"the stage command could not be started: {exc}") from exc
        handle = {
            "pid": child.pid,
            "ticks": processes.start_ticks(child.pid),
            "machine": processes.machine_id(),
            "status_file": str(status_file),
            "log": str(run.log_path),
        }
        run.handle = handle
        key = (run.execution_id, run.stage_id, run.attempt)
        self.children[key] = child
        return Launched(handle=handle, outcome=self._watch(run, child, began))

    async def resume(self, run: StageRun) -> Launched:
        """Watch a stage's process again after a restart, or read the status it left."""
        handle = run.handle
        child = self.children.get((run.execution_id, run.stage_id, run.attempt))
        if child is not None:
            return Launched(handle=handle, outcome=self._watch(run, child, None))
        pid, ticks = handle.get("pid"), handle.get("ticks")
        if not isinstance(pid, int):
            raise StageGone("the server stopped before the stage's process was recorded")
        if handle.get("machine") != processes.machine_id():
            raise StageGone(f"its process ran on another machine or before a reboot ({handle.get('machine')})")
        status_file = handle.get("status_file")
        if processes.is_running(pid, ticks):
            return Launched(handle=handle, outcome=self._watch(run, None, None))
        code = processes.read_status(status_file) if status_file else None
        if code is None:
            raise StageGone(f"its process (pid {pid}) is gone and left no exit status")
        return Launched(handle=handle, outcome=self._finished(run, code, None))

    async def _finished(self, run: StageRun, code: int | None, seconds: float | None) -> Outcome:
        if code == 0:
            return Outcome("done", None, 0, seconds)
        message = f"the stage command {describe_exit(code)}"
        line = last_line(run.log_path)
        if line:
            message += f": {line}"
        return Outcome("failed", message, code, seconds)

    async def _watch(self, run: StageRun, child: subprocess.Popen | None, began: float | None) -> Outcome:
        pid, ticks = run.handle["pid"], run.handle.get("ticks")
        remaining = None
        if run.timeout:
            remaining = max(0.0, run.timeout - processes.monotonic_age(run.started_at))
        try:
            exited = await processes.wait_exit(pid, ticks, remaining)
            if not exited:
                await processes.stop_group(pid, ticks, self.config.kill_grace_seconds)
                self._reap(run, child)
                return Outcome("failed", f"the stage command timed out after {run.timeout:g} s and was stopped",
                               None, None if began is None else time.monotonic() - began)
            seconds = None if began is None else time.monotonic() - began
            code = self._reap(run, child)
            if code is None:
                code = processes.read_status(run.handle.get("status_file"))
            return await self._finished(run, code, seconds)
        except asyncio.CancelledError:
            raise  # the driver stops watching (shutdown); the process goes on, found again later

    def _reap(self, run: StageRun, child: subprocess.Popen | None) -> int | None:
        if child is None:
            return None
        code = child.poll()  # never blocks: the process has exited (or is left to the status file)
        if code is not None:
            self.children.pop((run.execution_id, run.stage_id, run.attempt), None)
        return code

    async def stop(self, run: StageRun) -> None:
        """Stop the stage's process group (only on the machine it runs on; False elsewhere)."""
        pid = run.handle.get("pid")
        if not isinstance(pid, int) or run.handle.get("machine") != processes.machine_id():
            return
        await processes.stop_group(pid, run.handle.get("ticks"), self.config.kill_grace_seconds)
        self._reap(run, self.children.get((run.execution_id, run.stage_id, run.attempt)))

    def describe(self) -> dict[str, Any]:
        """What the launcher runs (for diagnostics)."""
        return {"stage_command": self.config.stage_command}
