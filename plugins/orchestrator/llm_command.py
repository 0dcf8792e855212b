"""The ``command`` decomposer: an LLM command line (by default ``claude -p <prompt>
--output-format json``) turns the document into a plan.

The prompt is the original's: a system prompt describing the JSON schema and its rules, then
``---``, then the user prompt with the document between ``---BEGIN DOCUMENT---`` and
``---END DOCUMENT---``. The command runs off the event loop (``asyncio.create_subprocess_exec``
in a session of its own), with a timeout after which its whole process group is killed; at
most ``decomposer_concurrency`` run at once per instance. Its output is read as the original
reads it: the Claude CLI envelope's ``result`` string if stdout is such an envelope, otherwise
stdout itself; code fences stripped; the text from the first ``{`` to the last ``}`` parsed as
JSON. Failures are answered, never hung on:

* the command cannot be started (missing, not executable): 503, ``cause: "missing_command"``;
* it exits non-zero: 502 with the status and the end of its stderr, ``cause: "exit_status"``;
* it outlives the timeout: 504, ``cause: "timeout"``;
* its output is no JSON object (or a JSON error envelope): 502, ``cause: "unparseable_output"``.

What it produces is then validated like every plan (:mod:`.plan`, a 400 naming problems).
"""

from __future__ import annotations

import asyncio
import errno
import json
import logging
import os
import signal
from typing import TYPE_CHECKING, Any

from kernel import APIError

from .decomposer import DecomposeRequest

if TYPE_CHECKING:
    from .config import OrchestratorConfig

log = logging.getLogger("crosslink.orchestrator")

#: Most bytes of stdout read from the command; more is unparseable output.
MAX_OUTPUT = 16 * 1024 * 1024

SYSTEM_PROMPT = """You are a software architecture decomposition engine. Given a design document, you break it \
into a phased execution plan that a team of AI coding agents can carry out. Output ONLY valid JSON — no markdown \
fences, no commentary.

The JSON must follow this schema:
{
  "phases": [
    {
      "title": "Phase N: <name>",
      "description": "<what this phase achieves>",
      "stages": [
        {
          "title": "<short stage title>",
          "description": "<what this stage delivers>",
          "tasks": [
            {"title": "<atomic task>", "description": "<details>", "complexity_hours": <number>}
          ],
          "depends_on": ["<title of a stage this stage depends on>"],
          "agent_count": <integer>,
          "complexity_hours": <number>
        }
      ],
      "gate_criteria": ["<a checkable condition that must hold before the next phase starts>"]
    }
  ],
  "estimated_hours": <number>
}

Rules:
- Phases are sequential milestones: a phase starts when the previous one is complete.
- Stages within a phase can run in parallel unless they depend on each other.
- Tasks are atomic units of work for a single agent.
- depends_on references stage titles (exactly as written) from the same or earlier phases.
- Hours are estimates for a single agent.
- Each phase has 2-6 stages.
- Every stage has at least one task."""

USER_PROMPT = "Decompose the following design document into a phased execution plan."


def build_prompt(document: str) -> str:
    """``<system prompt>\\n\\n---\\n\\n<user prompt>`` with the document between markers."""
    user = f"{USER_PROMPT}\n\n---BEGIN DOCUMENT---\n{document}\n---END DOCUMENT---"
    return f"{SYSTEM_PROMPT}\n\n---\n\n{user}"


def _failure(status: int, cause: str, detail: str) -> APIError:
    return APIError(status, detail, cause=cause)


