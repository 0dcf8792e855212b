"""Running git: asyncio subprocesses with argument lists, a fixed working directory, a timeout.

Never a shell. Callers put ``--`` before paths and pass only validated names. The environment
is the server's minus the variables that would point git at another repository (``GIT_DIR``
and friends, set when the server is started from a git hook), with prompts disabled and
messages in English so they can be recognised.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path

_REDIRECTING = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_COMMON_DIR",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_PREFIX",
    "GIT_NAMESPACE",
)


class GitError(Exception):
    """A git command failed or timed out; ``stderr`` holds git's message."""

    def __init__(self, args: tuple[str, ...], returncode: int | None, stderr: str):
        self.args_ = args
        self.returncode = returncode
        self.stderr = stderr.strip()
        first = self.stderr.splitlines()[0] if self.stderr else f"exit status {returncode}"
        super().__init__(f"git {args[0] if args else ''} failed: {first}")


@dataclass(frozen=True)
class GitResult:
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def _environment() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in _REDIRECTING}
    env.update({"GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", "LANGUAGE": "C"})
    return env


class Git:
    """Runs git commands; each call names its working directory."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout

    async def run(
        self,
        cwd: Path,
        *args: str,
        check: bool = True,
        stdin: bytes | None = None,
        timeout: float | None = None,
    ) -> GitResult:
        """Run ``git <args>`` in ``cwd``; raise :class:`GitError` on failure when ``check``."""
        process = await asyncio.create_subprocess_exec(
            "git",
            *args,
            cwd=cwd,
            env=_environment(),
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            out, err = await asyncio.wait_for(process.communicate(stdin), timeout or self.timeout)
        except BaseException as exc:  # timeout or cancellation: never leave git running
            if process.returncode is None:
                process.kill()
                await process.wait()
            if isinstance(exc, TimeoutError):
                raise GitError(args, None, f"timed out after {timeout or self.timeout:g} s") from None
            raise
        result = GitResult(process.returncode, out.decode(errors="replace"), err.decode(errors="replace"))
        if check and not result.ok:
            raise GitError(args, result.returncode, result.stderr)
        return result
