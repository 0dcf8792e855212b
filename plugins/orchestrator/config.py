"""``[plugins.orchestrator]`` in ``.crosslink/server.toml``.

Commands are configuration only: an HTTP client chooses a decomposer or launcher by name, never
the command it runs.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

#: The ``command`` decomposer's default: the Claude CLI, prompt as an argument, JSON envelope out.
DEFAULT_DECOMPOSER_COMMAND = ["claude", "-p", "{prompt}", "--output-format", "json"]

Command = list[Annotated[str, Field(min_length=1)]] | Annotated[str, Field(min_length=1)]


def _check_command(value: Command | None, what: str) -> Command | None:
    if isinstance(value, list) and not value:
        raise ValueError(f"{what} must name a program")
    return value


class OrchestratorConfig(BaseModel):
    """Settings of the orchestrator plugin (every one optional)."""

    model_config = ConfigDict(extra="forbid")

    #: The decomposer used when a request names none: ``markdown`` (no LLM), ``command``, or one
    #: a plugin adds.
    decomposer: str = "markdown"
    #: The ``command`` decomposer's program and arguments. ``{prompt}`` in an argument is replaced
    #: by the prompt; without it the prompt is written to the command's standard input.
    decomposer_command: list[Annotated[str, Field(min_length=1)]] = Field(
        default_factory=lambda: list(DEFAULT_DECOMPOSER_COMMAND), min_length=1
    )
    #: Seconds the decomposer command may run before it is killed (and the request is a 504).
    decomposer_timeout_seconds: float = Field(default=300.0, gt=0, le=86400)
    #: Decompositions running at once on one instance (others wait their turn).
    decomposer_concurrency: int = Field(default=2, ge=1, le=64)

    #: The launcher of new executions: ``manual`` (agents report through the API), ``command``,
    #: or one a plugin adds.
    launcher: str = "manual"
    #: The ``command`` launcher's command per stage: a list (program and arguments) or a string
    #: run by ``/bin/sh -c``. The stage is described in its environment (``CROSSLINK_STAGE_ID``...).
    stage_command: Command | None = None
    #: Seconds a stage's command may run before its process group is killed (0: no limit).
    stage_timeout_seconds: float = Field(default=3600.0, ge=0)
    #: Where stage (and gate) commands run: relative to the repository root (or absolute);
    #: default the repository root.
    working_directory: str | None = None
    #: Stages running at once in one execution.
    max_parallel: int = Field(default=4, ge=1, le=1000)
    #: No stage of a phase starts before every stage of the earlier phases is done or skipped
    #: and their gates passed.
    phase_gating: bool = False
    #: Run after a phase's stages are all done or skipped (phase gating on); exit 0 opens the
    #: next phase. A list or a ``/bin/sh -c`` string; without one the gate passes at once.
    gate_command: Command | None = None
    #: Seconds a gate command may run before it is killed and the gate fails.
    gate_timeout_seconds: float = Field(default=600.0, gt=0)
    #: After a restart, a ``command`` stage whose process is gone is run again (a new attempt)
    #: instead of being marked failed.
    rerun_on_restart: bool = False
    #: Seconds between SIGTERM and SIGKILL when a stage's process group is stopped.
    kill_grace_seconds: float = Field(default=5.0, ge=0, le=600)
    #: The URL given to stage commands as ``CROSSLINK_SERVER_URL`` (default: where this server
    #: listens).
    server_url: str | None = None
    #: Longest pause of the execution driver between two looks at the database (it is woken at
    #: once by this instance's changes and by events of other instances).
    poll_seconds: float = Field(default=1.0, gt=0, le=60)
    #: Bytes of each stage attempt's log kept in the database when it ends (readable from every
    #: instance of a team server).
    log_tail_bytes: int = Field(default=65536, ge=0, le=16 * 1024 * 1024)
    #: Seconds ``POST /orchestrator/execute`` waits for the tracking issues to be created.
    setup_wait_seconds: float = Field(default=60.0, ge=0, le=3600)

    @field_validator("stage_command", "gate_command")
    @classmethod
    def _not_empty(cls, value, info):
        return _check_command(value, info.field_name)