def parse_output(stdout: str) -> dict[str, Any]:
    """The plan JSON in the command's output (see the module docstring), or a 502."""
    text = stdout.strip()
    try:
        envelope = json.loads(text)
    except ValueError:
        envelope = None
    if isinstance(envelope, dict) and isinstance(envelope.get("result"), str):
        if envelope.get("is_error") is True or envelope.get("subtype", "success") not in ("success", None):
            raise _failure(502, "unparseable_output",
                           f"the decomposer command reported an error: {envelope['result'][:500]}")
        text = envelope["result"].strip()
    elif isinstance(envelope, dict) and "phases" in envelope:
        return envelope
    if text.startswith("```"):
        text = text.split("\n", 1)[1] if "\n" in text else ""
    if text.endswith("```"):
        text = text[: -3]
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        raise _failure(502, "unparseable_output",
                       f"the decomposer command's output holds no JSON object: {_excerpt(stdout)}")
    try:
        plan = json.loads(text[start : end + 1])
    except ValueError as exc:
        raise _failure(502, "unparseable_output",
                       f"the decomposer command's output is not valid JSON ({exc}): {_excerpt(stdout)}") from None
    if not isinstance(plan, dict):
        raise _failure(502, "unparseable_output", "the decomposer command's output is not a JSON object")
    return plan


def _excerpt(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return repr(text[:limit] + ("..." if len(text) > limit else "")) if text else "(nothing)"


def _kill_group(process: asyncio.subprocess.Process) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


class CommandDecomposer:
    """The built-in ``command`` decomposer (``[plugins.orchestrator] decomposer_command``)."""

    name = "command"
    description = "An LLM command line (default: claude -p <prompt> --output-format json), with a timeout"

    def __init__(self, config: OrchestratorConfig, cwd: str) -> None:
        self.config = config
        self.cwd = cwd
        self._slots = asyncio.Semaphore(config.decomposer_concurrency)

    def command_for(self, prompt: str) -> tuple[list[str], bytes | None]:
        """The argv (``{prompt}`` replaced) and what to write to stdin (the prompt, when no
        argument takes it)."""
        argv = list(self.config.decomposer_command)
        if any("{prompt}" in arg for arg in argv):
            return [arg.replace("{prompt}", prompt) for arg in argv], None
        return argv, prompt.encode()

    async def decompose(self, request: DecomposeRequest) -> dict[str, Any]:
        """Run the command on the prompt (one of ``decomposer_concurrency`` slots) and parse it."""
        async with self._slots:
            stdout = await self.run(build_prompt(request.document))
        return parse_output(stdout)

    async def run(self, prompt: str) -> str:
        """Run the command; its stdout, or the APIError its failure deserves."""
        argv, stdin = self.command_for(prompt)
        program = argv[0]
        try:
            process = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                cwd=self.cwd,
                start_new_session=True,
            )
        except FileNotFoundError:
            raise _failure(503, "missing_command",
                           f"the decomposer command '{program}' was not found; install it or set "
                           "[plugins.orchestrator] decomposer_command") from None
        except PermissionError:
            raise _failure(503, "missing_command", f"the decomposer command '{program}' is not executable") from None
        except OSError as exc:
            if exc.errno == errno.E2BIG:
                raise APIError(413, "document: too large to pass to the decomposer command as an argument; "
                               "drop {prompt} from decomposer_command to send the prompt on standard input") from None
            raise _failure(503, "missing_command", f"the decomposer command '{program}' cannot be started: {exc}") from None
        timeout = self.config.decomposer_timeout_seconds
        try:
            out, err = await asyncio.wait_for(process.communicate(stdin), timeout)
        except TimeoutError:
            _kill_group(process)
            await process.wait()
            raise _failure(504, "timeout",
                           f"the decomposer command '{program}' did not finish within {timeout:g} s; it was killed") from None
        except asyncio.CancelledError:  # the client went away: the command must not outlive it
            _kill_group(process)
            raise
        if process.returncode != 0:
            stderr = err.decode(errors="replace").strip()
            raise _failure(502, "exit_status",
                           f"the decomposer command '{program}' exited with status {process.returncode}"
                           + (f": {stderr[-1000:]}" if stderr else ""))
        if len(out) > MAX_OUTPUT:
            raise _failure(502, "unparseable_output", "the decomposer command printed more than 16 MiB")
        return out.decode(errors="replace")
