"""The one git runner: every git command the server runs (hub, knowledge branch, history).

* **Never a shell**, always an argument list, in a named working directory.
* **A timeout on every call** (``timeout`` per runner, ``remote_timeout`` for commands that
  talk to a remote); a command that outlives it is killed with its whole process group (an
  ``ssh`` child included) and reported as :class:`GitError` with ``timed_out``. A cancelled
  caller kills its git too, so nothing keeps running behind a request that gave up.
* **Only validated values in arguments.** Remote and branch names come from configuration and
  requests; :func:`check_remote_name` and :func:`check_branch_name` refuse anything that could
  be read as an option (a leading ``-``) or that git would treat specially, *before* git runs.
  Commit ids are checked with :func:`check_commit_id`. Callers put ``--`` before paths.
* **A clean environment** (:func:`kernel.gitenv.git_environment`, which the kernel's own git
  call uses too): every ``GIT_*`` variable of the server's environment is dropped (``GIT_DIR``,
  ``GIT_WORK_TREE``, ``GIT_INDEX_FILE``, ``GIT_CONFIG_PARAMETERS``... are set when the server is
  started from a git hook and would point git at another repository or inject settings), except
  those that say which config files to read, who commits and how to reach a remote. Prompts are
  off (``GIT_TERMINAL_PROMPT=0``, no askpass, no controlling terminal: git runs in its own
  session), messages are in English (``LC_ALL=C``) so they can be recognised, and optional
  locks are off (``GIT_OPTIONAL_LOCKS=0``: a ``git status`` never takes the index lock the CLI
  may want).
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from kernel.gitenv import git_environment

DEFAULT_TIMEOUT_SECONDS = 60.0
DEFAULT_REMOTE_TIMEOUT_SECONDS = 60.0

#: One path component of a remote or branch name: what ``git check-ref-format`` accepts, minus
#: everything unusual (no leading ``-`` or ``.``, no ``..``, no ``@{``, no trailing ``.lock``).
_COMPONENT = r"[A-Za-z0-9_][A-Za-z0-9._-]*"
_NAME = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
_COMMIT = re.compile(r"^[0-9a-f]{40}(?:[0-9a-f]{24})?$")
MAX_NAME_LENGTH = 100


class InvalidGitName(ValueError):
    """A remote or branch name that is not safe to hand to git; ``field`` names its source."""

    def __init__(self, kind: str, value: object, field: str | None = None) -> None:
        self.kind = kind
        self.value = value
        self.field = field or kind
        shown = repr(value) if len(repr(value)) <= 120 else repr(value)[:117] + "..."
        super().__init__(
            f"{self.field}: {shown} is not a usable git {kind} name (letters, digits, '.', '_', '-' "
            f"and '/' between parts; not starting with '-' or '.'; no '..'; at most {MAX_NAME_LENGTH} "
            "characters)"
        )


def _check_name(kind: str, value: object, field: str | None) -> str:
    if (
        not isinstance(value, str)
        or len(value) > MAX_NAME_LENGTH
        or not _NAME.match(value)
        or ".." in value
        or value.endswith((".lock", "."))
        or any(part.endswith(".lock") for part in value.split("/"))
    ):
        raise InvalidGitName(kind, value, field)
    return value


def check_remote_name(value: object, field: str | None = None) -> str:
    """``value`` when it is a plain git remote name (``origin``, ``team/upstream``), else
    :class:`InvalidGitName`. URLs and paths are not names and are refused too."""
    return _check_name("remote", value, field)


def check_branch_name(value: object, field: str | None = None) -> str:
    """``value`` when it is a plain branch name (``crosslink/hub``), else :class:`InvalidGitName`."""
    return _check_name("branch", value, field)


def check_commit_id(value: object) -> str | None:
    """A full hexadecimal commit id (SHA-1 or SHA-256), or ``None`` for anything else."""
    return value if isinstance(value, str) and _COMMIT.match(value) else None


class GitError(Exception):
    """A git command failed or timed out; ``stderr`` holds git's message."""

    def __init__(self, args: tuple[str, ...], returncode: int | None, stderr: str, *, timed_out: bool = False):
        self.args_ = args
        self.returncode = returncode
        self.stderr = stderr.strip()
        self.timed_out = timed_out
        command = next((a for a in args if not a.startswith("-") and "=" not in a), "")
        first = self.stderr.splitlines()[0] if self.stderr else f"exit status {returncode}"
        super().__init__(f"git {command} failed: {first}")

    @property
    def first_line(self) -> str:
        """The most telling line of git's message (its ``fatal:``/``error:`` line if any)."""
        lines = [line.strip() for line in self.stderr.splitlines() if line.strip()]
        for line in lines:
            if line.startswith(("fatal:", "error:")):
                return line
        return lines[0] if lines else str(self)


