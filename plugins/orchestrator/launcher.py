"""What a launcher is: the objects the driver hands it and gets back.

A launcher starts a ready stage (:meth:`Launcher.launch`), says how it ended if it can tell
(``Launched.outcome``), picks a running stage up again after a restart (:meth:`Launcher.resume`)
and stops one on cancel (:meth:`Launcher.stop`). Launchers come from the
``crosslink_orchestrator_launchers`` hook (:mod:`.hookspecs`), the built-in ones included.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable


@dataclass
class StageRun:
    """One attempt of a stage, as a launcher sees it.

    :ivar environment: the ``CROSSLINK_*`` variables describing the stage (server URL and token,
        execution, plan, phase, stage and issue ids, the prompt and where files are).
    :ivar run_dir: a directory this attempt's files may go into (logs, status files).
    :ivar log_path: where the attempt's output belongs; ``GET /orchestrator/stages/:id/log``
        reads it.
    :ivar timeout: seconds the attempt may run (``None``: no limit).
    :ivar started_at: when the attempt was marked running (epoch seconds).
    :ivar handle: what :meth:`Launcher.launch` returned for the attempt (empty before).
    """

    execution_id: int
    plan_id: str
    phase_id: str
    stage_id: str
    title: str
    attempt: int
    issue_id: int | None
    prompt: str
    environment: dict[str, str]
    run_dir: Path
    log_path: Path
    timeout: float | None
    started_at: float
    handle: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """How an attempt ended: ``done`` or ``failed`` (``message`` says why)."""

    status: Literal["done", "failed"]
    message: str | None = None
    exit_code: int | None = None
    run_seconds: float | None = None


@dataclass
class Launched:
    """A started (or resumed) attempt: the JSON-able ``handle`` stored with the stage, and the
    awaitable ``outcome`` when the launcher learns the result itself (``None``: an agent will
    report it through the API)."""

    handle: dict[str, Any]
    outcome: Awaitable[Outcome] | None = None


class StageGone(Exception):
    """A running stage cannot be picked up again (its process is gone...); the message says why."""


class LaunchFailed(Exception):
    """The stage could not be started; the message says why (the stage fails with it)."""


@runtime_checkable
class Launcher(Protocol):
    """A launcher (duck type); see :func:`plugins.orchestrator.hookspecs.crosslink_orchestrator_launchers`."""

    name: str
    description: str

    def check(self) -> None:
        """Raise ``kernel.APIError`` (400) when this launcher cannot run as configured."""

    async def launch(self, run: StageRun) -> Launched:
        """Start the attempt (raise :class:`LaunchFailed` when it cannot start)."""

    async def resume(self, run: StageRun) -> Launched:
        """Pick up a running attempt after a restart; raise :class:`StageGone` when it cannot."""

    async def stop(self, run: StageRun) -> None:
        """Stop a running attempt (cancel), best effort."""