@dataclass(frozen=True)
class GitResult:
    """What a finished git command printed, and its exit status."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


class Git:
    """Runs git commands; each call names its working directory."""

    def __init__(
        self,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        remote_timeout: float = DEFAULT_REMOTE_TIMEOUT_SECONDS,
        executable: str = "git",
    ) -> None:
        self.timeout = timeout
        self.remote_timeout = remote_timeout
        self.executable = executable

    def with_timeouts(self, timeout: float, remote_timeout: float) -> Git:
        """The same runner with other default timeouts (a plugin's own configuration)."""
        return Git(timeout, remote_timeout, self.executable)

    async def run(
        self,
        cwd: Path,
        *args: str,
        check: bool = True,
        stdin: bytes | None = None,
        timeout: float | None = None,
        remote: bool = False,
    ) -> GitResult:
        """Run ``git <args>`` in ``cwd``; raise :class:`GitError` on failure when ``check``.

        :param remote: the command talks to a remote: ``remote_timeout`` applies.
        :param timeout: overrides the runner's timeout for this call.
        """
        for arg in args:
            if not isinstance(arg, str) or "\0" in arg:
                raise TypeError(f"git argument {arg!r} is not a plain string")
        limit = timeout if timeout is not None else (self.remote_timeout if remote else self.timeout)
        command = _Command([self.executable, *args], cwd, stdin, limit)
        try:
            returncode, out, err = await asyncio.get_running_loop().run_in_executor(_EXECUTOR, command.run)
        except asyncio.CancelledError:  # the caller gave up: never leave git running
            command.cancel()
            raise
        if returncode is None:
            raise GitError(args, None, f"timed out after {limit:g} s", timed_out=True)
        result = GitResult(returncode, out.decode(errors="replace"), err.decode(errors="replace"))
        if check and not result.ok:
            raise GitError(args, result.returncode, result.stderr)
        return result

    async def output(self, cwd: Path, *args: str, **options) -> str:
        """The trimmed standard output of a command that must succeed."""
        return (await self.run(cwd, *args, **options)).stdout.strip()


#: Threads that wait for git. A subprocess started and waited for in a thread costs less than
#: one driven by the event loop (uvloop's in particular: measured 13 ms against 22-37 ms for a
#: ``git status``); the pool bounds how many git commands run at once.
_EXECUTOR = ThreadPoolExecutor(max_workers=8, thread_name_prefix="crosslink-git")


class _Command:
    """One git process, run to its end in a worker thread; :meth:`cancel` kills it from the loop."""

    def __init__(self, argv: list[str], cwd: Path, stdin: bytes | None, timeout: float) -> None:
        self.argv = argv
        self.cwd = cwd
        self.stdin = stdin
        self.timeout = timeout
        self._process: subprocess.Popen | None = None
        self._cancelled = threading.Event()
        self._lock = threading.Lock()

    def run(self) -> tuple[int | None, bytes, bytes]:
        """``(exit status, stdout, stderr)``; the status is ``None`` when it timed out."""
        with self._lock:
            if self._cancelled.is_set():
                return -signal.SIGKILL, b"", b"cancelled"
            self._process = subprocess.Popen(
                self.argv,
                cwd=self.cwd,
                env=git_environment(),
                stdin=subprocess.PIPE if self.stdin is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,  # no controlling terminal; killed as a group
            )
        process = self._process
        try:
            out, err = process.communicate(self.stdin, timeout=self.timeout)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            out, err = process.communicate()
            return None, out, err
        return process.returncode, out, err

    def cancel(self) -> None:
        with self._lock:
            self._cancelled.set()
            if self._process is not None:
                _kill_group(self._process)


def _kill_group(process: subprocess.Popen) -> None:
    """Kill git and whatever it started (ssh, a credential helper)."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        try:
            process.kill()
        except ProcessLookupError:
            pass
